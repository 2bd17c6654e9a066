// NativeSystem's CPU circulation: creating the system, submitting built-in workloads,
// collecting results, statistics and the stepwise shutdown.
#include <algorithm>
#include <new>

#include "system.hpp"
#include "workloads.hpp"

namespace omega::js {

// config: { nodes, superNodes, queueCapacity: [regular, super], threads: [rmin, rmax, smin, smax],
// timingSampleEvery, pulse: profile name } (all optional). Returns {ok: true} or {ok: false, error}.
val JsSystem::init(const val& config) {
  if (system_) return refuse("system already created");
  auto builder = UltraOmegaSystem::builder();
  if (!config.isUndefined() && !config.isNull()) {
    if (!object_arg(config)) return refuse("config must be an object");
    std::size_t nodes = builder.config().nodes, supers = builder.config().super_nodes;
    if (!config_integer(config, "nodes", 4096, nodes)) return refuse("nodes must be an integer in [0, 4096]");
    if (!config_integer(config, "superNodes", 4096, supers)) return refuse("superNodes must be an integer in [0, 4096]");
    builder.with_nodes(nodes).with_super_nodes(supers);
    const val capacity = config["queueCapacity"];
    if (!capacity.isUndefined()) {
      const auto r = capacity.isArray() ? number_in(capacity[0], 1, 1 << 20) : std::nullopt;
      const auto s = capacity.isArray() ? number_in(capacity[1], 1, 1 << 20) : std::nullopt;
      if (!r || !s) return refuse("queueCapacity must be [regular, super], integers in [1, 2^20]");
      builder.with_queue_capacity(static_cast<std::size_t>(*r), static_cast<std::size_t>(*s));
    }
    const val threads = config["threads"];
    if (!threads.isUndefined()) {
      unsigned t[4];
      for (int i = 0; i < 4; ++i) {
        const auto x = threads.isArray() ? number_in(threads[i], 1, 64) : std::nullopt;
        if (!x) return refuse("threads must be [regularMin, regularMax, superMin, superMax] in [1, 64]");
        t[i] = static_cast<unsigned>(*x);
      }
      builder.with_threads(t[0], t[1], t[2], t[3]);
    }
    const val sample = config["timingSampleEvery"];
    if (!sample.isUndefined()) {
      const auto e = integer_in(sample, 1, 65536);
      if (!e) return refuse("timingSampleEvery must be an integer in [1, 65536] (1: time every task)");
      builder.with_timing_sample_every(static_cast<unsigned>(*e));
    }
    const val pulse = config["pulse"];
    if (!pulse.isUndefined()) {
      const auto profile = named_arg(kPulseProfileNames, pulse);
      if (!profile) return refuse("pulse must be " + names_of(kPulseProfileNames));
      builder.with_pulse(PulseConfig::profile(*profile));
    }
  }
  if constexpr (kHasThreads) {
    // Every thread must come from the pool created at start-up (the browser cannot start
    // one on demand without yielding to the event loop): refuse what the pool cannot hold.
    // (Pulse's two threads have their own places in it: see kThreadBudget.)
    const SystemConfig& c = builder.config();
    const std::size_t supers = std::min(c.nodes, c.super_nodes);
    const std::size_t needed = (c.nodes - supers) * c.regular.max_threads + supers * c.super.max_threads;
    if (needed > kThreadBudget) {
      return refuse("this configuration needs " + std::to_string(needed) + " worker threads; the threaded build has " +
                    std::to_string(kThreadBudget) + " (fewer nodes, or threads: [...])");
    }
  }
  // The queues are allocated here: a configuration too large for the module's memory is
  // refused like any other, instead of throwing a C++ exception into JS.
  try {
    auto built = builder.try_build();
    if (!built) return refuse(built.error());
    system_ = std::make_unique<UltraOmegaSystem>(std::move(*built));
  } catch (const std::bad_alloc&) {
    return refuse("this configuration needs more memory than the module can have (smaller queueCapacity or fewer nodes)");
  }
  return ok_result();
}

// submit(workload, arg, priority, cost) -> {ok: true, id} | {ok: false, error[, backpressure]}
val JsSystem::submit(const val& workload, const val& arg, const val& priority, const val& cost) {
  if (!system_) return refuse("no system: call init() first");
  std::string name;
  if (!string_arg(workload, name)) return refuse("workload must be a string");
  const Workload* w = find_workload(kSystemWorkloads, name);
  if (!w) return refuse("unknown workload '" + name + "' (spin, hash, primes)");
  const auto a = number_in(arg, 0, w->max_arg);
  if (!a) return refuse(name + ": argument out of range");
  const std::optional<Priority> p = priority_arg(priority);
  if (!p) return refuse(priority_refusal());
  const auto c = number_in(cost, 1, 100);
  if (!c) return refuse("cost must be a number in [1, 100]");
  return track(pending_, system_->submit_cpu_task(*p, static_cast<std::uint32_t>(*c),
                                                  [run = w->run, x = *a] { return run(x); }, rng_));
}

// Finished tasks (submitted and spawned) since the last call, as [id, ok, value-or-error] triples. In the
// single-threaded build this is also where queued work runs: up to `budget` tasks (or polls),
// and no more once kPollSlice has passed, so that a queue of long polls (a hog requeued after
// every yield) cannot hold the event loop for `budget` of them.
val JsSystem::poll(const val& budget) {
  if (!system_) return val::array();
  if constexpr (!kHasThreads) {
    constexpr std::int64_t kPollSliceNs = 4'000'000;  // a browser's shortest timer turn
    constexpr std::size_t kChunk = 8;
    const double b = number_arg(budget);
    const std::size_t limit = b >= 1 ? static_cast<std::size_t>(b) : 64;
    const std::int64_t until = now_ns() + kPollSliceNs;
    for (std::size_t ran = 0; ran < limit;) {
      const std::size_t n = system_->run_pending(std::min(kChunk, limit - ran));
      if (n == 0) break;
      ran += n;
      if (now_ns() >= until) break;
    }
  } else {
    (void)budget;
  }
  val done = take_finished(pending_, [](double value) { return val(value); });
  val spawned = take_finished(spawned_, [](double value) { return val(value); });
  const auto n = spawned["length"].as<unsigned>();
  for (unsigned i = 0; i < n; ++i) done.call<void>("push", spawned[i]);
  return done;
}

val JsSystem::stats() const {
  val r = val::object();
  if (!system_) return r;
  val nodes = val::array();
  NodeStats total{};
  HistogramSnapshot wait, run;
  for (auto& node : system_->nodes()) {
    val n = val::object();
    n.set("pressure", node.get_pressure());
    n.set("level", std::string(to_string(node.get_pressure_level())));
    n.set("active", node.active_threads());
    n.set("desired", node.desired_threads());
    n.set("queued", static_cast<double>(node.queued()));
    n.set("super", node.id() < system_->config().super_nodes);  // super nodes come first
    nodes.call<void>("push", n);
    const NodeStats s = node.stats();
    total.submitted += s.submitted;
    total.completed += s.completed;
    total.rejected += s.rejected;
    total.panicked += s.panicked;
    wait.merge(node.queue_wait());
    run.merge(node.run_time());
  }
  r.set("nodes", nodes);
  set_numbers(r, "submitted", total.submitted, "completed", total.completed, "rejected", total.rejected, "panicked",
              total.panicked, "maxedOut", system_->maxed_out());
  r.set("queueWait", percentiles_to_js(wait));
  r.set("runTime", percentiles_to_js(run));
  return r;
}

// Shutdown in steps so the browser's main thread never waits on a worker: beginShutdown
// refuses new work and tells the workers to drain and exit; JS polls shutdownFinished
// from its event loop; shutdown then joins threads that have already exited.
void JsSystem::begin_shutdown() {
  if (system_) system_->begin_shutdown();
}
void JsSystem::shutdown() {
  if (system_) system_->shutdown_all();
}

}  // namespace omega::js
