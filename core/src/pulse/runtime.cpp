#include "pulse/runtime.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <omega/base/assert.hpp>
#include <omega/base/config.hpp>
#include <omega/base/park.hpp>
#include <omega/base/thread_role.hpp>

#include "exec/worker_group.hpp"

namespace omega::detail {

namespace {

std::atomic<std::uint64_t> g_runtime_epochs{1};

// The calling thread's slot in the runtime it last polled for.
struct ThreadSlot {
  std::uint64_t epoch = 0;
  WorkerSlot* slot = nullptr;
  std::size_t index = 0;
};
thread_local ThreadSlot t_slot;

// Where and when the calling thread's last outermost poll ended (see poll()).
struct LastPoll {
  std::uint64_t epoch = 0;
  std::uint64_t events = 0;
  std::int64_t end_ns = 0;
};
thread_local LastPoll t_last_poll;

// Poll-time histograms are sampled (1 poll in kPollSampleEvery, recorded with that weight):
// a histogram record is three atomic read-modify-writes, more than the rest of the accounting.
constexpr unsigned kPollSampleEvery = 8;

// The slow lane may bank at most this much unused CPU allowance.
constexpr std::int64_t kSlowCreditCapNs = 10'000'000;
// How long the service thread waits when it has nothing at all to do.
constexpr std::int64_t kServiceIdleNs = 1'000'000'000;
// Retry period for tasks no node had room for.
constexpr std::int64_t kOverflowRetryNs = 100'000;

}  // namespace

namespace {
SlowLaneConfig slow_lane_config(const PulseConfig& c) {
  SlowLaneConfig s;
  s.algorithm = c.algorithm;
  s.weights = c.slow_lane_weights;
  s.quantum_ns = static_cast<std::uint64_t>(c.drr_quantum.count());
  return s;
}
}  // namespace

PulseRuntime::PulseRuntime(PulseConfig config, Host host)
    : host_(std::move(host)),
      epoch_(g_runtime_epochs.fetch_add(1, std::memory_order_relaxed)),
      slow_(slow_lane_config(config)) {
  set_config(std::make_unique<ActiveConfig>(std::move(config)));
  // Node workers, the slow lane's thread, the shared slot.
  const std::size_t n = host_.worker_threads + 2;
  slots_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) slots_.push_back(std::make_unique<WorkerSlot>());
  slots_.back()->shared = true;
  SchedulerConfig wheel;
  wheel.tick_rate_ns = 1000;
  wheel.max_tasks_per_tick = 1u << 20;
  wheel_ = std::make_unique<Scheduler>(wheel);
  slow_credit_at_ns_ = now_ns();
}

PulseRuntime::~PulseRuntime() {
  begin_shutdown();
  finish_shutdown();
}

void PulseRuntime::set_config(std::unique_ptr<ActiveConfig> next) {
  std::lock_guard lock(config_mutex_);
  active_.store(next.get(), std::memory_order_release);
  configs_.push_back(std::move(next));
}

// ---- tasks ----------------------------------------------------------------------------------

PulseTask* PulseRuntime::create(Priority priority, coro::coroutine_handle<> root, void* state, TaskId id,
                                const PulseTaskOps* ops) {
  auto* task = new PulseTask();
  task->driver = this;
  task->root = root;
  task->resume_at = root;
  task->state = state;
  task->ops = ops;
  task->id = id;
  task->priority = priority;
  task->tier_state.tier_since_ns = now_ns();
  {
    std::lock_guard lock(registry_mutex_);
    registry_.emplace(id, task);
  }
  return task;
}

void PulseRuntime::prepare(PulseTask* task, std::size_t home_node) noexcept {
  task->node = home_node;
  spawned_.add();
  if constexpr (kHasThreads) ensure_threads();
}

void PulseRuntime::discard(PulseTask* task) noexcept {
  unregister(task);
  refused_.add();
  task->ops->cancel(task->root, task->state, "refused");
  delete task;
}

void PulseRuntime::unregister(PulseTask* task) noexcept {
  std::lock_guard lock(registry_mutex_);
  registry_.erase(task->id);
}

void PulseRuntime::finish(PulseTask* task) noexcept {
  // Leaves the registry first: the outcome may wake a task that queries this one's tier.
  unregister(task);
  completed_.add();
  if (task->ops->threw(task->root)) {
    panicked_.add();
    // The node running this poll counts it, as it counts a throwing task (the slow lane is
    // no node's: its polls are counted here only).
    if (OmegaNode::inside_task()) OmegaNode::note_panic();
  }
  task->ops->finish(task->root, task->state);
  delete task;
}

