#pragma once
// OmegaQueue: a node's bounded, lock-free, multi-producer multi-consumer queue with one
// lane per Priority and watermark-based pressure (seed 000).
//
// Contracts:
// - Bounded: at most capacity() items across all lanes; a push on a full queue is refused
//   and leaves the item with the caller (backpressure, never a silent drop).
// - Closable: close() makes every later push fail with PushStatus::Closed. The capacity
//   reservation and the closed flag share one word, so a push either reserved before the
//   close (and is counted in reserved(), which drains to zero only after it was popped) or
//   is refused: a consumer that sees closed() && reserved() == 0 knows no item can appear.
// - Priority: try_pop takes Critical before High before Normal before Low, so work never
//   waits behind lower-priority work queued on the same node. FIFO within a lane.
// - Lock-free: each lane is a Vyukov bounded MPMC ring. Consumers claim a slot with one
//   CAS. Producers claim with one fetch_add (n slots at once for a bulk push): the capacity
//   reservation taken first guarantees the claimed slot is free or being freed by a pop
//   already under way, so a producer never waits on another producer or an idle consumer.
// - Pressure: size * 100 / capacity, graded by the low/high watermarks into PressureLevel.
// - try_pop may report empty while a concurrent push is half-way (reserved, not yet
//   published). Consumers that park must be woken by producers after a successful push;
//   reserved() > 0 tells a consumer that work is on its way.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include <omega/base/assert.hpp>
#include <omega/base/cache.hpp>
#include <omega/base/priority.hpp>
#include <omega/base/spin.hpp>

namespace omega {

enum class PushStatus : std::uint8_t { Pushed, Full, Closed };

enum class PressureLevel : std::uint8_t {
  Empty,   // nothing queued
  Low,     // below the low watermark
  Normal,  // between the watermarks
  High,    // at or above the high watermark, not full
  Full,    // at capacity: pushes are refused
};

[[nodiscard]] std::string_view to_string(PressureLevel level) noexcept;

// Percent of capacity; requires 0 < low < high <= 100.
struct Watermarks {
  std::uint32_t low_pct = 25;
  std::uint32_t high_pct = 75;
  [[nodiscard]] constexpr bool valid() const noexcept { return low_pct > 0 && low_pct < high_pct && high_pct <= 100; }
};

[[nodiscard]] constexpr PressureLevel pressure_level_for(std::size_t size, std::size_t capacity,
                                                         Watermarks w) noexcept {
  if (size == 0) return PressureLevel::Empty;
  if (size >= capacity) return PressureLevel::Full;
  const std::size_t pct = size * 100 / capacity;
  if (pct < w.low_pct) return PressureLevel::Low;
  if (pct < w.high_pct) return PressureLevel::Normal;
  return PressureLevel::High;
}

template <class T>
class OmegaQueue {
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>,
                "queued items move without throwing");

 public:
  // capacity >= 1 and valid watermarks are preconditions: configuration is validated by the
  // builder that makes queues, with a clear error, before this is reached.
  explicit OmegaQueue(std::size_t capacity, Watermarks watermarks = {})
      : capacity_(capacity), watermarks_(watermarks) {
    OMEGA_ASSERT(capacity >= 1, "OmegaQueue capacity must be at least 1");
    OMEGA_ASSERT(watermarks.valid(), "OmegaQueue watermarks need 0 < low < high <= 100");
    for (auto& lane : lanes_) lane.init(capacity);
  }
  OmegaQueue(const OmegaQueue&) = delete;
  OmegaQueue& operator=(const OmegaQueue&) = delete;

  // Moves `item` in (Pushed), or refuses (Full, Closed) with `item` untouched.
  PushStatus push(T& item, Priority priority) noexcept {
    PushStatus status = PushStatus::Pushed;
    if (reserve(1, &status) == 0) return status;
    lanes_[static_cast<std::size_t>(priority)].push_reserved(&item, 1);
    return PushStatus::Pushed;
  }
  bool try_push(T& item, Priority priority) noexcept { return push(item, priority) == PushStatus::Pushed; }
  bool try_push(T&& item, Priority priority) noexcept { return try_push(item, priority); }

