#pragma once
// Channels (seed 003, steady_state): bounded single-producer single-consumer rings between
// actors, built for batches. One sender (Tx) and one receiver (Rx) per channel; both ends
// are move-only handles to a ring the Graph owns (omega/actor/actor.hpp).
//
//   auto [tx, rx] = graph.channel<std::uint64_t>("values", 8192);
//   tx.send_slice_until_full(batch);        // -> how many went in (a prefix of batch)
//   std::size_t n = rx.peek_slice(out);     // look without taking ...
//   rx.advance(n);                          // ... and commit
//   co_await ctx.wait_for_all(rx.avail(1024), tx.vacant(256));   // conditions (Context)
//
// Contracts:
// - One thread at a time uses each end (the actor that owns it). The ends' indices live on
//   separate cache lines and each end caches the other's index, so a batch costs one shared
//   read and one shared write, not one per item.
// - Items are accepted whole or not at all, and come out in the order they went in. Nothing
//   accepted is lost except by the channel's Overflow policy, and every such loss is counted.
// - A waiting actor is woken without polling: the other end checks for a waiter when it
//   publishes. Slice operations (and every operation outside an actor) look at once; single
//   items are looked at when the actor next waits, checks is_running, or ends its poll, so a
//   loop of try_send pays one fence per batch of sends, not one per item.
// - Overflow decides what send() does when the channel is full: Block (nothing; SendStatus::Full,
//   and the sender waits for vacant(n)), DropNewest (the new item is discarded), DropOldest
//   (the oldest unread item is discarded to make room, so the ring holds the newest `capacity`
//   items), Fail (refused). try_send and the slice operations never drop: they send what fits.
//   DropOldest rings keep `capacity` spare slots, so a sender rarely needs the slot a receiver
//   may be reading; when it does, a spin lock that a DropOldest receiver takes around each read
//   keeps the two apart (one uncontended atomic per read, on those channels only).
// - A closed Tx (close(), or its actor stopped) refuses further items; a receiver sees the
//   items already sent, then is_closed_and_empty(). An Rx whose actor stopped refuses items
//   too (SendStatus::Closed): nobody would ever take them.
// - An end belongs to the actor whose behaviour holds it: Graph::actor finds the ends kept in
//   the behaviour's captures (directly, or in arrays and structs among them); an end reached
//   through a pointer or a container is the actor's once it first uses it. When an actor
//   stops, its ends close. A Tx used outside any actor must be closed by its user.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <omega/base/cache.hpp>

namespace omega::detail {
class PulseTask;
}

namespace omega::actor {

enum class Overflow : std::uint8_t { Block, DropNewest, DropOldest, Fail };
enum class SendStatus : std::uint8_t {
  Sent,     // in the channel (under DropOldest, possibly at the cost of an older item)
  Full,     // Block: nothing sent; wait for vacant(1)
  Dropped,  // DropNewest: discarded, counted
  Refused,  // Fail: discarded, counted
  Closed,   // the Tx was closed or the receiver stopped: discarded, counted
};
[[nodiscard]] std::string_view to_string(Overflow o) noexcept;
[[nodiscard]] std::string_view to_string(SendStatus s) noexcept;

// A channel's counters (monotonic since the graph started). sent - taken - dropped_oldest is
// what the ring holds.
struct ChannelCounters {
  std::uint64_t sent = 0;            // items that went in
  std::uint64_t taken = 0;           // items the receiver took (advance / take)
  std::uint64_t dropped_newest = 0;  // send() under DropNewest
  std::uint64_t dropped_oldest = 0;  // unread items discarded by DropOldest
  std::uint64_t refused = 0;         // send() under Fail, or any send to a closed channel
  std::uint64_t full = 0;            // send() under Block that found no room
};

namespace detail {

class ActorRecord;  // core/src/actor/graph.hpp
class ChannelCore;

// What an actor may wait for (Context::wait_for_all and friends). Trivially copyable, so a
// wait's conditions live in its awaiter inside the coroutine frame.
struct Cond {
  enum Kind : std::uint8_t { kNone, kAvail, kVacant, kPeriodic };
  Kind kind = kNone;
  ChannelCore* ch = nullptr;
  std::uint64_t n = 0;  // items (kAvail, kVacant) or the period in ns (kPeriodic)
};

// The actor poll running on this thread: which channel ends it published on (their peers
// are told when the actor next waits or its poll ends). Set by the actor runtime.
struct PollScope {
  static constexpr unsigned kMaxDirty = 32;
  ActorRecord* actor = nullptr;
  ChannelCore* dirty[kMaxDirty];
  bool dirty_tx[kMaxDirty];  // which end of that channel published
  unsigned n = 0;
};
inline thread_local constinit PollScope* t_scope = nullptr;

// Tells the peers of every end published on in `scope` (one fence for all of them).
void flush_scope(PollScope& scope) noexcept;

// The owner of channel ends used outside any actor.
ActorRecord* external_owner() noexcept;

// The type-independent part of a channel: indices, waiters, counters, owners.
class ChannelCore {
 public:
  ChannelCore(std::string name, std::size_t capacity, Overflow overflow, std::size_t slots) noexcept;
  ChannelCore(const ChannelCore&) = delete;
  ChannelCore& operator=(const ChannelCore&) = delete;
  virtual ~ChannelCore() = default;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] Overflow overflow() const noexcept { return overflow_; }
  [[nodiscard]] std::size_t id() const noexcept { return id_; }
  void set_id(std::size_t id) noexcept { id_ = id; }

