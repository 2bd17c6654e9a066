#pragma once
// OmegaNode: one processing unit of the CPU circulation (seed 000): a bounded OmegaQueue and
// a fixed set of worker threads, all created up front and activated or parked by pressure.
//
// Contracts:
// - try_submit either queues the task (it will run exactly once, even across shutdown) or
//   refuses it with QueueFull / NodeShuttingDown and hands it back untouched.
// - Adaptive threads: min_threads are always active; more are activated when pressure
//   reaches the high watermark (at once, no creation on the hot path: threads exist from
//   construction, which the browser requires), and an extra thread deactivates only after
//   `scale_down_after` without work (hysteresis). Idle threads park with no timeout, so an
//   idle node burns no CPU.
// - Workers spin briefly (spin_iterations) before parking, trading a little CPU for latency.
// - Nodes of one system share a worker group (internal): a worker whose own queue is empty takes
//   work from the other nodes' queues before it parks (oldest, highest priority first, as
//   their own workers would). A push wakes a parked worker only while fewer workers than
//   the machine has hardware threads are awake: awake workers re-check every queue before
//   they park, so the work is found without a wake-up (a futex call and a context switch
//   per task, the dominant cost of a many-node system on a small machine).
// - A task that throws is caught on the worker and counted as panicked; the worker lives on.
//   (The System wraps tasks so that a panic also reaches the task's handle.)
// - shutdown(): refuse new work, run everything already accepted, join the workers.
// - Without threads (single-threaded WASM) the node has no workers: run_pending() runs
//   queued tasks on the caller, cooperatively, from the event loop.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <omega/base/cache.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>
#include <omega/base/counter.hpp>
#include <omega/base/error.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/result.hpp>
#include <omega/exec/queue.hpp>
#include <omega/exec/signals.hpp>
#include <omega/exec/task.hpp>

namespace omega {

namespace detail {
class WorkerGroup;  // internal (core/src/exec/worker_group.hpp)
struct WorkerParker;
}  // namespace detail

struct NodeConfig {
  std::size_t queue_capacity = 10;
  unsigned min_threads = 1;
  unsigned max_threads = 4;
  Watermarks watermarks{};
  unsigned spin_iterations = 2000;  // pops tried before parking
  // Each submitting thread marks 1 task in this many to be timed (queue wait and run time
  // histograms): three clock reads and two histogram records would be a third of a trivial
  // task's cost. 1 times every task. Counters (submitted, completed, ...) are always exact.
  // Default 8 natively, 64 in WASM, where a clock read costs about 7 times as much.
  unsigned timing_sample_every = platform::kDefaultTimingSampleEvery;
  Nanos scale_down_after = std::chrono::milliseconds(20);

  // Seed 000 defaults: regular nodes queue 10, 1-4 threads; super nodes twice both.
  static NodeConfig regular() { return {}; }
  static NodeConfig super_node() { return {.queue_capacity = 20, .min_threads = 2, .max_threads = 8}; }
  // A clear reason when the configuration cannot work, empty when it can.
  [[nodiscard]] std::string validate() const;
};

struct NodeStats {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;  // ran to the end, panicked or not
  std::uint64_t rejected = 0;   // refused: queue full or shutting down
  std::uint64_t panicked = 0;
  std::uint64_t scale_ups = 0;
  std::uint64_t scale_downs = 0;
};

class OmegaNode {
 public:
  // The configuration must be valid (NodeConfig::validate() empty): asserted. Scaling
  // events go to `signals` when given (it must outlive the node). Nodes of one system share
  // `group` (it must outlive them, and they must all be shut down before any is destroyed);
  // without one the node has a group of its own.
  OmegaNode(std::size_t id, NodeConfig config, SignalHub* signals = nullptr, detail::WorkerGroup* group = nullptr);
  OmegaNode(const OmegaNode&) = delete;
  OmegaNode& operator=(const OmegaNode&) = delete;
  ~OmegaNode();  // shutdown()

  // Queues `task` (moved from) or refuses it (left untouched).
  Result<void, NodeError> try_submit(Task& task, Priority priority) noexcept;
  Result<void, NodeError> try_submit(Task&& task, Priority priority) noexcept { return try_submit(task, priority); }

  // Queues a prefix of tasks[0..n) (moved from) with one reservation, one clock read and at
  // most one wake-up; returns its length. The rest are left untouched. n <= kBulkMax.
  static constexpr std::size_t kBulkMax = 64;
  std::size_t try_submit_bulk(Task* tasks, std::size_t n, Priority priority) noexcept;

