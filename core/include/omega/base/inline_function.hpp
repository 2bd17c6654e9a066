#pragma once
// InlineFunction: a move-only, type-erased `void()` callable with InlineSize bytes of inline
// storage, so handing work around does not allocate. omega::Task (the circulation's unit of
// work) and omega::TimerFn (what the scheduler keeps per pending task) are two sizes of it.
//
// Contracts:
// - A callable of at most InlineSize bytes, aligned to at most InlineAlign, whose move
//   cannot throw, lives inside the object; a larger one goes to the heap, once, at
//   construction.
// - A trivially copyable callable (a lambda capturing pointers, references and numbers)
//   moves as a plain copy of the storage and needs no destructor call: a queued task moves
//   several times on its way to a worker, and an indirect call per move would cost more
//   than the copy.
// - Clonable = true adds clone() for copy-constructible callables (a periodic timer hands a
//   copy to a worker and stays scheduled).
#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include <omega/base/assert.hpp>

namespace omega {

template <std::size_t InlineSize, std::size_t InlineAlign, bool Clonable = false>
class InlineFunction {
 public:
  static constexpr std::size_t kInlineSize = InlineSize;
  static constexpr std::size_t kInlineAlign = InlineAlign;

  InlineFunction() noexcept = default;

  template <class F, class Fn = std::decay_t<F>>
    requires(!std::is_same_v<Fn, InlineFunction> && std::is_invocable_r_v<void, Fn&>)
  InlineFunction(F&& f) {  // NOLINT: implicit, so a lambda converts where one is expected
    construct<Fn>(std::forward<F>(f));
  }

  // Replaces the callable with `f`, built in place: `fn.emplace(f)` skips the temporary and
  // the move that `fn = InlineFunction(f)` costs. If building `f` throws, this is empty.
  template <class F, class Fn = std::decay_t<F>>
    requires(!std::is_same_v<Fn, InlineFunction> && std::is_invocable_r_v<void, Fn&>)
  void emplace(F&& f) {
    reset();
    construct<Fn>(std::forward<F>(f));
  }

  InlineFunction(InlineFunction&& other) noexcept : ops_(other.ops_) { relocate_from(other); }
  InlineFunction& operator=(InlineFunction&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      relocate_from(other);
    }
    return *this;
  }
  InlineFunction(const InlineFunction&) = delete;
  InlineFunction& operator=(const InlineFunction&) = delete;
  ~InlineFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  // Whether the callable is stored inline (no allocation was made for it).
  [[nodiscard]] bool is_inline() const noexcept { return ops_ && ops_->is_inline; }
  // Whether the callable is declared noexcept: its runner needs no try block. (In WASM every
  // call inside a try block goes through a JavaScript trampoline, Emscripten's exception
  // scheme: a callable declared noexcept skips it.)
  [[nodiscard]] bool is_nothrow() const noexcept { return ops_ && ops_->nothrow; }

  // Runs the callable. Exceptions propagate to the caller. Calling an empty one is a bug.
  void operator()() {
    OMEGA_DASSERT(ops_ != nullptr, "running an empty InlineFunction");
    ops_->call(storage_);
  }
  // Runs the callable and catches what it throws: false if it threw. The try block sits in
  // the callable's own thunk, where the callable is inlined: in WASM, Emscripten routes
  // every call inside a try block through a JavaScript trampoline, and a caller's try block
  // around a type-erased call would pay one per call.
  bool run_caught() noexcept {
    OMEGA_DASSERT(ops_ != nullptr, "running an empty InlineFunction");
    return ops_->call_caught(storage_);
  }

  // Whether clone() may be called: the callable is copy-constructible.
  [[nodiscard]] bool clonable() const noexcept
    requires Clonable
  {
    return ops_ && ops_->clone;
  }
  // A copy of the callable; only for clonable() ones.
  [[nodiscard]] InlineFunction clone() const
    requires Clonable
  {
    OMEGA_ASSERT(clonable(), "cloning a callable that is not copy-constructible");
    InlineFunction copy;
    ops_->clone(copy.storage_, storage_);
    copy.ops_ = ops_;
    return copy;
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
    void (*clone)(void* dst, const void* src);    // null unless Clonable and copy-constructible
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
  void relocate_from(InlineFunction& other) noexcept {
    if (ops_) {
      if (ops_->trivial) {
        std::memcpy(storage_, other.storage_, InlineSize);
      } else {
        ops_->move(storage_, other.storage_);
      }
    }
    other.ops_ = nullptr;
  }

  template <class Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= InlineSize && alignof(Fn) <= InlineAlign && std::is_nothrow_move_constructible_v<Fn>;
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
  static constexpr auto inline_clone() {
    if constexpr (Clonable && std::is_copy_constructible_v<Fn>) {
      return +[](void* dst, const void* src) { ::new (dst) Fn(*static_cast<const Fn*>(src)); };
    } else {
      return static_cast<void (*)(void*, const void*)>(nullptr);
    }
  }
  template <class Fn>
  static constexpr auto heap_clone() {
    if constexpr (Clonable && std::is_copy_constructible_v<Fn>) {
      return +[](void* dst, const void* src) { *static_cast<Fn**>(dst) = new Fn(**static_cast<Fn* const*>(src)); };
    } else {
      return static_cast<void (*)(void*, const void*)>(nullptr);
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
      inline_clone<Fn>(),
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
      heap_clone<Fn>(),
      false,
      false,
      std::is_nothrow_invocable_v<Fn&>,
  };

  alignas(InlineAlign) unsigned char storage_[InlineSize];
  const Ops* ops_ = nullptr;
};

}  // namespace omega