  // ---- sender's end (the producer's thread) ----
  // Room for this many more items (logical: DropOldest's spare slots are not counted).
  // Refreshes the cached head only when the cache shows less than `want`.
  std::size_t tx_vacant(std::size_t want = 1) noexcept {
    std::size_t v = vacant_cached();
    if (v < want) {
      p_.head_cache = head_.load(std::memory_order_acquire);
      v = vacant_cached();
    }
    return v;
  }
  [[nodiscard]] bool tx_closed() const noexcept { return (ends_.load(std::memory_order_acquire) & kTxClosed) != 0; }
  [[nodiscard]] bool rx_stopped() const noexcept { return (ends_.load(std::memory_order_acquire) & kRxStopped) != 0; }
  // Either end gone: a send would never be taken (one load for the send paths).
  [[nodiscard]] bool send_refused() const noexcept { return ends_.load(std::memory_order_acquire) != 0; }
  // The index the next item goes to; publish(k) makes k more visible.
  [[nodiscard]] std::uint64_t tx_tail() const noexcept { return p_.tail; }
  void tx_publish(std::uint64_t k, bool now) noexcept {
    p_.tail += k;
    tail_.store(p_.tail, std::memory_order_release);
    mark_tx(now);
  }
  // Before the first item: who sends (claims the end for the running actor, if no actor's
  // captures held it). Always true: kept a predicate for the send paths' single branch.
  bool tx_ready() noexcept { return p_.claimed || claim_tx(); }
  void tx_close() noexcept;
  void count_full() noexcept { bump(p_.full); }
  void count_refused(std::uint64_t k = 1) noexcept { bump(p_.refused, k); }
  void count_dropped_newest() noexcept { bump(p_.dropped_newest); }
  // DropOldest with the logical ring full: makes the oldest item unreadable so the next one
  // fits. True when the slot it goes to may be under a read: the caller writes it holding the
  // ring lock (already taken) and then calls unlock_ring().
  bool tx_push_over_oldest() noexcept;
  // DropOldest receivers read under this lock (see the contract above).
  void lock_ring() noexcept {
    while (ring_lock_.exchange(true, std::memory_order_acquire)) {
      while (ring_lock_.load(std::memory_order_relaxed)) {
      }
    }
  }
  void unlock_ring() noexcept { ring_lock_.store(false, std::memory_order_release); }
  [[nodiscard]] bool locks_reads() const noexcept { return overflow_ == Overflow::DropOldest; }

