#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <utility>

namespace omega::js {
namespace {

#if defined(__EMSCRIPTEN_PTHREADS__)
constexpr const char* kVariant = "threaded";
#else
constexpr const char* kVariant = "single-threaded";
#endif

Result<MetricLabels, std::string> labels_from_js(const val& labels) {
  MetricLabels out;
  if (labels.isUndefined() || labels.isNull()) return out;
  if (!object_arg(labels)) return Err(std::string("labels must be an object of string values"));
  const val entries = val::global("Object").call<val>("entries", labels);
  const auto n = entries["length"].as<unsigned>();
  for (unsigned i = 0; i < n; ++i) {
    const val kv = entries[i];
    if (!kv[1].isString()) return Err(std::string("label values must be strings"));
    out.push_back({kv[0].as<std::string>(), kv[1].as<std::string>()});
  }
  return out;
}

}  // namespace

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
  set_numbers(r, "hardwareConcurrency", std::thread::hardware_concurrency(), "threadBudget", kThreadBudget);
  return r;
}

bool JsHistogram::record(const val& sample) {
  const auto ns = number_in(sample, 0, kMaxSafeInteger);
  if (!ns) {
    invalid_arguments().add();
    return false;
  }
  histogram_.record(static_cast<std::uint64_t>(*ns));
  samples_recorded().add();
  return true;
}

double JsHistogram::value_at_quantile(const val& quantile) const {
  const auto q = number_in(quantile, 0, 1);
  if (!q) {
    invalid_arguments().add();
    return NAN;
  }
  return static_cast<double>(histogram_.snapshot().value_at_quantile(*q));
}

bool ParkSampler::start(const val& period_arg) {
#if defined(__EMSCRIPTEN_PTHREADS__)
  const auto period_ns = number_in(period_arg, 1e4, 1e10);
  if (!period_ns) {
    invalid_arguments().add();
    return false;
  }
  if (running_) return false;
  state_->stop.store(0, std::memory_order_relaxed);
  running_ = true;
  const Nanos period{static_cast<std::int64_t>(*period_ns)};
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

void ParkSampler::stop() {
  state_->stop.store(1, std::memory_order_release);
  park_wake_all(state_->stop);
  running_ = false;
}

template <class Add>
val JsMetricsSnapshot::finish(const val& name, const val& help, const val& labels, Add&& add) {
  std::string n, h;
  if (!string_arg(name, n)) return refuse("metric name must be a string");
  if (!string_arg(help, h)) return refuse("help must be a string");
  auto parsed = labels_from_js(labels);
  if (!parsed) return refuse(parsed.error());
  auto added = add(n, h, std::move(*parsed));
  if (!added) return refuse(to_string(added.error()));
  return ok_result();
}

val JsMetricsSnapshot::add_counter(const val& name, const val& help, const val& labels, const val& value) {
  const auto v = number_in(value, 0, kMaxSafeInteger);
  if (!v) return refuse("counter value must be an integer in [0, 2^53)");
  return finish(name, help, labels, [&](const std::string& n, const std::string& h, MetricLabels l) {
    return snapshot_.add_counter(n, h, std::move(l), static_cast<std::uint64_t>(*v));
  });
}

val JsMetricsSnapshot::add_gauge(const val& name, const val& help, const val& labels, const val& value) {
  if (!value.isNumber()) return refuse("gauge value must be a number");
  const double v = value.as<double>();
  return finish(name, help, labels, [&](const std::string& n, const std::string& h, MetricLabels l) {
    return snapshot_.add_gauge(n, h, std::move(l), v);
  });
}

val JsMetricsSnapshot::add_histogram(const val& name, const val& help, const val& labels,
                                     const JsHistogram& histogram) {
  return finish(name, help, labels, [&](const std::string& n, const std::string& h, MetricLabels l) {
    return snapshot_.add_histogram(n, h, std::move(l), histogram.native().snapshot());
  });
}

}  // namespace omega::js
