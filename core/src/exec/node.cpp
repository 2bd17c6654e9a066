#include <omega/base/assert.hpp>
#include <omega/base/config.hpp>
#include <omega/base/park.hpp>
#include <omega/base/spin.hpp>
#include <omega/exec/node.hpp>

#include <algorithm>
#include <array>

#include "exec/worker_group.hpp"

namespace omega {

namespace {
// Process-wide spin budget. A worker that finds its queue empty spins only while it holds a
// token; at most half the hardware threads spin at once (Go's scheduler uses the same rule).
// Without it, a system of many nodes on a small machine spends its cores on spinning
// workers instead of on the submitters and the workers that have work.
class SpinBudget {
 public:
  bool try_acquire() noexcept {
    int n = spinners_.load(std::memory_order_relaxed);
    while (n < limit_) {
      if (spinners_.compare_exchange_weak(n, n + 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  void release() noexcept { spinners_.fetch_sub(1, std::memory_order_release); }

 private:
  const int limit_ = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  std::atomic<int> spinners_{0};
};
SpinBudget g_spin_budget;
}  // namespace

std::string NodeConfig::validate() const {
  if (queue_capacity == 0) return "queue_capacity must be at least 1";
  if (min_threads == 0) return "min_threads must be at least 1";
  if (max_threads < min_threads) return "max_threads must be at least min_threads";
  if (max_threads > 256) return "max_threads must be at most 256";
  if (!watermarks.valid()) return "watermarks need 0 < low_pct < high_pct <= 100";
  if (scale_down_after <= Nanos::zero()) return "scale_down_after must be positive";
  if (timing_sample_every == 0) return "timing_sample_every must be at least 1 (1: time every task)";
  return {};
}

// ---- WorkerGroup ----------------------------------------------------------------------------
// Here, not in a file of its own: wake_for runs on every push and inlines into the push path.

namespace detail {

WorkerGroup::WorkerGroup(std::size_t node_slots, unsigned awake_cap)
    : slots_(node_slots),
      cap_(awake_cap ? awake_cap : std::max(1u, std::thread::hardware_concurrency())),
      nodes_(std::make_unique<std::atomic<OmegaNode*>[]>(node_slots)) {
  for (std::size_t i = 0; i < slots_; ++i) nodes_[i].store(nullptr, std::memory_order_relaxed);
}

void WorkerGroup::attach(OmegaNode* node) noexcept {
  const std::size_t slot = attached_.fetch_add(1, std::memory_order_relaxed);
  OMEGA_ASSERT(slot < slots_, "more nodes attached to a WorkerGroup than it has slots");
  nodes_[slot].store(node, std::memory_order_release);
}

void WorkerGroup::wake_for(OmegaNode* node, std::size_t n) noexcept {
  // Both loads are seq_cst and follow the push's seq_cst reservation: a worker that is
  // awake, or not yet listed as parked, here will see the work when it takes its last look
  // before parking (find_work), so skipping the wake-up loses nothing.
  std::array<Parker*, 8> woken{};
  std::size_t count = 0;
  {
    if (searching_.load(std::memory_order_seq_cst) != 0) return;
    const unsigned awake = awake_.load(std::memory_order_seq_cst);
    if (awake >= cap_ || parked_count_.load(std::memory_order_seq_cst) == 0) return;
    n = std::min<std::size_t>({n, cap_ - awake, woken.size()});
    std::lock_guard lock(mutex_);
    while (count < n && !parked_.empty()) {
      // The node's own worker if one of the most recently parked is (its cache holds the
      // node's state), else the most recently parked one.
      std::size_t pick = parked_.size() - 1;
      const std::size_t lowest = parked_.size() > 8 ? parked_.size() - 8 : 0;
      for (std::size_t j = parked_.size(); j-- > lowest;) {
        if (parked_[j]->node == node) {
          pick = j;
          break;
        }
      }
      Parker* p = parked_[pick];
      take_parked(pick);
      p->word.store(kNotified, std::memory_order_release);
      woken[count++] = p;
    }
  }
  for (std::size_t i = 0; i < count; ++i) park_wake_one(woken[i]->word);
}

void WorkerGroup::take_parked(std::size_t slot) noexcept {
  Parker* p = parked_[slot];
  Parker* last = parked_.back();
  parked_[slot] = last;
  last->slot = slot;
  parked_.pop_back();
  p->listed = false;
  p->node->parked_.fetch_sub(1, std::memory_order_seq_cst);
  parked_count_.fetch_sub(1, std::memory_order_seq_cst);
  awake_.fetch_add(1, std::memory_order_seq_cst);
}

bool WorkerGroup::list_parked(Parker& p, const std::atomic<bool>& stop) noexcept {
  std::lock_guard lock(mutex_);
  if (stop.load(std::memory_order_acquire)) return false;
  p.word.store(kParked, std::memory_order_relaxed);
  p.listed = true;
  p.slot = parked_.size();
  parked_.push_back(&p);
  p.node->parked_.fetch_add(1, std::memory_order_seq_cst);
  parked_count_.fetch_add(1, std::memory_order_seq_cst);
  awake_.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

void WorkerGroup::unlist(Parker& p) noexcept {
  std::lock_guard lock(mutex_);
  if (p.listed) take_parked(p.slot);
  p.word.store(kRunning, std::memory_order_relaxed);
}

void WorkerGroup::wake_all_of(OmegaNode* node) noexcept {
  std::vector<Parker*> woken;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = parked_.size(); i-- > 0;) {
      Parker* p = parked_[i];
      if (p->node != node) continue;
      take_parked(i);  // swaps in the last entry, already visited
      p->word.store(kNotified, std::memory_order_release);
      woken.push_back(p);
    }
  }
  for (Parker* p : woken) park_wake_one(p->word);
}

void WorkerGroup::end_search_found_work() noexcept {
  // Pushes that saw this worker searching skipped their wake-ups; it is about to run a task
  // that may take long. If it was the last searcher, wake a parked worker for any work still
  // queued (Tokio's rule). The decrement comes first (seq_cst): a push this scan misses sees
  // no searcher and wakes one itself.
  if (searching_.fetch_sub(1, std::memory_order_seq_cst) != 1) return;
  if (parked_count_.load(std::memory_order_seq_cst) == 0) return;
  if (OmegaNode* node = node_with_work()) wake_for(node, 1);
}

OmegaNode* WorkerGroup::node_with_work() const noexcept {
  for (std::size_t i = 0; i < slots_; ++i) {
    OmegaNode* node = node_at(i);
    if (node && node->queue_.reserved() != 0) return node;
  }
  return nullptr;
}

void WorkerGroup::rescue() noexcept {
  awake_.fetch_sub(1, std::memory_order_seq_cst);
  // A searcher will find the queued work itself; otherwise wake one for it.
  if (parked_count_.load(std::memory_order_seq_cst) == 0) return;
  if (OmegaNode* node = node_with_work()) wake_for(node, 1);
}

namespace {
thread_local WorkerGroup* t_worker_group = nullptr;
}  // namespace

WorkerGroup* current_worker_group() noexcept { return t_worker_group; }

OmegaNode* WorkerGroup::find_work(const OmegaNode* self) const noexcept {
  if (self->queue_.reserved() != 0) return const_cast<OmegaNode*>(self);
  return node_with_work();
}

}  // namespace detail

// ---- OmegaNode ------------------------------------------------------------------------------

struct OmegaNode::WorkerState {
  detail::WorkerParker* parker = nullptr;
  unsigned index = 0;
  bool counted = false;  // in the group's awake count
  Item item;
  std::size_t cursor = 0;  // where stealing starts: spread over the group
  unsigned spins = 0;
  bool spinning = false;  // holds a token from g_spin_budget
};

namespace {
// Tasks running on this thread (more than one when a task waits and helps).
thread_local unsigned t_running_tasks = 0;
// Tasks this thread submits before it marks one to be timed (timing_sample_every). The
// submitter decides, so untimed tasks cost no clock read anywhere (in WASM a clock read is a
// call out to JavaScript).
thread_local unsigned t_untimed_left = 0;
// The enqueue stamp of a submission: 0 (not timed) or the time, never 0 when timed.
inline std::int64_t sample_stamp(unsigned every, std::int64_t& now) noexcept {
  if (t_untimed_left != 0) {
    --t_untimed_left;
    return 0;
  }
  t_untimed_left = every - 1;
  if (now == 0) now = std::max<std::int64_t>(now_ns_unordered(), 1);
  return now;
}
}  // namespace

bool OmegaNode::inside_task() noexcept { return t_running_tasks != 0; }

void OmegaNode::unsample(const Item& item) noexcept {
  if (item.enqueued_ns != 0) {
    t_untimed_left = 0;
  } else {
    ++t_untimed_left;
  }
}

namespace {
thread_local bool t_panic_noted = false;
}  // namespace

void OmegaNode::note_panic() noexcept { t_panic_noted = true; }

OmegaNode::OmegaNode(std::size_t id, NodeConfig config, SignalHub* signals, detail::WorkerGroup* group)
    : id_(id),
      config_(std::move(config)),
      signals_(signals),
      own_group_(group ? nullptr : std::make_unique<detail::WorkerGroup>(1)),
      group_(group ? group : own_group_.get()),
      queue_(config_.queue_capacity, config_.watermarks) {
  OMEGA_ASSERT(config_.validate().empty(), "invalid NodeConfig (validate() says why)");
  if constexpr (kHasThreads) {
    active_.store(config_.min_threads, std::memory_order_relaxed);
    parkers_ = std::make_unique<detail::WorkerGroup::Parker[]>(config_.max_threads);
    for (unsigned i = 0; i < config_.max_threads; ++i) parkers_[i].node = this;
    threads_.reserve(config_.max_threads);
    try {
      for (unsigned i = 0; i < config_.max_threads; ++i) {
        running_workers_.fetch_add(1, std::memory_order_relaxed);
        threads_.emplace_back([this, i] {
          worker_loop(i);
          running_workers_.fetch_sub(1, std::memory_order_release);
        });
      }
    } catch (...) {
      // Out of threads (in WASM: the pthread pool is exhausted). Stop the ones that started
      // so no joinable std::thread is destroyed, then report to the builder.
      running_workers_.store(static_cast<unsigned>(threads_.size()), std::memory_order_relaxed);
      shutdown();
      throw;
    }
  }
  // Last: once attached, other nodes' workers steal from this node until the group goes. A
  // node whose threads could not start is never attached, so none of them reaches it after
  // it is freed. Until here nobody can submit to it, so its own workers need not be seen.
  group_->attach(this);
}

OmegaNode::~OmegaNode() { shutdown(); }

unsigned OmegaNode::desired_threads() const noexcept {
  if constexpr (!kHasThreads) return 0;
  const unsigned active = active_threads();
  switch (get_pressure_level()) {
    case PressureLevel::Empty:
    case PressureLevel::Low: return config_.min_threads;
    case PressureLevel::Normal: return active;
    case PressureLevel::High: return std::min(active + 1, config_.max_threads);
    case PressureLevel::Full: return config_.max_threads;
  }
  return active;
}

void OmegaNode::notify_pushed(std::size_t pushed) noexcept {
  if constexpr (kHasThreads) {
    group_->wake_for(this, pushed);
    maybe_scale_up();
  }
}

Result<void, NodeError> OmegaNode::try_submit(Task& task, Priority priority) noexcept {
  std::int64_t now = 0;
  Item item{std::move(task), sample_stamp(config_.timing_sample_every, now)};
  const PushStatus status = queue_.push(item, priority);
  if (status != PushStatus::Pushed) [[unlikely]] {
    unsample(item);  // the next submission takes its place in the count
    task = std::move(item.task);
    rejected_.add();
    return Err(status == PushStatus::Closed ? NodeError::NodeShuttingDown : NodeError::QueueFull);
  }
  notify_pushed(1);
  return {};
}

std::size_t OmegaNode::try_submit_bulk(Task* tasks, std::size_t n, Priority priority) noexcept {
  OMEGA_DASSERT(n <= kBulkMax, "try_submit_bulk takes at most kBulkMax tasks");
  if (n == 0) return 0;
  std::int64_t now = 0;  // one clock read per chunk at most
  const unsigned every = config_.timing_sample_every;
  // Each accepted task moves once, straight into its slot; only accepted ones are stamped,
  // so a refused rest needs no undoing.
  const std::size_t pushed = queue_.try_emplace_bulk(n, priority, [&](std::size_t i, void* where) noexcept {
    ::new (where) Item{std::move(tasks[i]), sample_stamp(every, now)};
  });
  if (pushed < n) rejected_.add(n - pushed);
  if (pushed > 0) notify_pushed(pushed);
  return pushed;
}

void OmegaNode::publish_scaled(unsigned from, unsigned to) noexcept {
  if (!signals_ || !signals_->has_subscribers()) return;
  SystemSignal s;
  s.kind = SystemSignal::Kind::ThreadsScaled;
  s.at_ns = now_ns();
  s.node = id_;
  s.from_threads = from;
  s.to_threads = to;
  signals_->publish(s);
}

void OmegaNode::maybe_scale_up() noexcept {
  if constexpr (!kHasThreads) return;
  const PressureLevel level = queue_.pressure_level();
  if (level < PressureLevel::High) return;
  unsigned active = active_.load(std::memory_order_relaxed);
  const unsigned target = level == PressureLevel::Full ? config_.max_threads : active + 1;
  if (active >= config_.max_threads || target <= active) return;
  const unsigned to = std::min(target, config_.max_threads);
  if (active_.compare_exchange_strong(active, to, std::memory_order_acq_rel)) {
    scale_ups_.add();
    publish_scaled(active, to);
    activation_epoch_.fetch_add(1, std::memory_order_release);
    park_wake_all(activation_epoch_);
  }
}

void OmegaNode::run(Item& item) noexcept {
  ++detail::t_worker_events;
  const bool timed = item.enqueued_ns != 0;
  std::int64_t start = 0;
  if (timed) {
    start = now_ns();
    queue_wait_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(start - item.enqueued_ns, 0)));
  }
  ++t_running_tasks;
  const bool finished = item.task.run_caught();
  if (!finished || t_panic_noted) [[unlikely]] {
    t_panic_noted = false;
    panicked_.add();
  }
  --t_running_tasks;
  item.task.reset();
  if (timed) run_time_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(now_ns() - start, 0)));
  completed_.add();
}