  // ---- receiver's end (the consumer's thread) ----
  // Items that can be read now, from rx_head() on.
  std::size_t rx_avail(std::size_t want = 1) noexcept {
    skip_dropped();
    return rx_readable(want);
  }
  // The same without skipping what DropOldest discarded: what advance() may commit of a peek.
  std::size_t rx_readable(std::size_t want = 1) noexcept {
    std::size_t a = static_cast<std::size_t>(c_.tail_cache - c_.head_local);
    if (a < want) {
      c_.tail_cache = tail_.load(std::memory_order_acquire);
      a = static_cast<std::size_t>(c_.tail_cache - c_.head_local);
    }
    return a;
  }
  [[nodiscard]] std::uint64_t rx_head() const noexcept { return c_.head_local; }
  void rx_advance(std::uint64_t k, bool now) noexcept {
    c_.head_local += k;
    head_.store(c_.head_local, std::memory_order_release);
    mark_rx(now);
  }
  bool rx_ready() noexcept { return c_.claimed || claim_rx(); }
  // The receiver stops: senders are refused from now on and a waiting sender is woken.
  void rx_stop() noexcept;
  [[nodiscard]] bool rx_closed_and_empty() noexcept {
    // Closed first: the sender closes after its last publish, so the tail read after it is final.
    return tx_closed() && rx_avail() == 0;
  }

  // ---- waiting (core/src/actor) ----
  // A condition of the actor that owns the relevant end; true when it holds (a closed or
  // stopped peer satisfies it: the actor must look rather than wait forever).
  bool holds(const Cond& c) noexcept {
    if (c.kind == Cond::kAvail) {
      rx_ready();  // waiting on an end is using it
      return rx_avail(c.n) >= c.n || tx_closed();
    }
    tx_ready();
    return tx_vacant(c.n) >= c.n || rx_stopped();
  }
  // Registers `task` as the waiter for `c` (one waiter per end). The caller fences and
  // re-checks before it sleeps (a peer that published meanwhile may not have seen it).
  void arm(const Cond& c, omega::detail::PulseTask* task) noexcept;
  // Withdraws the registration if still there.
  void disarm(const Cond& c, omega::detail::PulseTask* task) noexcept;
  // The peer end's waiter, if its condition holds now (called after a fence).
  void wake_rx_waiter() noexcept;
  void wake_tx_waiter() noexcept;

  // ---- telemetry (any thread; each value is single-writer) ----
  [[nodiscard]] ChannelCounters counters() const noexcept;
  [[nodiscard]] std::size_t len() const noexcept;  // items in the ring now (approximate under traffic)
  [[nodiscard]] ActorRecord* tx_owner() const noexcept { return tx_owner_.load(std::memory_order_acquire); }
  [[nodiscard]] ActorRecord* rx_owner() const noexcept { return rx_owner_.load(std::memory_order_acquire); }
  // Where the Tx / Rx handle of this channel lives now (kept up to date by their moves), so
  // that Graph::actor can tell which ends a behaviour's captures hold.
  // Kept as integers: they are compared with address ranges, never followed (and a pointer
  // to a caller's local would look dangling to GCC's -Wdangling-pointer).
  void set_tx_handle(const void* at) noexcept { tx_handle_ = reinterpret_cast<std::uintptr_t>(at); }
  void set_rx_handle(const void* at) noexcept { rx_handle_ = reinterpret_cast<std::uintptr_t>(at); }
  [[nodiscard]] std::uintptr_t tx_handle() const noexcept { return tx_handle_; }
  [[nodiscard]] std::uintptr_t rx_handle() const noexcept { return rx_handle_; }
  // The graph found the end among `owner`'s captures: it is that actor's from the start.
  void adopt_tx(ActorRecord* owner) noexcept;
  // Shutdown: closes the sending end if no actor holds it and nobody has used it.
  void close_if_unclaimed() noexcept;
  void adopt_rx(ActorRecord* owner) noexcept;
  // flush_scope: the end is no longer waiting to be looked at.
  void clear_tx_dirty() noexcept { p_.dirty = false; }
  void clear_rx_dirty() noexcept { c_.dirty = false; }

 protected:
  // Physical slot of index i.
  [[nodiscard]] std::size_t slot(std::uint64_t i) const noexcept { return static_cast<std::size_t>(i & mask_); }
  [[nodiscard]] std::size_t slots() const noexcept { return mask_ + 1; }

