#include "actor/graph.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>
#include <omega/base/park.hpp>
#include <omega/base/spin.hpp>

namespace omega::actor {
namespace detail {

using omega::detail::PollContext;
using omega::detail::PollEnd;

namespace {

// Actors at Yield or Isolate get at least one poll in this many.
constexpr std::uint32_t kBackLaneEvery = 8;
// An idle team looks at its inbox this many times before it parks its thread.
constexpr int kIdleSpins = 64;
constexpr std::size_t kRecentEvents = 64;
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxCapacity = std::size_t{1} << 30;

ActorRecord* actor_of(PulseTask* task) noexcept { return static_cast<ActorRecord*>(task->state); }

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "non-standard exception";
  }
}

omega::detail::Promise<void>& promise_of(coro::coroutine_handle<> h) noexcept {
  return coro::coroutine_handle<omega::detail::Promise<void>>::from_address(h.address()).promise();
}

// ---- waits --------------------------------------------------------------------------------

bool cond_holds(ActorRecord& a, const Cond& c, std::int64_t& now, bool shutting) noexcept {
  switch (c.kind) {
    case Cond::kAvail:
    case Cond::kVacant:
      return c.ch->holds(c);
    case Cond::kPeriodic:
      if (shutting) return true;
      if (now == 0) now = now_ns();
      return now >= a.periodic_anchor() + static_cast<std::int64_t>(c.n);
    case Cond::kNone:
      break;
  }
  return true;
}

bool eval(ActorRecord& a, const WaitAwaiter& w, std::int64_t& now, bool shutting) noexcept {
  switch (w.mode) {
    case WaitAwaiter::kAll:
      for (std::uint8_t i = 0; i < w.n; ++i) {
        if (!cond_holds(a, w.conds[i], now, shutting)) return false;
      }
      return true;
    case WaitAwaiter::kAny:
      for (std::uint8_t i = 0; i < w.n; ++i) {
        if (cond_holds(a, w.conds[i], now, shutting)) return true;
      }
      return w.n == 0;
    case WaitAwaiter::kAllOrUpon:
      if (w.n == 0 || cond_holds(a, w.conds[0], now, shutting)) return true;
      for (std::uint8_t i = 1; i < w.n; ++i) {
        if (!cond_holds(a, w.conds[i], now, shutting)) return false;
      }
      return w.n > 1;
  }
  return true;
}

bool waits_for_room_or_time(const WaitAwaiter& w) noexcept {
  for (std::uint8_t i = 0; i < w.n; ++i) {
    if (w.conds[i].kind == Cond::kVacant || w.conds[i].kind == Cond::kPeriodic) return true;
  }
  return false;
}

bool has_periodic(const WaitAwaiter& w) noexcept {
  for (std::uint8_t i = 0; i < w.n; ++i) {
    if (w.conds[i].kind == Cond::kPeriodic) return true;
  }
  return false;
}

// Whether the wait may end; `truly`: because its conditions hold (not because of shutdown
// or a restart request).
bool wait_holds(ActorRecord& a, const WaitAwaiter& w, bool& truly) noexcept {
  std::int64_t now = 0;
  truly = eval(a, w, now, false);
  if (truly) return true;
  if (a.kick_wait || a.restart_requested.load(std::memory_order_relaxed) ||
      a.fail_requested.load(std::memory_order_relaxed)) {
    return true;
  }
  if (a.graph.shutdown.load(std::memory_order_acquire) && has_periodic(w)) return eval(a, w, now, true);
  return false;
}

// The wait ends: its result, and the periodic condition's next deadline.
void finish_wait(ActorRecord& a, WaitAwaiter& w, bool truly) noexcept {
  w.result = truly;
  if (!truly) return;
  std::int64_t now = 0;
  for (std::uint8_t i = 0; i < w.n; ++i) {
    const Cond& c = w.conds[i];
    if (c.kind != Cond::kPeriodic || !cond_holds(a, c, now, false)) continue;
    std::int64_t& anchor = a.periodic_anchor();
    anchor += static_cast<std::int64_t>(c.n);
    if (anchor + static_cast<std::int64_t>(c.n) <= now) anchor = now;  // fell behind: no burst of catch-ups
    break;
  }
}

// Registers the actor with every condition that does not hold yet. True when, after that,
// the wait still cannot end (sleep); false when it can (nothing to disarm beyond disarm_all).
bool arm_wait(ActorRecord& a, const WaitAwaiter& w) noexcept {
  std::int64_t now = 0;
  for (std::uint8_t i = 0; i < w.n; ++i) {
    const Cond& c = w.conds[i];
    if (c.kind == Cond::kAvail || c.kind == Cond::kVacant) {
      if (!c.ch->holds(c)) c.ch->arm(c, &a.task);
    } else if (c.kind == Cond::kPeriodic) {
      const std::int64_t at = a.periodic_anchor() + static_cast<std::int64_t>(c.n);
      if (!cond_holds(a, c, now, false) && !(a.armed_timer_gen == a.gen && a.armed_timer_at == at)) {
        a.team.add_timer(a, at, false);
        a.armed_timer_gen = a.gen;
        a.armed_timer_at = at;
      }
    }
  }
  // Dekker with the channels' publishers: they publish, fence, then look for a waiter.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool truly = false;
  return !wait_holds(a, w, truly);
}

// Withdraws the wait's registrations. A waker that claimed one just before may still wake
// the actor later: the team filters such wakes before it resumes anything (TeamRecord::poll).
void disarm(ActorRecord& a, const WaitAwaiter& w) noexcept {
  for (std::uint8_t i = 0; i < w.n; ++i) {
    const Cond& c = w.conds[i];
    if (c.kind == Cond::kAvail || c.kind == Cond::kVacant) c.ch->disarm(c, &a.task);
  }
}

// Back to sleep after a wake that did not concern the actor's suspension; a real wake that
// came meanwhile (kNotified) requeues it instead.
bool repark(PulseTask& task) noexcept {
  std::uint8_t s = PulseTask::kRunning;
  if (task.run.compare_exchange_strong(s, PulseTask::kIdle, std::memory_order_acq_rel)) return true;
  task.run.store(PulseTask::kQueued, std::memory_order_relaxed);
  return false;
}

void check_name_chars(const std::string& kind, const std::string& name) {
  if (name.empty()) throw std::invalid_argument(kind + " name: empty");
  if (name.size() > kMaxNameLength) {
    throw std::invalid_argument(kind + " name '" + name.substr(0, 16) + "...': longer than 64 characters");
  }
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '-' || ch == '.' || ch == ':' || ch == '/';
    if (!ok) {
      throw std::invalid_argument(kind + " name '" + name +
                                  "': only letters, digits and _ - . : / are allowed (it names metrics and DOT nodes)");
    }
  }
}

}  // namespace

