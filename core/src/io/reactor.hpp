#pragma once
// The reactor contract (internal): what a platform provides so the I/O circulation can run
// IoOps. Natively a reactor on the platform's one epoll event loop, on its own thread
// (platform/native/src/epoll_reactor.cpp); in WASM the browser has no raw TCP, so its
// reactor refuses TCP operations with a clear error (platform/wasm/src/wasm_reactor.cpp).
// OVP operations on both go to OvpSession (ovp_session.hpp), over the platform's frame link.
// The core never includes either platform: it calls make_platform_reactor(), which the
// platform folder CMake picked defines.
//
// Users never see these types: UltraOmegaSystem::submit_io_task is the public door.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <omega/base/error.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/exec/handle.hpp>
#include <omega/io/io_op.hpp>

namespace omega {

// What the circulation counts. Every accepted operation ends in exactly one of completed,
// failed or timed_out, so submitted - (completed + failed + timed_out) is what is in flight.
struct IoCounters {
  Counter submitted;
  Counter completed;   // resolved with an IoOutput
  Counter failed;      // resolved with ExecutionFailed (shutdown and bad tokens included)
  Counter timed_out;   // resolved with TimedOut (and cancelled)
  Counter bad_tokens;  // operations naming a socket token that is unknown or stale
  Counter wakeups;     // reactor loop wake-ups (natively: epoll_wait returns)
  Gauge open_sockets;
};

// The reactor's side of one I/O handle: resolves it exactly once and counts the outcome.
// Destroying one that was never completed resolves it with ExecutionFailed, so an
// operation dropped on any path is reported, never lost.
class IoCompletion {
 public:
  IoCompletion() noexcept = default;
  IoCompletion(detail::TaskState<IoOutput>* state, IoCounters* counters) noexcept
      : state_(state), counters_(counters) {}
  IoCompletion(IoCompletion&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)), counters_(o.counters_) {}
  IoCompletion& operator=(IoCompletion&& o) noexcept {
    if (this != &o) {
      drop();
      state_ = std::exchange(o.state_, nullptr);
      counters_ = o.counters_;
    }
    return *this;
  }
  IoCompletion(const IoCompletion&) = delete;
  IoCompletion& operator=(const IoCompletion&) = delete;
  ~IoCompletion() { drop(); }

  [[nodiscard]] bool pending() const noexcept { return state_ != nullptr; }

  void complete(Result<IoOutput, TaskError>&& result) noexcept {
    if (!state_) return;
    if (result) {
      counters_->completed.add();
    } else if (result.error().timed_out()) {
      counters_->timed_out.add();
    } else {
      counters_->failed.add();
    }
    auto* s = std::exchange(state_, nullptr);
    s->set(std::move(result));
    s->release();
  }
  void fail(std::string message) noexcept { complete(Err(TaskError::ExecutionFailed{std::move(message)})); }

 private:
  void drop() noexcept {
    if (state_) fail("I/O operation dropped by the reactor");
  }
  detail::TaskState<IoOutput>* state_ = nullptr;
  IoCounters* counters_ = nullptr;
};

// One operation handed to a reactor. deadline_ns is on omega::now_ns()'s clock; INT64_MAX:
// no timeout.
struct IoRequest {
  IoOp op;
  std::int64_t deadline_ns = INT64_MAX;
  IoCompletion done;
};

// Messages every reactor uses for the same situations, so callers can rely on them.
inline constexpr const char* kIoShuttingDown = "shutting down: the I/O reactor stopped before the operation finished";

class Reactor {
 public:
  virtual ~Reactor() = default;
  // Takes one operation, already checked by IoCirculation (argument limits). Thread-safe; never blocks on I/O. request.done is completed exactly once: with
  // the output, ExecutionFailed (the reason, with errno text natively), or TimedOut when
  // the deadline passes first (the operation is then cancelled and what it held freed).
  virtual void submit(IoRequest request) noexcept = 0;
  // Resolves every pending operation with ExecutionFailed(kIoShuttingDown), closes every
  // socket and stops the reactor's threads. Idempotent; afterwards submit() resolves at
  // once with the same error.
  virtual void shutdown() noexcept = 0;
  // "epoll (edge-triggered), 1 thread", "wasm: no TCP in the browser", ...
  [[nodiscard]] virtual std::string describe() const = 0;
  // The reactor's own series (natively: each OVP endpoint's counters and its socket's
  // kernel statistics), added to UltraOmegaSystem::metrics(). Thread-safe.
  virtual void add_metrics(MetricsSnapshot& snapshot) const { (void)snapshot; }
};

// Defined by the platform folder this build uses. `counters` outlives the reactor.
[[nodiscard]] std::unique_ptr<Reactor> make_platform_reactor(IoCounters& counters);

}  // namespace omega
