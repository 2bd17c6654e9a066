// Embind bindings for the nanosecond scheduler: NativeScheduler, wrapped by js/scheduler.mjs
// (omega.createScheduler). The scheduler's wheel is the same C++ as natively; JS only drives
// tick() from the event loop. Tasks are built-in C++ workloads ('noop', 'spin') run on the
// ticking thread. Bad arguments are refused with a reason (the JS wrapper throws TypeError)
// and counted in omega_js_invalid_arguments_total; nothing here throws into JS.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <omega/omega.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "js_common.hpp"

namespace omega::js {
namespace {

using emscripten::val;

constexpr double kMaxSafeInteger = 9007199254740991.0;

val refuse(const std::string& error) {
  invalid_arguments_counter().add();
  val r = val::object();
  r.set("ok", false);
  r.set("error", error);
  return r;
}

// A non-negative integer JS number (not a string, not NaN), at most `max`.
std::optional<double> whole_number(const val& v, double max) {
  if (!v.isNumber()) return std::nullopt;
  const double d = v.as<double>();
  if (!(d >= 0 && d <= max) || d != std::floor(d)) return std::nullopt;
  return d;
}

// Busy work for `ns` nanoseconds on the ticking thread.
void workload_spin(double ns) {
  const auto until = Clock::now() + Nanos(static_cast<std::int64_t>(ns));
  while (Clock::now() < until) {
  }
}
void workload_noop(double) {}

struct Workload {
  const char* name;
  void (*fn)(double);
  double max_arg;
};
constexpr Workload kWorkloads[] = {
    {"noop", &workload_noop, kMaxSafeInteger},
    {"spin", &workload_spin, 1e7},  // up to 10 ms: the main thread must stay responsive
};

val percentiles_js(const HistogramSnapshot& s) {
  val r = val::object();
  const Percentiles p = s.percentiles();
  r.set("count", static_cast<double>(p.count));
  r.set("min", static_cast<double>(p.min));
  r.set("p50", static_cast<double>(p.p50));
  r.set("p90", static_cast<double>(p.p90));
  r.set("p95", static_cast<double>(s.value_at_quantile(0.95)));
  r.set("p99", static_cast<double>(p.p99));
  r.set("p999", static_cast<double>(p.p999));
  r.set("max", static_cast<double>(p.max));
  r.set("mean", p.mean);
  return r;
}

class JsScheduler {
 public:
  // config: { tickRateNs, maxTasksPerTick, windowSize, lipschitzConstant, tickSampleShift,
  // parallel } (all optional). Returns {ok: true} or {ok: false, error}.
  val init(const val& config) {
    if (scheduler_) return refuse("scheduler already created");
    SchedulerConfig c;
    if (!config.isUndefined() && !config.isNull()) {
      if (config.isNumber() || config.isString() || config.isTrue() || config.isFalse() || config.isArray()) {
        return refuse("config must be an object");
      }
      auto integer = [&](const char* key, double max, auto& out) -> bool {
        const val v = config[key];
        if (v.isUndefined()) return true;
        const auto d = whole_number(v, max);
        if (!d) return false;
        out = static_cast<std::remove_reference_t<decltype(out)>>(*d);
        return true;
      };
      if (!integer("tickRateNs", kMaxSafeInteger, c.tick_rate_ns)) {
        return refuse("tickRateNs must be a non-negative integer number of nanoseconds");
      }
      if (!integer("maxTasksPerTick", kMaxSafeInteger, c.max_tasks_per_tick)) {
        return refuse("maxTasksPerTick must be a non-negative integer");
      }
      if (!integer("windowSize", kMaxSafeInteger, c.window_size)) {
        return refuse("windowSize must be a non-negative integer");
      }
      if (!integer("tickSampleShift", 64, c.tick_sample_shift)) {
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
    val r = val::object();
    r.set("ok", true);
    return r;
  }

  // schedule(workload, arg, delayNs, periodNs, priority) -> {ok: true, id} | {ok: false, error}.
  // Ids are strings: a generation-checked 64-bit id does not fit a JS number exactly.
  val schedule(const val& workload, const val& arg, const val& delay, const val& period, const val& priority) {
    if (!scheduler_) return refuse("no scheduler: call init() first");
    if (!workload.isString()) return refuse("workload must be a string ('noop' or 'spin')");
    const std::string name = workload.as<std::string>();
    const Workload* w = nullptr;
    for (const auto& candidate : kWorkloads) {
      if (name == candidate.name) w = &candidate;
    }
    if (w == nullptr) return refuse("unknown workload '" + name + "' ('noop' or 'spin')");
    const auto a = whole_number(arg, w->max_arg);
    if (!a) return refuse(name + ": argument must be an integer in [0, " + std::to_string(w->max_arg) + "]");
    const auto d = whole_number(delay, kMaxSafeInteger);
    if (!d) return refuse("delayNs must be a non-negative integer number of nanoseconds");
    const auto p = whole_number(period, kMaxSafeInteger);
    if (!p) return refuse("periodNs must be a non-negative integer number of nanoseconds (0: one-shot)");
    if (!priority.isString()) return refuse("priority must be 'critical', 'high', 'normal' or 'low'");
    const std::string prio = priority.as<std::string>();
    TimerPriority tp = TimerPriority::Normal;
    if (prio == "critical") {
      tp = TimerPriority::Critical;
    } else if (prio == "high") {
      tp = TimerPriority::High;
    } else if (prio == "low") {
      tp = TimerPriority::Low;
    } else if (prio != "normal") {
      return refuse("priority must be 'critical', 'high', 'normal' or 'low'");
    }
    auto run = [fn = w->fn, x = *a] { fn(x); };
    const auto delay_ns = Nanos(static_cast<std::int64_t>(*d));
    const TimerId id =
        *p > 0 ? scheduler_->schedule(TimerTask::periodic(run, Nanos(static_cast<std::int64_t>(*p)), delay_ns).with_priority(tp))
               : scheduler_->schedule(TimerTask(run, delay_ns).with_priority(tp));
    val r = val::object();
    r.set("ok", true);
    r.set("id", std::to_string(id.raw()));
    return r;
  }

  // 1: cancelled; 0: not pending (already ran, already cancelled); -1: bad id (counted).
  int cancel(const val& id) {
    if (!scheduler_) return 0;
    if (!id.isString()) {
      invalid_arguments_counter().add();
      return -1;
    }
    const std::string s = id.as<std::string>();
    std::uint64_t raw = 0;
    if (s.empty() || s.size() > 20) {
      invalid_arguments_counter().add();
      return -1;
    }
    for (char ch : s) {
      if (ch < '0' || ch > '9' || raw > (~std::uint64_t{0} - 9) / 10) {
        invalid_arguments_counter().add();
        return -1;
      }
      raw = raw * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    return scheduler_->cancel(TimerId::from_raw(raw)) ? 1 : 0;
  }

  double tick() { return scheduler_ ? static_cast<double>(scheduler_->tick()) : 0.0; }

  // Nanoseconds until tick() may have work (0: now; Infinity: nothing scheduled).
  double next_due_in_ns() const {
    if (!scheduler_) return INFINITY;
    const std::int64_t next = scheduler_->next_deadline_ns();
    if (next == INT64_MAX) return INFINITY;
    const std::int64_t in = next - now_ns();
    return in > 0 ? static_cast<double>(in) : 0.0;
  }

  val metrics() const {
    val r = val::object();
    if (!scheduler_) return r;
    const SchedulerMetrics m = scheduler_->metrics();
    r.set("ticks", static_cast<double>(m.ticks));
    r.set("timedTicks", static_cast<double>(m.timed_ticks));
    r.set("avgTickNs", m.avg_tick_time_ns);
    r.set("minTickNs", static_cast<double>(m.min_tick_time_ns));
    r.set("p50TickNs", static_cast<double>(m.p50_tick_time_ns));
    r.set("p95TickNs", static_cast<double>(m.p95_tick_time_ns));
    r.set("p99TickNs", static_cast<double>(m.p99_tick_time_ns));
    r.set("maxTickNs", static_cast<double>(m.max_tick_time_ns));
    r.set("tasksPerSecond", m.tasks_per_second);
    r.set("scheduled", static_cast<double>(m.scheduled));
    r.set("executed", static_cast<double>(m.executed));
    r.set("cancelled", static_cast<double>(m.cancelled));
    r.set("panicked", static_cast<double>(m.panicked));
    r.set("carriedOver", static_cast<double>(m.carried_over));
    r.set("pending", static_cast<double>(m.pending));
    r.set("ready", static_cast<double>(m.ready));
    r.set("memoryBytes", static_cast<double>(m.memory_bytes));
    r.set("temporalOverlap", m.temporal_overlap);
    r.set("strangeLoopState", m.strange_loop_state);
    r.set("strangeLoopBound", m.strange_loop_bound);
    r.set("lateness", percentiles_js(m.lateness));
    r.set("tickTime", percentiles_js(m.tick_time));
    return r;
  }

  double temporal_overlap() const { return scheduler_ ? scheduler_->temporal_overlap() : 0.0; }
  double strange_loop_state() const { return scheduler_ ? scheduler_->strange_loop_state() : 0.0; }

  // run() from JS: the browser main thread and the single-threaded build must not block, so
  // this reports why instead of blocking (a worker would drive tick() itself).
  val run() {
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

 private:
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace
}  // namespace omega::js

EMSCRIPTEN_BINDINGS(omega_scheduler) {
  using namespace emscripten;
  using omega::js::JsScheduler;
  class_<JsScheduler>("NativeScheduler")
      .constructor<>()
      .function("init", &JsScheduler::init)
      .function("schedule", &JsScheduler::schedule)
      .function("cancel", &JsScheduler::cancel)
      .function("tick", &JsScheduler::tick)
      .function("nextDueInNs", &JsScheduler::next_due_in_ns)
      .function("metrics", &JsScheduler::metrics)
      .function("temporalOverlap", &JsScheduler::temporal_overlap)
      .function("strangeLoopState", &JsScheduler::strange_loop_state)
      .function("run", &JsScheduler::run);
}