// ---- records ------------------------------------------------------------------------------

ActorRecord::ActorRecord(GraphImpl& g, std::string n, TeamRecord& t, bool own, std::unique_ptr<ActorBodyBase> b,
                         Priority p, SupervisorRecord& s)
    : graph(g), name(std::move(n)), team(t), own_thread(own), body(std::move(b)), ctx(this), priority(p), sup(s) {
  task.driver = &team;
  task.state = this;
  task.priority = p;
  task.run.store(PulseTask::kQueued, std::memory_order_relaxed);
}

ActorRecord::~ActorRecord() {
  if (task.root) task.root.destroy();
}

TeamRecord::~TeamRecord() { stop_thread(); }

void TeamRecord::push(PulseTask* task) noexcept {
  if (t_team == this) {
    enqueue(task);
    return;
  }
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(task);
  }
  inbox_nonempty_.store(true, std::memory_order_seq_cst);
  word_.fetch_add(1, std::memory_order_seq_cst);
  if (parked_.load(std::memory_order_seq_cst)) park_wake_one(word_);
}

void TeamRecord::sleep_until(PulseTask* task, std::int64_t deadline_ns) noexcept {
  ActorRecord& a = *actor_of(task);
  a.sleeping = true;
  a.sleep_until_ns = deadline_ns;
  add_timer(a, deadline_ns, false);
}

void TeamRecord::add_timer(ActorRecord& a, std::int64_t deadline_ns, bool restart) noexcept {
  timers_.push_back(Timer{deadline_ns, &a, a.gen, restart});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>{});
  next_deadline_.store(timers_.front().at, std::memory_order_relaxed);
}

std::int64_t TeamRecord::next_deadline() const noexcept { return next_deadline_.load(std::memory_order_relaxed); }

void TeamRecord::enqueue(PulseTask* task) noexcept {
  const ActorRecord& a = *actor_of(task);
  if (a.tier_state.tier >= Tier::Yield) {
    back_.push_back(task);
  } else {
    front_.push_back(task);
  }
}

void TeamRecord::post_control() noexcept {
  control_.store(true, std::memory_order_seq_cst);
  word_.fetch_add(1, std::memory_order_seq_cst);
  if (parked_.load(std::memory_order_seq_cst)) park_wake_one(word_);
}

void TeamRecord::drain_inbox() noexcept {
  if (!inbox_nonempty_.load(std::memory_order_acquire)) return;
  drained_.clear();
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_nonempty_.store(false, std::memory_order_relaxed);
    drained_.swap(inbox_);
  }
  for (PulseTask* t : drained_) enqueue(t);
}

void TeamRecord::fire_timers(std::int64_t now) noexcept {
  while (!timers_.empty() && timers_.front().at <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>{});
    const Timer t = timers_.back();
    timers_.pop_back();
    ActorRecord& a = *t.actor;
    if (a.finished) continue;
    if (t.restart) {
      if (a.backing_off) {
        a.backing_off = false;
        restart(a);
        enqueue(&a.task);
      }
      continue;
    }
    if (t.gen != a.gen) continue;  // the actor resumed since: a stale periodic or sleep timer
    omega::detail::wake_task(&a.task);
  }
  next_deadline_.store(timers_.empty() ? -1 : timers_.front().at, std::memory_order_relaxed);
}

