// Embind bindings: the JS face of the runtime. Exceptions never cross this boundary: bad
// arguments from JS get a clear result ({ok:false, error}) or NaN, and are counted in
// omega_js_invalid_arguments_total; Embind itself throws a TypeError for wrong JS types.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <omega/omega.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace omega::js {
namespace {

using emscripten::val;

#if defined(__EMSCRIPTEN_PTHREADS__)
constexpr const char* kVariant = "threaded";
#else
constexpr const char* kVariant = "single-threaded";
#endif

// Largest integer a JS number holds exactly; samples past it would be silently rounded.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// JS arguments arrive as val and are checked here: Embind's own conversions would coerce
// ('123' to 123, undefined to NaN) or throw without counting.
double number_arg(const val& v) { return v.isNumber() ? v.as<double>() : NAN; }
bool string_arg(const val& v, std::string& out) {
  if (!v.isString()) return false;
  out = v.as<std::string>();
  return true;
}

struct RuntimeMetrics {
  MetricsRegistry registry;
  Counter& invalid_arguments =
      registry.counter("omega_js_invalid_arguments_total", "Calls from JS rejected for bad arguments").value();
  Counter& samples = registry.counter("omega_js_samples_recorded_total", "Samples recorded from JS").value();
};

RuntimeMetrics& runtime() {
  static RuntimeMetrics metrics;
  return metrics;
}

val error_result(std::string_view error) {
  runtime().invalid_arguments.add();
  val r = val::object();
  r.set("ok", false);
  r.set("error", std::string(error));
  return r;
}

val ok_result() {
  val r = val::object();
  r.set("ok", true);
  return r;
}

val percentiles_to_js(const Percentiles& p) {
  val r = val::object();
  r.set("count", static_cast<double>(p.count));
  r.set("min", static_cast<double>(p.min));
  r.set("p50", static_cast<double>(p.p50));
  r.set("p90", static_cast<double>(p.p90));
  r.set("p99", static_cast<double>(p.p99));
  r.set("p999", static_cast<double>(p.p999));
  r.set("max", static_cast<double>(p.max));
  r.set("mean", p.mean);
  return r;
}

// Non-empty buckets as [lower, upper, count] triples, for drawing.
val buckets_to_js(const HistogramSnapshot& s) {
  val out = val::array();
  const auto counts = s.buckets();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    val b = val::array();
    b.call<void>("push", static_cast<double>(HistogramLayout::lower_bound(i)),
                 static_cast<double>(HistogramLayout::upper_bound(i)), static_cast<double>(counts[i]));
    out.call<void>("push", b);
  }
  return out;
}

class JsHistogram {
 public:
  // Records one sample in nanoseconds. Anything but a number in [0, 2^53] (strings, which
  // Embind would otherwise coerce, NaN, negatives, infinities) is refused: false, counted.
  bool record(const val& sample) {
    const double ns = number_arg(sample);
    if (!(ns >= 0.0) || ns > kMaxSafeInteger) {
      runtime().invalid_arguments.add();
      return false;
    }
    histogram_.record(static_cast<std::uint64_t>(ns));
    runtime().samples.add();
    return true;
  }
  double count() const { return static_cast<double>(histogram_.snapshot().count()); }
  // NaN for q outside [0, 1] (counted as a bad argument).
  double value_at_quantile(const val& quantile) const {
    const double q = number_arg(quantile);
    if (!(q >= 0.0 && q <= 1.0)) {
      runtime().invalid_arguments.add();
      return NAN;
    }
    return static_cast<double>(histogram_.snapshot().value_at_quantile(q));
  }
  val percentiles() const { return percentiles_to_js(histogram_.snapshot().percentiles()); }
  val buckets() const { return buckets_to_js(histogram_.snapshot()); }
  void merge(const JsHistogram& other) { histogram_.merge(other.histogram_.snapshot()); }
  void reset() { histogram_.reset(); }
  const Histogram& native() const { return histogram_; }

 private:
  Histogram histogram_;
};

// Records how late a parked worker thread wakes after its timeout: the park primitive, the
// clock and the histogram exercised together, off the main thread. Threaded build only.
class ParkSampler {
 public:
  ParkSampler() : state_(std::make_shared<State>()) {}
  ~ParkSampler() { stop(); }

