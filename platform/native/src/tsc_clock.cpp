// TSC trust and calibration.
//
// The TSC is used only when both hold:
//  1. CPUID.80000007H:EDX[8] (invariant TSC): the counter ticks at a constant rate through
//     P-, C- and T-states, so ticks convert to time with one factor;
//  2. the kernel's current clocksource is "tsc": Linux checked at boot that the TSCs of all
//     CPUs are synchronised and keeps watching them; when it distrusts the TSC it switches
//     clocksource, and we then fall back too. (A VM may hide flag 1 yet expose a good TSC,
//     or show flag 1 with the kernel on kvm-clock; both fall back, which is safe.)
// Otherwise omega::Clock reads clock_gettime(CLOCK_MONOTONIC) through the vDSO: ~20 ns
// instead of ~8, same epoch, same guarantees.
//
// Calibration: pair TSC and CLOCK_MONOTONIC readings at two instants ~10 ms apart, each
// pair taken as the tightest TSC bracket of several tries so a preemption between the two
// reads cannot skew it. With ~50 ns of pairing noise over 10 ms the factor is good to about
// 10 ppm. OMEGA_CLOCK=monotonic forces the fallback (OMEGA_CLOCK=tsc skips check 2 only).
#include <omega/base/clock.hpp>

#include "base/clock_probe.hpp"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#if OMEGA_HAVE_TSC
#include <cpuid.h>
#endif

namespace omega {
namespace platform::detail {

TscParams g_tsc;

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace platform::detail

namespace {

using platform::detail::g_tsc;
using platform::detail::monotonic_ns;

struct ClockChoice {
  const char* source = "clock_gettime";
  const char* reason = "not calibrated yet";
  double ticks_per_second = 0;
  double resolution_ns = 0;
};
ClockChoice g_choice;

#if OMEGA_HAVE_TSC
bool cpu_has_invariant_tsc() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0x80000000U, nullptr) < 0x80000007U) return false;
  __cpuid(0x80000007U, a, b, c, d);
  return (d & (1U << 8)) != 0;
}

bool kernel_uses_tsc() {
  std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  return f && (f >> name) && name == "tsc";
}

struct Pair {
  std::uint64_t tsc;
  std::int64_t ns;
};

Pair read_pair() noexcept {
  Pair best{0, 0};
  std::uint64_t best_gap = ~std::uint64_t{0};
  for (int i = 0; i < 16; ++i) {
    const std::uint64_t t0 = __rdtsc();
    const std::int64_t ns = monotonic_ns();
    const std::uint64_t t1 = __rdtsc();
    if (t1 - t0 < best_gap) {
      best_gap = t1 - t0;
      best = Pair{t0 + (t1 - t0) / 2, ns};
    }
  }
  return best;
}
#endif

void calibrate() {
  const char* forced = std::getenv("OMEGA_CLOCK");
  const bool force_monotonic = forced && std::strcmp(forced, "monotonic") == 0;
  const bool force_tsc = forced && std::strcmp(forced, "tsc") == 0;
#if OMEGA_HAVE_TSC
  if (force_monotonic) {
    g_choice.reason = "OMEGA_CLOCK=monotonic";
  } else if (!cpu_has_invariant_tsc()) {
    g_choice.reason = "CPU does not report an invariant TSC";
  } else if (!force_tsc && !kernel_uses_tsc()) {
    g_choice.reason = "kernel clocksource is not tsc (TSC not verified synchronised)";
  } else {
    const Pair a = read_pair();
    while (monotonic_ns() - a.ns < 10'000'000) {
    }
    const Pair b = read_pair();
    const double hz = static_cast<double>(b.tsc - a.tsc) * 1e9 / static_cast<double>(b.ns - a.ns);
    if (hz > 1e6) {
      g_tsc.tsc_base = b.tsc;
      g_tsc.ns_base = b.ns;
      g_tsc.mult = static_cast<std::uint64_t>(1e9 * 4294967296.0 / hz + 0.5);
      g_tsc.use_tsc = true;
      g_choice.source = "tsc";
      g_choice.reason = force_tsc ? "OMEGA_CLOCK=tsc" : "invariant TSC, kernel clocksource tsc";
      g_choice.ticks_per_second = hz;
    } else {
      g_choice.reason = "TSC calibration failed";
    }
  }
#else
  (void)force_monotonic;
  (void)force_tsc;
  g_choice.reason = "no TSC on this architecture";
#endif
  g_choice.resolution_ns = detail::observe_clock_resolution(64);
}

// Runs before main() in every program that reads omega::Clock (this object file is linked
// in exactly when g_tsc is referenced).
[[maybe_unused]] const bool g_calibrated = (calibrate(), true);

}  // namespace

ClockInfo clock_info() noexcept {
  return ClockInfo{g_choice.source, g_choice.reason, g_choice.ticks_per_second, g_choice.resolution_ns};
}

}  // namespace omega
