#pragma once
// The nanosecond scheduler (seed 001): a hierarchical timer wheel driven by tick().
//
//   omega::SchedulerConfig config{.tick_rate_ns = 500, .max_tasks_per_tick = 1000, .parallel = true,
//                                 .lipschitz_constant = 0.9, .window_size = 100};
//   omega::Scheduler scheduler(config);           // or Scheduler(config, system): due work runs on nodes
//   omega::TimerId id = scheduler.schedule(omega::TimerTask([] { /* ... */ }, 100ns)
//                                              .with_priority(omega::Priority::Critical));
//   scheduler.cancel(id);
//   scheduler.tick();                              // one step: what an event loop calls
//   scheduler.run();                               // natively: ticks until stop()
//   omega::SchedulerMetrics m = scheduler.metrics();
//
// Contracts:
// - Time is counted in ticks of tick_rate_ns from the scheduler's creation. A deadline is
//   rounded up to a tick boundary, so a task never runs before its deadline; it runs in the
//   first tick() whose clock reading has reached that boundary.
// - Due tasks run in order of deadline tick, then priority (Critical, High, Normal, Low),
//   then scheduling order. At most max_tasks_per_tick run (or are dispatched) per tick();
//   the rest stay queued, in order, for the next tick. Nothing accepted is dropped.
// - Periodic tasks keep the grid first + n * period (no drift); a run that falls behind is
//   caught up one run per tick.
// - One owner thread calls schedule, cancel, tick and run; tasks running on that thread may
//   call schedule and cancel (their own id included). stop() may be called from any thread.
// - With parallel = true and a system, due tasks are submitted to the system's nodes
//   (submit_detached). A refused submission (backpressure) keeps the task queued for the
//   next tick. The system must outlive the scheduler; the destructor waits for dispatched
//   tasks to finish.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <omega/base/clock.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/result.hpp>
#include <omega/time/timer_task.hpp>

namespace omega {

class UltraOmegaSystem;

struct SchedulerConfig {
  std::uint64_t tick_rate_ns = 1000;        // the wheel's resolution
  std::size_t max_tasks_per_tick = 10'000;  // tasks run (or dispatched) per tick(), at most
  bool parallel = false;                    // dispatch to the system's nodes (needs a system)
  double lipschitz_constant = 0.9;          // the strange loop's contraction factor k, in (0, 1)
  std::size_t window_size = 100;            // temporal window, in tick intervals, in [1, 2^20]
  // Every 2^tick_sample_shift-th tick is timed (the tick-time metrics); 0 times every tick.
  // Timing costs a second clock read and a histogram record.
  unsigned tick_sample_shift = 4;

  // Why this configuration cannot work, or nothing: a clear error, never a silent clamp.
  [[nodiscard]] Result<void, std::string> validate() const;
};

// Where the scheduler reads time, in nanoseconds on one steady timeline. Production uses
// omega::Clock (TSC natively, performance.now in WASM); tests pass a fake.
struct TimeSource {
  std::int64_t (*now)(const void* context) = nullptr;
  const void* context = nullptr;

  [[nodiscard]] std::int64_t read() const { return now(context); }
  [[nodiscard]] static TimeSource system() noexcept {
    return TimeSource{[](const void*) { return now_ns(); }, nullptr};
  }
};

enum class SchedulerError : std::uint8_t {
  WouldBlock,      // run() on a thread that must not block (browser main thread, single-threaded WASM)
  AlreadyRunning,  // run() while run() is active
};
[[nodiscard]] std::string_view to_string(SchedulerError error) noexcept;

struct SchedulerMetrics {
  std::uint64_t ticks = 0;          // tick() calls
  std::uint64_t timed_ticks = 0;    // ticks whose duration was measured (see tick_sample_shift)
  double avg_tick_time_ns = 0;      // over timed ticks; a tick's time includes tasks it ran inline
  std::uint64_t min_tick_time_ns = 0;
  std::uint64_t p50_tick_time_ns = 0;
  std::uint64_t p95_tick_time_ns = 0;
  std::uint64_t p99_tick_time_ns = 0;
  std::uint64_t max_tick_time_ns = 0;
  double tasks_per_second = 0;      // executed / time from the first to the latest tick
  std::uint64_t scheduled = 0;      // schedule() calls
  std::uint64_t executed = 0;       // runs completed (a periodic task counts each run)
  std::uint64_t dispatched = 0;     // runs handed to the system (parallel)
  std::uint64_t dispatch_refused = 0;  // submissions refused by the system, retried next tick
  std::uint64_t cancelled = 0;      // successful cancel() calls
  std::uint64_t panicked = 0;       // runs that threw (counted, never propagated)
  std::uint64_t carried_over = 0;   // sum over ticks of the due tasks left for a later tick
  std::uint64_t pending = 0;        // scheduled and not yet run (periodic tasks stay pending)
  std::uint64_t ready = 0;          // of which already due, waiting for a tick
  std::uint64_t memory_bytes = 0;   // task slots, wheel and windows (histograms excluded)
  double temporal_overlap = 0;      // see Scheduler::temporal_overlap
  double strange_loop_state = 0;    // see Scheduler::strange_loop_state
  double strange_loop_bound = 0;    // k / (1 - k) * |x(n) - x(n-1)|: distance to the fixed point, at most
  HistogramSnapshot tick_time;      // ns per timed tick
  HistogramSnapshot lateness;       // ns from a run's deadline to its start
};

class Scheduler {
 public:
  using Config = SchedulerConfig;
  using Task = TimerTask;
  using Priority = omega::Priority;
  using Id = TimerId;

