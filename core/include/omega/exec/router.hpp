#pragma once
// Power-of-K routing (seed 000). For n nodes, look at k = max(2, floor(log2 n)) distinct
// nodes drawn with the caller's OmegaRng, order them by load score, and let the attempt's
// BiasStrategy choose among them: Power(pi) first, then Stepped, Weighted, Exponential.
//
// The load score is the node's pressure (0..100) plus, for tasks whose cost hint exceeds
// 50, a penalty on regular nodes of (cost - 50) / 2 points: expensive work leans to super
// nodes (twice the threads), cheap work goes wherever there is room. A node whose workers
// are all parked scores kColdPenalty more: waking a thread (a futex call and a context
// switch, microseconds) costs more than queueing behind a little work on a warm node.
//
// select() is a pure function of (loads, cost, attempt, rng state): the same seed and the
// same pressures give the same node.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <omega/base/rng.hpp>

namespace omega {

struct NodeLoad {
  std::uint32_t pressure = 0;  // 0..100
  bool super = false;
  bool awake = true;  // has a worker running or spinning (no wake-up needed)
};

class Router {
 public:
  static constexpr std::uint32_t kMinCost = 1;
  static constexpr std::uint32_t kMaxCost = 100;
  static constexpr std::size_t kMaxCandidates = 64;
  static constexpr std::uint32_t kColdPenalty = 20;

  // k for n nodes: 1 for one node, else max(2, floor(log2 n)), never more than n.
  [[nodiscard]] static std::size_t candidates_for(std::size_t n) noexcept;
  // Score used to order candidates (lower is better).
  [[nodiscard]] static std::uint32_t score(const NodeLoad& load, std::uint32_t cost) noexcept;
  // Index of the chosen node in `loads` (non-empty). cost is clamped to [1, 100].
  [[nodiscard]] static std::size_t select(std::span<const NodeLoad> loads, std::uint32_t cost, unsigned attempt,
                                          OmegaRng& rng) noexcept {
    return select_from(loads.size(), [&](std::size_t i) { return loads[i]; }, cost, attempt, rng);
  }
  // The same choice, reading the load of only the k sampled nodes through load_of(i): with
  // many nodes, reading every node's pressure per submission would cost more than the rest
  // of routing together.
  template <class LoadOf>
  [[nodiscard]] static std::size_t select_from(std::size_t n, LoadOf&& load_of, std::uint32_t cost, unsigned attempt,
                                               OmegaRng& rng) noexcept {
    // Left uninitialised on purpose: only [0, count) is used, and zeroing 768 bytes per
    // submission cost more than the rest of routing.
    std::array<std::size_t, kMaxCandidates> picked;
    const std::size_t count = sample(n, picked, rng);
    std::array<std::uint32_t, kMaxCandidates> scores;
    for (std::size_t i = 0; i < count; ++i) {
      // Least loaded first; ties keep draw order so the result depends only on the rng
      // stream. Insertion sort: stable, allocation-free, fastest for k <= log2(n).
      const std::size_t node = picked[i];
      const std::uint32_t sc = std::min<std::uint32_t>(score(load_of(node), cost), 100);
      std::size_t j = i;
      for (; j > 0 && scores[j - 1] > sc; --j) {
        scores[j] = scores[j - 1];
        picked[j] = picked[j - 1];
      }
      scores[j] = sc;
      picked[j] = node;
    }
    return picked[BiasStrategy::for_attempt(attempt).pick(std::span(scores.data(), count), rng)];
  }

 private:
  // Draws candidates_for(n) distinct node indices into `out`; returns how many.
  static std::size_t sample(std::size_t n, std::array<std::size_t, kMaxCandidates>& out, OmegaRng& rng) noexcept;
};

}  // namespace omega
