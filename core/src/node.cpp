#include <omega/base/assert.hpp>
#include <omega/base/config.hpp>
#include <omega/base/park.hpp>
#include <omega/base/spin.hpp>
#include <omega/exec/node.hpp>

#include <algorithm>
#include <array>

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
  return {};
}

OmegaNode::OmegaNode(std::size_t id, NodeConfig config, SignalHub* signals)
    : id_(id), config_(std::move(config)), signals_(signals), queue_(config_.queue_capacity, config_.watermarks) {
  OMEGA_ASSERT(config_.validate().empty(), "invalid NodeConfig (validate() says why)");
  if constexpr (kHasThreads) {
    active_.store(config_.min_threads, std::memory_order_relaxed);
    threads_.reserve(config_.max_threads);
    try {
      for (unsigned i = 0; i < config_.max_threads; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
    } catch (...) {
      // Out of threads (in WASM: the pthread pool is exhausted). Stop the ones that started
      // so no joinable std::thread is destroyed, then report to the builder.
      shutdown();
      throw;
    }
  }
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

bool OmegaNode::begin_submit() noexcept {
  // Announce the submit before checking stopping_: shutdown() waits for announced submits,
  // so a task that passes the check is in the queue before the workers make their last pass.
  in_flight_submits_.fetch_add(1, std::memory_order_seq_cst);
  if (!stopping_.load(std::memory_order_seq_cst)) return true;
  end_submit();
  return false;
}

void OmegaNode::notify_pushed(std::size_t pushed) noexcept {
  submitted_.add(pushed);
  // Pairs with the fence in worker_loop: either the worker sees the items before it parks,
  // or we see it counted as a sleeper and wake it (everyone, when there is more than one).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_relaxed) > 0) {
    work_epoch_.fetch_add(1, std::memory_order_release);
    if (pushed > 1) {
      park_wake_all(work_epoch_);
    } else {
      park_wake_one(work_epoch_);
    }
  }
  maybe_scale_up();
}

Result<void, NodeError> OmegaNode::try_submit(Task& task, Priority priority) noexcept {
  if (!begin_submit()) {
    rejected_.add();
    return Err(NodeError::NodeShuttingDown);
  }
  Item item{std::move(task), now_ns()};
  const bool pushed = queue_.try_push(item, priority);
  end_submit();
  if (!pushed) {
    task = std::move(item.task);
    rejected_.add();
    return Err(NodeError::QueueFull);
  }
  notify_pushed(1);
  return {};
}

std::size_t OmegaNode::try_submit_bulk(Task* tasks, std::size_t n, Priority priority) noexcept {
  OMEGA_DASSERT(n <= kBulkMax, "try_submit_bulk takes at most kBulkMax tasks");
  if (n == 0) return 0;
  if (!begin_submit()) {
    rejected_.add(n);
    return 0;
  }
  const std::int64_t now = now_ns();
  std::array<Item, kBulkMax> items;
  for (std::size_t i = 0; i < n; ++i) items[i] = Item{std::move(tasks[i]), now};
  const std::size_t pushed = queue_.try_push_bulk(items.data(), n, priority);
  end_submit();
  for (std::size_t i = pushed; i < n; ++i) tasks[i] = std::move(items[i].task);  // hand back the rest
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

void OmegaNode::run(Item& item) {
  const std::int64_t start = now_ns();
  queue_wait_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(start - item.enqueued_ns, 0)));
  try {
    item.task();
  } catch (...) {
    panicked_.add();
  }
  item.task.reset();
  run_time_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(now_ns() - start, 0)));
  completed_.add();
}

void OmegaNode::worker_loop(unsigned index) {
  Item item;
  unsigned spins = 0;
  bool spinning = false;  // holds a token from g_spin_budget
  auto stop_spinning = [&] {
    if (spinning) g_spin_budget.release();
    spinning = false;
    spins = 0;
  };
  for (;;) {
    if (index >= active_.load(std::memory_order_acquire)) {
      // Inactive: wait to be activated (or for shutdown, which activates everyone).
      const std::uint32_t epoch = activation_epoch_.load(std::memory_order_acquire);
      if (index >= active_.load(std::memory_order_acquire)) (void)park_wait(activation_epoch_, epoch);
      continue;
    }
    if (queue_.try_pop(item)) {
      stop_spinning();
      run(item);
      continue;
    }
    if (stopping_.load(std::memory_order_acquire) && in_flight_submits_.load(std::memory_order_acquire) == 0 &&
        queue_.empty()) {
      stop_spinning();
      return;
    }
    if (spins == 0 && config_.spin_iterations > 0) spinning = g_spin_budget.try_acquire();
    if (spinning && ++spins < config_.spin_iterations) {
      cpu_relax();
      continue;
    }
    stop_spinning();
    const std::uint32_t epoch = work_epoch_.load(std::memory_order_acquire);
    sleepers_.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!queue_.empty() || stopping_.load(std::memory_order_acquire)) {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    // Only the highest active thread above the minimum waits with a timeout: if no work comes
    // within scale_down_after it deactivates itself, then lets the next one re-evaluate.
    const bool may_retire = index >= config_.min_threads && index + 1 == active_.load(std::memory_order_acquire);
    const ParkResult r = park_wait(work_epoch_, epoch, may_retire ? config_.scale_down_after : Nanos::max());
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    if (r == ParkResult::TimedOut && may_retire && queue_.empty() && !stopping_.load(std::memory_order_acquire)) {
      unsigned expected = index + 1;
      if (active_.compare_exchange_strong(expected, index, std::memory_order_acq_rel)) {
        scale_downs_.add();
        publish_scaled(index + 1, index);
        work_epoch_.fetch_add(1, std::memory_order_release);
        park_wake_all(work_epoch_);
      }
    }
  }
}

std::size_t OmegaNode::run_pending(std::size_t max_tasks) {
  Item item;
  std::size_t ran = 0;
  while (ran < max_tasks && queue_.try_pop(item)) {
    run(item);
    ++ran;
  }
  return ran;
}

void OmegaNode::shutdown() {
  std::lock_guard lock(shutdown_mutex_);
  stopping_.store(true, std::memory_order_seq_cst);
  while (in_flight_submits_.load(std::memory_order_acquire) != 0) cpu_relax();
  if (!threads_.empty()) {
    active_.store(config_.max_threads, std::memory_order_release);
    activation_epoch_.fetch_add(1, std::memory_order_release);
    park_wake_all(activation_epoch_);
    work_epoch_.fetch_add(1, std::memory_order_release);
    park_wake_all(work_epoch_);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  run_pending();  // without threads, the accepted work runs here
}

NodeStats OmegaNode::stats() const noexcept {
  return NodeStats{submitted_.value(), completed_.value(), rejected_.value(),
                   panicked_.value(),  scale_ups_.value(), scale_downs_.value()};
}

}  // namespace omega
