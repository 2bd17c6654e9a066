#include <omega/base/assert.hpp>
#include <omega/exec/router.hpp>

#include <algorithm>
#include <array>
#include <bit>

namespace omega {

std::size_t Router::candidates_for(std::size_t n) noexcept {
  if (n <= 1) return n;
  const std::size_t log2n = static_cast<std::size_t>(std::bit_width(n)) - 1;
  return std::min({std::max<std::size_t>(2, log2n), n, kMaxCandidates});
}

std::uint32_t Router::score(const NodeLoad& load, std::uint32_t cost) noexcept {
  cost = std::clamp(cost, kMinCost, kMaxCost);
  const std::uint32_t penalty = (!load.super && cost > 50) ? (cost - 50) / 2 : 0;
  return std::min<std::uint32_t>(load.pressure, 100) + penalty + (load.awake ? 0 : kColdPenalty);
}

std::size_t Router::sample(std::size_t n, std::array<std::size_t, kMaxCandidates>& out, OmegaRng& rng) noexcept {
  OMEGA_ASSERT(n > 0, "Router needs at least one node");
  const std::size_t k = candidates_for(n);
  std::size_t count = 0;
  if (k == n) {
    // All nodes are candidates: shuffle them, so equal scores are not always won by the
    // lowest index (the ordering is stable).
    for (std::size_t i = 0; i < n; ++i) out[count++] = i;
    for (std::size_t i = n - 1; i > 0; --i) std::swap(out[i], out[static_cast<std::size_t>(rng.gen_range(i + 1))]);
    return count;
  }
  // k distinct nodes: rejection sampling is cheap because k <= log2(n) is far below n.
  while (count < k) {
    const auto i = static_cast<std::size_t>(rng.gen_range(n));
    if (std::find(out.begin(), out.begin() + count, i) == out.begin() + count) out[count++] = i;
  }
  return count;
}

}  // namespace omega
