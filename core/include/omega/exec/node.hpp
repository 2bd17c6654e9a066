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
// - A task that throws is caught on the worker and counted as panicked; the worker lives on.
//   (The System wraps tasks so that a panic also reaches the task's handle.)
// - shutdown(): refuse new work, run everything already accepted, join the workers.
// - Without threads (single-threaded WASM) the node has no workers: run_pending() runs
//   queued tasks on the caller, cooperatively, from the event loop.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <omega/base/cache.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/error.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/exec/queue.hpp>
#include <omega/exec/signals.hpp>
#include <omega/exec/task.hpp>

namespace omega {

struct NodeConfig {
  std::size_t queue_capacity = 10;
  unsigned min_threads = 1;
  unsigned max_threads = 4;
  Watermarks watermarks{};
  unsigned spin_iterations = 2000;  // pops tried before parking
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
  // events go to `signals` when given (it must outlive the node).
  OmegaNode(std::size_t id, NodeConfig config, SignalHub* signals = nullptr);
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

  // Stops accepting, runs what was accepted, joins the workers. Idempotent.
  void shutdown();

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
    return sleepers_.load(std::memory_order_relaxed) < active_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] bool shutting_down() const noexcept { return stopping_.load(std::memory_order_acquire); }
  [[nodiscard]] NodeStats stats() const noexcept;
  // Queue wait (submit to start) and run time, in ns.
  [[nodiscard]] HistogramSnapshot queue_wait() const { return queue_wait_.snapshot(); }
  [[nodiscard]] HistogramSnapshot run_time() const { return run_time_.snapshot(); }

 private:
  struct Item {
    Task task;
    std::int64_t enqueued_ns = 0;
  };
  void worker_loop(unsigned index);
  void run(Item& item);
  // The submit protocol both submit paths follow: announce (false once shutdown began, with
  // nothing announced), push, retract the announcement, then notify_pushed.
  bool begin_submit() noexcept;
  void end_submit() noexcept { in_flight_submits_.fetch_sub(1, std::memory_order_release); }
  // Counts `pushed` accepted tasks, wakes parked workers for them, scales up under pressure.
  void notify_pushed(std::size_t pushed) noexcept;
  void maybe_scale_up() noexcept;

  void publish_scaled(unsigned from, unsigned to) noexcept;

  const std::size_t id_;
  const NodeConfig config_;
  SignalHub* const signals_;
  OmegaQueue<Item> queue_;
  // Read on every worker iteration, written rarely: kept apart from the submit-path RMWs.
  alignas(kCacheLine) std::atomic<bool> stopping_{false};
  std::atomic<unsigned> active_{0};
  alignas(kCacheLine) std::atomic<unsigned> in_flight_submits_{0};  // submits past the stopping check
  // Parked idle workers wait on work_epoch_; inactive ones on activation_epoch_.
  alignas(kCacheLine) std::atomic<std::uint32_t> work_epoch_{0};
  std::atomic<unsigned> sleepers_{0};
  alignas(kCacheLine) std::atomic<std::uint32_t> activation_epoch_{0};
  Counter submitted_, completed_, rejected_, panicked_, scale_ups_, scale_downs_;
  Histogram queue_wait_;
  Histogram run_time_;
  std::mutex shutdown_mutex_;
  std::vector<std::thread> threads_;
};

}  // namespace omega
