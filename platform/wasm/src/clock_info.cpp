#include <omega/base/clock.hpp>

namespace omega {
namespace {

double observe_resolution() noexcept {
  // Browsers coarsen performance.now() (5 us when cross-origin isolated, 100 us otherwise);
  // Node gives microsecond-or-better steps. Measured once, bounded in tries.
  std::int64_t best = 0;
  for (int i = 0; i < 16; ++i) {
    const auto a = Clock::now();
    auto b = a;
    for (int spin = 0; spin < 1'000'000 && b == a; ++spin) b = Clock::now();
    const auto step = (b - a).count();
    if (step > 0 && (best == 0 || step < best)) best = step;
  }
  return static_cast<double>(best);
}

}  // namespace

ClockInfo clock_info() noexcept {
  static const double resolution = observe_resolution();
  return ClockInfo{"performance.now", "WebAssembly: the host's monotonic high-resolution time", 0, resolution};
}

}  // namespace omega
