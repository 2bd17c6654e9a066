// The nanosecond scheduler: the wheel and slab of timer_wheel.hpp, the tick loop, parallel
// dispatch to an UltraOmegaSystem, tick metrics, temporal windows and the strange loop.
#include <omega/time/scheduler.hpp>

#include <omega/base/config.hpp>
#include <omega/base/park.hpp>
#include <omega/base/spin.hpp>
#include <omega/exec/system.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "time/timer_wheel.hpp"

namespace omega {

using time_internal::kNil;
using time_internal::ListHead;
using time_internal::SlotState;
using time_internal::TimerNode;
using time_internal::TimerPool;
using time_internal::TimerWheel;

namespace {
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kMaxWindow = std::size_t{1} << 20;

std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kNever : std::numeric_limits<std::int64_t>::min();
  return r;
}
}  // namespace

Result<void, std::string> SchedulerConfig::validate() const {
  if (tick_rate_ns == 0) return Err(std::string("tick_rate_ns must be at least 1 (got 0)"));
  if (tick_rate_ns > (std::uint64_t{1} << 40)) {
    return Err("tick_rate_ns must be at most 2^40 ns (~18 min); got " + std::to_string(tick_rate_ns));
  }
  if (max_tasks_per_tick == 0) return Err(std::string("max_tasks_per_tick must be at least 1 (got 0)"));
  if (!(lipschitz_constant > 0.0 && lipschitz_constant < 1.0)) {
    return Err("lipschitz_constant must lie in the open interval (0, 1) for the strange loop to contract; got " +
               std::to_string(lipschitz_constant));
  }
  if (window_size == 0) return Err(std::string("window_size must be at least 1 tick interval (got 0)"));
  if (window_size > kMaxWindow) {
    return Err("window_size must be at most 2^20 tick intervals; got " + std::to_string(window_size));
  }
  if (tick_sample_shift > 20) return Err("tick_sample_shift must be at most 20; got " + std::to_string(tick_sample_shift));
  return {};
}

std::string_view to_string(SchedulerError error) noexcept {
  switch (error) {
    case SchedulerError::WouldBlock: return "WouldBlock";
    case SchedulerError::AlreadyRunning: return "AlreadyRunning";
  }
  return "SchedulerError(?)";
}

// What dispatched runs touch from worker threads. Lives in State (heap, never moves), and
// the scheduler's destructor waits until no dispatched run refers to it.
struct DispatchShared {
  TimeSource time;
  Histogram* lateness = nullptr;
  std::atomic<std::uint64_t> executed{0};
  std::atomic<std::uint64_t> panicked{0};
  std::atomic<std::uint64_t> in_flight{0};
  TimerFn returned;  // a refused submission's callable comes back here (owner thread only)
};

namespace {
// The work handed to a node: 48 bytes, so omega::Task stores it inline (no allocation). If
// the system refuses it, it is destroyed unrun on the submitting thread and gives its
// callable back, so the task can be retried next tick.
struct DispatchedRun {
  TimerFn fn;
  DispatchShared* shared;
  std::int64_t deadline_ns;

  DispatchedRun(TimerFn f, DispatchShared* s, std::int64_t d) noexcept : fn(std::move(f)), shared(s), deadline_ns(d) {}
  DispatchedRun(DispatchedRun&& o) noexcept : fn(std::move(o.fn)), shared(o.shared), deadline_ns(o.deadline_ns) {}
  DispatchedRun& operator=(DispatchedRun&&) = delete;
  ~DispatchedRun() {
    if (fn) shared->returned = std::move(fn);
  }
  void operator()() {
    const std::int64_t start = shared->time.read();
    shared->lateness->record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, start - deadline_ns)));
    TimerFn f = std::move(fn);
    try {
      f();
    } catch (...) {
      shared->panicked.fetch_add(1, std::memory_order_relaxed);
    }
    shared->executed.fetch_add(1, std::memory_order_relaxed);
    shared->in_flight.fetch_sub(1, std::memory_order_release);
  }
};
static_assert(sizeof(DispatchedRun) <= Task::kInlineSize, "a dispatched run must fit omega::Task's inline storage");
}  // namespace

