#pragma once
// Reads one unlabelled series of a system's metrics snapshot, for tests that check counters.
#include <omega/exec/system.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <variant>

namespace omega::test {

inline std::uint64_t counter(const UltraOmegaSystem& system, const char* name) {
  const MetricsSnapshot snap = system.metrics();
  const auto* family = snap.find(name);
  REQUIRE(family != nullptr);
  REQUIRE(family->series.size() == 1);
  return std::get<std::uint64_t>(family->series[0].value);
}

inline double gauge(const UltraOmegaSystem& system, const char* name) {
  const MetricsSnapshot snap = system.metrics();
  const auto* family = snap.find(name);
  REQUIRE(family != nullptr);
  return std::get<double>(family->series[0].value);
}

}  // namespace omega::test
