#pragma once
// Internal to the pulse layer: the cooperative task record and the runtime that polls,
// accounts, intervenes and wakes (the public side is omega/pulse/pulse.hpp).
//
// Ownership: a PulseTask has exactly one holder of its "token" at a time: the node queue
// (a queued poll), the polling worker, the slow lane, the timer wheel (a sleep), or the event
// it awaits (a TaskState's waiter). Only the holder may run, requeue or cancel it, so no
// reference count is needed. The registry maps ids to live tasks for tier_of and for the
// shutdown sweep; a task leaves it when it finishes or is cancelled, then it is freed.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <omega/base/cache.hpp>
#include <omega/base/config.hpp>
#include <omega/base/counter.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/priority.hpp>
#include <omega/exec/handle.hpp>
#include <omega/exec/node.hpp>
#include <omega/exec/signals.hpp>
#include <omega/pulse/coro.hpp>
#include <omega/pulse/policy.hpp>
#include <omega/pulse/pulse.hpp>
#include <omega/pulse/slow_queue.hpp>
#include <omega/time/scheduler.hpp>

namespace omega::detail {

class WorkerGroup;
class PulseRuntime;
class PulseTask;

// Who polls a task and takes it back when it becomes runnable: the system's PulseRuntime
// (node workers, slow lane) or an actor team (core/src/actor). The suspension points
// (coro.hpp) reach the driver through the task, so a Coro runs unchanged under either.
class PulseDriver {
 public:
  // The task became runnable (woken, or its poll ended in a yield): queue a poll of it.
  virtual void push(PulseTask* task) noexcept = 0;
  // The task sleeps until deadline_ns (omega::Clock's timeline); wake it then (wake_task).
  virtual void sleep_until(PulseTask* task, std::int64_t deadline_ns) noexcept = 0;

 protected:
  ~PulseDriver() = default;
};

class PulseTask {
 public:
  enum RunState : std::uint8_t {
    kIdle,      // suspended, waiting for its wake (timer, result, I/O)
    kQueued,    // a poll is queued (node, slow lane or overflow)
    kRunning,   // being polled
    kNotified,  // woken while being polled: requeue when the poll ends
    kCancelled,
  };
  enum class Suspend : std::uint8_t { None, Yield, Wait, Transfer };

  PulseDriver* driver = nullptr;
  coro::coroutine_handle<> root;
  coro::coroutine_handle<> resume_at;
  void* state = nullptr;  // the handle's TaskState<T>
  const PulseTaskOps* ops = nullptr;
  TaskId id;
  Priority priority = Priority::Normal;
  std::size_t node = 0;
  Suspend suspend = Suspend::None;
  std::atomic<std::uint8_t> run{kQueued};
  // Written by the polling thread only; published for tier_of.
  TierState tier_state;
  std::atomic<Tier> tier{Tier::Monitor};
  // A wait on a handle that the shutdown sweep must withdraw before destroying the frame.
  bool (*withdraw)(void* state) noexcept = nullptr;
  bool (*ready)(void* state) noexcept = nullptr;  // whether that wait's event has happened
  void* withdraw_state = nullptr;
};

// One polling thread's statistics. Single writer (the shared slot excepted: RMW there).
struct alignas(kCacheLine) WorkerSlot {
  bool shared = false;
  std::atomic<std::uint64_t> polls{0}, violations{0}, yields{0}, cpu_ns{0}, tasks{0}, slow_polls{0};
  // For the watchdog: when the running poll started (0: none), its sequence, its task.
  std::atomic<std::int64_t> poll_start{0};
  std::atomic<std::uint64_t> poll_seq{0};
  std::atomic<std::uint64_t> flagged_seq{0};
  std::atomic<std::uint64_t> task_id{0};
  std::atomic<bool> rescued{false};
  std::atomic<WorkerGroup*> group{nullptr};  // the polling worker's group, if it is a node worker
  std::atomic<std::uint64_t> cpu_clock{0};   // the polling thread's CPU clock (thread_role.hpp), 0: none
  // The watchdog's own (only it touches them): the CPU time of the long poll it is timing.
  std::uint64_t probe_seq = 0;
  std::int64_t probe_cpu_ns = 0;
  std::int64_t probe_wall_ns = 0;
  unsigned sample_left = 0;
  Histogram poll_time;
  // reset_worker_stats: values subtracted on read (a reset never races the writer).
  std::array<std::uint64_t, 6> base{};

