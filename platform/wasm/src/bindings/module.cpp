// The module's JS surface, all of it in one place (index.d.ts describes it to users; the
// wrappers in js/ build the Promise API on the classes). Each name is implemented in its
// layer's file: metrics, system (and ovp, pulse), scheduler, actor.
#include <emscripten/bind.h>

#include "actor.hpp"
#include "metrics.hpp"
#include "scheduler.hpp"
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
}