void PulseRuntime::cancel(PulseTask* task, const char* why) noexcept {
  task->run.store(PulseTask::kCancelled, std::memory_order_relaxed);
  if (task->withdraw) task->withdraw(task->withdraw_state);
  unregister(task);
  cancelled_.add();
  // Destroys the frame (destructors run), then fails the handle, which may wake (and so
  // cancel, the nodes being closed) a task that awaited this one.
  task->ops->cancel(task->root, task->state, why);
  delete task;
}

// ---- polling --------------------------------------------------------------------------------

WorkerSlot& PulseRuntime::slot_for_thread() noexcept {
  if (t_slot.epoch == epoch_) return *t_slot.slot;
  std::size_t index = slots_.size() - 1;  // the shared slot
  WorkerGroup* group = current_worker_group();
  if (group != nullptr && group == host_.group) {
    const std::size_t mine = next_slot_.fetch_add(1, std::memory_order_relaxed);
    if (mine < host_.worker_threads) index = mine;
  }
  WorkerSlot& slot = *slots_[index];
  if (!slot.shared) {
    slot.group.store(group, std::memory_order_relaxed);
    slot.cpu_clock.store(this_thread_cpu_clock(), std::memory_order_relaxed);
  }
  t_slot = ThreadSlot{epoch_, &slot, index};
  return slot;
}

void PulseRuntime::poll(PulseTask* task) noexcept {
  WorkerSlot& slot = slot_for_thread();
  const std::size_t worker = t_slot.index;
  const ActiveConfig& ac = active();
  const bool on = enabled();
  const Tier tier = on ? task->tier_state.tier : Tier::Monitor;
  const ScaledTier& budget = ac.table.at[static_cast<std::size_t>(task->priority)][static_cast<std::size_t>(tier)];

  // One clock read per poll where polls follow each other on a worker: the previous poll's
  // end is this one's start when exactly one task start lies between them (this poll's own;
  // see t_worker_events). Unordered reads: a poll's length matters to the microsecond, not to
  // the cache miss the fence would wait for.
  PollContext* const outer = t_poll;
  const std::uint64_t events = t_worker_events;
  const bool chained = outer == nullptr && t_last_poll.epoch == epoch_ && t_last_poll.events + 1 == events;
  const std::int64_t start = chained ? t_last_poll.end_ns : now_ns_unordered();
  PollContext ctx{static_cast<std::int32_t>(budget.budget_units), start + budget.budget_ns, task};
  // A poll inside a poll (a task that blocks on a result and helps): the watchdog follows
  // the outermost one, which is the one holding the worker.
  const bool watched = outer == nullptr && !slot.shared;
  std::uint64_t seq = 0;
  if (watched) {
    seq = slot.poll_seq.load(std::memory_order_relaxed) + 1;
    slot.poll_seq.store(seq, std::memory_order_relaxed);
    slot.task_id.store(task->id.value, std::memory_order_relaxed);
    slot.poll_start.store(start, std::memory_order_release);
  }
  task->withdraw = nullptr;
  // Release suffices: every wake source learns of the task through a release of its own
  // that follows this store (the result word's CAS, the sleep inbox's mutex).
  task->run.store(PulseTask::kRunning, std::memory_order_release);
  run_poll(*task, ctx);
  const std::int64_t end = now_ns_unordered();
  if (outer == nullptr) t_last_poll = LastPoll{epoch_, t_worker_events, end};

  bool flagged = false;
  if (watched) {
    slot.poll_start.store(0, std::memory_order_release);
    flagged = slot.flagged_seq.load(std::memory_order_acquire) == seq;
    // A plain load first: a rescue is rare, a read-modify-write per poll is not free.
    if (slot.rescued.load(std::memory_order_relaxed) && slot.rescued.exchange(false, std::memory_order_acq_rel)) {
      if (WorkerGroup* g = slot.group.load(std::memory_order_relaxed)) g->end_rescue();
    }
  }
  account(task, slot, worker, start, end, flagged);

  switch (settle_poll(*task)) {
    case PollEnd::Finished:
      slot.bump(slot.tasks);
      finish(task);
      return;
    case PollEnd::Requeue:
      push(task);
      return;
    case PollEnd::Parked:
      return;
  }
}