  void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    if (shared) {
      c.fetch_add(n, std::memory_order_relaxed);
    } else {
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
  }
};

// A configuration in force, with its per-(priority, tier) budgets and thresholds worked out once.
struct ActiveConfig {
  explicit ActiveConfig(PulseConfig c) : config(std::move(c)), table(ScaledPolicies::of(config)) {}
  PulseConfig config;
  ScaledPolicies table;
};

// A wake-up (timer, result, I/O, channel): kIdle -> kQueued and the driver queues a poll;
// kRunning -> kNotified (the poll's end requeues it); otherwise nothing (already queued).
void wake_task(PulseTask* task) noexcept;

// One poll's body, shared by every driver: resumes the task under `ctx` (t_poll) until it
// suspends, following transfers between Coros. The caller sets task->run to kRunning first.
inline void run_poll(PulseTask& task, PollContext& ctx) noexcept {
  PollContext* const outer = t_poll;
  t_poll = &ctx;
  do {
    task.suspend = PulseTask::Suspend::None;
    task.resume_at.resume();
  } while (task.suspend == PulseTask::Suspend::Transfer);
  t_poll = outer;
}

// What a poll's end means for the task's ownership (after run_poll and the accounting).
enum class PollEnd : std::uint8_t {
  Finished,  // the root is done: the driver finishes it
  Requeue,   // runnable again (yielded, or woken before its wait began): the driver pushes it
  Parked,    // waiting: whoever wakes it owns it now (the driver must not touch it)
};
PollEnd settle_poll(PulseTask& task) noexcept;

class PulseRuntime final : public PulseDriver {
 public:
  struct Host {
    std::vector<OmegaNode*> nodes;
    WorkerGroup* group = nullptr;
    SignalHub* signals = nullptr;
    std::size_t worker_threads = 0;  // node worker threads, all nodes
  };
  PulseRuntime(PulseConfig config, Host host);
  PulseRuntime(const PulseRuntime&) = delete;
  PulseRuntime& operator=(const PulseRuntime&) = delete;
  ~PulseRuntime();

  // A new task for the root frame `root` (which it owns from now on).
  PulseTask* create(Priority priority, coro::coroutine_handle<> root, void* state, TaskId id,
                    const PulseTaskOps* ops);
  // Refused before it ever ran: destroys the frame (not the handle state: the caller's).
  void discard(PulseTask* task) noexcept;
  // Before the first push (the caller routes it): where requeues start, the spawn counted,
  // the threads started.
  void prepare(PulseTask* task, std::size_t home_node) noexcept;

  // Runs one poll of `task` on the calling thread (the queued job's body).
  void poll(PulseTask* task) noexcept;
  // PulseDriver: where a runnable task goes (its node lane, the Low lane at Yield, the slow
  // lane at Isolate), and the timer wheel.
  void push(PulseTask* task) noexcept override;
  void sleep_until(PulseTask* task, std::int64_t deadline_ns) noexcept override;

  // The single-threaded build's share of the event loop: timers, the slow lane, overflow.
  // Returns how many things ran.
  std::size_t run_service() noexcept;
  // Shutdown, in the system's order: begin (tell the timer and slow-lane threads to stop;
  // never blocks), then after the nodes have drained, finish (join them, cancel whatever is
  // still isolated, overflowing or suspended).
  void begin_shutdown() noexcept;
  void finish_shutdown() noexcept;

