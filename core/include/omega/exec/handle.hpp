#pragma once
// TaskHandle<T>: the submitter's side of one task's result (seed 000's recv_result).
//
// The shared state is pooled: released states go to a per-thread free list and are reused
// by the next submission on that thread, so steady-state submit-with-handle allocates
// nothing. A state is shared by the handle and the queued task (two references); whichever
// lets go last recycles it.
//
// Waiting: an untimed recv_result() from a thread that is not itself running a task first
// helps: it runs work queued on the node its task went to (its own task is there, or
// already running), as oneTBB's wait() does, so a submitter that collects results does the
// work instead of paying for wake-ups. Then it spins briefly, then parks on the state's
// word; the worker wakes it only if someone is parked (no syscall otherwise). Where a
// thread may not block (browser main thread, single-threaded build) it runs the system's
// queued work instead. The system installs the `drive` hook for both.
#include <algorithm>
#include <compare>
#include <functional>
#include <atomic>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <omega/base/assert.hpp>
#include <omega/base/clock.hpp>
#include <omega/base/error.hpp>
#include <omega/base/park.hpp>
#include <omega/base/result.hpp>
#include <omega/base/spin.hpp>

namespace omega {

// Names one accepted task for queries (Pulse::tier_of). Unique within the process: ids come
// from one counter, handed to each thread in blocks, so taking one costs no shared write.
struct TaskId {
  std::uint64_t value = 0;  // 0: no task
  friend bool operator==(TaskId, TaskId) = default;
  friend auto operator<=>(TaskId, TaskId) = default;
};

namespace detail {

[[nodiscard]] inline TaskId next_task_id() noexcept {
  static constexpr std::uint64_t kBlock = 1u << 16;
  static constinit std::atomic<std::uint64_t> blocks{1};
  static thread_local constinit std::uint64_t next = 0;
  static thread_local constinit std::uint64_t end = 0;
  if (next == end) [[unlikely]] {
    next = blocks.fetch_add(1, std::memory_order_relaxed) * kBlock;
    end = next + kBlock;
  }
  return TaskId{next++};
}

// Someone (a suspended coroutine) to tell when a result is set, instead of a parked thread.
struct ResultWaiter {
  void (*wake)(ResultWaiter* self) noexcept = nullptr;
};

// What a work function's result becomes: F returning T or Result<T, TaskError> yields T.
template <class R>
struct TaskValue {
  using type = R;
};
template <class T>
struct TaskValue<Result<T, TaskError>> {
  using type = T;
};

// Runs queued work on the calling thread; true if anything ran. help: one task of `node`
// (only outside tasks); otherwise a round over every node (for threads that may not block).
using DriveFn = bool (*)(void* ctx, std::size_t node, bool help) noexcept;

template <class T>
class TaskState {
 public:
  static TaskState* acquire(DriveFn drive, void* ctx) {
    auto& pool = free_list();
    TaskState* s;
    if (!pool.items.empty()) {
      s = pool.items.back();
      pool.items.pop_back();
    } else {
      s = new TaskState();
    }
    s->word_.store(kPending, std::memory_order_relaxed);
    s->refs_.store(2, std::memory_order_relaxed);  // the handle and the task
    s->drive_ = drive;
    s->ctx_ = ctx;
    s->node_ = ~std::size_t{0};
    s->id_ = TaskId{};  // taken when first asked for: submissions that never ask pay nothing
    s->waiter_ = nullptr;
    return s;
  }

  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    result_.reset();
    auto& pool = free_list();
    if (pool.items.size() < kPoolLimit) {
      pool.items.push_back(this);  // capacity reserved up front: no allocation here
    } else {
      delete this;
    }
  }

  void set(Result<T, TaskError>&& r) noexcept {
    result_.emplace(std::move(r));
    const std::uint32_t before = word_.exchange(kReady, std::memory_order_acq_rel);
    if (before == kWaiting) {
      park_wake_all(word_);
    } else if (before == kAwaited) {
      waiter_->wake(waiter_);
    }
  }
  // Registers `w` to be told once the result is set (once, from the thread that sets it);
  // false when it is set already (`w` is never called). One waiter, as one handle owns the
  // result; not combined with wait_until.
  bool await_result(ResultWaiter* w) noexcept {
    waiter_ = w;
    std::uint32_t expected = kPending;
    return word_.compare_exchange_strong(expected, kAwaited, std::memory_order_acq_rel);
  }
  // Takes back a registration; false when the result is set already (the waiter is, or is
  // being, told).
  bool withdraw_waiter() noexcept {
    std::uint32_t expected = kAwaited;
    return word_.compare_exchange_strong(expected, kPending, std::memory_order_acq_rel);
  }

  [[nodiscard]] bool ready() const noexcept { return word_.load(std::memory_order_acquire) == kReady; }