// Shutdown and group requests, for actors that are not running: make them runnable where
// their suspension allows it (a wait re-evaluates; a sleep is cut short only by a restart or
// failure; a wait on a result is withdrawn if it can be, otherwise its wake comes anyway).
void TeamRecord::run_control() noexcept {
  const bool shutting = graph.shutdown.load(std::memory_order_acquire);
  for (ActorRecord* a : actors) {
    if (a->finished) continue;
    const bool restart_or_fail =
        a->restart_requested.load(std::memory_order_acquire) || a->fail_requested.load(std::memory_order_acquire);
    if (a->backing_off) {
      if (a->fail_requested.exchange(false, std::memory_order_acq_rel)) {
        a->backing_off = false;
        finish(*a, ActorState::Failed, "its AllForOne group failed");
      }
      continue;
    }
    if (shutting && !a->shutdown_seen) {
      // A wait for room or for a period, in progress when shutdown is asked, ends (returning
      // false) once, so that a producer can look at is_running(); waits for input go on until
      // the input holds or closes (so that consumers drain).
      a->shutdown_seen = true;
      if (a->wait != nullptr && waits_for_room_or_time(*a->wait)) a->kick_wait = true;
    }
    if (a->task.run.load(std::memory_order_acquire) != PulseTask::kIdle) continue;
    bool wake = false;
    if (a->wait != nullptr) {
      wake = restart_or_fail || a->kick_wait;
      if (wake) disarm(*a, *a->wait);
    } else if (a->sleeping) {
      wake = restart_or_fail;
      if (wake) ++a->gen;  // its timer is stale now
    } else if (restart_or_fail && a->task.withdraw != nullptr) {
      wake = a->task.withdraw(a->task.withdraw_state);
      if (wake) a->task.withdraw = nullptr;
    }
    if (!wake) continue;
    std::uint8_t s = PulseTask::kIdle;
    if (a->task.run.compare_exchange_strong(s, PulseTask::kQueued, std::memory_order_acq_rel)) enqueue(&a->task);
  }
}

bool TeamRecord::pick(PulseTask*& out) noexcept {
  ++picks_;
  if (!back_.empty() && (front_.empty() || picks_ % kBackLaneEvery == 0)) {
    out = back_.front();
    back_.pop_front();
    return true;
  }
  if (front_.empty()) return false;
  out = front_.front();
  front_.pop_front();
  return true;
}

std::size_t TeamRecord::turn(std::size_t max_polls) noexcept {
  TeamRecord* const outer = t_team;
  t_team = this;
  drain_inbox();
  if (control_.load(std::memory_order_acquire) && control_.exchange(false, std::memory_order_acq_rel)) run_control();
  if (!timers_.empty()) fire_timers(now_ns());
  std::size_t ran = 0;
  PulseTask* task = nullptr;
  while (ran < max_polls && pick(task)) {
    poll(*actor_of(task));
    ++ran;
    drain_inbox();
  }
  t_team = outer;
  return ran;
}

void TeamRecord::poll(ActorRecord& a) noexcept {
  PulseTask& task = a.task;
  task.run.store(PulseTask::kRunning, std::memory_order_release);
  if (a.finished) return;
  if (a.fail_requested.exchange(false, std::memory_order_acq_rel)) {
    finish(a, ActorState::Failed, "its AllForOne group failed");
    return;
  }
  if (a.restart_requested.exchange(false, std::memory_order_acq_rel)) {
    restart(a);
    if (a.finished) return;
    graph.emit(ActorEvent{ActorEvent::Kind::Restarted, a.name, "restarted with its AllForOne group", a.restarts.load(), 0, 0});
    task.run.store(PulseTask::kRunning, std::memory_order_release);
  }
  const std::int64_t start = now_ns_unordered();
  if (!a.started) {
    a.started = true;
    a.periodic_anchor() = start;
  }
  if (a.wait != nullptr) {
    bool truly = false;
    if (!wait_holds(a, *a.wait, truly)) {
      if (arm_wait(a, *a.wait)) {
        // Still waiting (a partial or late wake): back to sleep without resuming.
        if (!repark(task)) enqueue(&task);
        return;
      }
      wait_holds(a, *a.wait, truly);
    }
    disarm(a, *a.wait);
    finish_wait(a, *a.wait, truly);
    a.wait = nullptr;
    a.kick_wait = false;
    ActorRecord::bump(a.wakes);
  } else if ((a.sleeping && start < a.sleep_until_ns) ||
             (task.withdraw != nullptr && task.ready != nullptr && !task.ready(task.withdraw_state))) {
    // A late wake of an earlier wait: the sleep or the awaited result is not due yet.
    if (!repark(task)) enqueue(&task);
    return;
  }
  a.sleeping = false;
  ++a.gen;

  PollScope scope;
  scope.actor = &a;
  t_scope = &scope;
  const Tier tier = a.tier_state.tier;
  const ScaledTier& b = graph.budgets.at[static_cast<std::size_t>(a.priority)][static_cast<std::size_t>(tier)];
  PollContext ctx{static_cast<std::int32_t>(b.budget_units), start + b.budget_ns, &task};
  task.withdraw = nullptr;
  a.state.store(ActorState::Running, std::memory_order_relaxed);
  omega::detail::run_poll(task, ctx);
  if (scope.n > 0) flush_scope(scope);
  t_scope = nullptr;
  const std::int64_t end = now_ns_unordered();

  const std::uint64_t poll_ns = end > start ? static_cast<std::uint64_t>(end - start) : 0;
  ActorRecord::bump(a.polls);
  ActorRecord::bump(a.cpu_ns, poll_ns);
  omega::PollSample sample;
  sample.poll_ns = poll_ns;
  sample.waited = task.suspend == PulseTask::Suspend::Wait;
  (void)omega::apply_poll(graph.budgets, a.tier_state, a.priority, sample, end);
  a.tier.store(a.tier_state.tier, std::memory_order_relaxed);

  if (task.root.done()) {
    auto& p = promise_of(task.root);
    if (p.error) {
      on_throw(a, what_of(p.error));
    } else if (a.fail_requested.exchange(false, std::memory_order_acq_rel)) {
      finish(a, ActorState::Failed, "its AllForOne group failed");
    } else if (a.restart_requested.exchange(false, std::memory_order_acq_rel)) {
      // It returned because is_running() turned false for its group's restart.
      restart(a);
      if (a.finished) return;
      enqueue(&task);
      graph.emit(ActorEvent{ActorEvent::Kind::Restarted, a.name, "restarted with its AllForOne group", a.restarts.load(), 0, 0});
    } else {
      finish(a, ActorState::Stopped, {});
    }
    return;
  }
  switch (omega::detail::settle_poll(task)) {
    case PollEnd::Requeue:
      enqueue(&task);
      break;
    case PollEnd::Parked:
      a.state.store(ActorState::Waiting, std::memory_order_relaxed);
      break;
    case PollEnd::Finished:
      break;
  }
}

