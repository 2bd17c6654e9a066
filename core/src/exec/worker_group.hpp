#pragma once
// Internal to the circulation: the worker group that the nodes of one system share (see
// OmegaNode's contract in omega/exec/node.hpp for what it promises). Implemented in
// node.cpp, beside the push path that calls wake_for.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <omega/base/cache.hpp>
#include <omega/exec/node.hpp>

namespace omega {

namespace detail {

// One per worker thread; stable address for the worker's lifetime.
struct WorkerParker {
  std::atomic<std::uint32_t> word{0};
  OmegaNode* node = nullptr;
  bool listed = false;    // on the parked list (guarded by the group's mutex)
  std::size_t slot = 0;   // its index there, for O(1) removal
};

// The workers of all nodes of one system (or of one standalone node): how many are awake,
// which are parked, and the nodes whose queues they may take work from.
//
// Accounting: a worker is awake (counted) from the moment it runs until it lists itself as
// parked; a waker that takes a worker off the parked list counts it awake on its behalf,
// so a burst of pushes wakes no more workers than the cap allows.
class WorkerGroup {
 public:
  using Parker = WorkerParker;

  // node_slots: how many nodes will attach. awake_cap 0 means the hardware thread count.
  WorkerGroup(std::size_t node_slots, unsigned awake_cap = 0);
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  void attach(OmegaNode* node) noexcept;
  [[nodiscard]] std::size_t node_slots() const noexcept { return slots_; }
  [[nodiscard]] OmegaNode* node_at(std::size_t i) const noexcept { return nodes_[i].load(std::memory_order_acquire); }
  [[nodiscard]] unsigned awake_cap() const noexcept { return cap_; }
  [[nodiscard]] unsigned awake() const noexcept { return awake_.load(std::memory_order_relaxed); }

  void count_awake() noexcept { awake_.fetch_add(1, std::memory_order_seq_cst); }
  // A spinning worker takes its last look (find_work) only after it stops searching, so
  // while one searches a push needs no wake-up at all: the searcher will find it.
  void begin_search() noexcept { searching_.fetch_add(1, std::memory_order_seq_cst); }
  void end_search() noexcept { searching_.fetch_sub(1, std::memory_order_seq_cst); }
  // end_search() of a searcher that found a task to run: see node.cpp.
  void end_search_found_work() noexcept;
  void count_asleep() noexcept { awake_.fetch_sub(1, std::memory_order_seq_cst); }
  // After a push to `node`: wakes up to `n` parked workers (preferring the node's own) while
  // fewer than the cap are awake and none is searching.
  void wake_for(OmegaNode* node, std::size_t n) noexcept;
  // Lists `p` as parked and stops counting it awake; false (nothing changed) when `stop`
  // is already set: the check is made under the same lock shutdown uses to wake workers.
  bool list_parked(Parker& p, const std::atomic<bool>& stop) noexcept;
  // After a park: takes `p` off the list if a waker has not already. Either way it counts
  // as awake afterwards.
  void unlist(Parker& p) noexcept;
  // Wakes every parked worker of `node` (shutdown).
  void wake_all_of(OmegaNode* node) noexcept;
  // A worker is stuck in a long task (the pulse watchdog saw it): it stops counting against
  // the awake cap, and a parked worker is woken for whatever is queued, so the stuck
  // worker's queue is taken over. end_rescue() (on the stuck worker, once its task returns)
  // counts it awake again.
  void rescue() noexcept;
  void end_rescue() noexcept { awake_.fetch_add(1, std::memory_order_seq_cst); }
  // The last look a worker takes after listing itself as parked (seq_cst reads): `self` if
  // it has queued or incoming work, else another node that has, else nullptr. Every node
  // counts, even one whose own worker is awake: that worker may be inside a long task.
  [[nodiscard]] OmegaNode* find_work(const OmegaNode* self) const noexcept;

  static constexpr std::uint32_t kRunning = 0;
  static constexpr std::uint32_t kParked = 1;
  static constexpr std::uint32_t kNotified = 2;

 private:
  const std::size_t slots_;
  const unsigned cap_;
  std::unique_ptr<std::atomic<OmegaNode*>[]> nodes_;
  std::atomic<std::size_t> attached_{0};
  // Read by every push; written when workers park, wake or start and stop spinning.
  alignas(kCacheLine) std::atomic<unsigned> awake_{0};
  std::atomic<unsigned> parked_count_{0};
  std::atomic<unsigned> searching_{0};
  std::mutex mutex_;
  // Mostly LIFO (the most recently parked worker has the warmest cache); removal swaps
  // with the last entry, so a system with hundreds of parked workers pays O(1).
  std::vector<Parker*> parked_;
  // Takes parked_[slot] off the list and counts it awake (under the mutex).
  void take_parked(std::size_t slot) noexcept;
  // The first node with queued or incoming work (seq_cst reads), or nullptr.
  [[nodiscard]] OmegaNode* node_with_work() const noexcept;
};

// Counts, per thread, every task the nodes start on it and every moment it may have waited
// (found no work, parked, entered run_pending or help_one from outside). Two polls on a thread
// with exactly one event between them ran back to back: Pulse then times the second from
// the first's end instead of reading the clock again.
inline thread_local std::uint64_t t_worker_events = 0;

// The group whose worker the calling thread is, or nullptr on any other thread.
[[nodiscard]] WorkerGroup* current_worker_group() noexcept;

}  // namespace detail

}  // namespace omega