 private:
  [[nodiscard]] std::size_t vacant_cached() const noexcept {
    const std::uint64_t used = p_.tail - std::max(p_.head_cache, p_.floor);
    return used >= capacity_ ? 0 : static_cast<std::size_t>(capacity_ - used);
  }
  // DropOldest: items below the floor were discarded by the sender; skip them.
  void skip_dropped() noexcept {
    if (overflow_ != Overflow::DropOldest) return;
    const std::uint64_t f = floor_.load(std::memory_order_acquire);
    if (f > c_.head_local) {
      c_.dropped_oldest += f - c_.head_local;
      c_.head_local = f;
      head_.store(f, std::memory_order_release);
      // After the head: a reader that sees this count sees the head it goes with (counters()).
      c_.dropped_pub.store(c_.dropped_oldest, std::memory_order_release);
      // The floor only rises past items already published: the tail is at least f.
      if (c_.tail_cache < f) c_.tail_cache = tail_.load(std::memory_order_acquire);
    }
  }
  void mark_tx(bool now) noexcept {
    if (p_.dirty || p_.peer_external) return;
    if (!now) {
      if (PollScope* s = t_scope; s != nullptr && s->n < PollScope::kMaxDirty) {
        p_.dirty = true;
        s->dirty_tx[s->n] = true;
        s->dirty[s->n++] = this;
        return;
      }
    }
    notify_rx_now();
  }
  void mark_rx(bool now) noexcept {
    if (c_.dirty || c_.peer_external) return;
    if (!now) {
      if (PollScope* s = t_scope; s != nullptr && s->n < PollScope::kMaxDirty) {
        c_.dirty = true;
        s->dirty_tx[s->n] = false;
        s->dirty[s->n++] = this;
        return;
      }
    }
    notify_tx_now();
  }
  // Fence, then wake_rx_waiter; nothing once the receiver is known not to be an actor (only
  // actors wait), which spares threads that use both ends directly a fence per item.
  void notify_rx_now() noexcept;
  void notify_tx_now() noexcept;
  bool claim_tx() noexcept;
  bool claim_rx() noexcept;
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t k = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + k, std::memory_order_relaxed);
  }

  // Read-mostly.
  std::string name_;
  std::size_t capacity_;
  std::uint64_t mask_;
  Overflow overflow_;
  std::size_t id_ = 0;

  // The producer's line: its own copy of the tail and its cache of the consumer's head.
  struct alignas(kCacheLine) Producer {
    std::uint64_t tail = 0;
    std::uint64_t head_cache = 0;
    std::uint64_t floor = 0;  // DropOldest: the oldest readable index
    bool dirty = false;
    bool claimed = false;
    bool peer_external = false;  // the receiver is not an actor: nobody will ever wait on it
    std::atomic<std::uint64_t> dropped_newest{0}, refused{0}, full{0};
  } p_;
  // The shared indices, each on a line of its own: the other end reads it only when its
  // cached copy runs out, and no private field's write invalidates it meanwhile.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
  alignas(kCacheLine) std::atomic<std::uint64_t> floor_{0};  // DropOldest only, with the lock
  std::atomic<bool> ring_lock_{false};
  // The consumer's line.
  struct alignas(kCacheLine) Consumer {
    std::uint64_t head_local = 0;
    std::uint64_t tail_cache = 0;
    std::uint64_t dropped_oldest = 0;
    std::atomic<std::uint64_t> dropped_pub{0};  // taken = head - dropped_oldest
    bool dirty = false;
    bool claimed = false;
    bool peer_external = false;  // the sender is not an actor
  } c_;
  // Waiters and lifecycle: written rarely.
  alignas(kCacheLine) std::atomic<omega::detail::PulseTask*> rx_waiter_{nullptr};
  std::atomic<std::uint64_t> rx_want_{0};
  std::atomic<omega::detail::PulseTask*> tx_waiter_{nullptr};
  std::atomic<std::uint64_t> tx_want_{0};
  static constexpr std::uint8_t kTxClosed = 1, kRxStopped = 2;
  std::atomic<std::uint8_t> ends_{0};
  std::atomic<ActorRecord*> tx_owner_{nullptr}, rx_owner_{nullptr};
  std::uintptr_t tx_handle_ = 0;
  std::uintptr_t rx_handle_ = 0;
};

// The ring's storage, typed.
template <class T>
class Channel final : public ChannelCore {
 public:
  static_assert(std::is_nothrow_move_assignable_v<T> && std::is_default_constructible_v<T>,
                "channel items are moved into and out of preallocated slots");
  Channel(std::string name, std::size_t capacity, Overflow overflow)
      : ChannelCore(std::move(name), capacity, overflow, physical_slots(capacity, overflow)),
        items_(std::make_unique<T[]>(slots())) {}

