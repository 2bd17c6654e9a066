#pragma once
// What the nanosecond scheduler runs (seed 001): a callable, a delay, a priority and,
// optionally, a period.
//
//   auto task = omega::TimerTask([] { /* ... */ }, std::chrono::nanoseconds(100))
//                   .with_priority(omega::Priority::Critical);
//   auto beat = omega::TimerTask::periodic([] { /* ... */ }, std::chrono::microseconds(10));
//
// The seed's name Task is taken in this namespace by the CPU circulation (omega::Task is its
// type-erased callable), so the scheduler's is TimerTask, also reachable as Scheduler::Task.
// Its priority is the one omega::Priority of every layer (TimerPriority is the older name).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <omega/base/inline_function.hpp>
#include <omega/base/priority.hpp>

namespace omega {

// Orders tasks due in the same tick: Critical first, Low last. A task the scheduler hands
// to the system's nodes keeps its priority there (the nodes' lanes serve Critical first too).
using TimerPriority = Priority;

// Names a scheduled task. Generation-checked: once the task has run (one-shot) or been
// cancelled, the id is stale and cancel() on it returns false, even after its slot is reused.
struct TimerId {
  std::uint32_t index = ~std::uint32_t{0};
  std::uint32_t generation = 0;

  [[nodiscard]] std::uint64_t raw() const noexcept { return (std::uint64_t{generation} << 32) | index; }
  [[nodiscard]] static TimerId from_raw(std::uint64_t raw) noexcept {
    return TimerId{static_cast<std::uint32_t>(raw), static_cast<std::uint32_t>(raw >> 32)};
  }
  friend bool operator==(const TimerId&, const TimerId&) = default;
};

// A move-only `void()` callable (InlineFunction) with 24 bytes of inline storage (three
// pointers), 8-aligned so a captured double or int64 stays inline on wasm32 too: the
// scheduler keeps one per pending task in a 64-byte slot, so 100k pending tasks stay small.
// Larger captures are moved to the heap once, at construction. Copyable callables can be
// cloned (a periodic task handed to a worker runs a clone; the original stays scheduled).
using TimerFn = InlineFunction<24, 8, /*Clonable=*/true>;

// The seed's Task::new(fn, delay) is the constructor TimerTask(fn, delay).
class TimerTask {
 public:
  // Runs `fn` once, `delay` from the moment it is scheduled (negative delays count as 0).
  template <class F>
    requires std::is_invocable_r_v<void, std::decay_t<F>&>
  TimerTask(F&& fn, std::chrono::nanoseconds delay) : fn_(std::forward<F>(fn)), delay_(delay) {}

  // Runs `fn` every `period`, first after `first_delay` (default: one period). Deadlines
  // stay on the grid first + n * period however late a run is; a period below one tick is
  // rounded up to one tick by the scheduler. The callable must be copy-constructible, so
  // that a parallel scheduler can hand a copy to a worker while the task stays scheduled.
  template <class F>
    requires std::is_invocable_r_v<void, std::decay_t<F>&> && std::is_copy_constructible_v<std::decay_t<F>>
  [[nodiscard]] static TimerTask periodic(F&& fn, std::chrono::nanoseconds period,
                                          std::chrono::nanoseconds first_delay = std::chrono::nanoseconds(-1)) {
    TimerTask task(std::forward<F>(fn), first_delay.count() < 0 ? period : first_delay);
    task.period_ = period.count() > 0 ? period : std::chrono::nanoseconds(1);
    return task;
  }

  TimerTask&& with_priority(Priority priority) && noexcept {
    priority_ = priority;
    return std::move(*this);
  }
  TimerTask& with_priority(Priority priority) & noexcept {
    priority_ = priority;
    return *this;
  }

  [[nodiscard]] std::chrono::nanoseconds delay() const noexcept { return delay_; }
  [[nodiscard]] std::chrono::nanoseconds period() const noexcept { return period_; }  // 0: one-shot
  [[nodiscard]] Priority priority() const noexcept { return priority_; }
  [[nodiscard]] bool is_periodic() const noexcept { return period_.count() > 0; }
  [[nodiscard]] TimerFn& fn() noexcept { return fn_; }

 private:
  TimerFn fn_;
  std::chrono::nanoseconds delay_{0};
  std::chrono::nanoseconds period_{0};
  Priority priority_ = Priority::Normal;
};

}  // namespace omega