PollEnd settle_poll(PulseTask& task) noexcept {
  if (task.root.done()) return PollEnd::Finished;
  switch (task.suspend) {
    case PulseTask::Suspend::Yield:
      task.run.store(PulseTask::kQueued, std::memory_order_relaxed);
      return PollEnd::Requeue;
    case PulseTask::Suspend::Wait: {
      std::uint8_t expected = PulseTask::kRunning;
      if (task.run.compare_exchange_strong(expected, PulseTask::kIdle, std::memory_order_acq_rel)) {
        return PollEnd::Parked;
      }
      // Woken before the poll ended.
      task.run.store(PulseTask::kQueued, std::memory_order_relaxed);
      return PollEnd::Requeue;
    }
    case PulseTask::Suspend::None:
    case PulseTask::Suspend::Transfer:
      break;
  }
  // Suspended without telling Pulse: await_transform makes this unreachable.
  OMEGA_ASSERT(false, "a pulse task suspended outside Pulse's awaitables");
  return PollEnd::Parked;
}

void PulseRuntime::account(PulseTask* task, WorkerSlot& slot, std::size_t worker, std::int64_t start,
                           std::int64_t end, bool flagged) noexcept {
  const std::uint64_t poll_ns = end > start ? static_cast<std::uint64_t>(end - start) : 0;
  slot.bump(slot.polls);
  slot.bump(slot.cpu_ns, poll_ns);
  if (task->suspend == PulseTask::Suspend::Yield) slot.bump(slot.yields);
  if (slot.sample_left == 0) {
    slot.sample_left = kPollSampleEvery - 1;
    slot.poll_time.record_n(poll_ns, kPollSampleEvery);
  } else {
    --slot.sample_left;
  }
  const ActiveConfig& ac = active();
  PollSample sample;
  sample.poll_ns = poll_ns;
  sample.waited = task->suspend == PulseTask::Suspend::Wait;
  sample.flagged = flagged;
  const PollVerdict v = apply_poll(ac.table, task->tier_state, task->priority, sample, end);
  if (v.violation) slot.bump(slot.violations);
  if (v.slow) slot.bump(slot.slow_polls);
  if (v.change == TierChange::Promoted) promotions_.add();
  if (v.change == TierChange::Demoted) demotions_.add();
  task->tier.store(task->tier_state.tier, std::memory_order_relaxed);
  // Warn and above: a bad poll is reported (a flagged one already was, while it ran).
  if (!flagged && (v.violation || v.slow) && task->tier_state.tier >= Tier::Warn && enabled()) {
    publish_slow_poll(task->id, task->node, poll_ns, worker, false);
  }
}

void PulseRuntime::publish_slow_poll(TaskId task, std::size_t node, std::uint64_t poll_ns, std::size_t worker,
                                     bool running) noexcept {
  warnings_.add();
  if (host_.signals == nullptr || !host_.signals->has_subscribers()) return;
  SystemSignal s;
  s.kind = SystemSignal::Kind::SlowPoll;
  s.at_ns = now_ns();
  s.node = node;
  s.task = task.value;
  s.poll_ns = poll_ns;
  s.worker = worker;
  s.running = running;
  host_.signals->publish(s);
}

// ---- wake-ups and queues --------------------------------------------------------------------

void wake_task(PulseTask* task) noexcept {
  std::uint8_t s = task->run.load(std::memory_order_acquire);
  for (;;) {
    if (s == PulseTask::kIdle) {
      if (task->run.compare_exchange_weak(s, PulseTask::kQueued, std::memory_order_acq_rel)) {
        task->driver->push(task);
        return;
      }
    } else if (s == PulseTask::kRunning) {
      if (task->run.compare_exchange_weak(s, PulseTask::kNotified, std::memory_order_acq_rel)) return;
    } else {
      return;  // already queued or notified, or cancelled
    }
  }
}

void PulseRuntime::push(PulseTask* task) noexcept {
  const Tier tier = enabled() ? task->tier_state.tier : Tier::Monitor;
  if (tier == Tier::Isolate) {
    push_slow(task);
    return;
  }
  // At Yield the task goes behind every other lane's work.
  push_to_nodes(task, tier == Tier::Yield ? Priority::Low : task->priority);
}

void PulseRuntime::push_to_nodes(PulseTask* task, Priority lane) noexcept {
  const std::size_t n = host_.nodes.size();
  const std::size_t home = task->node;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t idx = (home + i) % n;
    // Set before the push: once queued, the task is another thread's (it may be polled,
    // even finished and freed, before try_submit returns).
    task->node = idx;
    Task job([this, task] { poll(task); });
    auto r = host_.nodes[idx]->try_submit(job, lane);
    if (r) return;
    if (r.error() == NodeError::NodeShuttingDown) {
      cancel(task, "NodeShuttingDown: the system shut down while the task was suspended");
      return;
    }
  }
  // Every queue is full. The task was accepted: it waits for room rather than being lost.
  {
    std::lock_guard lock(inbox_mutex_);
    overflow_.push_back(task);
  }
  service_word_.fetch_add(1, std::memory_order_release);
  park_wake_one(service_word_);
}

