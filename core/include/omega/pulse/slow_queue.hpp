#pragma once
// SlowQueue: the slow lane's queue of isolated tasks (seed 002's fair slow queue). It bounds
// nothing by itself; it decides which isolated task runs next so that Low, Normal and High
// share the lane's CPU by weight, while Critical work never waits behind them.
//
// Contracts:
// - A pure data structure: not thread-safe (the runtime holds its lock around every call) and
//   it never reads a clock: the CPU an entry used is passed in through charge().
// - Critical entries are always taken first, in FIFO order, whatever the algorithm; they
//   neither use nor change the algorithm's state. FIFO within every class.
// - pop() is O(classes) and never allocates; push() may allocate.
// - charge(p, ns) is the CPU the last popped entry of class p used. The algorithm decides the
//   next pop from the charges it has seen, so the runtime charges an entry before it pops the
//   next one of the same class (the slow lane's single server does exactly that). A pop that
//   is never charged counts as free.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include <omega/base/priority.hpp>
#include <omega/base/rng.hpp>
#include <omega/pulse/types.hpp>

namespace omega {

struct SlowLaneConfig {
  SchedulingAlgorithm algorithm = SchedulingAlgorithm::CreditBased;
  std::array<std::uint32_t, kPriorityCount> weights{1, 2, 4, 8};  // by Priority; Critical's unused (always first)
  std::uint64_t quantum_ns = 500'000;  // DRR quantum and credit refill unit, per weight point
  std::uint64_t seed = 0x5eed;         // lottery draws (deterministic for tests)
  // Empty when usable, else what is wrong: weights of Low, Normal and High > 0, quantum_ns > 0,
  // and weight * quantum_ns of each below 2^62 (credits and deficits are signed 64-bit).
  [[nodiscard]] std::string validate() const;
};

// Isolated tasks waiting for the slow lane. Among Low, Normal and High the algorithm decides,
// by CPU time:
//  - CreditBased: every class has credits (ns), starting at weight * quantum_ns; pop takes the
//    non-empty class with the most credits (ties: higher priority); charge() subtracts what the
//    entry cost. When no non-empty class has credits left, every class gets weight * quantum_ns
//    added, capped at weight * quantum_ns (an idle class banks at most one refill; a class in
//    debt keeps it). Deterministic order; CPU shares follow the weights while classes are busy.
//  - Lottery: each non-empty class holds `weight` tickets; a draw with the OmegaRng (seeded
//    from config.seed) picks the class. Shares of draws follow the tickets; costs only count
//    in stats().
//  - DeficitRoundRobin: classes visited round robin (High, Normal, Low, High, ...). A visit adds
//    weight * quantum_ns to the class's deficit and serves it while the deficit is positive
//    (charge() lowers it; an overrun stays as debt for the next visits). Empty classes are
//    skipped. A class found empty when the next pop decides has a positive deficit reset to 0
//    (an idle class banks nothing, as in classic DRR), but keeps a debt: a cost is only known
//    after the entry ran, and forgiving it would let a task that empties its class at every
//    pop (a lone task that sleeps between polls) run unbounded polls once per round. The
//    decision is taken at the next pop, not when the class empties, so an entry the runtime
//    pushes back (charge, push back, pop) continues its class's visit. While classes stay
//    busy, CPU served per class stays within weight * quantum_ns plus the largest single cost
//    of its weighted fair share.
class SlowQueue {
 public:
  struct Entry {
    void* item = nullptr;
    Priority priority = Priority::Normal;
  };
  struct ClassStats {
    std::uint64_t served = 0;     // pops
    std::uint64_t served_ns = 0;  // charged CPU
  };

  // Aborts on a config that validate() rejects (the runtime validates before building one).
  explicit SlowQueue(SlowLaneConfig config = {});

  void push(void* item, Priority p);
  // The next entry to run, or nullopt when empty.
  [[nodiscard]] std::optional<Entry> pop();
  // The CPU the last popped entry of class p used (see the contract above).
  void charge(Priority p, std::uint64_t cost_ns) noexcept;

  // From the next pop on; queued entries keep their FIFO order; the new algorithm's state
  // starts fresh (full credits, zero deficits, DRR at High). Setting the algorithm already in
  // use changes nothing.
  void set_algorithm(SchedulingAlgorithm a) noexcept;
  [[nodiscard]] SchedulingAlgorithm algorithm() const noexcept { return config_.algorithm; }
  [[nodiscard]] const SlowLaneConfig& config() const noexcept { return config_; }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t size(Priority p) const noexcept { return queues_[index(p)].size(); }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  // Removes every entry, oldest first per class, Critical first, then High, Normal, Low
  // (shutdown cancels them). Entries f pushes back are kept for later. Algorithm state and
  // stats are left as they are.
  template <class F>
  void drain(F&& f) {
    std::array<std::deque<void*>, kPriorityCount> taken;
    for (std::size_t i = 0; i < kPriorityCount; ++i) taken[i].swap(queues_[i]);
    size_ = 0;
    for (std::size_t i = kPriorityCount; i-- > 0;) {
      for (void* item : taken[i]) f(Entry{item, static_cast<Priority>(i)});
    }
  }

  // Pops and charged ns per class since construction.
  [[nodiscard]] ClassStats stats(Priority p) const noexcept { return stats_[index(p)]; }

  // The algorithms' state, for tests and metrics. credits(): CreditBased's balance of class p;
  // deficit(): DeficitRoundRobin's counter of class p; drr_current(): the class DRR is
  // visiting (its quantum granted), or nullopt between visits. Critical's are always 0.
  [[nodiscard]] std::int64_t credits(Priority p) const noexcept { return credits_[index(p)]; }
  [[nodiscard]] std::int64_t deficit(Priority p) const noexcept { return deficit_[index(p)]; }
  [[nodiscard]] std::optional<Priority> drr_current() const noexcept;

 private:
  static constexpr std::size_t index(Priority p) noexcept { return static_cast<std::size_t>(p); }
  static constexpr std::size_t kCritical = static_cast<std::size_t>(Priority::Critical);

  void reset_algorithm_state() noexcept;
  [[nodiscard]] std::int64_t grant(std::size_t c) const noexcept;  // weight * quantum_ns of class c
  // Each returns the class (Low, Normal or High) to serve next; at least one is non-empty.
  [[nodiscard]] std::size_t pick_credit() noexcept;
  [[nodiscard]] std::size_t pick_lottery() noexcept;
  [[nodiscard]] std::size_t pick_drr() noexcept;

  SlowLaneConfig config_;
  std::array<std::deque<void*>, kPriorityCount> queues_;
  std::size_t size_ = 0;
  std::array<ClassStats, kPriorityCount> stats_{};
  OmegaRng rng_;
  std::array<std::int64_t, kPriorityCount> credits_{};
  std::array<std::int64_t, kPriorityCount> deficit_{};
  std::size_t drr_pos_ = 0;                     // index into the visiting order High, Normal, Low
  bool drr_visiting_ = false;                   // the class at drr_pos_ has had this visit's quantum
};

}  // namespace omega