struct Scheduler::State {
  SchedulerConfig config;
  TimeSource time;
  UltraOmegaSystem* system = nullptr;
  bool parallel = false;

  // Time: ticks of config.tick_rate_ns since epoch_ns.
  std::int64_t epoch_ns = 0;
  std::uint64_t rate = 1;
  int rate_shift = -1;  // log2(rate) when rate is a power of two
  double rate_inverse = 1.0;

  TimerPool pool;
  TimerWheel wheel;
  ListHead ready;
  std::size_t ready_count = 0;
  std::int64_t next_due_ns = kNever;  // no tick before this needs the wheel

  // Counters (owner thread).
  std::uint64_t ticks = 0;
  std::uint64_t scheduled = 0;
  std::uint64_t executed = 0;
  std::uint64_t dispatched = 0;
  std::uint64_t dispatch_refused = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t panicked = 0;
  std::uint64_t carried_over = 0;
  std::uint64_t tick_mask = 0;
  std::int64_t first_tick_ns = 0;
  std::int64_t last_tick_ns = 0;
  Histogram tick_time;
  Histogram lateness;
  DispatchShared shared;
  OmegaRng rng = OmegaRng::new_with_seed(0x5eed001);

  // Temporal windows: the last window_size tick intervals, in a ring.
  std::vector<std::int64_t> ring;
  std::size_t ring_pos = 0;
  std::int64_t window_sum = 0;
  std::int64_t newest = 0;
  std::int64_t dropped = 0;

  // Strange loop.
  double k = 0.9;
  double x = 0.0;
  double last_step = 0.0;
  double rate_d = 1.0;

  // run()/stop().
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> running{false};
  std::atomic<std::uint32_t> wake{0};

  State(SchedulerConfig c, TimeSource t, UltraOmegaSystem* s)
      : config(c), time(t), system(s), parallel(c.parallel && s != nullptr), ring(c.window_size, 0) {
    epoch_ns = time.read();
    rate = config.tick_rate_ns;
    if (std::has_single_bit(rate)) rate_shift = std::countr_zero(rate);
    rate_inverse = 1.0 / static_cast<double>(rate);
    rate_d = static_cast<double>(rate);
    k = config.lipschitz_constant;
    tick_mask = (std::uint64_t{1} << config.tick_sample_shift) - 1;
    shared.time = time;
    shared.lateness = &lateness;
    wheel.deadline_tick_fn = [](const void* ctx, const TimerNode& n) {
      return static_cast<const State*>(ctx)->ceil_tick(n.deadline_ns);
    };
    wheel.deadline_tick_ctx = this;
  }

  ~State() {
    // Dispatched runs refer to `shared`: wait for them. Without workers (single-threaded
    // WASM) the system's queues only drain when someone runs them, so run them here.
    while (shared.in_flight.load(std::memory_order_acquire) != 0) {
      if (system != nullptr && !kHasThreads) system->run_pending(64);
      std::this_thread::yield();
    }
  }

  // floor(x / rate), exact, without a 64-bit division on the hot path.
  [[nodiscard]] std::uint64_t div_rate(std::uint64_t v) const noexcept {
    if (rate_shift >= 0) return v >> rate_shift;
    auto q = static_cast<std::uint64_t>(static_cast<double>(v) * rate_inverse);
    while (q > 0 && q * rate > v) --q;
    while ((q + 1) * rate <= v) ++q;
    return q;
  }
  // The first tick at or after time t: a task never runs before its deadline.
  [[nodiscard]] std::uint64_t ceil_tick(std::int64_t t) const noexcept {
    if (t <= epoch_ns) return 0;
    const auto v = static_cast<std::uint64_t>(t - epoch_ns);
    const std::uint64_t q = div_rate(v);
    return q * rate == v ? q : q + 1;
  }
  [[nodiscard]] std::uint64_t floor_tick(std::int64_t t) const noexcept {
    return t <= epoch_ns ? 0 : div_rate(static_cast<std::uint64_t>(t - epoch_ns));
  }
  [[nodiscard]] std::int64_t tick_start_ns(std::uint64_t tick) const noexcept {
    if (tick > static_cast<std::uint64_t>(kNever) / rate) return kNever;
    return saturating_add(epoch_ns, static_cast<std::int64_t>(tick * rate));
  }

