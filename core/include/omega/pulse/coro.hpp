#pragma once
// Cooperative tasks (seed 002): omega::Coro<T> is a C++20 coroutine that the system's workers
// poll. A poll resumes the task and lasts until it suspends; Pulse charges the poll against
// the task's budgets (omega/pulse/pulse.hpp).
//
//   omega::Coro<std::uint64_t> crunch(std::uint64_t n) {
//     std::uint64_t acc = 0;
//     for (std::uint64_t i = 0; i < n; ++i) {
//       acc += i * i;
//       if ((i & 1023) == 0) co_await omega::checkpoint();
//     }
//     co_return acc;
//   }
//   auto h = system.spawn(omega::Priority::Normal, crunch(1'000'000), rng);
//
// Contracts:
// - A Coro starts when it is spawned or awaited (lazy), and belongs to whoever holds it: an
//   unstarted Coro that is dropped destroys its frame.
// - Inside a Coro one may co_await: checkpoint(), yield_now(), sleep_for(d), sleep_until(t),
//   another Coro<U> (runs inline in the same poll, yields U, rethrows what it threw), a TaskHandle<U> (yields
//   Result<U, TaskError>: the task's outcome, without blocking the worker), and
//   UltraOmegaSystem::io(op). Awaiting anything else does not compile: a suspension Pulse
//   does not know of could never be resumed.
// - checkpoint() spends one unit of the poll's budget and suspends only when the units are
//   spent or, looked at every kTimeCheckEvery units (32 natively, 256 in WASM, where a clock
//   read costs ten times as much), the poll's time budget is. Outside a
//   poll it never suspends.
// - What a spawned Coro throws reaches its handle as TaskError::Panicked, as for
//   submit_cpu_task.
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <omega/base/clock.hpp>
#include <omega/base/config.hpp>
#include <omega/base/coro.hpp>
#include <omega/base/error.hpp>
#include <omega/base/result.hpp>
#include <omega/exec/handle.hpp>

namespace omega {

template <class T>
class Coro;

namespace detail {

class PulseTask;  // core/src/pulse/task.hpp

// The running poll's budget, for the suspension points' fast paths. Set by the worker for
// the duration of a poll; null on threads that are not polling.
struct PollContext {
  std::int32_t units = 0;         // checkpoint() units left
  std::int64_t deadline_ns = 0;   // the poll's time budget ends here
  PulseTask* task = nullptr;
};
inline thread_local constinit PollContext* t_poll = nullptr;

// checkpoint() reads the clock once per this many units (Tokio-style: no clock per unit);
// the platform says how many a clock read is worth.
inline constexpr std::int32_t kTimeCheckEvery = platform::kCheckpointClockEvery;
static_assert((kTimeCheckEvery & (kTimeCheckEvery - 1)) == 0, "a power of two: the check is a mask");

// Out of line (core/src/pulse/runtime.cpp): record where the running task suspends and why.
void pulse_yield(coro::coroutine_handle<> at) noexcept;
void pulse_sleep_until(coro::coroutine_handle<> at, std::int64_t deadline_ns) noexcept;
// The task waits for an event whose source calls pulse_wake(task) exactly once, possibly
// before the poll has even ended.
PulseTask* pulse_wait(coro::coroutine_handle<> at) noexcept;
// The wait can be withdrawn (withdraw(state) == true: the wake will never come), which the
// shutdown sweep does before it destroys the frame holding the waiter; ready(state) says
// whether the awaited event has happened (a poller that may see spurious wakes, an actor
// team, checks it before resuming).
void pulse_wait_withdrawable(PulseTask* task, bool (*withdraw)(void* state) noexcept,
                             bool (*ready)(void* state) noexcept, void* state) noexcept;
// The event had happened already: the task carries on in the same poll.
void pulse_unwait(PulseTask* task) noexcept;
void pulse_wake(PulseTask* task) noexcept;

// Type-erased completion of a root coroutine: moves its outcome into its handle's state and
// destroys the frame (finish), or destroys the frame and fails the handle (cancel).
struct PulseTaskOps {
  // Whether the finished root ended by throwing (asked before finish, so that the panic is
  // counted before the handle can see the result).
  bool (*threw)(coro::coroutine_handle<> root) noexcept;
  void (*finish)(coro::coroutine_handle<> root, void* state) noexcept;
  void (*cancel)(coro::coroutine_handle<> root, void* state, const char* why) noexcept;
};
// Units spent: true when the poll must end (the time budget is spent too, or units are).
bool pulse_budget_spent(PollContext& poll) noexcept;

// Marks the awaitables a Coro accepts (see Coro's await_transform).
struct PulseAwaitable {};

struct PromiseBase {
  coro::coroutine_handle<> continuation;  // the awaiting Coro, if awaited; none for a spawned root
  std::exception_ptr error;
  void unhandled_exception() noexcept { error = std::current_exception(); }
  coro::suspend_always initial_suspend() const noexcept { return {}; }
};

// Control passes between a Coro and the Coro it awaits through the poll's loop (a
// trampoline), not by symmetric transfer: WebAssembly without the tail-call feature (which
// Emscripten 3.1.6 does not enable) cannot return a coroutine_handle from await_suspend.
// The transfer stays inside the poll and costs no budget.
void pulse_transfer(coro::coroutine_handle<> to) noexcept;

// Hands control back to the awaiting Coro, or, for a root, to the worker.
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(coro::coroutine_handle<P> h) const noexcept {
    if (auto c = h.promise().continuation) pulse_transfer(c);
  }
  void await_resume() const noexcept {}
};

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Coro<T> get_return_object() noexcept;
  FinalAwaiter final_suspend() const noexcept { return {}; }
  template <class U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
  template <class A>
  auto await_transform(A&& a) noexcept;
};