  static std::size_t physical_slots(std::size_t capacity, Overflow o) noexcept {
    return std::bit_ceil(o == Overflow::DropOldest ? capacity * 2 : capacity);
  }

  bool try_send(T&& v) noexcept {
    if (!tx_ready() || send_refused()) {
      count_refused();
      return false;
    }
    if (tx_vacant() == 0) return false;
    put(std::move(v));
    return true;
  }
  SendStatus send(T&& v) noexcept {
    if (!tx_ready() || send_refused()) {
      count_refused();
      return SendStatus::Closed;
    }
    if (tx_vacant() > 0) {
      put(std::move(v));
      return SendStatus::Sent;
    }
    switch (overflow()) {
      case Overflow::Block:
        count_full();
        return SendStatus::Full;
      case Overflow::DropNewest:
        count_dropped_newest();
        return SendStatus::Dropped;
      case Overflow::DropOldest: {
        const bool locked = tx_push_over_oldest();
        put(std::move(v));
        if (locked) unlock_ring();
        return SendStatus::Sent;
      }
      case Overflow::Fail:
        break;
    }
    count_refused();
    return SendStatus::Refused;
  }
  std::size_t send_slice_until_full(std::span<const T> in) noexcept {
    if (in.empty()) return 0;
    if (!tx_ready() || send_refused()) {
      count_refused(in.size());
      return 0;
    }
    const std::size_t n = std::min(in.size(), tx_vacant(in.size()));
    if (n == 0) return 0;
    const std::uint64_t t = tx_tail();
    copy_in(t, in.data(), n);
    tx_publish(n, true);
    return n;
  }

  std::optional<T> try_take() noexcept {
    rx_ready();
    const bool lock = locks_reads();
    if (lock) lock_ring();
    std::optional<T> out;
    if (rx_avail() > 0) {
      out.emplace(std::move(items_[slot(rx_head())]));
      rx_advance(1, false);
    }
    if (lock) unlock_ring();
    return out;
  }
  std::size_t peek_slice(std::span<T> out) noexcept {
    rx_ready();
    const bool lock = locks_reads();
    if (lock) lock_ring();
    const std::size_t n = std::min(out.size(), rx_avail(out.size()));
    copy_out(rx_head(), out.data(), n);
    if (lock) unlock_ring();
    return n;
  }
  std::size_t take_slice(std::span<T> out) noexcept {
    const std::size_t n = peek_slice(out);
    if (n > 0) rx_advance(n, true);
    return n;
  }
  void advance(std::size_t n) noexcept {
    const std::size_t a = rx_readable(n);
    if (n > a) n = a;  // never past what the sender published
    if (n > 0) rx_advance(n, true);
  }

 private:
  void put(T&& v) noexcept {
    items_[slot(tx_tail())] = std::move(v);
    tx_publish(1, false);
  }
  void copy_in(std::uint64_t from, const T* src, std::size_t n) noexcept {
    const std::size_t s = slot(from);
    const std::size_t first = std::min(n, slots() - s);
    std::copy_n(src, first, items_.get() + s);
    std::copy_n(src + first, n - first, items_.get());
  }
  void copy_out(std::uint64_t from, T* dst, std::size_t n) const noexcept {
    const std::size_t s = slot(from);
    const std::size_t first = std::min(n, slots() - s);
    std::copy_n(items_.get() + s, first, dst);
    std::copy_n(items_.get(), n - first, dst + first);
  }
  std::unique_ptr<T[]> items_;
};

}  // namespace detail

