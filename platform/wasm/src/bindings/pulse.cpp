// NativeSystem's pulse part: spawning the built-in cooperative workloads (workloads.hpp) and
// Pulse's statistics and switches for JS.
#include "system.hpp"
#include "workloads.hpp"

namespace omega::js {

// spawn(workload, arg, priority) -> {ok: true, id} | {ok: false, error[, range | backpressure]}
val JsSystem::spawn(const val& workload, const val& arg, const val& priority) {
  if (!system_) return refuse("no system: call init() first");
  std::string name;
  if (!string_arg(workload, name)) return refuse("workload must be a string");
  const CoroWorkload* w = find_coro_workload(name);
  if (!w) {
    std::string names;
    for (const auto& c : kCoroWorkloads) names += (names.empty() ? "" : ", ") + std::string(c.name);
    return refuse("unknown workload '" + name + "' (" + names + ")");
  }
  if (!arg.isNumber()) return refuse(name + ": argument must be a number");
  const auto a = number_in(arg, 0, w->max_arg);
  if (!a) return refuse_range(name + ": argument must be in [0, " + std::to_string(static_cast<std::int64_t>(w->max_arg)) + "]");
  const std::optional<Priority> p = priority_arg(priority);
  if (!p) return refuse(priority_refusal());
  return track(spawned_, system_->spawn(*p, w->make(*a), rng_));
}

val JsSystem::pulse_stats() const {
  val r = val::object();
  if (!system_) return r;
  const PulseStats s = system_->pulse().stats();
  set_numbers(r, "spawned", s.spawned, "completed", s.completed, "cancelled", s.cancelled, "promotions", s.promotions,
              "demotions", s.demotions, "warnings", s.warnings, "watchdogFlags", s.watchdog_flags, "rescues", s.rescues,
              "isolatedPolls", s.isolated_polls, "live", s.live, "slowLaneQueued", s.slow_lane_queued);
  val tiers = val::object();
  set_numbers(tiers, "monitor", s.tasks_at_tier[static_cast<std::size_t>(Tier::Monitor)], "warn",
              s.tasks_at_tier[static_cast<std::size_t>(Tier::Warn)], "yield",
              s.tasks_at_tier[static_cast<std::size_t>(Tier::Yield)], "isolate",
              s.tasks_at_tier[static_cast<std::size_t>(Tier::Isolate)]);
  r.set("tiers", tiers);
  r.set("algorithm", std::string(name_of(kAlgorithmNames, s.algorithm)));
  r.set("enabled", s.enabled);
  r.set("slowLaneIsolation", s.slow_lane_isolation);
  val workers = val::array();
  for (const WorkerMetrics& w : system_->pulse().all_worker_metrics()) {
    val o = val::object();
    set_numbers(o, "worker", w.worker, "polls", w.polls, "violations", w.violations, "yields", w.yields, "cpuNs",
                w.cpu_ns, "tasks", w.tasks, "slowPolls", w.slow_polls, "pollP50Ns", w.poll_time.value_at_quantile(0.5),
                "pollP99Ns", w.poll_time.value_at_quantile(0.99));
    workers.call<void>("push", o);
  }
  r.set("workers", workers);
  return r;
}

val JsSystem::set_pulse_enabled(const val& on) {
  if (!system_) return refuse("no system: call init() first");
  if (!on.isTrue() && !on.isFalse()) return refuse("setPulseEnabled takes true or false");
  system_->pulse().set_enabled(on.isTrue());
  return ok_result();
}

val JsSystem::set_pulse_algorithm(const val& algorithm) {
  if (!system_) return refuse("no system: call init() first");
  const auto a = named_arg(kAlgorithmNames, algorithm);
  if (!a) return refuse("algorithm must be " + names_of(kAlgorithmNames));
  system_->pulse().set_algorithm(*a);
  return ok_result();
}

}  // namespace omega::js