  void file(std::uint32_t i) noexcept {
    const std::uint64_t tick = ceil_tick(pool[i].deadline_ns);
    wheel.insert(pool, i, tick);
    const std::int64_t due = tick_start_ns(std::max(tick, wheel.elapsed()));
    if (due < next_due_ns) next_due_ns = due;
  }

  void refresh_next_due() noexcept {
    TimerWheel::Expiry e{};
    next_due_ns = wheel.next_expiry(e) ? tick_start_ns(e.tick) : kNever;
  }

  void observe_interval(std::int64_t d) noexcept {
    dropped = ring[ring_pos];
    ring[ring_pos] = d;
    window_sum += d - dropped;
    newest = d;
    if (++ring_pos == ring.size()) ring_pos = 0;
    // u = min(1, rate / d); no division when the caller ticks at least as often as the rate.
    const double u = d <= static_cast<std::int64_t>(rate) ? 1.0 : rate_d / static_cast<double>(d);
    const double next = k * x + (1.0 - k) * u;
    last_step = std::fabs(next - x);
    x = next;
  }

  std::size_t tick() {
    const std::int64_t now = time.read();
    if (ticks++ == 0) {
      first_tick_ns = now;
    } else {
      observe_interval(now - last_tick_ns);
    }
    last_tick_ns = now;
    if (now >= next_due_ns) {
      wheel.advance(pool, floor_tick(now), ready, [this](std::uint32_t i) {
        pool[i].state = SlotState::Ready;
        ++ready_count;
      });
      refresh_next_due();
    }
    std::size_t ran = 0;
    if (ready_count != 0) ran = parallel ? dispatch_ready() : run_ready();
    if ((ticks & tick_mask) == 0) {
      const std::int64_t end = time.read();
      tick_time.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, end - now)));
    }
    return ran;
  }

  std::uint32_t pop_ready() noexcept {
    const std::uint32_t i = ready.head;
    time_internal::list_unlink(pool, ready, i);
    --ready_count;
    return i;
  }

  // After a run: a periodic task goes back on its grid; anything else frees its slot.
  void finish(std::uint32_t i) noexcept {
    TimerNode& n = pool[i];
    if (n.period_ns > 0 && n.state == SlotState::Running) {
      n.deadline_ns = saturating_add(n.deadline_ns, n.period_ns);
      file(i);
    } else {
      pool.release(i);
    }
  }

  std::size_t run_ready() {
    std::size_t ran = 0;
    const std::size_t limit = config.max_tasks_per_tick;
    while (ran < limit && ready_count != 0) {
      const std::uint32_t i = pop_ready();
      TimerNode& n = pool[i];  // chunks never move: safe across schedule() calls from the task
      n.state = SlotState::Running;
      const std::int64_t start = time.read();
      lateness.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, start - n.deadline_ns)));
      try {
        n.fn();
      } catch (...) {
        ++panicked;
      }
      ++executed;
      ++ran;
      finish(i);
    }
    carried_over += ready_count;
    return ran;
  }

  std::size_t dispatch_ready() {
    std::size_t sent = 0;
    const std::size_t limit = config.max_tasks_per_tick;
    while (sent < limit && ready_count != 0) {
      const std::uint32_t i = ready.head;
      TimerNode& n = pool[i];
      TimerFn fn = n.period_ns > 0 ? n.fn.clone() : std::move(n.fn);
      shared.in_flight.fetch_add(1, std::memory_order_relaxed);
      auto r = system->submit_detached(static_cast<Priority>(n.priority), 1,
                                       DispatchedRun(std::move(fn), &shared, n.deadline_ns), rng);
      if (!r) {
        // Backpressure: keep the task (and its order) for the next tick.
        shared.in_flight.fetch_sub(1, std::memory_order_relaxed);
        if (n.period_ns == 0) n.fn = std::move(shared.returned);
        shared.returned.reset();
        ++dispatch_refused;
        break;
      }
      pop_ready();
      n.state = SlotState::Running;
      ++dispatched;
      ++sent;
      finish(i);
    }
    carried_over += ready_count;
    return sent;
  }

  TimerId schedule(TimerTask&& task) {
    const std::int64_t now = time.read();
    const std::uint32_t i = pool.allocate();
    TimerNode& n = pool[i];
    n.fn = std::move(task.fn());
    n.deadline_ns = saturating_add(now, std::max<std::int64_t>(0, task.delay().count()));
    // A period below one tick would be due again in the same tick forever: one tick at least.
    n.period_ns = task.is_periodic() ? std::max<std::int64_t>(task.period().count(), static_cast<std::int64_t>(rate)) : 0;
    n.priority = static_cast<std::uint8_t>(task.priority());
    file(i);
    ++scheduled;
    return TimerId{i, n.generation};
  }

  bool cancel(TimerId id) noexcept {
    if (id.index >= pool.capacity()) return false;
    TimerNode& n = pool[id.index];
    if (n.generation != id.generation) return false;
    switch (n.state) {
      case SlotState::Wheel:
        wheel.remove(pool, id.index);
        pool.release(id.index);
        break;
      case SlotState::Ready:
        time_internal::list_unlink(pool, ready, id.index);
        --ready_count;
        pool.release(id.index);
        break;
      case SlotState::Running:
        if (n.period_ns == 0) return false;  // a one-shot run already started
        n.state = SlotState::RunningCancelled;  // finish() frees it instead of refiling
        break;
      case SlotState::Free:
      case SlotState::RunningCancelled: return false;
    }
    ++cancelled;
    return true;
  }

  [[nodiscard]] double overlap() const noexcept {
    const std::int64_t uni = window_sum + dropped;
    if (uni <= 0) return 0.0;
    return static_cast<double>(window_sum - newest) / static_cast<double>(uni);
  }

  [[nodiscard]] std::int64_t next_deadline() const noexcept {
    if (ready_count != 0) return last_tick_ns;
    return next_due_ns;
  }
};

