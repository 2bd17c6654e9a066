#include "base/clock_probe.hpp"

#include <omega/base/clock.hpp>

namespace omega::detail {

double observe_clock_resolution(int tries) noexcept {
  std::int64_t best = 0;
  for (int i = 0; i < tries; ++i) {
    const auto a = Clock::now();
    auto b = a;
    for (int spin = 0; spin < 1'000'000 && b == a; ++spin) b = Clock::now();
    const auto step = (b - a).count();
    if (step > 0 && (best == 0 || step < best)) best = step;
  }
  return static_cast<double>(best);
}

}  // namespace omega::detail