// The sending end. Move-only; the channel it names belongs to the Graph and outlives it.
template <class T>
class Tx {
 public:
  Tx() noexcept = default;
  // Graph::channel's; the handle the caller ends up holding registers itself when moved there.
  explicit Tx(detail::Channel<T>* ch) noexcept : ch_(ch) {}
  Tx(Tx&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) { track(); }
  Tx& operator=(Tx&& o) noexcept {
    if (this != &o) {
      ch_ = std::exchange(o.ch_, nullptr);
      track();
    }
    return *this;
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx() {
    if (ch_ != nullptr && ch_->tx_handle() == reinterpret_cast<std::uintptr_t>(this)) ch_->set_tx_handle(nullptr);
  }

  // Sends if there is room; never drops, never waits.
  bool try_send(T v) noexcept { return ch_->try_send(std::move(v)); }
  // Sends, or applies the channel's Overflow policy when it is full.
  SendStatus send(T v) noexcept { return ch_->send(std::move(v)); }
  // Sends the longest prefix of `items` that fits; returns its length.
  std::size_t send_slice_until_full(std::span<const T> items) noexcept { return ch_->send_slice_until_full(items); }
  // Room for this many items now (looks at the receiver's index).
  [[nodiscard]] std::size_t vacant() noexcept { return ch_->tx_vacant(SIZE_MAX); }
  // A condition: room for n items (or the receiver stopped).
  [[nodiscard]] detail::Cond vacant(std::size_t n) noexcept {
    return detail::Cond{detail::Cond::kVacant, ch_, n == 0 ? 1 : std::min(n, ch_->capacity())};
  }
  // No more items: the receiver drains what was sent, then sees is_closed_and_empty().
  void close() noexcept { ch_->tx_close(); }
  [[nodiscard]] bool is_closed() const noexcept { return ch_->tx_closed(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return ch_->capacity(); }
  [[nodiscard]] ChannelCounters counters() const noexcept { return ch_->counters(); }
  [[nodiscard]] bool valid() const noexcept { return ch_ != nullptr; }
  [[nodiscard]] detail::ChannelCore* core() const noexcept { return ch_; }
  // The receiver stopped: nothing sent from now on would be taken.
  [[nodiscard]] bool receiver_stopped() const noexcept { return ch_->rx_stopped(); }

 private:
  void track() noexcept {
    if (ch_ != nullptr) ch_->set_tx_handle(this);
  }
  detail::Channel<T>* ch_ = nullptr;
};

// The receiving end.
template <class T>
class Rx {
 public:
  Rx() noexcept = default;
  explicit Rx(detail::Channel<T>* ch) noexcept : ch_(ch) {}
  Rx(Rx&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) { track(); }
  Rx& operator=(Rx&& o) noexcept {
    if (this != &o) {
      ch_ = std::exchange(o.ch_, nullptr);
      track();
    }
    return *this;
  }
  Rx(const Rx&) = delete;
  Rx& operator=(const Rx&) = delete;
  ~Rx() {
    if (ch_ != nullptr && ch_->rx_handle() == reinterpret_cast<std::uintptr_t>(this)) ch_->set_rx_handle(nullptr);
  }

  std::optional<T> try_take() noexcept { return ch_->try_take(); }
  // Moves up to out.size() items out and takes them.
  std::size_t take_slice(std::span<T> out) noexcept { return ch_->take_slice(out); }
  // Copies up to out.size() items without taking them; advance(n) takes the first n. An
  // actor that throws between the two sees the same items again after its restart.
  std::size_t peek_slice(std::span<T> out) noexcept { return ch_->peek_slice(out); }
  void advance(std::size_t n) noexcept { ch_->advance(n); }
  // Items readable now (looks at the sender's index).
  [[nodiscard]] std::size_t avail() noexcept { return ch_->rx_avail(SIZE_MAX); }
  // A condition: at least n items (or the sender closed).
  [[nodiscard]] detail::Cond avail(std::size_t n) noexcept {
    return detail::Cond{detail::Cond::kAvail, ch_, n == 0 ? 1 : std::min(n, ch_->capacity())};
  }
  [[nodiscard]] bool is_closed() const noexcept { return ch_->tx_closed(); }
  [[nodiscard]] bool is_closed_and_empty() noexcept { return ch_->rx_closed_and_empty(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return ch_->capacity(); }
  [[nodiscard]] ChannelCounters counters() const noexcept { return ch_->counters(); }
  [[nodiscard]] bool valid() const noexcept { return ch_ != nullptr; }
  [[nodiscard]] detail::ChannelCore* core() const noexcept { return ch_; }

 private:
  void track() noexcept {
    if (ch_ != nullptr) ch_->set_rx_handle(this);
  }
  detail::Channel<T>* ch_ = nullptr;
};

}  // namespace omega::actor
