#include "io/io_circulation.hpp"

#include <string>
#include <type_traits>

#include <omega/ovp/frame.hpp>

namespace omega {

const char* IoOp::name() const noexcept {
  constexpr const char* kNames[] = {"TcpConnect", "TcpListen", "TcpAccept",  "TcpSend",   "TcpReceive",
                                    "TcpClose",   "OvpInit",   "OvpEmit",    "OvpReceive", "OvpClose"};
  static_assert(std::size(kNames) == std::variant_size_v<IoOpVariant>);
  return kNames[index()];
}

namespace detail {
namespace {
// What every platform refuses before a reactor sees the operation; empty when it may run.
std::string precheck(const IoOp& op) {
  return std::visit(
      [](const auto& o) -> std::string {
        using Op = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<Op, io_ops::OvpInit>) {
          if (o.my_drone_id == 0 || o.my_drone_id == ovp::kBroadcast) {
            return "OvpInit: my_drone_id must lie in 1..4294967294, got " + std::to_string(o.my_drone_id);
          }
          if (o.interface.empty()) return "OvpInit: interface is empty";
          return {};
        } else if constexpr (std::is_same_v<Op, io_ops::OvpEmit>) {
          if (o.payload.size() > ovp::kMaxPayload) {
            return "OvpEmit: payload of " + std::to_string(o.payload.size()) + " bytes is above the maximum of " +
                   std::to_string(ovp::kMaxPayload);
          }
          if (o.targets) {
            if (o.targets->empty()) return "OvpEmit: targets is an empty list (nullopt means every drone)";
            for (auto t : *o.targets) {
              if (t == 0 || t == ovp::kBroadcast) {
                return "OvpEmit: target drone id " + std::to_string(t) + " is not a drone (1..4294967294)";
              }
            }
          }
          return {};
        } else if constexpr (std::is_same_v<Op, io_ops::TcpReceive>) {
          if (o.max_bytes == 0 || o.max_bytes > kMaxReceiveBytes) {
            return "TcpReceive: max_bytes must lie in 1.." + std::to_string(kMaxReceiveBytes) + ", got " +
                   std::to_string(o.max_bytes);
          }
          return {};
        } else if constexpr (std::is_same_v<Op, io_ops::TcpListen>) {
          if (o.backlog < 1) return "TcpListen: backlog must be at least 1, got " + std::to_string(o.backlog);
          return {};
        } else {
          return {};
        }
      },
      op.variant());
}
}  // namespace

Reactor* IoCirculation::reactor_locked() {
  if (!reactor_) reactor_ = make_platform_reactor(counters_);
  return reactor_.get();
}

Result<TaskHandle<IoOutput>, NodeError> IoCirculation::submit(IoOp op, std::optional<Nanos> timeout, DriveFn drive,
                                                              void* ctx) {
  std::int64_t deadline = INT64_MAX;
  if (timeout) {
    const std::int64_t now = now_ns();
    deadline = timeout->count() > INT64_MAX - now ? INT64_MAX : now + std::max<std::int64_t>(timeout->count(), 0);
  }
  Reactor* reactor = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return Err(NodeError::NodeShuttingDown);
    reactor = reactor_locked();
  }
  auto* state = TaskState<IoOutput>::acquire(drive, ctx);
  TaskHandle<IoOutput> handle(state);
  counters_.submitted.add();
  IoCompletion done(state, &counters_);
  if (auto why = precheck(op); !why.empty()) {
    done.fail(std::move(why));
  } else if (timeout && timeout->count() <= 0) {
    done.complete(Err(TaskError::TimedOut{}));  // expired before it could start: nothing was done
  } else {
    // reactor_ is destroyed only with this object, so the pointer stays valid outside the
    // lock; a submission racing shutdown() is resolved by the reactor's own stopped check.
    reactor->submit(IoRequest{std::move(op), deadline, std::move(done)});
  }
  return handle;
}

void IoCirculation::shutdown() noexcept {
  Reactor* reactor = nullptr;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    reactor = reactor_.get();
  }
  if (reactor) reactor->shutdown();
}

void IoCirculation::add_metrics(MetricsSnapshot& snap) const {
  (void)snap.add_counter("omega_io_submitted_total", "I/O operations accepted by submit_io_task", {},
                         counters_.submitted.value());
  (void)snap.add_counter("omega_io_completed_total", "I/O operations resolved with an output", {},
                         counters_.completed.value());
  (void)snap.add_counter("omega_io_failed_total", "I/O operations resolved with ExecutionFailed", {},
                         counters_.failed.value());
  (void)snap.add_counter("omega_io_timed_out_total", "I/O operations resolved with TimedOut (cancelled)", {},
                         counters_.timed_out.value());
  (void)snap.add_counter("omega_io_bad_tokens_total", "I/O operations naming an unknown or stale socket token", {},
                         counters_.bad_tokens.value());
  (void)snap.add_counter("omega_io_reactor_wakeups_total", "Reactor loop wake-ups", {},
                         counters_.wakeups.value());
  (void)snap.add_gauge("omega_io_open_sockets", "Sockets the reactor holds open", {},
                       static_cast<double>(counters_.open_sockets.value()));
  Reactor* reactor = nullptr;
  {
    std::lock_guard lock(mutex_);
    reactor = reactor_.get();  // destroyed only with this object
  }
  if (reactor) reactor->add_metrics(snap);
}

}  // namespace detail
}  // namespace omega
