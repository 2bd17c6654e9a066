#pragma once
// Native clock: the invariant TSC, scaled to nanoseconds on CLOCK_MONOTONIC's timeline.
// Included through <omega/base/clock.hpp>; use omega::Clock, not this header.
#include <chrono>
#include <cstdint>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define OMEGA_HAVE_TSC 1
#else
#define OMEGA_HAVE_TSC 0
#endif

namespace omega::platform {
namespace detail {

// Set once, before main(), by the calibration in tsc_clock.cpp; read-only afterwards.
// Until then (or when the TSC is not trusted) use_tsc is false and reads go to
// clock_gettime, which shares the epoch, so values stay comparable across the switch.
struct TscParams {
  std::uint64_t tsc_base = 0;  // TSC reading at calibration
  std::int64_t ns_base = 0;    // CLOCK_MONOTONIC ns at the same instant
  std::uint64_t mult = 0;      // ns per tick, as a 32.32 fixed-point factor
  bool use_tsc = false;
};
extern TscParams g_tsc;

std::int64_t monotonic_ns() noexcept;  // clock_gettime(CLOCK_MONOTONIC), via the vDSO

__extension__ typedef __int128 Int128;  // a GCC/Clang extension; one 64x64->128 multiply

}  // namespace detail

struct TscClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<TscClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
#if OMEGA_HAVE_TSC
    const detail::TscParams& p = detail::g_tsc;
    if (p.use_tsc) [[likely]] {
      // lfence: the read is not hoisted above earlier loads, so an interval measured with
      // two now() calls covers the work between them (Intel SDM 18.17; Linux makes LFENCE
      // dispatch-serialising on AMD too).
      _mm_lfence();
      const auto delta = static_cast<std::int64_t>(__rdtsc() - p.tsc_base);
      const auto scaled = static_cast<detail::Int128>(delta) * static_cast<detail::Int128>(p.mult);
      return time_point(duration(p.ns_base + static_cast<rep>(scaled >> 32)));
    }
#endif
    return time_point(duration(detail::monotonic_ns()));
  }

  // now() without the fence: the read may move above earlier loads (by at most the time
  // they take). For timestamps that only need to be close, on hot paths where the fence
  // would wait for cache misses the caller does not care about (a task's enqueue stamp).
  static time_point now_unordered() noexcept {
#if OMEGA_HAVE_TSC
    const detail::TscParams& p = detail::g_tsc;
    if (p.use_tsc) [[likely]] {
      const auto delta = static_cast<std::int64_t>(__rdtsc() - p.tsc_base);
      const auto scaled = static_cast<detail::Int128>(delta) * static_cast<detail::Int128>(p.mult);
      return time_point(duration(p.ns_base + static_cast<rep>(scaled >> 32)));
    }
#endif
    return time_point(duration(detail::monotonic_ns()));
  }
};

using PlatformClock = TscClock;

}  // namespace omega::platform