template <>
struct Promise<void> : PromiseBase {
  Coro<void> get_return_object() noexcept;
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}
  void take() const {
    if (error) std::rethrow_exception(error);
  }
  template <class A>
  auto await_transform(A&& a) noexcept;
};

// A finished root's outcome for its handle: the value, or Panicked with what it threw.
template <class T>
Result<T, TaskError> outcome_of(Promise<T>& p) noexcept {
  if (p.error) {
    try {
      std::rethrow_exception(p.error);
    } catch (const std::exception& e) {
      return Err(TaskError::Panicked{e.what()});
    } catch (...) {
      return Err(TaskError::Panicked{"non-standard exception"});
    }
  }
  if constexpr (std::is_void_v<T>) {
    return {};
  } else {
    return Result<T, TaskError>(std::move(*p.value));
  }
}

}  // namespace detail

template <class T = void>
class [[nodiscard]] Coro {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = coro::coroutine_handle<promise_type>;

  Coro() noexcept = default;
  explicit Coro(Handle h) noexcept : h_(h) {}
  Coro(Coro&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Coro& operator=(Coro&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Coro(const Coro&) = delete;
  Coro& operator=(const Coro&) = delete;
  ~Coro() { reset(); }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }
  // Gives up ownership of the frame (spawn takes it).
  [[nodiscard]] Handle release() noexcept { return std::exchange(h_, {}); }

  // Awaiting a Coro runs it inline, in the same poll (see pulse_transfer).
  struct Awaiter : detail::PulseAwaitable {
    Handle h;
    bool await_ready() const noexcept { return !h || h.done(); }
    void await_suspend(coro::coroutine_handle<> awaiting) noexcept {
      h.promise().continuation = awaiting;
      detail::pulse_transfer(h);
    }
    T await_resume() { return h.promise().take(); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{{}, h_}; }

 private:
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }
  Handle h_;
};

namespace detail {
template <class T>
Coro<T> Promise<T>::get_return_object() noexcept {
  return Coro<T>(coro::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Coro<void> Promise<void>::get_return_object() noexcept {
  return Coro<void>(coro::coroutine_handle<Promise<void>>::from_promise(*this));
}

// co_await handle: the task's Result, without blocking the worker.
template <class T>
struct HandleAwaiter : PulseAwaitable, ResultWaiter {
  TaskState<T>* state;
  PulseTask* task = nullptr;
  explicit HandleAwaiter(TaskState<T>* s) noexcept : state(s) { wake = &HandleAwaiter::on_ready; }
  bool await_ready() const noexcept { return state == nullptr || state->ready(); }
  bool await_suspend(coro::coroutine_handle<> h) noexcept {
    task = pulse_wait(h);
    pulse_wait_withdrawable(task, &HandleAwaiter::withdraw, &HandleAwaiter::is_ready, state);
    if (state->await_result(this)) return true;
    pulse_unwait(task);  // set meanwhile: carry on in this poll
    return false;
  }
  Result<T, TaskError> await_resume() noexcept {
    if (!state) return Err(TaskError::ExecutionFailed{"empty TaskHandle"});
    if (!state->has_result()) return Err(TaskError::ExecutionFailed{"result already taken"});
    return state->take();
  }
  static void on_ready(ResultWaiter* self) noexcept { pulse_wake(static_cast<HandleAwaiter*>(self)->task); }
  static bool withdraw(void* s) noexcept { return static_cast<TaskState<T>*>(s)->withdraw_waiter(); }
  static bool is_ready(void* s) noexcept { return static_cast<TaskState<T>*>(s)->ready(); }
};

template <class T>
struct CoroOps {
  static bool threw(coro::coroutine_handle<> root) noexcept {
    return static_cast<bool>(coro::coroutine_handle<Promise<T>>::from_address(root.address()).promise().error);
  }
  static void finish(coro::coroutine_handle<> root, void* s) noexcept {
    auto h = coro::coroutine_handle<Promise<T>>::from_address(root.address());
    auto* state = static_cast<TaskState<T>*>(s);
    Result<T, TaskError> r = outcome_of(h.promise());
    h.destroy();
    state->set(std::move(r));
    state->release();
  }
  static void cancel(coro::coroutine_handle<> root, void* s, const char* why) noexcept {
    root.destroy();
    auto* state = static_cast<TaskState<T>*>(s);
    state->set(Err(TaskError::ExecutionFailed{why}));
    state->release();
  }
  static constexpr PulseTaskOps ops{&CoroOps::threw, &CoroOps::finish, &CoroOps::cancel};
};

template <class A>
inline constexpr bool kAcceptedAwaitable = std::is_base_of_v<PulseAwaitable, std::remove_cvref_t<A>>;

// By value: the awaiter then lives in the frame for the whole suspension (GCC 12 may end a
// temporary's life early when a reference to it is what co_await sees).
template <class A>
auto await_transform_impl(A&& a) noexcept {
  using D = std::remove_cvref_t<A>;
  if constexpr (kAcceptedAwaitable<D>) {
    return D(std::forward<A>(a));
  } else {
    static_assert(kAcceptedAwaitable<D>,
                  "a Coro may co_await checkpoint(), yield_now(), sleep_for/sleep_until, a Coro<U>, a TaskHandle<U> "
                  "or UltraOmegaSystem::io(): other awaitables would suspend where Pulse cannot resume them");
  }
}
template <class U>
HandleAwaiter<U> await_transform_impl(TaskHandle<U>& h) noexcept {
  return HandleAwaiter<U>(h.state());
}
template <class U>
HandleAwaiter<U> await_transform_impl(TaskHandle<U>&& h) noexcept = delete;  // the handle must outlive the await
template <class U>
typename Coro<U>::Awaiter await_transform_impl(Coro<U>&& c) noexcept {
  return std::move(c).operator co_await();
}

template <class T>
template <class A>
auto Promise<T>::await_transform(A&& a) noexcept {
  return await_transform_impl(std::forward<A>(a));
}
template <class A>
auto Promise<void>::await_transform(A&& a) noexcept {
  return await_transform_impl(std::forward<A>(a));
}
}  // namespace detail

// One budget unit; suspends (and requeues the task) only when the poll's budget is spent.
struct CheckpointAwaiter : detail::PulseAwaitable {
  bool await_ready() const noexcept {
    detail::PollContext* p = detail::t_poll;
    if (p == nullptr) return true;
    if (--p->units > 0 && (p->units & (detail::kTimeCheckEvery - 1)) != 0) return true;
    return !detail::pulse_budget_spent(*p);
  }
  void await_suspend(coro::coroutine_handle<> h) const noexcept { detail::pulse_yield(h); }
  void await_resume() const noexcept {}
};
[[nodiscard]] inline CheckpointAwaiter checkpoint() noexcept { return {}; }

// Ends the poll now; the task runs again after the work queued before it.
struct YieldAwaiter : detail::PulseAwaitable {
  bool await_ready() const noexcept { return detail::t_poll == nullptr; }
  void await_suspend(coro::coroutine_handle<> h) const noexcept { detail::pulse_yield(h); }
  void await_resume() const noexcept {}
};
[[nodiscard]] inline YieldAwaiter yield_now() noexcept { return {}; }

// Suspends until `deadline_ns` (omega::Clock's timeline); the system's timer wheel wakes it.
struct SleepAwaiter : detail::PulseAwaitable {
  std::int64_t deadline_ns;
  bool await_ready() const noexcept { return detail::t_poll == nullptr || deadline_ns <= now_ns(); }
  void await_suspend(coro::coroutine_handle<> h) const noexcept { detail::pulse_sleep_until(h, deadline_ns); }
  void await_resume() const noexcept {}
};
[[nodiscard]] inline SleepAwaiter sleep_until(Clock::time_point t) noexcept {
  return SleepAwaiter{{}, t.time_since_epoch().count()};
}
template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  const auto ns = std::chrono::duration_cast<Nanos>(d).count();
  return SleepAwaiter{{}, ns <= 0 ? 0 : now_ns() + ns};
}

}  // namespace omega