OmegaNode* OmegaNode::steal_any(std::size_t& cursor, Item& out) noexcept {
  const std::size_t slots = group_->node_slots();
  for (std::size_t i = 0; i < slots; ++i) {  // every slot: one of them is this node's own
    if (OmegaNode* victim = steal_one(cursor, out)) return victim;
  }
  return nullptr;
}

OmegaNode* OmegaNode::steal_one(std::size_t& cursor, Item& out) noexcept {
  const std::size_t slots = group_->node_slots();
  if (slots <= 1) return nullptr;
  OmegaNode* victim = group_->node_at(cursor++ % slots);
  if (!victim || victim == this || victim->queue_.size() == 0) return nullptr;
  return victim->queue_.try_pop(out) ? victim : nullptr;
}

void OmegaNode::worker_loop(unsigned index) {
  WorkerState state;
  state.parker = &parkers_[index];
  state.index = index;
  state.cursor = id_ + 1 + index;
  detail::t_worker_group = group_;
  // Called through a volatile pointer: Binaryen (which Emscripten runs after LLVM) inlines a
  // function called from one place whatever its attributes say.
  bool (OmegaNode::*volatile pass)(WorkerState&) = &OmegaNode::worker_pass;
  while ((this->*pass)(state)) {
  }
}

// One stretch of a worker's life: at most kPassIterations turns of its loop, fewer when it
// parks or exits. worker_loop calls it again and again instead of looping here for the
// thread's lifetime because WebAssembly engines optimise a function for its next call: V8
// has no on-stack replacement for wasm, so a loop that never returns would keep running
// its first, baseline-compiled code (so it must not be inlined into worker_loop either).
[[gnu::noinline]] bool OmegaNode::worker_pass(WorkerState& st) {
  detail::WorkerGroup::Parker& me = *st.parker;
  const unsigned index = st.index;
  bool& counted = st.counted;
  Item& item = st.item;
  std::size_t& cursor = st.cursor;
  unsigned& spins = st.spins;
  bool& spinning = st.spinning;
  // found_work: the spin ends because this worker is about to run a task (which may be
  // long), not because it will park.
  auto stop_spinning = [&](bool found_work = false) {
    if (spinning) {
      if (found_work) {
        group_->end_search_found_work();
      } else {
        group_->end_search();
      }
      g_spin_budget.release();
    }
    spinning = false;
    spins = 0;
  };
  for (unsigned turn = 0; turn < kPassIterations; ++turn) {
    if (index >= active_.load(std::memory_order_acquire)) {
      ++detail::t_worker_events;
      // Inactive: wait to be activated (or for shutdown, which activates everyone).
      stop_spinning();
      if (counted) group_->count_asleep();
      counted = false;
      const std::uint32_t epoch = activation_epoch_.load(std::memory_order_acquire);
      if (index >= active_.load(std::memory_order_acquire)) (void)park_wait(activation_epoch_, epoch);
      continue;
    }
    if (!counted) group_->count_awake();
    counted = true;
    if (queue_.try_pop(item)) {
      stop_spinning(true);
      run(item);
      continue;
    }
    if (stopping_.load(std::memory_order_acquire) && queue_.reserved() == 0) {
      stop_spinning();
      group_->count_asleep();
      return false;
    }
    if (OmegaNode* victim = steal_one(cursor, item)) {
      stop_spinning(true);  // before running: pushes skip their wake-ups while anyone searches
      victim->run(item);
      continue;
    }
    ++detail::t_worker_events;  // found no work: whatever comes next did not follow at once
    if (spins == 0 && config_.spin_iterations > 0) {
      spinning = g_spin_budget.try_acquire();
      if (spinning) group_->begin_search();
    }
    if (spinning && ++spins < config_.spin_iterations) {
      // Every so often let a runnable thread have this CPU: on a machine with fewer cores
      // than workers plus submitters, a spinner would otherwise take the submitter's time.
      if ((spins & 63) == 0) {
        std::this_thread::yield();
      } else {
        cpu_relax();
      }
      continue;
    }
    stop_spinning();
    if (OmegaNode* victim = steal_any(cursor, item)) {
      victim->run(item);
      continue;
    }
    if (!group_->list_parked(me, stopping_)) continue;  // shutting down: drain, then exit
    counted = false;
    // The last look, after listing (seq_cst): pairs with wake_for's reads after a push.
    if (OmegaNode* busy = group_->find_work(this)) {
      group_->unlist(me);
      counted = true;
      if (busy != this && busy->queue_.try_pop(item)) busy->run(item);
      continue;
    }
    // Only the highest active thread above the minimum waits with a timeout: if no work comes
    // within scale_down_after it deactivates itself, then lets the next one re-evaluate.
    const bool may_retire = index >= config_.min_threads && index + 1 == active_.load(std::memory_order_acquire);
    const ParkResult r = park_wait(me.word, detail::WorkerGroup::kParked,
                                   may_retire ? config_.scale_down_after : Nanos::max());
    group_->unlist(me);
    counted = true;
    if (r == ParkResult::TimedOut && may_retire && queue_.reserved() == 0 &&
        !stopping_.load(std::memory_order_acquire)) {
      unsigned expected = index + 1;
      if (active_.compare_exchange_strong(expected, index, std::memory_order_acq_rel)) {
        scale_downs_.add();
        publish_scaled(index + 1, index);
        // The next one down is now the highest: let it park again, with the timeout.
        if (index > config_.min_threads) group_->wake_all_of(this);
      }
    }
  }
  return true;
}