void TeamRecord::restart(ActorRecord& a) noexcept {
  if (a.wait != nullptr) {
    disarm(a, *a.wait);
    a.wait = nullptr;
  }
  if (a.task.root) a.task.root.destroy();
  a.task.root = {};
  a.sleeping = false;
  ++a.gen;  // timers of the old frame are stale
  try {
    a.task.root = a.body->make(a.ctx).release();
  } catch (...) {
    finish(a, ActorState::Failed, "its behaviour could not be made again: " + what_of(std::current_exception()));
    return;
  }
  a.task.resume_at = a.task.root;
  a.task.withdraw = nullptr;
  a.last_restart_ns = now_ns();
  ActorRecord::bump(a.restarts);
  a.state.store(ActorState::Running, std::memory_order_relaxed);
  a.task.run.store(PulseTask::kQueued, std::memory_order_relaxed);
}

void TeamRecord::on_throw(ActorRecord& a, std::string what) noexcept {
  const RestartPolicy& rp = a.sup.policy;
  const std::int64_t now = now_ns();
  const std::int64_t window = std::chrono::duration_cast<std::chrono::nanoseconds>(rp.window).count();
  a.task.root.destroy();
  a.task.root = {};
  // Having run a whole window since its last restart, the actor starts with a clean slate.
  if (a.last_restart_ns != 0 && now - a.last_restart_ns >= window) {
    a.recent_restarts.clear();
    a.backoff_streak = 0;
  }
  std::erase_if(a.recent_restarts, [&](std::int64_t t) { return now - t >= window; });

  const bool all_for_one = a.sup.strategy == SupervisorStrategy::AllForOne;
  if (a.backoff_streak == 0 && a.recent_restarts.size() < rp.max_restarts) {
    a.recent_restarts.push_back(now);
    restart(a);
    if (a.finished) return;
    enqueue(&a.task);
    graph.emit(ActorEvent{ActorEvent::Kind::Restarted, a.name, std::move(what), a.restarts.load(), 0, 0});
  } else if (a.backoff_streak < rp.max_backoff_restarts) {
    const std::int64_t initial = std::chrono::duration_cast<std::chrono::nanoseconds>(rp.backoff_initial).count();
    const std::int64_t cap = std::chrono::duration_cast<std::chrono::nanoseconds>(rp.backoff_max).count();
    std::int64_t delay = initial;
    for (std::uint32_t i = 0; i < a.backoff_streak && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    ++a.backoff_streak;
    a.backing_off = true;
    a.state.store(ActorState::BackingOff, std::memory_order_relaxed);
    add_timer(a, now + delay, true);
    graph.emit(ActorEvent{ActorEvent::Kind::BackingOff, a.name, std::move(what), a.restarts.load(), delay, 0});
  } else {
    finish(a, ActorState::Failed, std::move(what));
    if (all_for_one) {
      for (ActorRecord* s : a.sup.members) {
        if (s == &a) continue;
        s->fail_requested.store(true, std::memory_order_release);
        s->team.post_control();
      }
    }
    return;
  }
  if (all_for_one) {
    for (ActorRecord* s : a.sup.members) {
      if (s == &a) continue;
      s->restart_requested.store(true, std::memory_order_release);
      s->team.post_control();
    }
    graph.emit(ActorEvent{ActorEvent::Kind::GroupRestart, a.name, {}, a.restarts.load(), 0, 0});
  }
}

void TeamRecord::finish(ActorRecord& a, ActorState how, std::string what) noexcept {
  if (a.finished) return;
  if (a.wait != nullptr) {
    disarm(a, *a.wait);
    a.wait = nullptr;
  }
  if (a.task.root) a.task.root.destroy();
  a.task.root = {};
  a.finished = true;
  a.backing_off = false;
  ++a.gen;
  // Receivers drain what it sent, then see it closed; senders to it are refused.
  for (ChannelCore* ch : a.sends_on) ch->tx_close();
  for (ChannelCore* ch : a.receives_on) ch->rx_stop();
  a.task.run.store(PulseTask::kCancelled, std::memory_order_release);
  a.state.store(how, std::memory_order_release);
  graph.emit(ActorEvent{how == ActorState::Failed ? ActorEvent::Kind::Failed : ActorEvent::Kind::Stopped, a.name,
                        std::move(what), a.restarts.load(), 0, 0});
  graph.actor_finished();
}

void TeamRecord::idle_wait() noexcept {
  for (int i = 0; i < kIdleSpins; ++i) {
    if (inbox_nonempty_.load(std::memory_order_acquire) || control_.load(std::memory_order_acquire) ||
        stop_.load(std::memory_order_acquire)) {
      return;
    }
    cpu_relax();
  }
  Nanos timeout = Nanos::max();
  if (!timers_.empty()) {
    const std::int64_t left = timers_.front().at - now_ns();
    if (left <= 0) return;
    timeout = Nanos(left);
  }
  parked_.store(true, std::memory_order_seq_cst);
  const std::uint32_t e = word_.load(std::memory_order_seq_cst);
  if (!inbox_nonempty_.load(std::memory_order_seq_cst) && !control_.load(std::memory_order_seq_cst) &&
      !stop_.load(std::memory_order_seq_cst)) {
    park_wait(word_, e, timeout);
  }
  parked_.store(false, std::memory_order_relaxed);
}

void TeamRecord::loop() noexcept {
  while (!stop_.load(std::memory_order_acquire)) {
    if (turn(256) > 0) continue;
    idle_wait();
  }
}

bool TeamRecord::start_thread() {
  if (!kHasThreads || threaded_) return threaded_;
  try {
    thread_ = std::thread([this] { loop(); });
    threaded_ = true;
  } catch (...) {
    threaded_ = false;
  }
  return threaded_;
}

void TeamRecord::stop_thread() noexcept {
  if (!threaded_) return;
  stop_.store(true, std::memory_order_seq_cst);
  word_.fetch_add(1, std::memory_order_seq_cst);
  park_wake_all(word_);
  if (thread_.joinable()) thread_.join();
  threaded_ = false;
}

// ---- graph --------------------------------------------------------------------------------

GraphImpl::GraphImpl(std::chrono::milliseconds period, omega::PulseConfig p, RestartPolicy restart,
                     std::chrono::milliseconds g)
    : telemetry_period(period), pulse(std::move(p)), budgets(omega::ScaledPolicies::of(pulse)), grace(g) {
  supervisors.push_back(std::make_unique<SupervisorRecord>("graph", SupervisorStrategy::OneForOne, std::move(restart)));
  root_supervisor = supervisors.back().get();
}

GraphImpl::~GraphImpl() {
  if (started.load()) {
    shutdown.store(true);
    for (auto& c : channels) c->close_if_unclaimed();
    for (auto& t : teams) t->post_control();
    const std::int64_t deadline = now_ns() + std::chrono::duration_cast<Nanos>(grace).count();
    while (live.load(std::memory_order_acquire) != 0 && now_ns() < deadline) {
      std::size_t ran = 0;
      for (auto& t : teams) {
        if (!t->threaded()) ran += t->turn(256);
      }
      if (ran == 0) {
        const std::uint32_t w = stop_word.load(std::memory_order_acquire);
        if (live.load(std::memory_order_acquire) == 0) break;
        if (park_wait(stop_word, w, Nanos(1'000'000)) == ParkResult::WouldBlock) cpu_relax();
      }
    }
  }
  stop_all_threads();
  // What is left never stopped: its frames go with the records. A wait on a result whose wake
  // is already under way must land first (its waker holds the task).
  for (auto& a : actors) {
    if (a->task.withdraw != nullptr && a->task.run.load(std::memory_order_acquire) == PulseTask::kIdle &&
        !a->task.withdraw(a->task.withdraw_state)) {
      while (a->task.run.load(std::memory_order_acquire) == PulseTask::kIdle) cpu_relax();
    }
    if (a->wait != nullptr) disarm(*a, *a->wait);
  }
  actors.clear();
}

void GraphImpl::stop_all_threads() noexcept {
  if (sampler.joinable()) {
    sampler_stop.store(true, std::memory_order_release);
    sampler_word.fetch_add(1, std::memory_order_release);
    park_wake_all(sampler_word);
    sampler.join();
  }
  for (auto& t : teams) t->stop_thread();
}

void GraphImpl::emit(ActorEvent e) {
  e.at_ns = now_ns();
  {
    std::lock_guard lock(events_mutex);
    recent.push_back(e);
    if (recent.size() > kRecentEvents) recent.pop_front();
  }
  if (subscriber) {
    std::lock_guard lock(subscriber_mutex);
    subscriber(e);
  }
}

void GraphImpl::actor_finished() noexcept {
  if (live.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    stop_word.fetch_add(1, std::memory_order_release);
    park_wake_all(stop_word);
    // A last frame at once, so that telemetry shows the graph stopped.
    sampler_word.fetch_add(1, std::memory_order_release);
    park_wake_all(sampler_word);
  }
}

void GraphImpl::check_name(const std::string& kind, const std::string& name) const {
  check_name_chars(kind, name);
  const auto dup = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& r) { return r->name == name; });
  };
  bool taken = false;
  if (kind == "channel") {
    taken = std::any_of(channels.begin(), channels.end(), [&](const auto& c) { return c->name() == name; });
  } else if (kind == "team") {
    taken = dup(teams);
  } else if (kind == "supervisor") {
    taken = dup(supervisors);
  } else {
    taken = dup(actors);
  }
  if (taken) throw std::invalid_argument(kind + " name '" + name + "': already used in this graph");
}