void PulseRuntime::push_slow(PulseTask* task) noexcept {
  {
    std::lock_guard lock(slow_mutex_);
    if (!stopping_.load(std::memory_order_acquire)) {
      slow_.push(task, task->priority);
      task = nullptr;
    }
  }
  if (task != nullptr) {
    cancel(task, "NodeShuttingDown: the system shut down while the task was isolated");
    return;
  }
  slow_word_.fetch_add(1, std::memory_order_release);
  park_wake_one(slow_word_);
}

void PulseRuntime::sleep_until(PulseTask* task, std::int64_t deadline_ns) noexcept {
  {
    std::lock_guard lock(inbox_mutex_);
    sleep_inbox_.emplace_back(task, deadline_ns);
  }
  service_word_.fetch_add(1, std::memory_order_release);
  park_wake_one(service_word_);
}

// ---- the service thread: timers, watchdog, overflow ------------------------------------------

void PulseRuntime::ensure_threads() {
  std::call_once(threads_once_, [this] {
    try {
      service_thread_ = std::thread([this] { service_loop(); });
      slow_thread_ = std::thread([this] { slow_lane_loop(); });
    } catch (const std::system_error& e) {
      serve_inline_.store(true, std::memory_order_release);
      // Out of threads (WASM's fixed pool): timers and the slow lane then only advance
      // through run_service(), as in the single-threaded build. Said once, on stderr.
      std::fprintf(stderr, "omega pulse: could not start its threads (%s); timers and the slow lane run from run_pending()\n",
                   e.what());
    }
  });
}

std::int64_t PulseRuntime::service_turn(std::size_t& ran) noexcept {
  std::vector<std::pair<PulseTask*, std::int64_t>> sleeps;
  std::deque<PulseTask*> retry;
  {
    std::lock_guard lock(inbox_mutex_);
    sleeps.swap(sleep_inbox_);
    retry.swap(overflow_);
  }
  std::int64_t now = now_ns();
  for (const auto& sleep : sleeps) {
    PulseTask* task = sleep.first;  // a named variable: clang 14 cannot capture a structured binding
    wheel_->schedule(TimerTask([task] { wake_task(task); }, Nanos(std::max<std::int64_t>(sleep.second - now, 0))));
  }
  ran += wheel_->tick();
  for (PulseTask* task : retry) {
    push(task);
    ++ran;
  }
  now = now_ns();
  const ActiveConfig& ac = active();
  bool live;
  {
    std::lock_guard lock(registry_mutex_);
    live = !registry_.empty();
  }
  std::int64_t next = std::min(wheel_->next_deadline_ns(), now + kServiceIdleNs);
  if (live) {
    if (now >= next_watchdog_ns_) {
      watchdog_scan(now);
      next_watchdog_ns_ = now + ac.config.watchdog_period.count();
    }
    next = std::min(next, next_watchdog_ns_);
  }
  {
    std::lock_guard lock(inbox_mutex_);
    if (!overflow_.empty()) next = std::min(next, now + kOverflowRetryNs);
    if (!sleep_inbox_.empty()) next = now;
  }
  return next;
}

void PulseRuntime::watchdog_scan(std::int64_t now) noexcept {
  const ActiveConfig& ac = active();
  const std::int64_t threshold = ac.config.watchdog_threshold.count();
  for (std::size_t i = 0; i + 1 < slots_.size(); ++i) {
    WorkerSlot& slot = *slots_[i];
    const std::uint64_t seq = slot.poll_seq.load(std::memory_order_acquire);
    const std::int64_t start = slot.poll_start.load(std::memory_order_acquire);
    if (start == 0 || now - start < threshold / 2) continue;
    if (slot.poll_seq.load(std::memory_order_acquire) != seq) continue;  // that poll ended meanwhile
    if (slot.flagged_seq.load(std::memory_order_relaxed) == seq) continue;  // said already
    // What the poll has used of a CPU, not how long ago it began: a worker the OS took off
    // its core in the middle of a short poll is a victim, not a hog. From the first look past
    // half the threshold the thread's CPU clock is read (where the platform has one); until
    // then the poll is assumed to have run all along. Only polls that long pay the reads.
    std::int64_t used = now - start;
    if (const std::uint64_t clock = slot.cpu_clock.load(std::memory_order_relaxed); clock != 0) {
      const std::int64_t cpu = thread_cpu_ns(clock);
      if (cpu >= 0) {
        if (slot.probe_seq != seq) {
          slot.probe_seq = seq;
          slot.probe_cpu_ns = cpu;
          slot.probe_wall_ns = now;
        }
        used = (slot.probe_wall_ns - start) + (cpu - slot.probe_cpu_ns);
      }
    }
    if (used < threshold) continue;
    slot.flagged_seq.store(seq, std::memory_order_release);
    watchdog_flags_.add();
    // The task is another thread's while it runs: its id, from the slot, is all that is read.
    publish_slow_poll(TaskId{slot.task_id.load(std::memory_order_relaxed)}, SystemSignal::kAllNodes,
                      static_cast<std::uint64_t>(now - start), i, true);
    if (!enabled()) continue;
    WorkerGroup* group = slot.group.load(std::memory_order_relaxed);
    if (group != nullptr && !slot.rescued.exchange(true, std::memory_order_acq_rel)) {
      group->rescue();
      rescues_.add();
    }
  }
}