  // Moves up to n items in, in order, with one capacity reservation and one slot claim;
  // returns how many (a prefix of `items`). The rest are left with the caller. `status`
  // says why not all went in (Full or Closed).
  std::size_t try_push_bulk(T* items, std::size_t n, Priority priority, PushStatus* status = nullptr) noexcept {
    if (status) *status = PushStatus::Pushed;
    if (n == 0) return 0;
    const std::size_t granted = reserve(n, status);
    if (granted > 0) lanes_[static_cast<std::size_t>(priority)].push_reserved(items, granted);
    return granted;
  }

  // try_push_bulk without an array of items to move from: emplace(i, where) constructs
  // item i (i = 0, 1, ... in order) in the queue's own storage at `where`, and is called
  // only for the items that go in, so a caller builds each item once, in place. Returns how
  // many went in; `status` as for try_push_bulk.
  template <class Emplace>
  std::size_t try_emplace_bulk(std::size_t n, Priority priority, Emplace&& emplace,
                               PushStatus* status = nullptr) noexcept {
    static_assert(std::is_nothrow_invocable_v<Emplace&, std::size_t, void*>, "emplace must not throw");
    if (status) *status = PushStatus::Pushed;
    if (n == 0) return 0;
    const std::size_t granted = reserve(n, status);
    if (granted > 0) lanes_[static_cast<std::size_t>(priority)].emplace_reserved(granted, emplace);
    return granted;
  }

  // Moves the highest-priority, oldest item into `out`; false when (momentarily) empty.
  bool try_pop(T& out) noexcept {
    if ((size_.load(std::memory_order_acquire) & ~kClosedBit) == 0) return false;
    for (std::size_t p = kPriorityCount; p-- > 0;) {
      if (lanes_[p].try_pop(out)) {
        size_.fetch_sub(1, std::memory_order_release);
        return true;
      }
    }
    return false;
  }

  // Refuses every later push. Idempotent.
  void close() noexcept { size_.fetch_or(kClosedBit, std::memory_order_seq_cst); }
  [[nodiscard]] bool closed() const noexcept { return (size_.load(std::memory_order_seq_cst) & kClosedBit) != 0; }
  // Items queued or on their way in (reserved by a push not yet published), seq_cst: the
  // check a consumer makes after announcing that it is about to park.
  [[nodiscard]] std::size_t reserved() const noexcept { return size_.load(std::memory_order_seq_cst) & ~kClosedBit; }
  // Items ever pushed (all lanes): an exact count at no cost to the push path.
  [[nodiscard]] std::uint64_t pushed_total() const noexcept {
    std::uint64_t n = 0;
    for (const auto& lane : lanes_) n += lane.claimed();
    return n;
  }

  [[nodiscard]] std::size_t size() const noexcept {
    const std::size_t n = size_.load(std::memory_order_relaxed) & ~kClosedBit;
    return n < capacity_ ? n : capacity_;  // a refused push overshoots briefly
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] Watermarks watermarks() const noexcept { return watermarks_; }
  // 0..100.
  [[nodiscard]] std::uint32_t pressure() const noexcept {
    // Read by the router for every candidate of every submission: a multiply, not a divide.
    if (pct_mult_ != 0) return static_cast<std::uint32_t>((size() * pct_mult_) >> 32);
    return static_cast<std::uint32_t>(size() * 100 / capacity_);
  }
  [[nodiscard]] PressureLevel pressure_level() const noexcept {
    return pressure_level_for(size(), capacity_, watermarks_);
  }

 private:
  // Reserves capacity for up to n items; returns how many were granted (a prefix) and sets
  // `status` when not all were (Full, or Closed with none granted).
  std::size_t reserve(std::size_t n, PushStatus* status) noexcept {
    // seq_cst: parking consumers rely on it (a push's reservation and a consumer's
    // "about to sleep" announcement are ordered; one of them sees the other).
    const std::size_t before = size_.fetch_add(n, std::memory_order_seq_cst);
    if (before & kClosedBit) [[unlikely]] {
      size_.fetch_sub(n, std::memory_order_relaxed);
      if (status) *status = PushStatus::Closed;
      return 0;
    }
    const std::size_t granted = before >= capacity_ ? 0 : std::min(n, capacity_ - before);
    if (granted < n) {
      size_.fetch_sub(n - granted, std::memory_order_relaxed);
      if (status) *status = PushStatus::Full;
    }
    return granted;
  }

