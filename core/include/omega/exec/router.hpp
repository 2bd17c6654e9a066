#pragma once
// Power-of-K routing (seed 000). For n nodes, look at k = max(2, floor(log2 n)) distinct
// nodes drawn with the caller's OmegaRng, order them by load score, and let the attempt's
// BiasStrategy choose among them: Power(pi) first, then Stepped, Weighted, Exponential.
//
// The load score is the node's pressure (0..100) plus, for tasks whose cost hint exceeds
// 50, a penalty on regular nodes of (cost - 50) / 2 points: expensive work leans to super
// nodes (twice the threads), cheap work goes wherever there is room.
//
// select() is a pure function of (loads, cost, attempt, rng state): the same seed and the
// same pressures give the same node.
#include <cstddef>
#include <cstdint>
#include <span>

#include <omega/base/rng.hpp>

namespace omega {

struct NodeLoad {
  std::uint32_t pressure = 0;  // 0..100
  bool super = false;
};

class Router {
 public:
  static constexpr std::uint32_t kMinCost = 1;
  static constexpr std::uint32_t kMaxCost = 100;
  static constexpr std::size_t kMaxCandidates = 64;

  // k for n nodes: 1 for one node, else max(2, floor(log2 n)), never more than n.
  [[nodiscard]] static std::size_t candidates_for(std::size_t n) noexcept;
  // Score used to order candidates (lower is better).
  [[nodiscard]] static std::uint32_t score(const NodeLoad& load, std::uint32_t cost) noexcept;
  // Index of the chosen node in `loads` (non-empty). cost is clamped to [1, 100].
  [[nodiscard]] static std::size_t select(std::span<const NodeLoad> loads, std::uint32_t cost, unsigned attempt,
                                          OmegaRng& rng) noexcept;
};

}  // namespace omega