void PulseRuntime::service_loop() {
  (void)apply_thread_role(ThreadRole::Timer);
  while (!stopping_.load(std::memory_order_acquire)) {
    const std::uint32_t word = service_word_.load(std::memory_order_acquire);
    std::size_t ran = 0;
    std::int64_t next;
    {
      // Held only against run_service, which serves too if the slow lane's thread failed to
      // start after this one did.
      std::lock_guard lock(service_mutex_);
      next = service_turn(ran);
    }
    const std::int64_t wait = next - now_ns();
    if (wait > 0 && !stopping_.load(std::memory_order_acquire)) (void)park_wait(service_word_, word, Nanos(wait));
  }
}

// ---- the slow lane --------------------------------------------------------------------------

bool PulseRuntime::slow_lane_turn() noexcept {
  const std::int64_t now = now_ns();
  const double share = active().config.slow_lane_share;
  slow_credit_ns_ = std::min(kSlowCreditCapNs,
                             slow_credit_ns_ + static_cast<std::int64_t>(static_cast<double>(now - slow_credit_at_ns_) * share));
  slow_credit_at_ns_ = now;
  if (slow_credit_ns_ <= 0) return false;
  std::optional<SlowQueue::Entry> entry;
  {
    std::lock_guard lock(slow_mutex_);
    entry = slow_.pop();
  }
  if (!entry) return false;
  auto* task = static_cast<PulseTask*>(entry->item);
  const Priority priority = task->priority;
  const std::int64_t start = now_ns();
  // Counted on the slow lane's slot whichever thread serves it (the event loop's, without
  // threads of its own).
  const std::size_t lane = slots_.size() - 2;
  const ThreadSlot saved = t_slot;
  t_slot = ThreadSlot{epoch_, slots_[lane].get(), lane};
  poll(task);  // may requeue it here, hand it back to the nodes, or finish it
  t_slot = saved;
  const std::int64_t cost = now_ns() - start;
  {
    std::lock_guard lock(slow_mutex_);
    slow_.charge(priority, static_cast<std::uint64_t>(std::max<std::int64_t>(cost, 0)));
  }
  slow_credit_ns_ -= cost;
  isolated_polls_.add();
  return true;
}