  // Vyukov's bounded MPMC queue: each slot's sequence number says whose turn it is.
  class Lane {
   public:
    Lane() = default;
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;
    ~Lane() {
      if (!slots_) return;
      // No one else is left: destroy what was pushed and never popped.
      const std::size_t end = enqueue_pos_->load(std::memory_order_relaxed);
      for (std::size_t pos = dequeue_pos_->load(std::memory_order_relaxed); pos != end; ++pos) {
        Slot& slot = slots_[pos & mask_];
        if (slot.seq.load(std::memory_order_relaxed) == pos + 1) std::launder(reinterpret_cast<T*>(slot.storage))->~T();
      }
    }

    void init(std::size_t min_slots) {
      std::size_t n = 1;
      while (n < min_slots) n <<= 1;
      mask_ = n - 1;
      slots_ = std::make_unique<Slot[]>(n);
      for (std::size_t i = 0; i < n; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
    }

    // Claims n consecutive slots and moves items[0..n) into them. The caller holds a
    // capacity reservation for all n (see the class comment for why the slots are free or
    // about to be).
    void push_reserved(T* items, std::size_t n) noexcept {
      emplace_reserved(n, [items](std::size_t i, void* where) noexcept { ::new (where) T(std::move(items[i])); });
    }
    // The same, with emplace(i, where) constructing item i in slot storage `where`.
    template <class Emplace>
    void emplace_reserved(std::size_t n, Emplace&& emplace) noexcept {
      const std::size_t first = enqueue_pos_->fetch_add(n, std::memory_order_relaxed);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t pos = first + i;
        Slot& slot = slots_[pos & mask_];
        while (slot.seq.load(std::memory_order_acquire) != pos) cpu_relax();  // a pop is finishing
        emplace(i, static_cast<void*>(slot.storage));
        slot.seq.store(pos + 1, std::memory_order_release);
      }
    }
    [[nodiscard]] std::uint64_t claimed() const noexcept { return enqueue_pos_->load(std::memory_order_relaxed); }

    bool try_pop(T& out) noexcept {
      std::size_t pos = dequeue_pos_->load(std::memory_order_relaxed);
      Slot* slot;
      for (;;) {
        slot = &slots_[pos & mask_];
        const std::size_t seq = slot->seq.load(std::memory_order_acquire);
        const auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
        if (dif == 0) {
          if (dequeue_pos_->compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
        } else if (dif < 0) {
          return false;
        } else {
          pos = dequeue_pos_->load(std::memory_order_relaxed);
        }
      }
      T* item = std::launder(reinterpret_cast<T*>(slot->storage));
      out = std::move(*item);
      item->~T();
      slot->seq.store(pos + mask_ + 1, std::memory_order_release);
      return true;
    }

   private:
    struct Slot {
      std::atomic<std::size_t> seq{0};
      alignas(T) unsigned char storage[sizeof(T)];
    };
    std::unique_ptr<Slot[]> slots_;
    std::size_t mask_ = 0;
    CachePadded<std::atomic<std::size_t>> enqueue_pos_;  // producers' line
    CachePadded<std::atomic<std::size_t>> dequeue_pos_;  // consumers' line
  };

  // The top bit of size_ marks the queue closed; the rest counts reservations.
  static constexpr std::size_t kClosedBit = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);

  // ceil(100 * 2^32 / capacity): floor(size * it / 2^32) == size * 100 / capacity exactly
  // while size * capacity < 2^32 (the rounding error stays below 1 / capacity); 0 when the
  // capacity is too large for that, and pressure() divides.
  static constexpr std::uint64_t pct_mult_for(std::size_t capacity) noexcept {
    return capacity < (std::size_t{1} << 16) ? ((std::uint64_t{100} << 32) + capacity - 1) / capacity : 0;
  }

  const std::size_t capacity_;
  const std::uint64_t pct_mult_ = pct_mult_for(capacity_);
  const Watermarks watermarks_;
  alignas(kCacheLine) std::atomic<std::size_t> size_{0};
  Lane lanes_[kPriorityCount];
};

}  // namespace omega
