// Clock read cost: omega::Clock::now() against the clocks a user would otherwise call.
// Unit: ns per read, median of 15 runs of 2M reads each. Baseline: std::chrono::steady_clock.
#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>

#include <time.h>

#include <cstdint>

#include "bench_util.hpp"

using namespace omega::bench;

namespace {
constexpr int kReads = 2'000'000;
constexpr int kRuns = 15;

template <class Read>
Stat per_read(Read read) {
  return repeat(kRuns, [&] {
    std::int64_t acc = 0;
    const double ns = time_ns([&] {
      for (int i = 0; i < kReads; ++i) acc += read();
    });
    keep(acc);
    return ns / kReads;
  });
}
}  // namespace

int main() {
  const auto info = omega::clock_info();
  std::printf("clock_bench (%s): ns per read, median of %d x %d reads; omega::Clock source: %s (%s)\n",
              omega::kPlatformName, kRuns, kReads, info.source.data(), info.reason.data());
  const Stat steady = per_read([] { return std::chrono::steady_clock::now().time_since_epoch().count(); });
  const Stat omega_clock = per_read([] { return omega::Clock::now().time_since_epoch().count(); });
  const Stat gettime = per_read([] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_nsec);
  });
  row("std::chrono::steady_clock::now (baseline)", steady, "ns/read", steady.median);
  row("omega::Clock::now", omega_clock, "ns/read", steady.median);
  row("clock_gettime(CLOCK_MONOTONIC)", gettime, "ns/read", steady.median);
  return 0;
}
