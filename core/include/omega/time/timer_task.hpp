#pragma once
// What the nanosecond scheduler runs (seed 001): a callable, a delay, a priority and,
// optionally, a period.
//
//   auto task = omega::TimerTask([] { /* ... */ }, std::chrono::nanoseconds(100))
//                   .with_priority(omega::TimerPriority::Critical);
//   auto beat = omega::TimerTask::periodic([] { /* ... */ }, std::chrono::microseconds(10));
//
// The seed's names Task and Priority are taken in this namespace by the CPU circulation
// (omega::Task is its type-erased callable; omega::Priority has no Critical), so the
// scheduler's are TimerTask and TimerPriority, also reachable as Scheduler::Task and
// Scheduler::Priority.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <omega/base/assert.hpp>

namespace omega {

// Orders tasks due in the same tick: Critical first, Low last.
enum class TimerPriority : std::uint8_t { Critical = 0, High = 1, Normal = 2, Low = 3 };
inline constexpr std::size_t kTimerPriorityCount = 4;

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

// A move-only `void()` callable with 24 bytes of inline storage (three pointers): the
// scheduler keeps one per pending task in a 64-byte slot, so 100k pending tasks stay small.
// Larger captures are moved to the heap once, at construction. Copyable callables can be
// cloned (a periodic task handed to a worker runs a clone; the original stays scheduled).
class TimerFn {
 public:
  static constexpr std::size_t kInlineSize = 24;
  static constexpr std::size_t kInlineAlign = 8;  // a captured double or int64 stays inline on wasm32 too

  TimerFn() noexcept = default;

  template <class F, class Fn = std::decay_t<F>>
    requires(!std::is_same_v<Fn, TimerFn> && std::is_invocable_r_v<void, Fn&>)
  TimerFn(F&& f) {  // NOLINT: implicit, so a lambda converts where a TimerFn is expected
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      *reinterpret_cast<Fn**>(storage_) = new Fn(std::forward<F>(f));
      ops_ = &kHeapOps<Fn>;
    }
  }

  TimerFn(TimerFn&& other) noexcept : ops_(other.ops_) {
    if (ops_) ops_->move(storage_, other.storage_);
    other.ops_ = nullptr;
  }
  TimerFn& operator=(TimerFn&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_) ops_->move(storage_, other.storage_);
      other.ops_ = nullptr;
    }
    return *this;
  }
  TimerFn(const TimerFn&) = delete;
  TimerFn& operator=(const TimerFn&) = delete;
  ~TimerFn() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  [[nodiscard]] bool is_inline() const noexcept { return ops_ && ops_->is_inline; }
  [[nodiscard]] bool clonable() const noexcept { return ops_ && ops_->clone; }

  void operator()() {
    OMEGA_DASSERT(ops_ != nullptr, "running an empty TimerFn");
    ops_->call(storage_);
  }
  // A copy of the callable; only for clonable() ones (copy-constructible callables).
  [[nodiscard]] TimerFn clone() const {
    OMEGA_ASSERT(clonable(), "cloning a callable that is not copy-constructible");
    TimerFn copy;
    ops_->clone(copy.storage_, storage_);
    copy.ops_ = ops_;
    return copy;
  }

  void reset() noexcept {
    if (ops_) {
      ops_->destroy(storage_);
      ops_ = nullptr;
    }
  }

 private:
  struct Ops {
    void (*call)(void*);
    void (*move)(void* dst, void* src) noexcept;  // move-constructs into dst, destroys src
    void (*destroy)(void*) noexcept;
    void (*clone)(void* dst, const void* src);    // null when the callable cannot be copied
    bool is_inline;
  };

  template <class Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineSize && alignof(Fn) <= kInlineAlign && std::is_nothrow_move_constructible_v<Fn>;
  }

  template <class Fn>
  static constexpr auto inline_clone() {
    if constexpr (std::is_copy_constructible_v<Fn>) {
      return +[](void* dst, const void* src) { ::new (dst) Fn(*static_cast<const Fn*>(src)); };
    } else {
      return static_cast<void (*)(void*, const void*)>(nullptr);
    }
  }
  template <class Fn>
  static constexpr auto heap_clone() {
    if constexpr (std::is_copy_constructible_v<Fn>) {
      return +[](void* dst, const void* src) { *static_cast<Fn**>(dst) = new Fn(**static_cast<Fn* const*>(src)); };
    } else {
      return static_cast<void (*)(void*, const void*)>(nullptr);
    }
  }

  template <class Fn>
  static constexpr Ops kInlineOps{
      [](void* p) { (*static_cast<Fn*>(p))(); },
      [](void* dst, void* src) noexcept {
        ::new (dst) Fn(std::move(*static_cast<Fn*>(src)));
        static_cast<Fn*>(src)->~Fn();
      },
      [](void* p) noexcept { static_cast<Fn*>(p)->~Fn(); },
      inline_clone<Fn>(),
      true,
  };

  template <class Fn>
  static constexpr Ops kHeapOps{
      [](void* p) { (**static_cast<Fn**>(p))(); },
      [](void* dst, void* src) noexcept { *static_cast<Fn**>(dst) = *static_cast<Fn**>(src); },
      [](void* p) noexcept { delete *static_cast<Fn**>(p); },
      heap_clone<Fn>(),
      false,
  };

  alignas(kInlineAlign) unsigned char storage_[kInlineSize];
  const Ops* ops_ = nullptr;
};

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

  TimerTask&& with_priority(TimerPriority priority) && noexcept {
    priority_ = priority;
    return std::move(*this);
  }
  TimerTask& with_priority(TimerPriority priority) & noexcept {
    priority_ = priority;
    return *this;
  }

  [[nodiscard]] std::chrono::nanoseconds delay() const noexcept { return delay_; }
  [[nodiscard]] std::chrono::nanoseconds period() const noexcept { return period_; }  // 0: one-shot
  [[nodiscard]] TimerPriority priority() const noexcept { return priority_; }
  [[nodiscard]] bool is_periodic() const noexcept { return period_.count() > 0; }
  [[nodiscard]] TimerFn& fn() noexcept { return fn_; }

 private:
  TimerFn fn_;
  std::chrono::nanoseconds delay_{0};
  std::chrono::nanoseconds period_{0};
  TimerPriority priority_ = TimerPriority::Normal;
};

}  // namespace omega