std::size_t OmegaNode::run_pending(std::size_t max_tasks) {
  ++detail::t_worker_events;  // the caller may have been idle since its last task
  Item item;
  std::size_t ran = 0;
  while (ran < max_tasks && queue_.try_pop(item)) {
    run(item);
    ++ran;
  }
  return ran;
}

bool OmegaNode::help_one() {
  if (inside_task()) return false;
  return run_pending(1) == 1;
}

void OmegaNode::begin_shutdown() noexcept {
  stopping_.store(true, std::memory_order_seq_cst);
  queue_.close();  // from here on every push is refused; earlier ones are in reserved()
  if (!threads_.empty()) {
    active_.store(config_.max_threads, std::memory_order_release);
    activation_epoch_.fetch_add(1, std::memory_order_release);
    park_wake_all(activation_epoch_);
    group_->wake_all_of(this);
  }
}

void OmegaNode::shutdown() {
  std::lock_guard lock(shutdown_mutex_);
  begin_shutdown();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Without threads the accepted work runs here. With threads it already ran, except for a
  // push that reserved before the close and published after the workers' last look.
  while (queue_.reserved() != 0) {
    if (run_pending() == 0) cpu_relax();
  }
}

NodeStats OmegaNode::stats() const noexcept {
  return NodeStats{queue_.pushed_total(), completed_.value(), rejected_.value(),
                   panicked_.value(),  scale_ups_.value(), scale_downs_.value()};
}

}  // namespace omega
