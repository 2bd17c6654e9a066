#pragma once
// The I/O circulation behind UltraOmegaSystem::submit_io_task: owns the platform reactor
// (created on the first I/O submission, so systems that never do I/O start no reactor
// thread), the I/O counters, and the checks every platform shares (argument limits, drone
// ids, timeouts already expired).
#include <memory>
#include <mutex>
#include <optional>

#include <omega/base/clock.hpp>
#include <omega/base/error.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/exec/handle.hpp>
#include <omega/io/io_op.hpp>
#include "io/reactor.hpp"

namespace omega::detail {

class IoCirculation {
 public:
  IoCirculation() = default;
  IoCirculation(const IoCirculation&) = delete;
  IoCirculation& operator=(const IoCirculation&) = delete;
  ~IoCirculation() { shutdown(); }

  // NodeShuttingDown after shutdown(); otherwise a handle that resolves as Reactor::submit
  // describes. drive/ctx: the system's hook, so waits on threads that may not block keep
  // running CPU work.
  Result<TaskHandle<IoOutput>, NodeError> submit(IoOp op, std::optional<Nanos> timeout, DriveFn drive, void* ctx);
  // Resolves every pending operation (ExecutionFailed, kIoShuttingDown) and stops the
  // reactor. Idempotent.
  void shutdown() noexcept;
  void add_metrics(MetricsSnapshot& snap) const;

 private:
  Reactor* reactor_locked();

  mutable std::mutex mutex_;
  bool stopped_ = false;  // under mutex_
  std::unique_ptr<Reactor> reactor_;
  IoCounters counters_;
};

}  // namespace omega::detail