Scheduler::Scheduler(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}

Scheduler::Scheduler(SchedulerConfig config, TimeSource time) {
  auto valid = config.validate();
  OMEGA_ASSERT(valid.has_value(), valid ? "" : valid.error().c_str());
  state_ = std::make_unique<State>(config, time, nullptr);
}

Scheduler::Scheduler(SchedulerConfig config, UltraOmegaSystem& system, TimeSource time) {
  auto valid = config.validate();
  OMEGA_ASSERT(valid.has_value(), valid ? "" : valid.error().c_str());
  state_ = std::make_unique<State>(config, time, &system);
}

Result<Scheduler, std::string> Scheduler::try_create(SchedulerConfig config, TimeSource time) {
  if (auto valid = config.validate(); !valid) return Err(std::move(valid.error()));
  if (time.now == nullptr) return Err(std::string("the time source has no now() function"));
  return Scheduler(std::make_unique<State>(config, time, nullptr));
}

Result<Scheduler, std::string> Scheduler::try_create(SchedulerConfig config, UltraOmegaSystem& system,
                                                     TimeSource time) {
  if (auto valid = config.validate(); !valid) return Err(std::move(valid.error()));
  if (time.now == nullptr) return Err(std::string("the time source has no now() function"));
  return Scheduler(std::make_unique<State>(config, time, &system));
}

Scheduler::Scheduler(Scheduler&&) noexcept = default;
Scheduler& Scheduler::operator=(Scheduler&&) noexcept = default;
Scheduler::~Scheduler() = default;

