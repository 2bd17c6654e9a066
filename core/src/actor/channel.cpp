#include <omega/actor/channel.hpp>

#include <atomic>
#include <cstdint>

#include <omega/pulse/coro.hpp>

#include "actor/graph.hpp"

namespace omega::actor {

std::string_view to_string(Overflow o) noexcept {
  switch (o) {
    case Overflow::Block: return "Block";
    case Overflow::DropNewest: return "DropNewest";
    case Overflow::DropOldest: return "DropOldest";
    case Overflow::Fail: return "Fail";
  }
  return "?";
}

std::string_view to_string(SendStatus s) noexcept {
  switch (s) {
    case SendStatus::Sent: return "Sent";
    case SendStatus::Full: return "Full";
    case SendStatus::Dropped: return "Dropped";
    case SendStatus::Refused: return "Refused";
    case SendStatus::Closed: return "Closed";
  }
  return "?";
}

namespace detail {

namespace {
// The owner of ends used outside any actor: compared, never dereferenced.
ActorRecord* const kExternal = reinterpret_cast<ActorRecord*>(std::uintptr_t{1});

// Claims `slot`'s waiter and wakes it. The wake may land late, after the actor has moved on
// (it disarmed too late to stop it): the team filters such wakes before resuming anything.
void claim_and_wake(std::atomic<omega::detail::PulseTask*>& slot, omega::detail::PulseTask* w) noexcept {
  if (slot.compare_exchange_strong(w, nullptr, std::memory_order_acq_rel)) omega::detail::wake_task(w);
}
}  // namespace

ActorRecord* external_owner() noexcept { return kExternal; }

ChannelCore::ChannelCore(std::string name, std::size_t capacity, Overflow overflow, std::size_t slots) noexcept
    : name_(std::move(name)), capacity_(capacity), mask_(slots - 1), overflow_(overflow) {}

bool ChannelCore::claim_tx() noexcept {
  ActorRecord* me = t_scope != nullptr ? t_scope->actor : kExternal;
  ActorRecord* cur = nullptr;
  if (tx_owner_.compare_exchange_strong(cur, me, std::memory_order_acq_rel) && me != kExternal) {
    me->sends_on.push_back(this);
  }
  p_.claimed = true;
  return true;
}

bool ChannelCore::claim_rx() noexcept {
  ActorRecord* me = t_scope != nullptr ? t_scope->actor : kExternal;
  ActorRecord* cur = nullptr;
  if (rx_owner_.compare_exchange_strong(cur, me, std::memory_order_acq_rel) && me != kExternal) {
    me->receives_on.push_back(this);
  }
  c_.claimed = true;
  return true;
}

void ChannelCore::close_if_unclaimed() noexcept {
  ActorRecord* cur = nullptr;
  if (tx_owner_.compare_exchange_strong(cur, kExternal, std::memory_order_acq_rel)) tx_close();
}

void ChannelCore::adopt_tx(ActorRecord* owner) noexcept {
  tx_owner_.store(owner, std::memory_order_release);
  p_.claimed = true;
  owner->sends_on.push_back(this);
}

void ChannelCore::adopt_rx(ActorRecord* owner) noexcept {
  rx_owner_.store(owner, std::memory_order_release);
  c_.claimed = true;
  owner->receives_on.push_back(this);
}

void ChannelCore::tx_close() noexcept {
  if ((ends_.fetch_or(kTxClosed, std::memory_order_acq_rel) & kTxClosed) != 0) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_rx_waiter();
}

void ChannelCore::rx_stop() noexcept {
  if ((ends_.fetch_or(kRxStopped, std::memory_order_acq_rel) & kRxStopped) != 0) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_tx_waiter();
}

bool ChannelCore::tx_push_over_oldest() noexcept {
  p_.head_cache = head_.load(std::memory_order_acquire);
  bool locked = false;
  if (p_.tail - p_.head_cache >= slots()) {
    // The receiver has not moved for 2 x capacity items: the slot we need is the oldest
    // readable one's, which it may be copying right now.
    lock_ring();
    locked = true;
    p_.head_cache = head_.load(std::memory_order_acquire);
  }
  p_.floor = std::max(p_.floor, p_.tail + 1 - capacity_);
  floor_.store(p_.floor, std::memory_order_release);
  if (locked && p_.tail - p_.head_cache < slots()) {
    unlock_ring();  // it moved meanwhile: the slot is free
    locked = false;
  }
  return locked;
}

void ChannelCore::arm(const Cond& c, omega::detail::PulseTask* task) noexcept {
  if (c.kind == Cond::kAvail) {
    rx_want_.store(c.n, std::memory_order_relaxed);
    rx_waiter_.store(task, std::memory_order_seq_cst);
  } else {
    tx_want_.store(c.n, std::memory_order_relaxed);
    tx_waiter_.store(task, std::memory_order_seq_cst);
  }
}

void ChannelCore::disarm(const Cond& c, omega::detail::PulseTask* task) noexcept {
  auto& slot = c.kind == Cond::kAvail ? rx_waiter_ : tx_waiter_;
  omega::detail::PulseTask* expected = task;
  slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel);
}

void ChannelCore::wake_rx_waiter() noexcept {
  omega::detail::PulseTask* w = rx_waiter_.load(std::memory_order_acquire);
  if (w == nullptr) return;
  const std::uint64_t want = rx_want_.load(std::memory_order_relaxed);
  const std::uint64_t tail = tail_.load(std::memory_order_acquire);
  const std::uint64_t from = std::max(head_.load(std::memory_order_acquire), floor_.load(std::memory_order_acquire));
  if (tail - from >= want || tx_closed()) claim_and_wake(rx_waiter_, w);
}

void ChannelCore::wake_tx_waiter() noexcept {
  omega::detail::PulseTask* w = tx_waiter_.load(std::memory_order_acquire);
  if (w == nullptr) return;
  const std::uint64_t want = tx_want_.load(std::memory_order_relaxed);
  const std::uint64_t used = tail_.load(std::memory_order_acquire) -
                             std::max(head_.load(std::memory_order_acquire), floor_.load(std::memory_order_acquire));
  const std::uint64_t vacant = used >= capacity_ ? 0 : capacity_ - used;
  if (vacant >= want || rx_stopped()) claim_and_wake(tx_waiter_, w);
}

void ChannelCore::notify_rx_now() noexcept {
  if (rx_owner_.load(std::memory_order_acquire) == kExternal) {
    p_.peer_external = true;
    return;
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_rx_waiter();
}

void ChannelCore::notify_tx_now() noexcept {
  if (tx_owner_.load(std::memory_order_acquire) == kExternal) {
    c_.peer_external = true;
    return;
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_tx_waiter();
}

ChannelCounters ChannelCore::counters() const noexcept {
  ChannelCounters c;
  c.sent = tail_.load(std::memory_order_relaxed);
  c.taken = c_.taken_pub.load(std::memory_order_relaxed);
  c.dropped_oldest = c_.dropped_pub.load(std::memory_order_relaxed);
  c.dropped_newest = p_.dropped_newest.load(std::memory_order_relaxed);
  c.refused = p_.refused.load(std::memory_order_relaxed);
  c.full = p_.full.load(std::memory_order_relaxed);
  return c;
}

std::size_t ChannelCore::len() const noexcept {
  const std::uint64_t head = std::max(head_.load(std::memory_order_acquire), floor_.load(std::memory_order_acquire));
  const std::uint64_t tail = tail_.load(std::memory_order_acquire);
  return tail > head ? static_cast<std::size_t>(std::min<std::uint64_t>(tail - head, capacity_)) : 0;
}

void flush_scope(PollScope& scope) noexcept {
  for (unsigned i = 0; i < scope.n; ++i) {
    if (scope.dirty_tx[i]) {
      scope.dirty[i]->clear_tx_dirty();
    } else {
      scope.dirty[i]->clear_rx_dirty();
    }
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (unsigned i = 0; i < scope.n; ++i) {
    if (scope.dirty_tx[i]) {
      scope.dirty[i]->wake_rx_waiter();
    } else {
      scope.dirty[i]->wake_tx_waiter();
    }
  }
  scope.n = 0;
}

}  // namespace detail
}  // namespace omega::actor
