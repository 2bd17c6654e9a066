#pragma once
// Task: a move-only, type-erased `void()` callable that stores small callables inline, so
// queuing work does not allocate. A lambda capturing up to kInlineSize bytes (six pointers)
// lives inside the Task; larger ones go to the heap, once, at construction. A trivially
// copyable callable (a lambda capturing pointers, references and numbers) moves as a plain
// copy of the storage and needs no destructor call: a queued task moves three times on its
// way to a worker, and an indirect call per move would cost more than the copy.
#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include <omega/base/assert.hpp>

namespace omega {

class Task {
 public:
  static constexpr std::size_t kInlineSize = 48;

  Task() noexcept = default;

  template <class F, class Fn = std::decay_t<F>>
    requires(!std::is_same_v<Fn, Task> && std::is_invocable_r_v<void, Fn&>)
  Task(F&& f) {  // NOLINT: implicit, so a lambda converts where a Task is expected
    construct<Fn>(std::forward<F>(f));
  }

  // Replaces the callable with `f`, built in place: `task.emplace(f)` skips the temporary
  // Task and the move that `task = Task(f)` costs. If building `f` throws, the Task is empty.
  template <class F, class Fn = std::decay_t<F>>
    requires(!std::is_same_v<Fn, Task> && std::is_invocable_r_v<void, Fn&>)
  void emplace(F&& f) {
    reset();
    construct<Fn>(std::forward<F>(f));
  }

  Task(Task&& other) noexcept : ops_(other.ops_) {
    relocate_from(other);
  }
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      relocate_from(other);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  // Whether the callable is stored inline (no allocation was made for it).
  [[nodiscard]] bool is_inline() const noexcept { return ops_ && ops_->is_inline; }
  // Whether the callable is declared noexcept: its runner needs no try block. (In WASM every
  // call inside a try block goes through a JavaScript trampoline, Emscripten's exception
  // scheme: a task declared noexcept skips it.)
  [[nodiscard]] bool is_nothrow() const noexcept { return ops_ && ops_->nothrow; }

  // Runs the callable. Exceptions propagate to the caller (the worker turns them into
  // TaskError::Panicked). Calling an empty Task is a bug.
  void operator()() {
    OMEGA_DASSERT(ops_ != nullptr, "running an empty Task");
    ops_->call(storage_);
  }
  // Runs the callable and catches what it throws: false if it threw. The try block sits in
  // the callable's own thunk, where the callable is inlined: in WASM, Emscripten routes
  // every call inside a try block through a JavaScript trampoline, and the worker's call to
  // a type-erased task would pay one per task.
  bool run_caught() noexcept {
    OMEGA_DASSERT(ops_ != nullptr, "running an empty Task");
    return ops_->call_caught(storage_);
  }

  void reset() noexcept {
    if (ops_) {
      if (!ops_->trivial) ops_->destroy(storage_);
      ops_ = nullptr;
    }
  }

 private:
  struct Ops {
    void (*call)(void*);
    bool (*call_caught)(void*) noexcept;
    void (*move)(void* dst, void* src) noexcept;  // move-constructs into dst, destroys src
    void (*destroy)(void*) noexcept;
    bool is_inline;
    bool trivial;  // inline and trivially copyable: move is a copy, destroy is nothing
    bool nothrow;  // calling it cannot throw
  };

  template <class Fn, class F>
  void construct(F&& f) {
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      *reinterpret_cast<Fn**>(storage_) = new Fn(std::forward<F>(f));
      ops_ = &kHeapOps<Fn>;
    }
  }

  // Takes other's callable (ops_ already copied from it) and leaves other empty.
  void relocate_from(Task& other) noexcept {
    if (ops_) {
      if (ops_->trivial) {
        std::memcpy(storage_, other.storage_, kInlineSize);
      } else {
        ops_->move(storage_, other.storage_);
      }
    }
    other.ops_ = nullptr;
  }

  template <class Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineSize && alignof(Fn) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<Fn>;
  }

  template <class Fn>
  static bool call_caught_impl(Fn& fn) noexcept {
    if constexpr (std::is_nothrow_invocable_v<Fn&>) {
      fn();
      return true;
    } else {
      try {
        fn();
        return true;
      } catch (...) {
        return false;
      }
    }
  }

  template <class Fn>
  static constexpr Ops kInlineOps{
      [](void* p) { (*static_cast<Fn*>(p))(); },
      [](void* p) noexcept { return call_caught_impl(*static_cast<Fn*>(p)); },
      [](void* dst, void* src) noexcept {
        ::new (dst) Fn(std::move(*static_cast<Fn*>(src)));
        static_cast<Fn*>(src)->~Fn();
      },
      [](void* p) noexcept { static_cast<Fn*>(p)->~Fn(); },
      true,
      std::is_trivially_copyable_v<Fn>,
      std::is_nothrow_invocable_v<Fn&>,
  };

  template <class Fn>
  static constexpr Ops kHeapOps{
      [](void* p) { (**static_cast<Fn**>(p))(); },
      [](void* p) noexcept { return call_caught_impl(**static_cast<Fn**>(p)); },
      [](void* dst, void* src) noexcept { *static_cast<Fn**>(dst) = *static_cast<Fn**>(src); },
      [](void* p) noexcept { delete *static_cast<Fn**>(p); },
      false,
      false,
      std::is_nothrow_invocable_v<Fn&>,
  };

  alignas(std::max_align_t) unsigned char storage_[kInlineSize];
  const Ops* ops_ = nullptr;
};

}  // namespace omega