void GraphImpl::sampler_loop() noexcept {
  const Nanos period = std::chrono::duration_cast<Nanos>(telemetry_period);
  while (!sampler_stop.load(std::memory_order_acquire)) {
    const std::uint32_t w = sampler_word.load(std::memory_order_acquire);
    park_wait(sampler_word, w, period);
    if (sampler_stop.load(std::memory_order_acquire)) break;
    take_frame();
  }
}

void GraphImpl::take_frame() {
  std::shared_ptr<const Telemetry> prev;
  {
    std::lock_guard lock(frame_mutex);
    prev = frame;
  }
  auto next = std::make_shared<const Telemetry>(sample_now(prev.get()));
  std::lock_guard lock(frame_mutex);
  frame = std::move(next);
}

void GraphImpl::maybe_sample_inline() noexcept {
  if (telemetry_period.count() <= 0 || sampler.joinable()) return;
  const std::int64_t now = now_ns();
  if (now < next_inline_sample_ns) return;
  next_inline_sample_ns = now + std::chrono::duration_cast<Nanos>(telemetry_period).count();
  take_frame();
}

}  // namespace detail

// ---- public facades -------------------------------------------------------------------------

std::string_view to_string(ActorState s) noexcept {
  switch (s) {
    case ActorState::Starting: return "Starting";
    case ActorState::Running: return "Running";
    case ActorState::Waiting: return "Waiting";
    case ActorState::BackingOff: return "BackingOff";
    case ActorState::Stopped: return "Stopped";
    case ActorState::Failed: return "Failed";
  }
  return "?";
}

