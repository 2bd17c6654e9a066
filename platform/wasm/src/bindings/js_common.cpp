#include "js_common.hpp"

#include <cmath>

namespace omega::js {
namespace {

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

val failure(std::string_view error) {
  val r = val::object();
  r.set("ok", false);
  r.set("error", std::string(error));
  return r;
}

}  // namespace

double number_arg(const val& v) { return v.isNumber() ? v.as<double>() : NAN; }

std::optional<double> number_in(const val& v, double lo, double hi) {
  const double d = number_arg(v);
  if (!(d >= lo && d <= hi)) return std::nullopt;
  return d;
}

std::optional<double> integer_in(const val& v, double lo, double hi) {
  const auto d = number_in(v, lo, hi);
  if (!d || *d != std::floor(*d)) return std::nullopt;
  return d;
}

bool object_arg(const val& v) {
  return !(v.isNumber() || v.isString() || v.isTrue() || v.isFalse() || v.isArray() || v.isNull() || v.isUndefined());
}

bool string_arg(const val& v, std::string& out) {
  if (!v.isString()) return false;
  out = v.as<std::string>();
  return true;
}

Counter& invalid_arguments() { return runtime().invalid_arguments; }

val refuse(std::string_view error) {
  invalid_arguments().add();
  return failure(error);
}

val refuse_range(std::string_view error) {
  val r = refuse(error);
  r.set("range", true);
  return r;
}

val backpressure(std::string_view error) {
  val r = failure(error);
  r.set("backpressure", true);
  return r;
}

val ok_result() {
  val r = val::object();
  r.set("ok", true);
  return r;
}

val ok_result(const val& id) {
  val r = ok_result();
  r.set("id", id);
  return r;
}

Counter& samples_recorded() { return runtime().samples; }
std::string runtime_metrics_json() { return runtime().registry.snapshot().to_json(); }
std::string runtime_metrics_prometheus() { return runtime().registry.snapshot().to_prometheus(); }

val percentiles_to_js(const HistogramSnapshot& s, bool with_p95) {
  const Percentiles p = s.percentiles();
  val r = val::object();
  set_numbers(r, "count", p.count, "min", p.min, "p50", p.p50, "p90", p.p90);
  if (with_p95) set_numbers(r, "p95", s.value_at_quantile(0.95));
  set_numbers(r, "p99", p.p99, "p999", p.p999, "max", p.max, "mean", p.mean);
  return r;
}

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

}  // namespace omega::js