TimerId Scheduler::schedule(TimerTask task) { return state_->schedule(std::move(task)); }
bool Scheduler::cancel(TimerId id) { return state_->cancel(id); }
std::size_t Scheduler::tick() { return state_->tick(); }

Result<void, SchedulerError> Scheduler::run() {
  State& s = *state_;
  if (!can_park()) return Err(SchedulerError::WouldBlock);
  if (s.running.exchange(true, std::memory_order_acq_rel)) return Err(SchedulerError::AlreadyRunning);
  // Near deadlines are met by spinning on tick(); far ones by parking until shortly before
  // them (a futex wake-up costs tens of microseconds, so park only when it is worth it).
  constexpr std::int64_t kParkAbove = 200'000;  // ns
  constexpr std::int64_t kWakeEarly = 100'000;  // ns
  while (!s.stop_requested.load(std::memory_order_acquire)) {
    const std::uint32_t seen = s.wake.load(std::memory_order_acquire);
    s.tick();
    if (s.ready_count != 0) continue;
    const std::int64_t next = s.next_deadline();
    const std::int64_t now = s.time.read();
    const std::int64_t wait = next == kNever ? kNever : next - now;
    if (wait > kParkAbove) {
      if (s.stop_requested.load(std::memory_order_acquire)) break;
      (void)park_wait(s.wake, seen, wait == kNever ? Nanos::max() : Nanos(wait - kWakeEarly));
    } else {
      cpu_relax();
    }
  }
  s.stop_requested.store(false, std::memory_order_relaxed);
  s.running.store(false, std::memory_order_release);
  return {};
}

void Scheduler::stop() noexcept {
  State& s = *state_;
  s.stop_requested.store(true, std::memory_order_release);
  s.wake.fetch_add(1, std::memory_order_acq_rel);
  park_wake_all(s.wake);
}

SchedulerMetrics Scheduler::metrics() const {
  const State& s = *state_;
  SchedulerMetrics m;
  m.ticks = s.ticks;
  m.tick_time = s.tick_time.snapshot();
  m.lateness = s.lateness.snapshot();
  m.timed_ticks = m.tick_time.count();
  m.avg_tick_time_ns = m.tick_time.mean();
  m.min_tick_time_ns = m.tick_time.min();
  m.p50_tick_time_ns = m.tick_time.value_at_quantile(0.50);
  m.p95_tick_time_ns = m.tick_time.value_at_quantile(0.95);
  m.p99_tick_time_ns = m.tick_time.value_at_quantile(0.99);
  m.max_tick_time_ns = m.tick_time.max();
  m.scheduled = s.scheduled;
  m.executed = s.executed + s.shared.executed.load(std::memory_order_relaxed);
  m.dispatched = s.dispatched;
  m.dispatch_refused = s.dispatch_refused;
  m.cancelled = s.cancelled;
  m.panicked = s.panicked + s.shared.panicked.load(std::memory_order_relaxed);
  m.carried_over = s.carried_over;
  m.pending = s.pool.live();
  m.ready = s.ready_count;
  m.memory_bytes = s.pool.bytes() + sizeof(State) + s.ring.size() * sizeof(std::int64_t);  // State holds the wheel
  const std::int64_t span = s.last_tick_ns - s.first_tick_ns;
  m.tasks_per_second = span > 0 ? static_cast<double>(m.executed) * 1e9 / static_cast<double>(span) : 0.0;
  m.temporal_overlap = s.overlap();
  m.strange_loop_state = s.x;
  m.strange_loop_bound = s.k / (1.0 - s.k) * s.last_step;
  return m;
}

double Scheduler::temporal_overlap() const noexcept { return state_->overlap(); }
double Scheduler::strange_loop_state() const noexcept { return state_->x; }
std::size_t Scheduler::pending() const noexcept { return state_->pool.live(); }
const SchedulerConfig& Scheduler::config() const noexcept { return state_->config; }
std::int64_t Scheduler::next_deadline_ns() const noexcept { return state_->next_deadline(); }

}  // namespace omega
