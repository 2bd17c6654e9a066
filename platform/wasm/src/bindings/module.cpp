// The module's JS surface, all of it in one place (index.d.ts describes it to users; the
// wrappers in js/ build the Promise API on the classes). Each name is implemented in its
// layer's file: metrics, system (and ovp, pulse), scheduler, actor, swarm.
#include <emscripten/bind.h>

#include "actor.hpp"
#include "metrics.hpp"
#include "scheduler.hpp"
#include "swarm.hpp"
#include "system.hpp"

EMSCRIPTEN_BINDINGS(omega) {
  using namespace emscripten;
  using namespace omega::js;
  function("nowNs", &now_ns_js);
  function("clockInfo", &clock_info_js);
  function("buildInfo", &build_info_js);
  function("runtimeMetricsJson", &runtime_metrics_json);
  function("runtimeMetricsPrometheus", &runtime_metrics_prometheus);
  class_<JsHistogram>("Histogram")
      .constructor<>()
      .function("record", &JsHistogram::record)
      .function("count", &JsHistogram::count)
      .function("valueAtQuantile", &JsHistogram::value_at_quantile)
      .function("percentiles", &JsHistogram::percentiles)
      .function("buckets", &JsHistogram::buckets)
      .function("merge", &JsHistogram::merge)
      .function("reset", &JsHistogram::reset);
  class_<ParkSampler>("ParkSampler")
      .constructor<>()
      .function("start", &ParkSampler::start)
      .function("stop", &ParkSampler::stop)
      .function("running", &ParkSampler::running)
      .function("percentiles", &ParkSampler::percentiles)
      .function("buckets", &ParkSampler::buckets);
  class_<JsMetricsSnapshot>("MetricsSnapshot")
      .constructor<>()
      .function("addCounter", &JsMetricsSnapshot::add_counter)
      .function("addGauge", &JsMetricsSnapshot::add_gauge)
      .function("addHistogram", &JsMetricsSnapshot::add_histogram)
      .function("toJson", &JsMetricsSnapshot::to_json)
      .function("toPrometheus", &JsMetricsSnapshot::to_prometheus);
  class_<JsSystem>("NativeSystem")
      .constructor<>()
      .function("init", &JsSystem::init)
      .function("submit", &JsSystem::submit)
      .function("poll", &JsSystem::poll)
      .function("pending", &JsSystem::pending)
      .function("stats", &JsSystem::stats)
      .function("metricsPrometheus", &JsSystem::metrics_prometheus)
      .function("beginShutdown", &JsSystem::begin_shutdown)
      .function("shutdownFinished", &JsSystem::shutdown_finished)
      .function("shutdown", &JsSystem::shutdown)
      .function("spawn", &JsSystem::spawn)
      .function("pulseStats", &JsSystem::pulse_stats)
      .function("setPulseEnabled", &JsSystem::set_pulse_enabled)
      .function("setPulseAlgorithm", &JsSystem::set_pulse_algorithm)
      .function("ovpInit", &JsSystem::ovp_init)
      .function("ovpEmit", &JsSystem::ovp_emit)
      .function("ovpReceive", &JsSystem::ovp_receive)
      .function("ovpClose", &JsSystem::ovp_close)
      .function("pollIo", &JsSystem::poll_io);
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
  class_<JsPipeline>("NativePipeline")
      .constructor<>()
      .function("init", &JsPipeline::init)
      .function("telemetry", &JsPipeline::telemetry)
      .function("toDot", &JsPipeline::to_dot)
      .function("toPrometheus", &JsPipeline::to_prometheus)
      .function("report", &JsPipeline::report)
      .function("config", &JsPipeline::config)
      .function("info", &JsPipeline::info)
      .function("requestShutdown", &JsPipeline::request_shutdown)
      .function("stopped", &JsPipeline::stopped)
      .function("runPending", &JsPipeline::run_pending)
      .function("nextDueInMs", &JsPipeline::next_due_in_ms)
      .function("release", &JsPipeline::release)
      .function("released", &JsPipeline::released);
  class_<JsSwarm>("NativeSwarm")
      .constructor<>()
      .function("init", &JsSwarm::init)
      .function("config", &JsSwarm::config)
      .function("bootstrap", &JsSwarm::bootstrap)
      .function("registerAgent", &JsSwarm::register_agent)
      .function("stopAgent", &JsSwarm::stop_agent)
      .function("killAgent", &JsSwarm::kill_agent)
      .function("agents", &JsSwarm::agents)
      .function("agent", &JsSwarm::agent)
      .function("reserveTaskId", &JsSwarm::reserve_task_id)
      .function("submit", &JsSwarm::submit)
      .function("processCycle", &JsSwarm::process_cycle)
      .function("runFor", &JsSwarm::run_for)
      .function("result", &JsSwarm::result)
      .function("taskStatus", &JsSwarm::task_status)
      .function("cancel", &JsSwarm::cancel)
      .function("propose", &JsSwarm::propose)
      .function("vote", &JsSwarm::vote)
      .function("proposalStatus", &JsSwarm::proposal_status)
      .function("leader", &JsSwarm::leader)
      .function("memAllocate", &JsSwarm::mem_allocate)
      .function("memWrite", &JsSwarm::mem_write)
      .function("memRead", &JsSwarm::mem_read)
      .function("memTransfer", &JsSwarm::mem_transfer)
      .function("memFree", &JsSwarm::mem_free)
      .function("memGc", &JsSwarm::mem_gc)
      .function("memStats", &JsSwarm::mem_stats)
      .function("metrics", &JsSwarm::metrics)
      .function("schedulerStats", &JsSwarm::scheduler_stats)
      .function("coordinationStats", &JsSwarm::coordination_stats)
      .function("statusJson", &JsSwarm::status_json)
      .function("metricsPrometheus", &JsSwarm::metrics_prometheus)
      .function("metricsJson", &JsSwarm::metrics_json)
      .function("refuseArgument", &JsSwarm::refuse_argument)
      .function("close", &JsSwarm::close)
      .function("closed", &JsSwarm::closed);
}
