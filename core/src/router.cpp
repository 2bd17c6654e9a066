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
  return std::min<std::uint32_t>(load.pressure, 100) + penalty;
}

std::size_t Router::select(std::span<const NodeLoad> loads, std::uint32_t cost, unsigned attempt,
                           OmegaRng& rng) noexcept {
  OMEGA_ASSERT(!loads.empty(), "Router::select needs at least one node");
  const std::size_t n = loads.size();
  const std::size_t k = candidates_for(n);
  // k distinct nodes: rejection sampling is cheap because k <= log2(n) is far below n.
  std::array<std::size_t, kMaxCandidates> picked{};
  std::size_t count = 0;
  if (k == n) {
    // All nodes are candidates: shuffle them, so equal scores are not always won by the
    // lowest index (the sort below is stable).
    for (std::size_t i = 0; i < n; ++i) picked[count++] = i;
    for (std::size_t i = n - 1; i > 0; --i) std::swap(picked[i], picked[static_cast<std::size_t>(rng.gen_range(i + 1))]);
  } else {
    while (count < k) {
      const auto i = static_cast<std::size_t>(rng.gen_range(n));
      if (std::find(picked.begin(), picked.begin() + count, i) == picked.begin() + count) picked[count++] = i;
    }
  }
  // Least loaded first; ties keep draw order so the result depends only on the rng stream.
  // Insertion sort: stable, allocation-free, and fastest for k <= log2(n) elements.
  std::array<std::uint32_t, kMaxCandidates> scores{};
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t node = picked[i];
    const std::uint32_t sc = std::min<std::uint32_t>(score(loads[node], cost), 100);
    std::size_t j = i;
    for (; j > 0 && scores[j - 1] > sc; --j) {
      scores[j] = scores[j - 1];
      picked[j] = picked[j - 1];
    }
    scores[j] = sc;
    picked[j] = node;
  }
  const std::size_t choice = BiasStrategy::for_attempt(attempt).pick(std::span(scores.data(), count), rng);
  return picked[choice];
}

}  // namespace omega