  // Public facade's queries.
  [[nodiscard]] Tier tier_of(TaskId id) const;
  [[nodiscard]] std::size_t worker_count() const noexcept { return slots_.size(); }
  [[nodiscard]] WorkerMetrics worker_metrics(std::size_t worker) const;
  void reset_worker_stats(std::size_t worker);
  Result<void, std::string> update_tier_policy(Tier tier, TierPolicy policy);
  Result<void, std::string> update_config(PulseConfig config);
  void set_algorithm(SchedulingAlgorithm algorithm);
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }
  [[nodiscard]] bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  [[nodiscard]] PulseConfig config() const;
  [[nodiscard]] PulseStats stats() const;
  void add_metrics(MetricsSnapshot& snap) const;

 private:
  void push_to_nodes(PulseTask* task, Priority lane) noexcept;
  void push_slow(PulseTask* task) noexcept;
  void cancel(PulseTask* task, const char* why) noexcept;
  void finish(PulseTask* task) noexcept;
  void unregister(PulseTask* task) noexcept;
  WorkerSlot& slot_for_thread() noexcept;
  void account(PulseTask* task, WorkerSlot& slot, std::size_t worker, std::int64_t start, std::int64_t end,
               bool flagged) noexcept;
  void publish_slow_poll(TaskId task, std::size_t node, std::uint64_t poll_ns, std::size_t worker,
                         bool running) noexcept;
  void ensure_threads();
  void service_loop();
  void slow_lane_loop();
  // One service turn: inbox -> wheel, tick, watchdog, overflow. Returns the next wake-up time.
  std::int64_t service_turn(std::size_t& ran) noexcept;
  void watchdog_scan(std::int64_t now) noexcept;
  // Polls one slow-lane task if the share allows; returns true if one ran.
  bool slow_lane_turn() noexcept;
  void set_config(std::unique_ptr<ActiveConfig> next);
  [[nodiscard]] const ActiveConfig& active() const noexcept { return *active_.load(std::memory_order_acquire); }

  Host host_;
  std::atomic<const ActiveConfig*> active_{nullptr};
  mutable std::mutex config_mutex_;
  std::vector<std::unique_ptr<ActiveConfig>> configs_;  // every one ever active: readers hold no lock
  std::atomic<bool> enabled_{true};
  std::atomic<bool> stopping_{false};

  // Worker slots: node workers first (claimed on their first poll), then the slow lane's,
  // then the shared one.
  std::vector<std::unique_ptr<WorkerSlot>> slots_;
  std::atomic<std::size_t> next_slot_{0};
  const std::uint64_t epoch_;  // tells this runtime's thread-local slot caches from another's

  // Registry.
  mutable std::mutex registry_mutex_;
  std::unordered_map<TaskId, PulseTask*> registry_;

  // Timers, watchdog and overflow: the service thread (or run_service without threads).
  std::mutex inbox_mutex_;
  std::vector<std::pair<PulseTask*, std::int64_t>> sleep_inbox_;
  std::deque<PulseTask*> overflow_;
  std::atomic<std::uint32_t> service_word_{0};
  std::unique_ptr<Scheduler> wheel_;  // owned by the service thread
  std::int64_t next_watchdog_ns_ = 0;

  // Slow lane.
  mutable std::mutex slow_mutex_;
  SlowQueue slow_;
  std::atomic<std::uint32_t> slow_word_{0};
  std::int64_t slow_credit_ns_ = 0;  // the lane's CPU allowance (share * elapsed - used)
  std::int64_t slow_credit_at_ns_ = 0;
  std::string slow_isolation_ = "not started";

  std::once_flag threads_once_;
  // Timers and the slow lane are served from run_service (the event loop's turns): always in
  // a build without threads, and where the runtime's own threads could not start.
  std::atomic<bool> serve_inline_{!kHasThreads};
  std::mutex service_mutex_;  // one service turn at a time (the wheel has one owner)
  std::thread service_thread_;
  std::thread slow_thread_;

  Counter spawned_, refused_, completed_, panicked_, cancelled_, promotions_, demotions_, warnings_, watchdog_flags_, rescues_,
      isolated_polls_, policy_updates_, policy_rejections_;
  friend class omega::Pulse;
};

}  // namespace omega::detail
