#include "scheduler.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "workloads.hpp"

namespace omega::js {
namespace {

// A timer id as JS holds it: the decimal string of its raw 64 bits.
std::optional<std::uint64_t> timer_id_arg(const val& v) {
  if (!v.isString()) return std::nullopt;
  const std::string s = v.as<std::string>();
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t raw = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9' || raw > (~std::uint64_t{0} - 9) / 10) return std::nullopt;
    raw = raw * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return raw;
}

}  // namespace

val JsScheduler::init(const val& config) {
  if (scheduler_) return refuse("scheduler already created");
  SchedulerConfig c;
  if (!config.isUndefined() && !config.isNull()) {
    if (!object_arg(config)) return refuse("config must be an object");
    if (!config_integer(config, "tickRateNs", kMaxSafeInteger, c.tick_rate_ns)) {
      return refuse("tickRateNs must be a non-negative integer number of nanoseconds");
    }
    if (!config_integer(config, "maxTasksPerTick", kMaxSafeInteger, c.max_tasks_per_tick)) {
      return refuse("maxTasksPerTick must be a non-negative integer");
    }
    if (!config_integer(config, "windowSize", kMaxSafeInteger, c.window_size)) {
      return refuse("windowSize must be a non-negative integer");
    }
    if (!config_integer(config, "tickSampleShift", 64, c.tick_sample_shift)) {
      return refuse("tickSampleShift must be an integer in [0, 20]");
    }
    const val k = config["lipschitzConstant"];
    if (!k.isUndefined()) {
      if (!k.isNumber()) return refuse("lipschitzConstant must be a number in (0, 1)");
      c.lipschitz_constant = k.as<double>();
    }
    const val parallel = config["parallel"];
    if (!parallel.isUndefined() && !parallel.isFalse()) {
      return refuse(parallel.isTrue()
                        ? "parallel dispatch is available from C++ (Scheduler(config, system)); from JS, tasks run on "
                          "the ticking thread"
                        : "parallel must be a boolean");
    }
  }
  auto created = Scheduler::try_create(c);
  if (!created) return refuse(created.error());
  scheduler_ = std::make_unique<Scheduler>(std::move(*created));
  return ok_result();
}

val JsScheduler::schedule(const val& workload, const val& arg, const val& delay, const val& period,
                          const val& priority) {
  if (!scheduler_) return refuse("no scheduler: call init() first");
  std::string name;
  if (!string_arg(workload, name)) return refuse("workload must be a string ('noop' or 'spin')");
  const Workload* w = find_workload(kSchedulerWorkloads, name);
  if (w == nullptr) return refuse("unknown workload '" + name + "' ('noop' or 'spin')");
  const auto a = integer_in(arg, 0, w->max_arg);
  if (!a) return refuse(name + ": argument must be an integer in [0, " + std::to_string(w->max_arg) + "]");
  const auto d = integer_in(delay, 0, kMaxSafeInteger);
  if (!d) return refuse("delayNs must be a non-negative integer number of nanoseconds");
  const auto p = integer_in(period, 0, kMaxSafeInteger);
  if (!p) return refuse("periodNs must be a non-negative integer number of nanoseconds (0: one-shot)");
  const std::optional<Priority> prio = priority_arg(priority);
  if (!prio) return refuse(priority_refusal());
  auto task = [run = w->run, x = *a] { run(x); };
  const auto delay_ns = Nanos(static_cast<std::int64_t>(*d));
  const TimerId id =
      *p > 0 ? scheduler_->schedule(
                   TimerTask::periodic(task, Nanos(static_cast<std::int64_t>(*p)), delay_ns).with_priority(*prio))
             : scheduler_->schedule(TimerTask(task, delay_ns).with_priority(*prio));
  return ok_result(val(std::to_string(id.raw())));
}

int JsScheduler::cancel(const val& id) {
  if (!scheduler_) return 0;
  const auto raw = timer_id_arg(id);
  if (!raw) {
    invalid_arguments().add();
    return -1;
  }
  return scheduler_->cancel(TimerId::from_raw(*raw)) ? 1 : 0;
}

double JsScheduler::next_due_in_ns() const {
  if (!scheduler_) return INFINITY;
  const std::int64_t next = scheduler_->next_deadline_ns();
  if (next == INT64_MAX) return INFINITY;
  const std::int64_t in = next - now_ns();
  return in > 0 ? static_cast<double>(in) : 0.0;
}

val JsScheduler::metrics() const {
  val r = val::object();
  if (!scheduler_) return r;
  const SchedulerMetrics m = scheduler_->metrics();
  set_numbers(r, "ticks", m.ticks, "timedTicks", m.timed_ticks, "avgTickNs", m.avg_tick_time_ns,
              "minTickNs", m.min_tick_time_ns, "p50TickNs", m.p50_tick_time_ns, "p95TickNs", m.p95_tick_time_ns,
              "p99TickNs", m.p99_tick_time_ns, "maxTickNs", m.max_tick_time_ns,
              "tasksPerSecond", m.tasks_per_second, "scheduled", m.scheduled, "executed", m.executed,
              "cancelled", m.cancelled, "panicked", m.panicked, "carriedOver", m.carried_over,
              "pending", m.pending, "ready", m.ready, "memoryBytes", m.memory_bytes,
              "temporalOverlap", m.temporal_overlap, "strangeLoopState", m.strange_loop_state,
              "strangeLoopBound", m.strange_loop_bound);
  r.set("lateness", percentiles_to_js(m.lateness, /*with_p95=*/true));
  r.set("tickTime", percentiles_to_js(m.tick_time, /*with_p95=*/true));
  return r;
}

val JsScheduler::run() {
  val out = val::object();
  out.set("ok", false);
  if (!scheduler_) {
    out.set("error", std::string("no scheduler: call init() first"));
  } else if (!can_park()) {
    auto r = scheduler_->run();  // returns WouldBlock at once: the core's own contract
    out.set("error", std::string(r ? "stopped" : to_string(r.error())));
  } else {
    // This thread could block, but nothing in JS could call stop() while it does.
    out.set("error", std::string("WouldBlock"));
  }
  return out;
}

}  // namespace omega::js
