#include <omega/base/clock.hpp>

#include "base/clock_probe.hpp"

namespace omega {

ClockInfo clock_info() noexcept {
  // Browsers coarsen performance.now() (5 us when cross-origin isolated, 100 us otherwise);
  // Node gives microsecond-or-better steps. Measured once, on first use.
  static const double resolution = detail::observe_clock_resolution(16);
  return ClockInfo{"performance.now", "WebAssembly: the host's monotonic high-resolution time", 0, resolution};
}

}  // namespace omega