  // An invalid configuration aborts with the reason; use try_create for outside input.
  explicit Scheduler(SchedulerConfig config, TimeSource time = TimeSource::system());
  Scheduler(SchedulerConfig config, UltraOmegaSystem& system, TimeSource time = TimeSource::system());
  [[nodiscard]] static Result<Scheduler, std::string> try_create(SchedulerConfig config,
                                                                 TimeSource time = TimeSource::system());
  [[nodiscard]] static Result<Scheduler, std::string> try_create(SchedulerConfig config, UltraOmegaSystem& system,
                                                                 TimeSource time = TimeSource::system());
  Scheduler(Scheduler&&) noexcept;
  Scheduler& operator=(Scheduler&&) noexcept;
  ~Scheduler();

  // O(1): a slot from the pool, a list append in the wheel. Allocates only when the pool
  // grows (in 4096-slot chunks) or the callable does not fit inline.
  TimerId schedule(TimerTask task);
  // O(1). True when the task was pending (not yet run, or periodic) and now never runs again;
  // false for a stale id (already run, already cancelled). A run already handed to a
  // worker is not recalled.
  bool cancel(TimerId id);
  // Moves what is due to the ready queue and runs (or dispatches) up to max_tasks_per_tick
  // of it. Returns how many ran or were dispatched. With nothing due it reads the clock,
  // updates the window and the strange loop, and returns.
  std::size_t tick();
  // Ticks until stop(): spins while a deadline is near, parks while the next is far.
  // Returns at once with WouldBlock where this thread must not block.
  Result<void, SchedulerError> run();
  void stop() noexcept;  // any thread

  [[nodiscard]] SchedulerMetrics metrics() const;
  // Overlap of consecutive temporal windows, in [0, 1]: a window is the span of time covered
  // by the last window_size tick intervals (intervals between consecutive tick() calls);
  // the window after the next tick shares all but the oldest and the newest interval, and
  // overlap = |W(n-1) ∩ W(n)| / |W(n-1) ∪ W(n)| = (S - d_new) / (S + d_dropped), where S is
  // the sum of the current window. Even ticking gives (w-1)/(w+1); a stall lowers it. 0 until
  // time has passed between two ticks.
  [[nodiscard]] double temporal_overlap() const noexcept;
  // x(n+1) = f(x(n)) = k * x(n) + (1 - k) * u(n), x(0) = 0, with u(n) = min(1, tick_rate_ns /
  // d(n)) the fraction of the configured rate the last tick interval d(n) achieved. f is a
  // contraction with Lipschitz constant k, so for steady ticking x converges to the fixed
  // point x* = u with |x(n) - x*| <= k^n / (1 - k) * |x(1) - x(0)| (Banach).
  [[nodiscard]] double strange_loop_state() const noexcept;
  [[nodiscard]] std::size_t pending() const noexcept;
  [[nodiscard]] const SchedulerConfig& config() const noexcept;
  // The earliest time (ns on the scheduler's timeline) at which tick() may have work, or
  // INT64_MAX when nothing is scheduled. A driver may sleep until then.
  [[nodiscard]] std::int64_t next_deadline_ns() const noexcept;

  struct State;  // internal

 private:
  Scheduler(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

}  // namespace omega
