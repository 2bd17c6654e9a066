#pragma once
// The scheduler's internals: a slab of 64-byte task slots and a hierarchical timer wheel of
// intrusive lists over them.
//
// Wheel: time in ticks (u64) since the scheduler's epoch. Level l has 64 slots of 2^(6l)
// ticks each; 11 levels cover all 64 bits, so no deadline ever overflows the wheel. A timer
// with deadline tick d, inserted while the wheel stands at `elapsed_`, goes to the level of
// the highest 6-bit group in which d and elapsed_ differ (bit arithmetic: one xor, one clz),
// in the slot named by d's digit at that level. So level l only ever holds deadlines that
// share elapsed_'s digits above l and whose digit at l is ahead of elapsed_'s, and:
//   - the next expiry is the lowest occupied slot at or after the current digit of the
//     lowest non-empty level: two ctz on bitmaps (a per-level slot bitmap and a level
//     bitmap), no scanning;
//   - insert and cancel are O(1) (a list append / unlink, a bit set / clear);
//   - a slot at level l > 0 is re-sorted ("cascaded") only when the wheel reaches it, and
//     only its own timers move, each one level down at least: a timer moves at most 10 times
//     in its life, and never because of other slots (no cascading storms).
// Level 0 keeps one list per priority per slot, so a tick's timers come out Critical first.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <omega/base/assert.hpp>
#include <omega/time/timer_task.hpp>

namespace omega::time_internal {

inline constexpr std::uint32_t kNil = ~std::uint32_t{0};

enum class SlotState : std::uint8_t { Free, Wheel, Ready, Running, RunningCancelled };

struct TimerNode {
  TimerFn fn;                   // empty while free
  std::int64_t deadline_ns = 0;  // requested deadline: lateness reference, periodic grid
  std::int64_t period_ns = 0;    // 0: one-shot
  std::uint32_t prev = kNil;
  std::uint32_t next = kNil;  // also the free list's link
  std::uint32_t generation = 0;
  std::uint8_t priority = 0;
  SlotState state = SlotState::Free;
  std::uint8_t level = 0;  // where in the wheel, for O(1) cancel
  std::uint8_t slot = 0;
};
static_assert(sizeof(TimerNode) == 64, "one cache line per pending task");

// Slots live in 4096-slot chunks that never move: a task running in place may schedule more
// (growing the pool) without invalidating itself, and growth never copies.
class TimerPool {
 public:
  static constexpr unsigned kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1U << kChunkBits;

  TimerNode& operator[](std::uint32_t i) noexcept {
    OMEGA_DASSERT(i < capacity(), "timer slot out of range");
    return chunks_[i >> kChunkBits][i & (kChunkSize - 1)];
  }
  const TimerNode& operator[](std::uint32_t i) const noexcept {
    return chunks_[i >> kChunkBits][i & (kChunkSize - 1)];
  }
  [[nodiscard]] std::uint32_t capacity() const noexcept {
    return static_cast<std::uint32_t>(chunks_.size()) << kChunkBits;
  }
  [[nodiscard]] std::size_t live() const noexcept { return live_; }
  [[nodiscard]] std::size_t bytes() const noexcept {
    return chunks_.size() * (kChunkSize * sizeof(TimerNode) + sizeof(void*));
  }

  std::uint32_t allocate() {
    if (free_ == kNil) grow();
    const std::uint32_t i = free_;
    free_ = (*this)[i].next;
    ++live_;
    return i;
  }
  // The slot's callable is destroyed and its id goes stale.
  void release(std::uint32_t i) noexcept {
    TimerNode& n = (*this)[i];
    n.fn.reset();
    n.state = SlotState::Free;
    ++n.generation;
    n.prev = kNil;
    n.next = free_;
    free_ = i;
    --live_;
  }

 private:
  void grow() {
    OMEGA_ASSERT(chunks_.size() < (std::size_t{1} << (32 - kChunkBits)) - 1, "more than 2^32 pending timers");
    const std::uint32_t base = capacity();
    chunks_.push_back(std::make_unique<TimerNode[]>(kChunkSize));
    // Thread the new slots onto the free list in index order (lower slots first: locality).
    TimerNode* chunk = chunks_.back().get();
    for (std::uint32_t j = 0; j < kChunkSize; ++j) chunk[j].next = j + 1 < kChunkSize ? base + j + 1 : free_;
    free_ = base;
  }

  std::vector<std::unique_ptr<TimerNode[]>> chunks_;
  std::uint32_t free_ = kNil;
  std::size_t live_ = 0;
};

struct ListHead {
  std::uint32_t head = kNil;
  std::uint32_t tail = kNil;
  [[nodiscard]] bool empty() const noexcept { return head == kNil; }
};

inline void list_push_back(TimerPool& pool, ListHead& list, std::uint32_t i) noexcept {
  TimerNode& n = pool[i];
  n.next = kNil;
  n.prev = list.tail;
  if (list.tail == kNil) {
    list.head = i;
  } else {
    pool[list.tail].next = i;
  }
  list.tail = i;
}

inline void list_unlink(TimerPool& pool, ListHead& list, std::uint32_t i) noexcept {
  TimerNode& n = pool[i];
  if (n.prev == kNil) {
    list.head = n.next;
  } else {
    pool[n.prev].next = n.next;
  }
  if (n.next == kNil) {
    list.tail = n.prev;
  } else {
    pool[n.next].prev = n.prev;
  }
  n.prev = n.next = kNil;
}

// Appends `from` to `to` in O(1); `from` is left empty.
inline void list_splice(TimerPool& pool, ListHead& to, ListHead& from) noexcept {
  if (from.empty()) return;
  if (to.empty()) {
    to = from;
  } else {
    pool[to.tail].next = from.head;
    pool[from.head].prev = to.tail;
    to.tail = from.tail;
  }
  from = ListHead{};
}

class TimerWheel {
 public:
  static constexpr unsigned kSlotBits = 6;
  static constexpr unsigned kSlots = 1U << kSlotBits;
  static constexpr unsigned kLevels = 11;  // 66 bits >= 64: any u64 deadline has a level

