#include <omega/base/assert.hpp>
#include <omega/exec/signals.hpp>

#include <algorithm>

namespace omega {

SignalSubscription::~SignalSubscription() {
  if (hub_ && state_) hub_->unsubscribe(state_.get());
}

std::optional<SystemSignal> SignalSubscription::try_next() noexcept {
  if (!state_) return std::nullopt;
  SystemSignal s;
  if (state_->queue.try_pop(s)) return s;
  return std::nullopt;
}

std::uint64_t SignalSubscription::dropped() const noexcept {
  return state_ ? state_->dropped.load(std::memory_order_relaxed) : 0;
}

SignalSubscription SignalHub::subscribe(std::size_t capacity) {
  OMEGA_ASSERT(capacity >= 1, "a subscription needs room for at least one signal");
  auto state = std::make_shared<SignalSubscription::State>(capacity);
  std::lock_guard lock(mutex_);
  subscribers_.push_back(state);
  count_.store(subscribers_.size(), std::memory_order_relaxed);
  return SignalSubscription(shared_from_this(), std::move(state));
}

void SignalHub::unsubscribe(const SignalSubscription::State* state) noexcept {
  std::lock_guard lock(mutex_);
  std::erase_if(subscribers_, [&](const auto& s) { return s.get() == state; });
  count_.store(subscribers_.size(), std::memory_order_relaxed);
}

void SignalHub::publish(const SystemSignal& signal) noexcept {
  if (!has_subscribers()) return;
  std::lock_guard lock(mutex_);
  for (const auto& s : subscribers_) {
    SystemSignal copy = signal;
    if (!s->queue.try_push(copy, Priority::Normal)) s->dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace omega