std::string_view to_string(ActorEvent::Kind k) noexcept {
  switch (k) {
    case ActorEvent::Kind::Restarted: return "Restarted";
    case ActorEvent::Kind::BackingOff: return "BackingOff";
    case ActorEvent::Kind::Failed: return "Failed";
    case ActorEvent::Kind::Stopped: return "Stopped";
    case ActorEvent::Kind::GroupRestart: return "GroupRestart";
  }
  return "?";
}

std::string RestartPolicy::validate() const {
  std::string why;
  const auto add = [&why](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (max_restarts > 1'000'000) add("RestartPolicy.max_restarts: more than 1000000");
  if (window.count() <= 0) add("RestartPolicy.window: must be positive");
  if (window > std::chrono::hours(24)) add("RestartPolicy.window: longer than a day");
  if (backoff_initial.count() <= 0) add("RestartPolicy.backoff_initial: must be positive");
  if (backoff_max < backoff_initial) add("RestartPolicy.backoff_max: below backoff_initial");
  if (backoff_max > std::chrono::hours(1)) add("RestartPolicy.backoff_max: longer than an hour");
  if (max_backoff_restarts > 1000) add("RestartPolicy.max_backoff_restarts: more than 1000");
  return why;
}

bool WaitAwaiter::await_ready() noexcept {
  ctx->flush();
  detail::ActorRecord& a = *ctx->actor_;
  bool truly = false;
  if (!detail::wait_holds(a, *this, truly)) return false;
  detail::finish_wait(a, *this, truly);
  // A wait that holds is a checkpoint: it spends one budget unit and yields when they are spent.
  if (omega::checkpoint().await_ready()) return true;
  spent = true;
  return false;
}

bool WaitAwaiter::await_suspend(coro::coroutine_handle<> h) noexcept {
  if (spent) {
    spent = false;
    omega::detail::pulse_yield(h);
    return true;
  }
  detail::ActorRecord& a = *ctx->actor_;
  omega::detail::PulseTask* task = omega::detail::pulse_wait(h);
  a.wait = this;
  if (detail::arm_wait(a, *this)) return true;
  // It held by the time the registrations were in: carry on in this poll.
  bool truly = false;
  detail::wait_holds(a, *this, truly);
  detail::disarm(a, *this);
  detail::finish_wait(a, *this, truly);
  a.wait = nullptr;
  omega::detail::pulse_unwait(task);
  return false;
}

bool Context::is_running() noexcept {
  flush();
  return !actor_->graph.shutdown.load(std::memory_order_acquire) && !restart_requested();
}
bool Context::restart_requested() const noexcept {
  return actor_->restart_requested.load(std::memory_order_relaxed) ||
         actor_->fail_requested.load(std::memory_order_relaxed);
}
void Context::request_shutdown() noexcept { actor_->graph.facade->request_shutdown(); }
std::string_view Context::name() const noexcept { return actor_->name; }
std::uint64_t Context::restarts() const noexcept { return actor_->restarts.load(std::memory_order_relaxed); }
Graph& Context::graph() noexcept { return *actor_->graph.facade; }

std::string_view Team::name() const noexcept { return rec_ != nullptr ? std::string_view(rec_->name) : std::string_view(); }
std::string_view Supervisor::name() const noexcept {
  return rec_ != nullptr ? std::string_view(rec_->name) : std::string_view();
}
std::string_view ActorRef::name() const noexcept { return rec_ != nullptr ? std::string_view(rec_->name) : std::string_view(); }
ActorState ActorRef::state() const noexcept {
  return rec_ != nullptr ? rec_->state.load(std::memory_order_acquire) : ActorState::Stopped;
}
std::uint64_t ActorRef::restarts() const noexcept {
  return rec_ != nullptr ? rec_->restarts.load(std::memory_order_relaxed) : 0;
}

Graph Graph::Builder::build() {
  if (telemetry_period_.count() < 0) throw std::invalid_argument("Graph telemetry_period: negative");
  if (telemetry_period_ > std::chrono::hours(1)) throw std::invalid_argument("Graph telemetry_period: longer than an hour");
  if (grace_.count() < 0) throw std::invalid_argument("Graph shutdown_grace: negative");
  if (std::string why = pulse_.validate(); !why.empty()) throw std::invalid_argument("Graph pulse config: " + why);
  if (std::string why = restart_.validate(); !why.empty()) throw std::invalid_argument("Graph restart policy: " + why);
  return Graph(std::make_unique<detail::GraphImpl>(telemetry_period_, pulse_, restart_, grace_));
}

Graph::Graph(std::unique_ptr<detail::GraphImpl> impl) noexcept : impl_(std::move(impl)) { impl_->facade = this; }
Graph::Graph(Graph&& o) noexcept : impl_(std::move(o.impl_)) {
  if (impl_) impl_->facade = this;
}
Graph& Graph::operator=(Graph&& o) noexcept {
  if (this != &o) {
    impl_ = std::move(o.impl_);
    if (impl_) impl_->facade = this;
  }
  return *this;
}
Graph::~Graph() = default;

std::string Graph::checked_channel_name(std::string& name, std::size_t capacity) const {
  if (impl_->started.load()) throw std::logic_error("channel '" + name + "': the graph has started");
  impl_->check_name("channel", name);
  if (capacity == 0 || capacity > detail::kMaxCapacity) {
    throw std::invalid_argument("channel '" + name + "': capacity " + std::to_string(capacity) +
                                " is outside 1 to 2^30");
  }
  return std::move(name);
}

void Graph::add_channel(std::unique_ptr<detail::ChannelCore> ch) {
  ch->set_id(impl_->channels.size());
  impl_->channels.push_back(std::move(ch));
}

Team Graph::team(std::string name) {
  if (impl_->started.load()) throw std::logic_error("team '" + name + "': the graph has started");
  impl_->check_name("team", name);
  impl_->teams.push_back(std::make_unique<detail::TeamRecord>(*impl_, std::move(name), false));
  return Team(impl_->teams.back().get());
}

Supervisor Graph::supervisor(std::string name, SupervisorStrategy strategy, RestartPolicy policy) {
  if (impl_->started.load()) throw std::logic_error("supervisor '" + name + "': the graph has started");
  impl_->check_name("supervisor", name);
  if (std::string why = policy.validate(); !why.empty()) {
    throw std::invalid_argument("supervisor '" + name + "': " + why);
  }
  impl_->supervisors.push_back(std::make_unique<detail::SupervisorRecord>(std::move(name), strategy, std::move(policy)));
  return Supervisor(impl_->supervisors.back().get());
}

ActorRef Graph::add_actor(std::string name, Threading threading, std::unique_ptr<detail::ActorBodyBase> body,
                          ActorOptions options) {
  detail::GraphImpl& g = *impl_;
  if (g.started.load()) throw std::logic_error("actor '" + name + "': the graph has started");
  g.check_name("actor", name);
  detail::TeamRecord* team = threading.team_;
  if (team != nullptr) {
    const bool ours = std::any_of(g.teams.begin(), g.teams.end(), [&](const auto& t) { return t.get() == team; });
    if (!ours) throw std::invalid_argument("actor '" + name + "': Threading::Join names a team of another graph");
  } else {
    // A team of its own, named after it (a team name the user cannot take any more).
    std::string team_name = name;
    while (std::any_of(g.teams.begin(), g.teams.end(), [&](const auto& t) { return t->name == team_name; })) {
      team_name += "_";
    }
    g.teams.push_back(std::make_unique<detail::TeamRecord>(g, std::move(team_name), true));
    team = g.teams.back().get();
  }
  detail::SupervisorRecord* sup = options.supervisor.rec_ != nullptr ? options.supervisor.rec_ : g.root_supervisor;
  if (std::none_of(g.supervisors.begin(), g.supervisors.end(), [&](const auto& s) { return s.get() == sup; })) {
    throw std::invalid_argument("actor '" + name + "': its supervisor belongs to another graph");
  }
  g.actors.push_back(std::make_unique<detail::ActorRecord>(g, std::move(name), *team, threading.team_ == nullptr,
                                                           std::move(body), options.priority, *sup));
  detail::ActorRecord* a = g.actors.back().get();
  team->actors.push_back(a);
  sup->members.push_back(a);
  // The channel ends among its captures are its own from the start (so they close when it
  // stops, even if it never used them).
  const std::pair<const void*, std::size_t> held = a->body->captures();
  const auto lo = reinterpret_cast<std::uintptr_t>(held.first);
  const auto hi = lo + held.second;
  const auto inside = [lo, hi](std::uintptr_t p) { return p != 0 && lo <= p && p < hi; };
  for (auto& ch : g.channels) {
    if (ch->tx_owner() == nullptr && inside(ch->tx_handle())) ch->adopt_tx(a);
    if (ch->rx_owner() == nullptr && inside(ch->rx_handle())) ch->adopt_rx(a);
  }
  return ActorRef(a);
}

void Graph::start() {
  detail::GraphImpl& g = *impl_;
  if (g.started.exchange(true)) return;
  g.started_ns = now_ns();
  g.next_inline_sample_ns = g.started_ns + std::chrono::duration_cast<Nanos>(g.telemetry_period).count();
  g.live.store(g.actors.size(), std::memory_order_release);
  for (auto& up : g.actors) {
    detail::ActorRecord& a = *up;
    try {
      a.task.root = a.body->make(a.ctx).release();
      a.task.resume_at = a.task.root;
      a.team.push(&a.task);
    } catch (...) {
      a.team.finish(a, ActorState::Failed, "its behaviour could not be made: " + detail::what_of(std::current_exception()));
    }
  }
  if (g.shutdown.load()) {
    for (auto& c : g.channels) c->close_if_unclaimed();
  }
  for (auto& t : g.teams) t->start_thread();
  if (kHasThreads && g.telemetry_period.count() > 0) {
    try {
      g.sampler = std::thread([&g] { g.sampler_loop(); });
    } catch (...) {
      // Sampled from run_pending instead.
    }
  }
}

void Graph::request_shutdown() noexcept {
  detail::GraphImpl& g = *impl_;
  if (g.shutdown.exchange(true, std::memory_order_acq_rel)) return;
  // A sender no actor holds and nobody has used will not start now: its receiver must not
  // wait for it.
  if (g.started.load()) {
    for (auto& c : g.channels) c->close_if_unclaimed();
  }
  for (auto& t : g.teams) t->post_control();
}

bool Graph::shutdown_requested() const noexcept { return impl_->shutdown.load(std::memory_order_acquire); }

bool Graph::stopped() const noexcept {
  return impl_->started.load() && impl_->live.load(std::memory_order_acquire) == 0;
}

bool Graph::block_until_stopped(std::chrono::nanoseconds timeout) {
  detail::GraphImpl& g = *impl_;
  if (!g.started.load()) return g.actors.empty();
  const std::int64_t deadline =
      timeout >= std::chrono::hours(24 * 365) ? INT64_MAX : now_ns() + std::max<std::int64_t>(timeout.count(), 0);
  for (;;) {
    if (g.live.load(std::memory_order_acquire) == 0) return true;
    const std::int64_t now = now_ns();
    if (now >= deadline) return false;
    if (run_pending(1024) > 0) continue;
    if (g.live.load(std::memory_order_acquire) == 0) return true;
    // Nothing ran here: wait for an actor to finish, or for the next inline timer.
    std::int64_t wait_ns = deadline - now;
    bool inline_teams = false;
    for (auto& t : g.teams) {
      if (t->threaded()) continue;
      inline_teams = true;
      const std::int64_t d = t->next_deadline();
      if (d >= 0) wait_ns = std::min(wait_ns, d - now);
    }
    // Inline teams may be woken from other threads (a result, a threaded team's send).
    if (inline_teams) wait_ns = std::min<std::int64_t>(wait_ns, 1'000'000);
    if (wait_ns <= 0) continue;
    const std::uint32_t w = g.stop_word.load(std::memory_order_acquire);
    if (g.live.load(std::memory_order_acquire) == 0) return true;
    if (park_wait(g.stop_word, w, Nanos(wait_ns)) == ParkResult::WouldBlock) {
      // This thread may not block (single-threaded build): nobody else can make progress
      // anyway, so wait out the timer here.
      const std::int64_t until = now_ns() + wait_ns;
      while (now_ns() < until) cpu_relax();
    }
  }
}

std::size_t Graph::run_pending(std::size_t max_polls) {
  detail::GraphImpl& g = *impl_;
  if (!g.started.load()) return 0;
  std::size_t ran = 0;
  for (auto& t : g.teams) {
    if (!t->threaded()) ran += t->turn(max_polls);
  }
  g.maybe_sample_inline();
  return ran;
}

std::int64_t Graph::next_deadline_ns() const noexcept {
  const detail::GraphImpl& g = *impl_;
  std::int64_t best = -1;
  for (const auto& t : g.teams) {
    if (t->threaded()) continue;
    const std::int64_t d = t->next_deadline();
    if (d >= 0 && (best < 0 || d < best)) best = d;
  }
  if (g.telemetry_period.count() > 0 && !g.sampler.joinable() && g.started.load()) {
    if (best < 0 || g.next_inline_sample_ns < best) best = g.next_inline_sample_ns;
  }
  return best;
}

Telemetry Graph::telemetry() const {
  detail::GraphImpl& g = *impl_;
  std::shared_ptr<const Telemetry> latest;
  {
    std::lock_guard lock(g.frame_mutex);
    latest = g.frame;
  }
  if (latest && !(stopped() && !latest->stopped)) return *latest;
  if (!latest && g.telemetry_period.count() > 0 && !stopped()) {
    // Before the first frame: counts without rates (seq 0).
    Telemetry t = g.sample_now(nullptr);
    t.seq = 0;
    t.period_s = 0;
    for (auto& a : t.actors) a.cpu_percent = 0;
    for (auto& c : t.channels) c.msgs_per_sec = c.latency_ms = 0;
    return t;
  }
  // The graph stopped since the last frame (or telemetry is off): a frame now, so that it
  // shows the end.
  auto next = std::make_shared<const Telemetry>(g.sample_now(latest.get()));
  std::lock_guard lock(g.frame_mutex);
  if (!g.frame || g.frame->seq < next->seq) g.frame = next;
  return *next;
}

void Graph::on_event(std::function<void(const ActorEvent&)> subscriber) {
  if (impl_->started.load()) throw std::logic_error("on_event: set subscribers before start()");
  impl_->subscriber = std::move(subscriber);
}

std::vector<ActorEvent> Graph::recent_events() const {
  std::lock_guard lock(impl_->events_mutex);
  return {impl_->recent.begin(), impl_->recent.end()};
}

std::size_t Graph::actor_count() const noexcept { return impl_->actors.size(); }
std::size_t Graph::team_count() const noexcept { return impl_->teams.size(); }
std::size_t Graph::threaded_teams() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(impl_->teams.begin(), impl_->teams.end(), [](const auto& t) { return t->threaded(); }));
}

}  // namespace omega::actor
