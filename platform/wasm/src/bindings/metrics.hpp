#pragma once
// The base layer from JS: the clock, build facts, Histogram, ParkSampler (the park primitive
// and the clock measured off the main thread) and MetricsSnapshot (Prometheus/JSON export).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "js_common.hpp"

namespace omega::js {

double now_ns_js();
val clock_info_js();   // {source, reason, resolutionNs}
val build_info_js();   // {variant, simd, canPark, hardwareConcurrency, threadBudget}

class JsHistogram {
 public:
  // Records one sample in nanoseconds. Anything but a number in [0, 2^53] (strings, which
  // Embind would otherwise coerce, NaN, negatives, infinities) is refused: false, counted.
  bool record(const val& sample);
  double count() const { return static_cast<double>(histogram_.snapshot().count()); }
  // NaN for q outside [0, 1] (counted as a bad argument).
  double value_at_quantile(const val& quantile) const;
  val percentiles() const { return percentiles_to_js(histogram_.snapshot()); }
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
  bool start(const val& period_arg);
  void stop();
  bool running() const { return running_; }
  val percentiles() const { return percentiles_to_js(state_->lateness.snapshot()); }
  val buckets() const { return buckets_to_js(state_->lateness.snapshot()); }

 private:
  struct State {
    std::atomic<std::uint32_t> stop{0};
    Histogram lateness;
  };
  std::shared_ptr<State> state_;
  bool running_ = false;
};

// Each add returns {ok: true} or {ok: false, error} (counted).
class JsMetricsSnapshot {
 public:
  val add_counter(const val& name, const val& help, const val& labels, const val& value);
  val add_gauge(const val& name, const val& help, const val& labels, const val& value);
  val add_histogram(const val& name, const val& help, const val& labels, const JsHistogram& histogram);
  std::string to_json() const { return snapshot_.to_json(); }
  std::string to_prometheus() const { return snapshot_.to_prometheus(); }

 private:
  // Checks name, help and labels, then calls add(name, help, labels) for the MetricsSnapshot.
  template <class Add>
  val finish(const val& name, const val& help, const val& labels, Add&& add);
  MetricsSnapshot snapshot_;
};

}  // namespace omega::js