  // Waits until ready or `deadline`; true if ready.
  bool wait_until(std::int64_t deadline_ns) noexcept {
    if (ready()) return true;
    const bool may_block = can_park();
    if (may_block && deadline_ns == INT64_MAX && drive_ && node_ != ~std::size_t{0}) {
      // Untimed: helping cannot overshoot a deadline.
      while (!ready() && drive_(ctx_, node_, true)) {
      }
    }
    // Spin for a few microseconds, by the clock rather than by count: a pause is ~40 cycles
    // natively and nothing at all in WASM, where parking and waking (Atomics.wait/notify,
    // calls out to JavaScript) cost several microseconds.
    const std::int64_t spin_until = std::min(now_ns() + kSpinNs, deadline_ns);
    for (unsigned spin = 1; !ready(); ++spin) {
      if ((spin & 63) == 0 && now_ns() >= spin_until) break;
      cpu_relax();
    }
    if (ready()) return true;
    while (!ready()) {
      const std::int64_t now = now_ns();
      if (now >= deadline_ns) return false;
      if (!may_block) {
        // Not allowed to block: make progress on the system's queued work instead.
        if (!(drive_ && drive_(ctx_, node_, false))) cpu_relax();
        continue;
      }
      std::uint32_t expected = kPending;
      if (word_.compare_exchange_strong(expected, kWaiting, std::memory_order_acq_rel) || expected == kWaiting) {
        const auto left = deadline_ns == INT64_MAX ? Nanos::max() : Nanos(deadline_ns - now);
        (void)park_wait(word_, kWaiting, left);
      }
    }
    return true;
  }

  Result<T, TaskError> take() noexcept {
    OMEGA_DASSERT(ready() && result_.has_value(), "take() before the result is ready");
    Result<T, TaskError> r = std::move(*result_);
    result_.reset();
    return r;
  }
  [[nodiscard]] bool has_result() const noexcept { return result_.has_value(); }
  void set_node(std::size_t node) noexcept { node_ = node; }
  [[nodiscard]] std::size_t node() const noexcept { return node_; }
  // The task's id, taken on first call (by spawn at once; for other tasks by the handle's
  // owner, the only caller).
  [[nodiscard]] TaskId id() noexcept {
    if (id_.value == 0) id_ = next_task_id();
    return id_;
  }

 private:
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kWaiting = 1;
  static constexpr std::uint32_t kReady = 2;
  static constexpr std::uint32_t kAwaited = 3;  // a ResultWaiter is registered
  static constexpr std::size_t kPoolLimit = 4096;
  static constexpr std::int64_t kSpinNs = 4'000;

  struct FreeList {
    std::vector<TaskState*> items;
    FreeList() { items.reserve(kPoolLimit); }
    ~FreeList() {
      for (auto* s : items) delete s;
    }
  };
  static FreeList& free_list() {
    static thread_local FreeList list;
    return list;
  }

  std::atomic<std::uint32_t> word_{kPending};
  std::atomic<std::uint32_t> refs_{0};
  DriveFn drive_ = nullptr;
  void* ctx_ = nullptr;
  std::size_t node_ = 0;
  TaskId id_;
  ResultWaiter* waiter_ = nullptr;
  std::optional<Result<T, TaskError>> result_;
};

}  // namespace detail

template <class T>
class TaskHandle {
 public:
  TaskHandle() noexcept = default;
  explicit TaskHandle(detail::TaskState<T>* state) noexcept : state_(state) {}
  TaskHandle(TaskHandle&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
  TaskHandle& operator=(TaskHandle&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
    }
    return *this;
  }
  TaskHandle(const TaskHandle&) = delete;
  TaskHandle& operator=(const TaskHandle&) = delete;
  ~TaskHandle() { reset(); }

  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }
  // The node the task was queued on.
  [[nodiscard]] std::size_t node() const noexcept { return state_ ? state_->node() : ~std::size_t{0}; }
  [[nodiscard]] bool is_ready() const noexcept { return state_ && state_->ready(); }
  // The task's id (TaskId{} for an empty handle).
  [[nodiscard]] TaskId id() const noexcept { return state_ ? state_->id() : TaskId{}; }
  // For awaiting the result from a coroutine (omega/pulse/coro.hpp).
  [[nodiscard]] detail::TaskState<T>* state() const noexcept { return state_; }

  // Blocks until the task finishes. The result can be taken once; later calls, and calls on
  // an empty handle, yield ExecutionFailed.
  Result<T, TaskError> recv_result() noexcept { return recv_until(INT64_MAX); }
  // TimedOut if the task has not finished within `timeout` (the task still runs; its result
  // is discarded when it does, unless a later recv takes it).
  Result<T, TaskError> recv_result_for(Nanos timeout) noexcept {
    const std::int64_t now = now_ns();
    const std::int64_t deadline = timeout.count() > INT64_MAX - now ? INT64_MAX : now + timeout.count();
    return recv_until(deadline);
  }
  // Never blocks: nullopt while the task is still pending.
  std::optional<Result<T, TaskError>> try_result() noexcept {
    if (!state_ || !state_->ready()) return std::nullopt;
    return recv_until(0);
  }

 private:
  Result<T, TaskError> recv_until(std::int64_t deadline_ns) noexcept {
    if (!state_) return Err(TaskError::ExecutionFailed{"empty TaskHandle"});
    if (!state_->wait_until(deadline_ns)) return Err(TaskError::TimedOut{});
    if (!state_->has_result()) return Err(TaskError::ExecutionFailed{"result already taken"});
    return state_->take();
  }
  void reset() noexcept {
    if (state_) std::exchange(state_, nullptr)->release();
  }
  detail::TaskState<T>* state_ = nullptr;
};

}  // namespace omega

template <>
struct std::hash<omega::TaskId> {
  std::size_t operator()(omega::TaskId id) const noexcept { return std::hash<std::uint64_t>{}(id.value); }
};