  struct Expiry {
    unsigned level;
    unsigned slot;
    std::uint64_t tick;  // when the slot's range begins (for level 0: the slot's only tick)
  };

  [[nodiscard]] std::uint64_t elapsed() const noexcept { return elapsed_; }
  [[nodiscard]] bool empty() const noexcept { return level_mask_ == 0; }

  // Files slot i under deadline tick `tick` (a deadline already passed counts as now).
  void insert(TimerPool& pool, std::uint32_t i, std::uint64_t tick) noexcept {
    if (tick < elapsed_) tick = elapsed_;
    const std::uint64_t diff = tick ^ elapsed_;
    const unsigned level = diff == 0 ? 0 : static_cast<unsigned>(63 - std::countl_zero(diff)) / kSlotBits;
    const unsigned slot = static_cast<unsigned>(tick >> (level * kSlotBits)) & (kSlots - 1);
    TimerNode& n = pool[i];
    n.level = static_cast<std::uint8_t>(level);
    n.slot = static_cast<std::uint8_t>(slot);
    n.state = SlotState::Wheel;
    list_push_back(pool, list(level, slot, n.priority), i);
    occupied_[level] |= std::uint64_t{1} << slot;
    level_mask_ |= 1U << level;
  }

  void remove(TimerPool& pool, std::uint32_t i) noexcept {
    TimerNode& n = pool[i];
    const unsigned level = n.level, slot = n.slot;
    list_unlink(pool, list(level, slot, n.priority), i);
    if (slot_empty(level, slot)) clear_slot(level, slot);
  }

  // The earliest occupied slot, if any.
  [[nodiscard]] bool next_expiry(Expiry& out) const noexcept {
    if (level_mask_ == 0) return false;
    const unsigned level = static_cast<unsigned>(std::countr_zero(level_mask_));
    const unsigned shift = level * kSlotBits;
    const unsigned pos = static_cast<unsigned>(elapsed_ >> shift) & (kSlots - 1);
    const std::uint64_t ahead = occupied_[level] & (~std::uint64_t{0} << pos);
    OMEGA_DASSERT(ahead != 0, "timer wheel slot behind the wheel's position");
    const unsigned slot = static_cast<unsigned>(std::countr_zero(ahead));
    const unsigned upper_shift = shift + kSlotBits;
    const std::uint64_t upper = upper_shift >= 64 ? 0 : (elapsed_ >> upper_shift) << upper_shift;
    out = Expiry{level, slot, upper | (std::uint64_t{slot} << shift)};
    return true;
  }

  // Takes every timer due at or before `target` (a tick): level-0 slots are appended to
  // `ready` (priority order within each tick, ticks in order); higher slots are re-filed
  // below as the wheel reaches them. Leaves the wheel at `target`. Calls on_ready(i) for
  // each node that became ready.
  template <class OnReady>
  void advance(TimerPool& pool, std::uint64_t target, ListHead& ready, OnReady&& on_ready) noexcept {
    Expiry e{};
    while (next_expiry(e) && e.tick <= target) {
      if (e.tick > elapsed_) elapsed_ = e.tick;
      if (e.level == 0) {
        for (std::size_t p = kPriorityCount; p-- > 0;) {  // Critical first
          ListHead& l = level0_[e.slot][p];
          for (std::uint32_t i = l.head; i != kNil; i = pool[i].next) on_ready(i);
          list_splice(pool, ready, l);
        }
        clear_slot(0, e.slot);
      } else {
        ListHead l = upper_[e.level - 1][e.slot];
        upper_[e.level - 1][e.slot] = ListHead{};
        clear_slot(e.level, e.slot);
        for (std::uint32_t i = l.head; i != kNil;) {
          const std::uint32_t next = pool[i].next;
          insert(pool, i, deadline_tick_(pool[i]));
          i = next;
        }
      }
    }
    if (target > elapsed_) elapsed_ = target;
  }

  // How a node's deadline maps to a tick (set by the scheduler: it owns epoch and rate).
  std::uint64_t (*deadline_tick_fn)(const void* ctx, const TimerNode&) = nullptr;
  const void* deadline_tick_ctx = nullptr;

 private:
  std::uint64_t deadline_tick_(const TimerNode& n) const { return deadline_tick_fn(deadline_tick_ctx, n); }

  ListHead& list(unsigned level, unsigned slot, unsigned priority) noexcept {
    return level == 0 ? level0_[slot][priority] : upper_[level - 1][slot];
  }
  [[nodiscard]] bool slot_empty(unsigned level, unsigned slot) const noexcept {
    if (level != 0) return upper_[level - 1][slot].empty();
    for (const ListHead& l : level0_[slot]) {
      if (!l.empty()) return false;
    }
    return true;
  }
  void clear_slot(unsigned level, unsigned slot) noexcept {
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    if (occupied_[level] == 0) level_mask_ &= ~(1U << level);
  }

  std::uint64_t elapsed_ = 0;  // every deadline <= elapsed_ has been taken
  std::uint32_t level_mask_ = 0;
  std::uint64_t occupied_[kLevels] = {};
  ListHead level0_[kSlots][kPriorityCount];
  ListHead upper_[kLevels - 1][kSlots];
};

}  // namespace omega::time_internal
