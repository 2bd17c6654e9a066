#pragma once
// System signals (seed 000's "vessel dilation" and "backpressure propagation", observable):
// thread-scaling events, backpressure incidents and completion rates, delivered to every
// subscriber through its own bounded lock-free queue. Publishing never blocks the hot path
// for long: it is rare (scaling, refusals), and a full subscriber queue drops the signal
// and counts it rather than waiting.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <omega/base/error.hpp>
#include <omega/exec/queue.hpp>

namespace omega {

struct SystemSignal {
  enum class Kind : std::uint8_t {
    ThreadsScaled,   // node, from_threads -> to_threads
    Backpressure,    // node (or kAllNodes), error (QueueFull, SystemMaxedOut)
    CompletionRate,  // tasks_per_second over the interval since the previous rate signal
    SlowPoll,        // pulse: task's poll took (or, running, has taken) poll_ns on worker
  };
  static constexpr std::size_t kAllNodes = ~std::size_t{0};

  Kind kind = Kind::CompletionRate;
  std::int64_t at_ns = 0;
  std::size_t node = kAllNodes;
  unsigned from_threads = 0;
  unsigned to_threads = 0;
  NodeError error = NodeError::SystemMaxedOut;
  double tasks_per_second = 0;
  // SlowPoll: which cooperative task (TaskId value), how long, on which pulse worker, and
  // whether the watchdog saw the poll still running (it is then not over yet).
  std::uint64_t task = 0;
  std::uint64_t poll_ns = 0;
  std::size_t worker = 0;
  bool running = false;
};

class SignalHub;

// One subscriber's view. Not thread-safe: one thread drains it. Unsubscribes when destroyed.
class SignalSubscription {
 public:
  SignalSubscription() = default;
  SignalSubscription(SignalSubscription&&) noexcept = default;
  SignalSubscription& operator=(SignalSubscription&&) noexcept = default;
  ~SignalSubscription();

  [[nodiscard]] std::optional<SystemSignal> try_next() noexcept;
  // Signals lost because this subscriber's queue was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept;

 private:
  friend class SignalHub;
  struct State {
    explicit State(std::size_t capacity) : queue(capacity) {}
    OmegaQueue<SystemSignal> queue;
    std::atomic<std::uint64_t> dropped{0};
  };
  SignalSubscription(std::shared_ptr<SignalHub> hub, std::shared_ptr<State> state)
      : hub_(std::move(hub)), state_(std::move(state)) {}
  std::shared_ptr<SignalHub> hub_;
  std::shared_ptr<State> state_;
};

class SignalHub : public std::enable_shared_from_this<SignalHub> {
 public:
  SignalSubscription subscribe(std::size_t capacity);
  void publish(const SystemSignal& signal) noexcept;
  [[nodiscard]] bool has_subscribers() const noexcept { return count_.load(std::memory_order_relaxed) > 0; }

 private:
  friend class SignalSubscription;
  void unsubscribe(const SignalSubscription::State* state) noexcept;
  std::mutex mutex_;
  std::vector<std::shared_ptr<SignalSubscription::State>> subscribers_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace omega
