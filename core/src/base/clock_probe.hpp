#pragma once
// Internal: shared by the platforms' clock_info() implementations.
namespace omega::detail {
// Smallest non-zero step between consecutive omega::Clock reads, in ns, over `tries`
// attempts (each bounded in spins). 0 if the clock never moved.
double observe_clock_resolution(int tries) noexcept;
}  // namespace omega::detail
