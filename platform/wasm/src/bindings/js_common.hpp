#pragma once
// What every Embind binding file shares: how JS arguments are checked, how results and
// refusals are shaped, the module's own runtime metrics, and the one table of priority names.
//
// The contract of every binding: exceptions never cross into JS. A bad argument from JS gets
// a clear refusal ({ok: false, error[, range]}) or NaN/false, and is counted once in
// omega_js_invalid_arguments_total; Embind itself throws a TypeError for wrong JS types.
#include <emscripten/val.h>

#include <omega/omega.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace omega::js {

using emscripten::val;

#if defined(OMEGA_WASM_POOL_SIZE)
// Threads a system's first spawn starts beside its workers: Pulse's timer/watchdog thread
// and its slow lane.
inline constexpr std::size_t kPulseThreads = 2;
// Threads one running pipeline (omega.runPipeline) holds: its three teams', the telemetry
// sampler's, and the one that joins them when it is released (the browser's main thread may
// not). The pool keeps kPipelineThreads * kPipelinesAtOnce places for them.
inline constexpr std::size_t kPipelineThreads = 5;
inline constexpr std::size_t kPipelinesAtOnce = 1;
// Pool threads the threaded build leaves for a system's workers: one is the ParkSampler's,
// kPulseThreads are Pulse's, the rest the pipelines'.
inline constexpr std::size_t kThreadBudget =
    OMEGA_WASM_POOL_SIZE - 1 - kPulseThreads - kPipelineThreads * kPipelinesAtOnce;
#else
inline constexpr std::size_t kThreadBudget = 0;
#endif

// Largest integer a JS number holds exactly; past it, values are silently rounded.
inline constexpr double kMaxSafeInteger = 9007199254740991.0;

// ---- Arguments ------------------------------------------------------------------------
// JS arguments arrive as val and are checked here: Embind's own conversions would coerce
// ('123' to 123, undefined to NaN) or throw without counting. None of these count: the
// caller counts once when it refuses the call (refuse(), or invalid_arguments().add()).

// The number, or NaN for anything that is not a JS number.
double number_arg(const val& v);
// A JS number in [lo, hi] (NaN never is).
std::optional<double> number_in(const val& v, double lo, double hi);
// A JS number in [lo, hi] with no fractional part.
std::optional<double> integer_in(const val& v, double lo, double hi);
// An object (or a function) rather than a primitive or an array. undefined and null are the
// caller's to treat as "not given".
bool object_arg(const val& v);
bool string_arg(const val& v, std::string& out);

// config[key], when given, into `out`: an integer in [0, max] that `out`'s type holds.
// Leaves `out` alone when the key is absent; false when the value is refused.
template <class T>
bool config_integer(const val& config, const char* key, double max, T& out) {
  const val v = config[key];
  if (v.isUndefined()) return true;
  const auto d = integer_in(v, 0, std::min(max, static_cast<double>(std::numeric_limits<T>::max())));
  if (!d) return false;
  out = static_cast<T>(*d);
  return true;
}

// ---- Results --------------------------------------------------------------------------

// omega_js_invalid_arguments_total: every call refused for its arguments, once.
Counter& invalid_arguments();
// {ok: false, error}, counted. The JS wrappers throw TypeError with the error.
val refuse(std::string_view error);
// {ok: false, error, range: true}, counted: the type was right but the value out of range;
// the JS wrappers throw RangeError for these.
val refuse_range(std::string_view error);
// {ok: false, error, backpressure: true}: the system refused work it could not take (not bad
// input: not counted). The JS wrappers reject with NodeError.
val backpressure(std::string_view error);
// {ok: true}, or {ok: true, id}.
val ok_result();
val ok_result(const val& id);

// Sets each name/number pair on `object`; every C++ number becomes a JS number (a double).
inline void set_numbers(val&) {}
template <class N, class... Rest>
void set_numbers(val& object, const char* name, N number, Rest... rest) {
  object.set(name, static_cast<double>(number));
  set_numbers(object, rest...);
}

// ---- Metrics --------------------------------------------------------------------------

// omega_js_samples_recorded_total: samples Histogram.record accepted.
Counter& samples_recorded();
// The module's own metrics (the two counters above) for runtimeMetricsJson/Prometheus.
std::string runtime_metrics_json();
std::string runtime_metrics_prometheus();

// {count, min, p50, p90, [p95,] p99, p999, max, mean}: p95 only where with_p95 (the
// scheduler's metrics carry it; Histogram.percentiles and the system's stats do not).
val percentiles_to_js(const HistogramSnapshot& s, bool with_p95 = false);
// Non-empty buckets as [lower, upper, count] triples, for drawing.
val buckets_to_js(const HistogramSnapshot& s);

// ---- Names ------------------------------------------------------------------------------
// Every name JS may pass for an enum (priorities, Pulse's profiles, the slow lane's
// algorithms): each parsed and printed only through its table, so JS sees one spelling per
// value and every refusal lists the same names.
template <class E>
struct NamedValue {
  std::string_view name;
  E value;
};
inline constexpr NamedValue<PulseProfile> kPulseProfileNames[] = {
    {"aggressive", PulseProfile::Aggressive},
    {"balanced", PulseProfile::Balanced},
    {"permissive", PulseProfile::Permissive},
};
inline constexpr NamedValue<SchedulingAlgorithm> kAlgorithmNames[] = {
    {"creditBased", SchedulingAlgorithm::CreditBased},
    {"lottery", SchedulingAlgorithm::Lottery},
    {"deficitRoundRobin", SchedulingAlgorithm::DeficitRoundRobin},
};

// The value a JS string names in `table`; nullopt for anything else (not counted here).
template <class E, std::size_t N>
std::optional<E> named_arg(const NamedValue<E> (&table)[N], const val& v) {
  if (!v.isString()) return std::nullopt;
  const std::string name = v.as<std::string>();
  for (const auto& row : table) {
    if (row.name == name) return row.value;
  }
  return std::nullopt;
}
// The name of `value` in `table` ("" if it has none: Custom, which JS cannot pick).
template <class E, std::size_t N>
std::string_view name_of(const NamedValue<E> (&table)[N], E value) {
  for (const auto& row : table) {
    if (row.value == value) return row.name;
  }
  return {};
}
// "'a', 'b' or 'c'": the table's names, for refusals.
template <class E, std::size_t N>
std::string names_of(const NamedValue<E> (&table)[N]) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += "'" + std::string(table[i].name) + "'";
  }
  return out;
}

// The one omega::Priority the circulation, the scheduler and Pulse share.
inline constexpr NamedValue<Priority> kPriorityNames[] = {
    {"critical", Priority::Critical},
    {"high", Priority::High},
    {"normal", Priority::Normal},
    {"low", Priority::Low},
};
// The priority a JS string names; nullopt for anything else (not counted here).
inline std::optional<Priority> priority_arg(const val& v) { return named_arg(kPriorityNames, v); }
// "priority must be 'critical', 'high', 'normal' or 'low'".
inline std::string priority_refusal() { return "priority must be " + names_of(kPriorityNames); }

}  // namespace omega::js