  // Runs up to `max_tasks` queued tasks on the calling thread; returns how many ran. This is
  // how nodes make progress without threads; with threads it simply helps.
  std::size_t run_pending(std::size_t max_tasks = ~std::size_t{0});

  // Runs one queued task on the calling thread if the calling thread is not itself inside a
  // task: how a thread waiting for a result helps instead of parking. (Nested helping could
  // run, below a waiting task, a task that waits for it.)
  bool help_one();
  [[nodiscard]] static bool inside_task() noexcept;
  // Called by a noexcept task that caught its own exception (a handle's job): the node counts
  // it as panicked, as it counts a task that throws.
  static void note_panic() noexcept;

  // Stops accepting, runs what was accepted, joins the workers. Idempotent.
  void shutdown();
  // shutdown() in two steps, so a system closes every node before it joins any.
  void begin_shutdown() noexcept;
  // After begin_shutdown(): every worker thread has left its loop (nothing it accepted is
  // left to run by then), so shutdown() joins without waiting. Always true without threads.
  [[nodiscard]] bool workers_exited() const noexcept {
    return running_workers_.load(std::memory_order_acquire) == 0;
  }

  [[nodiscard]] std::size_t id() const noexcept { return id_; }
  [[nodiscard]] const NodeConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::uint32_t get_pressure() const noexcept { return queue_.pressure(); }
  [[nodiscard]] PressureLevel get_pressure_level() const noexcept { return queue_.pressure_level(); }
  [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }
  // Threads currently allowed to run (0 without threads).
  [[nodiscard]] unsigned active_threads() const noexcept { return active_.load(std::memory_order_relaxed); }
  // What the pressure asks for right now: min_threads, or max_threads under high pressure.
  [[nodiscard]] unsigned desired_threads() const noexcept;
  // Whether a worker is running or spinning now, so new work needs no wake-up.
  [[nodiscard]] bool awake() const noexcept {
    return parked_.load(std::memory_order_relaxed) < active_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] bool shutting_down() const noexcept { return stopping_.load(std::memory_order_acquire); }
  [[nodiscard]] NodeStats stats() const noexcept;
  // Queue wait (submit to start) and run time, in ns, of the sampled tasks
  // (NodeConfig::timing_sample_every).
  [[nodiscard]] HistogramSnapshot queue_wait() const { return queue_wait_.snapshot(); }
  [[nodiscard]] HistogramSnapshot run_time() const { return run_time_.snapshot(); }

 private:
  struct Item {
    Task task;
    std::int64_t enqueued_ns = 0;  // 0: not timed (see timing_sample_every)
  };
  friend class detail::WorkerGroup;
  struct WorkerState;  // a worker's state between worker_pass calls (node.cpp)
  static constexpr unsigned kPassIterations = 4096;
  void worker_loop(unsigned index);
  // Runs the worker's loop for a while; false once the worker must exit.
  bool worker_pass(WorkerState& state);
  void run(Item& item) noexcept;
  // Takes one task into `out` from the node at `cursor` (advanced) if it is another node
  // with work; returns that node, which the task must run on (its metrics), or nullptr.
  OmegaNode* steal_one(std::size_t& cursor, Item& out) noexcept;
  // steal_one over every node once (a worker that may not spin, before it parks).
  OmegaNode* steal_any(std::size_t& cursor, Item& out) noexcept;
  // Undoes sample_stamp's step for a refused submission.
  static void unsample(const Item& item) noexcept;
  // Wakes parked workers for `pushed` accepted tasks, scales up under pressure.
  void notify_pushed(std::size_t pushed) noexcept;
  void maybe_scale_up() noexcept;

  void publish_scaled(unsigned from, unsigned to) noexcept;

  const std::size_t id_;
  const NodeConfig config_;
  SignalHub* const signals_;
  std::unique_ptr<detail::WorkerGroup> own_group_;  // a standalone node's group
  detail::WorkerGroup* const group_;
  OmegaQueue<Item> queue_;
  // Read on every worker iteration, written rarely: kept apart from the submit-path RMWs.
  alignas(kCacheLine) std::atomic<bool> stopping_{false};
  std::atomic<unsigned> active_{0};
  // Active workers on the group's parked list.
  std::atomic<unsigned> parked_{0};
  // Inactive workers wait on activation_epoch_; parked active ones on their Parker.
  alignas(kCacheLine) std::atomic<std::uint32_t> activation_epoch_{0};
  std::unique_ptr<detail::WorkerParker[]> parkers_;
  Counter completed_, rejected_, panicked_, scale_ups_, scale_downs_;
  Histogram queue_wait_;
  Histogram run_time_;
  std::mutex shutdown_mutex_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> running_workers_{0};  // worker threads that have not left worker_loop
};

}  // namespace omega
