#pragma once
// NativeScheduler: the nanosecond scheduler from JS, wrapped by js/scheduler.mjs
// (omega.createScheduler). The wheel is the same C++ as natively; JS only drives tick() from
// the event loop. Tasks are built-in C++ workloads (kSchedulerWorkloads) run on the ticking
// thread.
#include <memory>

#include "js_common.hpp"

namespace omega::js {

class JsScheduler {
 public:
  // config: { tickRateNs, maxTasksPerTick, windowSize, lipschitzConstant, tickSampleShift,
  // parallel } (all optional). Returns {ok: true} or {ok: false, error}.
  val init(const val& config);
  // schedule(workload, arg, delayNs, periodNs, priority) -> {ok: true, id} | {ok: false, error}.
  // Ids are strings: a generation-checked 64-bit id does not fit a JS number exactly.
  val schedule(const val& workload, const val& arg, const val& delay, const val& period, const val& priority);
  // 1: cancelled; 0: not pending (already ran, already cancelled); -1: bad id (counted).
  int cancel(const val& id);
  double tick() { return scheduler_ ? static_cast<double>(scheduler_->tick()) : 0.0; }
  // Nanoseconds until tick() may have work (0: now; Infinity: nothing scheduled).
  double next_due_in_ns() const;
  val metrics() const;
  double temporal_overlap() const { return scheduler_ ? scheduler_->temporal_overlap() : 0.0; }
  double strange_loop_state() const { return scheduler_ ? scheduler_->strange_loop_state() : 0.0; }
  // run() from JS: the browser main thread and the single-threaded build must not block, so
  // this reports why instead of blocking (a worker would drive tick() itself).
  val run();

 private:
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace omega::js