void PulseRuntime::slow_lane_loop() {
  slots_[slots_.size() - 2]->cpu_clock.store(this_thread_cpu_clock(), std::memory_order_relaxed);
  {
    std::string got = apply_thread_role(ThreadRole::Background);
    std::lock_guard lock(slow_mutex_);
    slow_isolation_ = std::move(got);
  }
  while (!stopping_.load(std::memory_order_acquire)) {
    const std::uint32_t word = slow_word_.load(std::memory_order_acquire);
    if (slow_lane_turn()) continue;
    if (stopping_.load(std::memory_order_acquire)) break;
    bool queued;
    {
      std::lock_guard lock(slow_mutex_);
      queued = !slow_.empty();
    }
    if (queued) {
      // Out of allowance: wait until the share has earned enough for a poll to start.
      const double share = active().config.slow_lane_share;
      const auto wait = static_cast<std::int64_t>(static_cast<double>(-slow_credit_ns_ + 1000) / share);
      (void)park_wait(slow_word_, word ^ 0x80000000u, Nanos(std::clamp<std::int64_t>(wait, 10'000, 50'000'000)));
    } else {
      (void)park_wait(slow_word_, word);
    }
  }
}

std::size_t PulseRuntime::run_service() noexcept {
  // Where the runtime has its own threads it serves itself (and before the first spawn there
  // is nothing to serve): the event loop pays nothing. The wheel has one owner at a time.
  if (!serve_inline_.load(std::memory_order_acquire) || stopping_.load(std::memory_order_acquire)) return 0;
  if (spawned_.value() == 0) return 0;
  std::unique_lock lock(service_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return 0;
  std::size_t ran = 0;
  (void)service_turn(ran);
  // Without a thread of its own the slow lane gets a bounded share of these turns.
  ran += slow_lane_turn() ? 1 : 0;
  return ran;
}

// ---- shutdown -------------------------------------------------------------------------------

void PulseRuntime::begin_shutdown() noexcept {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  service_word_.fetch_add(1, std::memory_order_release);
  park_wake_all(service_word_);
  slow_word_.fetch_add(1, std::memory_order_release);
  park_wake_all(slow_word_);
}

void PulseRuntime::finish_shutdown() noexcept {
  begin_shutdown();
  if (service_thread_.joinable()) service_thread_.join();
  if (slow_thread_.joinable()) slow_thread_.join();
  // Isolated tasks never run again: cancel them (their handles learn why).
  std::vector<PulseTask*> isolated;
  {
    std::lock_guard lock(slow_mutex_);
    slow_.drain([&](SlowQueue::Entry e) { isolated.push_back(static_cast<PulseTask*>(e.item)); });
  }
  for (PulseTask* task : isolated) cancel(task, "NodeShuttingDown: the system shut down while the task was isolated");
  // The nodes have drained: what is left waits for a timer, a result or room in a queue.
  std::deque<PulseTask*> overflow;
  {
    std::lock_guard lock(inbox_mutex_);
    overflow.swap(overflow_);
    sleep_inbox_.clear();  // those tasks are idle and in the registry: the sweep cancels them
  }
  for (PulseTask* task : overflow) cancel(task, "NodeShuttingDown: the system shut down before the task could run");
  wheel_.reset();  // drops the sleeps' wake-ups without running them
  for (;;) {
    PulseTask* victim = nullptr;
    {
      std::lock_guard lock(registry_mutex_);
      for (auto& [id, task] : registry_) {
        if (task->run.load(std::memory_order_acquire) == PulseTask::kIdle) {
          victim = task;
          break;
        }
      }
      if (victim == nullptr && !registry_.empty()) {
        // Queued or running tasks of a system that is gone cannot exist once the nodes
        // have drained; anything left is a bug worth hearing about, not leaking silently.
        std::fprintf(stderr, "omega pulse: %zu task(s) neither idle nor finished at shutdown\n", registry_.size());
        break;
      }
    }
    if (victim == nullptr) break;
    cancel(victim, "NodeShuttingDown: the system shut down while the task was suspended");
  }
}

// ---- queries and updates --------------------------------------------------------------------

Tier PulseRuntime::tier_of(TaskId id) const {
  std::lock_guard lock(registry_mutex_);
  auto it = registry_.find(id);
  return it == registry_.end() ? Tier::Monitor : it->second->tier.load(std::memory_order_relaxed);
}

WorkerMetrics PulseRuntime::worker_metrics(std::size_t worker) const {
  WorkerMetrics m;
  m.worker = worker;
  if (worker >= slots_.size()) return m;
  const WorkerSlot& s = *slots_[worker];
  std::lock_guard lock(config_mutex_);  // orders with reset_worker_stats
  m.polls = s.polls.load(std::memory_order_relaxed) - s.base[0];
  m.violations = s.violations.load(std::memory_order_relaxed) - s.base[1];
  m.yields = s.yields.load(std::memory_order_relaxed) - s.base[2];
  m.cpu_ns = s.cpu_ns.load(std::memory_order_relaxed) - s.base[3];
  m.tasks = s.tasks.load(std::memory_order_relaxed) - s.base[4];
  m.slow_polls = s.slow_polls.load(std::memory_order_relaxed) - s.base[5];
  m.poll_time = s.poll_time.snapshot();
  return m;
}

void PulseRuntime::reset_worker_stats(std::size_t worker) {
  if (worker >= slots_.size()) return;
  WorkerSlot& s = *slots_[worker];
  std::lock_guard lock(config_mutex_);
  s.base = {s.polls.load(std::memory_order_relaxed),  s.violations.load(std::memory_order_relaxed),
            s.yields.load(std::memory_order_relaxed), s.cpu_ns.load(std::memory_order_relaxed),
            s.tasks.load(std::memory_order_relaxed),  s.slow_polls.load(std::memory_order_relaxed)};
  // The histogram has no baseline: it restarts (a concurrent record may straddle the reset).
  s.poll_time.reset();
}

Result<void, std::string> PulseRuntime::update_tier_policy(Tier tier, TierPolicy policy) {
  PulseConfig next = config();
  next.tiers[static_cast<std::size_t>(tier)] = std::move(policy);
  next.profile_kind = PulseProfile::Custom;
  return update_config(std::move(next));
}

Result<void, std::string> PulseRuntime::update_config(PulseConfig config) {
  if (auto why = config.validate(); !why.empty()) {
    policy_rejections_.add();
    return Err(std::move(why));
  }
  const SlowLaneConfig lane = slow_lane_config(config);
  set_config(std::make_unique<ActiveConfig>(std::move(config)));
  {
    // New weights or quantum: a fresh queue, fed what waits in the old one, in order.
    std::lock_guard lock(slow_mutex_);
    const SlowLaneConfig& now = slow_.config();
    if (now.weights != lane.weights || now.quantum_ns != lane.quantum_ns) {
      SlowQueue next(lane);
      slow_.drain([&](SlowQueue::Entry e) { next.push(e.item, e.priority); });
      slow_ = std::move(next);
    } else {
      slow_.set_algorithm(lane.algorithm);
    }
  }
  policy_updates_.add();
  return {};
}

void PulseRuntime::set_algorithm(SchedulingAlgorithm algorithm) {
  std::lock_guard lock(slow_mutex_);
  slow_.set_algorithm(algorithm);
}

PulseConfig PulseRuntime::config() const {
  PulseConfig c = active().config;
  std::lock_guard lock(slow_mutex_);
  c.algorithm = slow_.algorithm();
  return c;
}

PulseStats PulseRuntime::stats() const {
  PulseStats s;
  s.spawned = spawned_.value() - refused_.value();
  s.completed = completed_.value();
  s.panicked = panicked_.value();
  s.cancelled = cancelled_.value();
  s.promotions = promotions_.value();
  s.demotions = demotions_.value();
  s.warnings = warnings_.value();
  s.watchdog_flags = watchdog_flags_.value();
  s.rescues = rescues_.value();
  s.isolated_polls = isolated_polls_.value();
  s.policy_updates = policy_updates_.value();
  s.policy_rejections = policy_rejections_.value();
  s.enabled = enabled();
  {
    std::lock_guard lock(registry_mutex_);
    s.live = registry_.size();
    for (const auto& [id, task] : registry_) ++s.tasks_at_tier[static_cast<std::size_t>(task->tier.load(std::memory_order_relaxed))];
  }
  {
    std::lock_guard lock(slow_mutex_);
    s.slow_lane_queued = slow_.size();
    s.algorithm = slow_.algorithm();
    s.slow_lane_isolation = slow_isolation_;
  }
  return s;
}

void PulseRuntime::add_metrics(MetricsSnapshot& snap) const {
  const PulseStats s = stats();
  (void)snap.add_counter("omega_pulse_spawned_total", "Cooperative tasks spawned", {}, s.spawned);
  (void)snap.add_counter("omega_pulse_completed_total", "Cooperative tasks finished (value or panic)", {}, s.completed);
  (void)snap.add_counter("omega_pulse_panicked_total", "Cooperative tasks that ended by throwing", {}, s.panicked);
  (void)snap.add_counter("omega_pulse_cancelled_total", "Cooperative tasks destroyed by shutdown", {}, s.cancelled);
  (void)snap.add_counter("omega_pulse_promotions_total", "Tier promotions", {}, s.promotions);
  (void)snap.add_counter("omega_pulse_demotions_total", "Tier demotions", {}, s.demotions);
  (void)snap.add_counter("omega_pulse_slow_poll_warnings_total", "SlowPoll signals published", {}, s.warnings);
  (void)snap.add_counter("omega_pulse_watchdog_flags_total", "Polls flagged while still running", {}, s.watchdog_flags);
  (void)snap.add_counter("omega_pulse_rescues_total", "Parked workers woken to take over a blocked worker's queue", {},
                         s.rescues);
  (void)snap.add_counter("omega_pulse_isolated_polls_total", "Polls run by the slow lane", {}, s.isolated_polls);
  (void)snap.add_counter("omega_pulse_policy_updates_total", "Accepted configuration updates", {}, s.policy_updates);
  (void)snap.add_counter("omega_pulse_policy_rejections_total", "Refused configuration updates", {},
                         s.policy_rejections);
  (void)snap.add_gauge("omega_pulse_live_tasks", "Cooperative tasks spawned and not finished", {},
                       static_cast<std::int64_t>(s.live));
  for (std::size_t t = 0; t < kTierCount; ++t) {
    (void)snap.add_gauge("omega_pulse_tasks_at_tier", "Live cooperative tasks per tier",
                         MetricLabels{{"tier", std::string(to_string(static_cast<Tier>(t)))}},
                         static_cast<std::int64_t>(s.tasks_at_tier[t]));
  }
  (void)snap.add_gauge("omega_pulse_slow_lane_queued", "Isolated tasks waiting for the slow lane", {},
                       static_cast<std::int64_t>(s.slow_lane_queued));
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const WorkerMetrics w = worker_metrics(i);
    const MetricLabels labels{{"worker", std::to_string(i)}};
    (void)snap.add_counter("omega_pulse_worker_polls_total", "Polls per worker", labels, w.polls);
    (void)snap.add_counter("omega_pulse_worker_violations_total", "Polls over their time budget", labels, w.violations);
    (void)snap.add_counter("omega_pulse_worker_yields_total", "Polls that ended in a yield", labels, w.yields);
    (void)snap.add_counter("omega_pulse_worker_cpu_ns_total", "Time spent polling", labels, w.cpu_ns);
    (void)snap.add_counter("omega_pulse_worker_tasks_total", "Cooperative tasks finished", labels, w.tasks);
    (void)snap.add_counter("omega_pulse_worker_slow_polls_total", "Polls at or over the slow-poll threshold", labels,
                           w.slow_polls);
    (void)snap.add_histogram("omega_pulse_worker_poll_time_ns", "Time per poll (sampled)", labels, w.poll_time);
  }
}

// ---- the suspension points (coro.hpp) -------------------------------------------------------

void pulse_transfer(coro::coroutine_handle<> to) noexcept {
  PulseTask* task = t_poll->task;
  task->resume_at = to;
  task->suspend = PulseTask::Suspend::Transfer;
}

void pulse_yield(coro::coroutine_handle<> at) noexcept {
  PulseTask* task = t_poll->task;
  task->resume_at = at;
  task->suspend = PulseTask::Suspend::Yield;
}

void pulse_sleep_until(coro::coroutine_handle<> at, std::int64_t deadline_ns) noexcept {
  PulseTask* task = t_poll->task;
  task->resume_at = at;
  task->suspend = PulseTask::Suspend::Wait;
  task->driver->sleep_until(task, deadline_ns);
}

PulseTask* pulse_wait(coro::coroutine_handle<> at) noexcept {
  PulseTask* task = t_poll->task;
  task->resume_at = at;
  task->suspend = PulseTask::Suspend::Wait;
  return task;
}

void pulse_wait_withdrawable(PulseTask* task, bool (*withdraw)(void*) noexcept, bool (*ready)(void*) noexcept,
                             void* state) noexcept {
  task->withdraw = withdraw;
  task->ready = ready;
  task->withdraw_state = state;
}

void pulse_unwait(PulseTask* task) noexcept {
  task->suspend = PulseTask::Suspend::None;
  task->withdraw = nullptr;
}

void pulse_wake(PulseTask* task) noexcept { wake_task(task); }

bool pulse_budget_spent(PollContext& poll) noexcept {
  if (poll.units <= 0) return true;
  return now_ns_unordered() >= poll.deadline_ns;
}

}  // namespace omega::detail

namespace omega {

Tier Pulse::tier_of(TaskId id) const { return rt_->tier_of(id); }
std::size_t Pulse::worker_count() const noexcept { return rt_->worker_count(); }
WorkerMetrics Pulse::worker_metrics(std::size_t worker) const { return rt_->worker_metrics(worker); }
std::vector<WorkerMetrics> Pulse::all_worker_metrics() const {
  std::vector<WorkerMetrics> all;
  all.reserve(rt_->worker_count());
  for (std::size_t i = 0; i < rt_->worker_count(); ++i) all.push_back(rt_->worker_metrics(i));
  return all;
}
void Pulse::reset_worker_stats(std::size_t worker) { rt_->reset_worker_stats(worker); }
Result<void, std::string> Pulse::update_tier_policy(Tier tier, TierPolicy policy) {
  return rt_->update_tier_policy(tier, std::move(policy));
}
Result<void, std::string> Pulse::update_config(PulseConfig config) { return rt_->update_config(std::move(config)); }
void Pulse::set_algorithm(SchedulingAlgorithm algorithm) { rt_->set_algorithm(algorithm); }
void Pulse::set_enabled(bool enabled) noexcept { rt_->set_enabled(enabled); }
bool Pulse::enabled() const noexcept { return rt_->enabled(); }
PulseConfig Pulse::config() const { return rt_->config(); }
PulseStats Pulse::stats() const { return rt_->stats(); }
MetricsSnapshot Pulse::metrics() const {
  MetricsSnapshot snap;
  rt_->add_metrics(snap);
  return snap;
}

}  // namespace omega
