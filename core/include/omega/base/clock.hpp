#pragma once
// The clock contract. omega::Clock is a std::chrono-style steady clock in nanoseconds whose
// now() is cheap enough for every poll and tick, and inlines: the platform is chosen
// statically (this header pulls in the one platform's clock_impl.hpp), not through a
// virtual call.
//
//   native: TscClock: invariant TSC, calibrated against CLOCK_MONOTONIC at start-up, with
//           the same epoch as CLOCK_MONOTONIC; falls back to clock_gettime where the TSC
//           cannot be trusted (see platform/native/src/tsc_clock.cpp).
//   wasm:   PerfNowClock: emscripten_get_now(), i.e. performance.now(), consistent across
//           pthreads. Browsers coarsen it (5 us when cross-origin isolated, 100 us otherwise).
#include <chrono>
#include <concepts>
#include <cstdint>
#include <string_view>

#include <omega/platform/clock_impl.hpp>

namespace omega {

using Nanos = std::chrono::nanoseconds;

template <class C>
concept SteadyNanoClock = requires {
  typename C::duration;
  typename C::time_point;
  { C::now() } noexcept -> std::same_as<typename C::time_point>;
  { C::now_unordered() } noexcept -> std::same_as<typename C::time_point>;
} && std::same_as<typename C::duration, Nanos> && C::is_steady;

using Clock = platform::PlatformClock;
static_assert(SteadyNanoClock<Clock>);

// Nanoseconds on Clock's timeline, as a plain integer (for metrics and wire formats).
[[nodiscard]] inline std::int64_t now_ns() noexcept { return Clock::now().time_since_epoch().count(); }

// now_ns() that may be read a little early (natively: no fence before the TSC read). For
// hot-path stamps whose precision need not exceed the cost of a cache miss.
[[nodiscard]] inline std::int64_t now_ns_unordered() noexcept {
  return Clock::now_unordered().time_since_epoch().count();
}

// Where the time comes from, for metrics and for tests that state tolerances.
struct ClockInfo {
  std::string_view source;      // "tsc", "clock_gettime" or "performance.now"
  std::string_view reason;      // why that source was chosen
  double ticks_per_second = 0;  // TSC frequency when source == "tsc", else 0
  double resolution_ns = 0;     // smallest step observed at start-up
};
[[nodiscard]] ClockInfo clock_info() noexcept;

}  // namespace omega