  // Starts a worker that parks for periodNs and records the lateness of each wake-up.
  // Returns false in the single-threaded build, for a bad period, or when already running.
  bool start(const val& period_arg) {
#if defined(__EMSCRIPTEN_PTHREADS__)
    const double period_ns = number_arg(period_arg);
    if (!(period_ns >= 1e4 && period_ns <= 1e10)) {
      runtime().invalid_arguments.add();
      return false;
    }
    if (running_) return false;
    state_->stop.store(0, std::memory_order_relaxed);
    running_ = true;
    const Nanos period{static_cast<std::int64_t>(period_ns)};
    // Detached: stop() must not join, because the browser main thread may not block.
    // The thread keeps the state alive through its own reference.
    std::thread([state = state_, period] {
      while (state->stop.load(std::memory_order_acquire) == 0) {
        const auto start = Clock::now();
        (void)park_wait(state->stop, 0, period);
        const auto late = Clock::now() - start - period;
        state->lateness.record(static_cast<std::uint64_t>(std::max<std::int64_t>(late.count(), 0)));
      }
    }).detach();
    return true;
#else
    (void)period_arg;
    return false;
#endif
  }
  void stop() {
    state_->stop.store(1, std::memory_order_release);
    park_wake_all(state_->stop);
    running_ = false;
  }
  bool running() const { return running_; }
  val percentiles() const { return percentiles_to_js(state_->lateness.snapshot().percentiles()); }
  val buckets() const { return buckets_to_js(state_->lateness.snapshot()); }

 private:
  struct State {
    std::atomic<std::uint32_t> stop{0};
    Histogram lateness;
  };
  std::shared_ptr<State> state_;
  bool running_ = false;
};

Result<MetricLabels, std::string> labels_from_js(const val& labels) {
  MetricLabels out;
  if (labels.isUndefined() || labels.isNull()) return out;
  if (labels.isNumber() || labels.isString() || labels.isTrue() || labels.isFalse() || labels.isArray()) {
    return Err(std::string("labels must be an object of string values"));
  }
  const val entries = val::global("Object").call<val>("entries", labels);
  const auto n = entries["length"].as<unsigned>();
  for (unsigned i = 0; i < n; ++i) {
    const val kv = entries[i];
    if (!kv[1].isString()) return Err(std::string("label values must be strings"));
    out.push_back({kv[0].as<std::string>(), kv[1].as<std::string>()});
  }
  return out;
}

class JsMetricsSnapshot {
 public:
  val add_counter(const val& name, const val& help, const val& labels, const val& value) {
    const double v = number_arg(value);
    if (!(v >= 0.0) || v > kMaxSafeInteger) return error_result("counter value must be an integer in [0, 2^53)");
    return finish(name, help, labels, [&](const std::string& n, const std::string& h, MetricLabels l) {
      return snapshot_.add_counter(n, h, std::move(l), static_cast<std::uint64_t>(v));
    });
  }
  val add_gauge(const val& name, const val& help, const val& labels, const val& value) {
    if (!value.isNumber()) return error_result("gauge value must be a number");
    const double v = value.as<double>();
    return finish(name, help, labels, [&](const std::string& n, const std::string& h, MetricLabels l) {
      return snapshot_.add_gauge(n, h, std::move(l), v);
    });
  }
  val add_histogram(const val& name, const val& help, const val& labels, const JsHistogram& histogram) {
    return finish(name, help, labels, [&](const std::string& n, const std::string& h, MetricLabels l) {
      return snapshot_.add_histogram(n, h, std::move(l), histogram.native().snapshot());
    });
  }
  std::string to_json() const { return snapshot_.to_json(); }
  std::string to_prometheus() const { return snapshot_.to_prometheus(); }

 private:
  template <class Add>
  val finish(const val& name, const val& help, const val& labels, Add&& add) {
    std::string n, h;
    if (!string_arg(name, n)) return error_result("metric name must be a string");
    if (!string_arg(help, h)) return error_result("help must be a string");
    auto parsed = labels_from_js(labels);
    if (!parsed) return error_result(parsed.error());
    auto added = add(n, h, std::move(*parsed));
    if (!added) return error_result(to_string(added.error()));
    return ok_result();
  }
  MetricsSnapshot snapshot_;
};

double now_ns_js() { return static_cast<double>(now_ns()); }

val clock_info_js() {
  const ClockInfo info = clock_info();
  val r = val::object();
  r.set("source", std::string(info.source));
  r.set("reason", std::string(info.reason));
  r.set("resolutionNs", info.resolution_ns);
  return r;
}

val build_info_js() {
  val r = val::object();
  r.set("variant", std::string(kVariant));
  r.set("simd", std::string(histogram_simd_target()));
  r.set("canPark", can_park());
  r.set("hardwareConcurrency", static_cast<double>(std::thread::hardware_concurrency()));
  return r;
}

std::string runtime_metrics_json() { return runtime().registry.snapshot().to_json(); }
std::string runtime_metrics_prometheus() { return runtime().registry.snapshot().to_prometheus(); }

}  // namespace
}  // namespace omega::js

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
}
