// Embind bindings: the JS face of the runtime. Exceptions never cross this boundary: bad
// arguments from JS get a clear result ({ok:false, error}) or NaN, and are counted in
// omega_js_invalid_arguments_total; Embind itself throws a TypeError for wrong JS types.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <omega/omega.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace omega::js {
namespace {

using emscripten::val;

#if defined(__EMSCRIPTEN_PTHREADS__)
constexpr const char* kVariant = "threaded";
#else
constexpr const char* kVariant = "single-threaded";
#endif

#if defined(OMEGA_WASM_POOL_SIZE)
// Pool threads left for systems: one is reserved for the ParkSampler.
constexpr std::size_t kThreadBudget = OMEGA_WASM_POOL_SIZE - 1;
#else
constexpr std::size_t kThreadBudget = 0;
#endif

// Largest integer a JS number holds exactly; samples past it would be silently rounded.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// JS arguments arrive as val and are checked here: Embind's own conversions would coerce
// ('123' to 123, undefined to NaN) or throw without counting.
double number_arg(const val& v) { return v.isNumber() ? v.as<double>() : NAN; }
// An object (or a function) rather than a primitive or an array. undefined/null are the
// caller's to treat as "not given".
bool object_arg(const val& v) {
  return !(v.isNumber() || v.isString() || v.isTrue() || v.isFalse() || v.isArray() || v.isNull() || v.isUndefined());
}
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

// A refused argument whose type was right but whose value is out of range: the JS wrapper
// throws RangeError for these, TypeError for the rest.
val range_result(std::string_view error) {
  val r = error_result(error);
  r.set("range", true);
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

// ---- the CPU circulation from JS ------------------------------------------------------
// JS cannot pass closures to worker threads, so it picks a built-in C++ workload by name.
// Results come back through poll(), called by the JS wrapper (system.mjs) from the event
// loop while Promises are pending; that wrapper resolves them on the main thread.

// Busy work for `ns` nanoseconds; returns the time actually spent.
double workload_spin(double ns) {
  const auto start = Clock::now();
  const auto until = start + Nanos(static_cast<std::int64_t>(ns));
  auto now = start;
  while (now < until) now = Clock::now();
  return static_cast<double>((now - start).count());
}
// FNV-1a over `bytes` bytes of a generated buffer; returns the low 52 bits.
double workload_hash(double bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  unsigned char block[256];
  for (std::size_t i = 0; i < sizeof(block); ++i) block[i] = static_cast<unsigned char>(i * 31 + 7);
  auto left = static_cast<std::uint64_t>(bytes);
  while (left > 0) {
    const std::size_t n = left < sizeof(block) ? static_cast<std::size_t>(left) : sizeof(block);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ block[i]) * 1099511628211ULL;
    left -= n;
  }
  return static_cast<double>(h & ((std::uint64_t{1} << 52) - 1));
}
// Number of primes below n (sieve of Eratosthenes).
double workload_primes(double limit) {
  const auto n = static_cast<std::size_t>(limit);
  if (n < 3) return 0;
  std::vector<bool> composite(n, false);
  std::size_t count = 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (composite[i]) continue;
    ++count;
    for (std::size_t j = i * i; j < n; j += i) composite[j] = true;
  }
  return static_cast<double>(count);
}

struct Workload {
  const char* name;
  double (*fn)(double);
  double max_arg;
};
constexpr Workload kWorkloads[] = {
    {"spin", &workload_spin, 1e9},       // up to 1 s
    {"hash", &workload_hash, 1 << 26},   // up to 64 MiB
    {"primes", &workload_primes, 1e8},   // up to 10^8
};

class JsSystem {
 public:
  // config: { nodes, superNodes, queueCapacity: [regular, super], threads: [rmin, rmax, smin, smax],
  // timingSampleEvery } (all optional). Returns {ok: true} or {ok: false, error}.
  val init(const val& config) {
    if (system_) return error_result("system already created");
    auto builder = UltraOmegaSystem::builder();
    if (!config.isUndefined() && !config.isNull()) {
      if (!object_arg(config)) return error_result("config must be an object");
      auto count = [&](const char* key, std::size_t fallback, std::size_t& out) -> bool {
        const val v = config[key];
        if (v.isUndefined()) {
          out = fallback;
          return true;
        }
        const double d = number_arg(v);
        if (!(d >= 0 && d <= 4096) || d != std::floor(d)) return false;
        out = static_cast<std::size_t>(d);
        return true;
      };
      std::size_t nodes = 0, supers = 0;
      if (!count("nodes", builder.config().nodes, nodes)) return error_result("nodes must be an integer in [0, 4096]");
      if (!count("superNodes", builder.config().super_nodes, supers)) {
        return error_result("superNodes must be an integer in [0, 4096]");
      }
      builder.with_nodes(nodes).with_super_nodes(supers);
      const val capacity = config["queueCapacity"];
      if (!capacity.isUndefined()) {
        const double r = capacity.isArray() ? number_arg(capacity[0]) : NAN;
        const double sp = capacity.isArray() ? number_arg(capacity[1]) : NAN;
        if (!(r >= 1 && r <= 1 << 20 && sp >= 1 && sp <= 1 << 20)) {
          return error_result("queueCapacity must be [regular, super], integers in [1, 2^20]");
        }
        builder.with_queue_capacity(static_cast<std::size_t>(r), static_cast<std::size_t>(sp));
      }
      const val threads = config["threads"];
      if (!threads.isUndefined()) {
        double t[4];
        for (int i = 0; i < 4; ++i) t[i] = threads.isArray() ? number_arg(threads[i]) : NAN;
        for (double x : t) {
          if (!(x >= 1 && x <= 64)) return error_result("threads must be [regularMin, regularMax, superMin, superMax] in [1, 64]");
        }
        builder.with_threads(static_cast<unsigned>(t[0]), static_cast<unsigned>(t[1]), static_cast<unsigned>(t[2]),
                             static_cast<unsigned>(t[3]));
      }
      const val sample = config["timingSampleEvery"];
      if (!sample.isUndefined()) {
        const double e = number_arg(sample);
        if (!(e >= 1 && e <= 65536) || e != std::floor(e)) {
          return error_result("timingSampleEvery must be an integer in [1, 65536] (1: time every task)");
        }
        builder.with_timing_sample_every(static_cast<unsigned>(e));
      }
    }
    if constexpr (kHasThreads) {
      // Every thread must come from the pool created at start-up (the browser cannot start
      // one on demand without yielding to the event loop): refuse what the pool cannot hold.
      const SystemConfig& c = builder.config();
      const std::size_t needed = (c.nodes - std::min(c.nodes, c.super_nodes)) * c.regular.max_threads +
                                 std::min(c.nodes, c.super_nodes) * c.super.max_threads;
      if (needed > kThreadBudget) {
        return error_result("this configuration needs " + std::to_string(needed) +
                            " worker threads; the threaded build has " + std::to_string(kThreadBudget) +
                            " (fewer nodes, or threads: [...])");
      }
    }
    auto built = builder.try_build();
    if (!built) return error_result(built.error());
    system_ = std::make_unique<UltraOmegaSystem>(std::move(*built));
    return ok_result();
  }

  // submit(workload, arg, priority, cost) -> {ok: true, id} | {ok: false, error}
  val submit(const val& workload, const val& arg, const val& priority, const val& cost) {
    if (!system_) return error_result("no system: call init() first");
    std::string name;
    if (!string_arg(workload, name)) return error_result("workload must be a string");
    const Workload* w = nullptr;
    for (const auto& candidate : kWorkloads) {
      if (name == candidate.name) w = &candidate;
    }
    if (!w) return error_result("unknown workload '" + name + "' (spin, hash, primes)");
    const double a = number_arg(arg);
    if (!(a >= 0 && a <= w->max_arg)) return error_result(name + ": argument out of range");
    std::string p;
    if (!string_arg(priority, p) || (p != "low" && p != "normal" && p != "high")) {
      return error_result("priority must be 'low', 'normal' or 'high'");
    }
    const double c = number_arg(cost);
    if (!(c >= 1 && c <= 100)) return error_result("cost must be a number in [1, 100]");
    const Priority prio = p == "high" ? Priority::High : (p == "low" ? Priority::Low : Priority::Normal);
    auto handle = system_->submit_cpu_task(prio, static_cast<std::uint32_t>(c), [fn = w->fn, a] { return fn(a); }, rng_);
    if (!handle) {
      val r = val::object();
      r.set("ok", false);
      r.set("error", std::string(to_string(handle.error())));  // backpressure, not bad input
      r.set("backpressure", true);
      return r;
    }
    const std::uint32_t id = next_id_++;
    pending_.emplace(id, std::move(*handle));
    val r = val::object();
    r.set("ok", true);
    r.set("id", id);
    return r;
  }

  // Finished tasks since the last call, as [id, ok, value-or-error] triples. In the
  // single-threaded build this is also where queued work runs (up to `budget` tasks).
  val poll(const val& budget) {
    if (!system_) return val::array();
    if constexpr (!kHasThreads) {
      const double b = number_arg(budget);
      system_->run_pending(b >= 1 ? static_cast<std::size_t>(b) : 64);
    } else {
      (void)budget;
    }
    return take_finished(pending_, [](double value) { return val(value); });
  }

  double pending() const { return static_cast<double>(pending_.size() + io_pending_.size()); }

  // ---- OVP (the I/O circulation) ----------------------------------------------------
  // Each returns {ok: true, id} (the result comes from pollIo) or {ok: false, error[, range]}.
  // The JS wrapper (system.mjs) checks shapes first; these checks are the contract, and
  // every refusal is counted in omega_js_invalid_arguments_total.

  // options: {url, droneId, reliable = false, groups = [], timeoutMs = 10000}
  val ovp_init(const val& options) {
    if (!system_) return error_result("no system: call init() first");
    if (!object_arg(options)) return error_result("ovp.init: options must be an object {url, droneId, ...}");
    io_ops::OvpInit op;
    if (!string_arg(options["url"], op.interface) || op.interface.empty()) {
      return error_result("ovp.init: url must be a non-empty string (the gateway's ws:// or wss:// URL)");
    }
    const val id = options["droneId"];
    if (!id.isNumber()) return error_result("ovp.init: droneId must be a number");
    const double d = id.as<double>();
    if (!(d >= 1 && d <= 4294967294.0) || d != std::floor(d)) {
      return range_result("ovp.init: droneId must be an integer in [1, 4294967294]");
    }
    op.my_drone_id = static_cast<std::uint32_t>(d);
    const val reliable = options["reliable"];
    if (!reliable.isUndefined()) {
      if (!reliable.isTrue() && !reliable.isFalse()) return error_result("ovp.init: reliable must be a boolean");
      op.reliable = reliable.isTrue();
    }
    const val groups = options["groups"];
    if (!groups.isUndefined()) {
      if (!groups.isArray()) return error_result("ovp.init: groups must be an array of group ids");
      const auto n = groups["length"].as<unsigned>();
      for (unsigned i = 0; i < n; ++i) {
        const val g = groups[i];
        if (!g.isNumber()) return error_result("ovp.init: groups must hold numbers");
        const double gd = g.as<double>();
        if (!(gd >= 1 && gd <= 4294967294.0) || gd != std::floor(gd)) {
          return range_result("ovp.init: group ids must be integers in [1, 4294967294]");
        }
        op.groups.push_back(static_cast<std::uint32_t>(gd));
      }
    }
    std::optional<Nanos> timeout = Nanos(std::chrono::seconds(10));
    if (auto t = timeout_arg(options["timeoutMs"], "ovp.init", timeout); !t["ok"].as<bool>()) return t;
    return submit_io(IoOp(std::move(op)), timeout);
  }

  // targets: null (every drone) or a non-empty array of drone ids; data: a Uint8Array.
  val ovp_emit(const val& token, const val& targets, const val& data, const val& channel) {
    SocketToken t;
    if (!token_arg(token, t)) return error_result("emit: endpoint is closed or not an OVP endpoint");
    io_ops::OvpEmit op;
    op.socket_token = t;
    if (!targets.isNull()) {
      if (!targets.isArray()) return error_result("emit: targets must be null (every drone) or an array of drone ids");
      const auto n = targets["length"].as<unsigned>();
      if (n == 0) return range_result("emit: targets is empty (null sends to every drone)");
      std::vector<std::uint32_t> list;
      for (unsigned i = 0; i < n; ++i) {
        const val v = targets[i];
        if (!v.isNumber()) return error_result("emit: targets must hold numbers");
        const double d = v.as<double>();
        if (!(d >= 1 && d <= 4294967294.0) || d != std::floor(d)) {
          return range_result("emit: target drone ids must be integers in [1, 4294967294]");
        }
        list.push_back(static_cast<std::uint32_t>(d));
      }
      op.targets = std::move(list);
    }
    if (!data.instanceof(val::global("Uint8Array"))) return error_result("emit: data must be a Uint8Array");
    const auto size = data["length"].as<std::size_t>();
    if (size > ovp::kMaxPayload) {
      return range_result("emit: data is " + std::to_string(size) + " bytes; at most " +
                          std::to_string(ovp::kMaxPayload) + " fit in one OVP frame");
    }
    op.payload = emscripten::convertJSArrayToNumberVector<std::uint8_t>(data);
    if (!channel.isUndefined()) {
      if (!channel.isNumber()) return error_result("emit: channel must be a number");
      const double c = channel.as<double>();
      if (!(c >= 0 && c <= 65535) || c != std::floor(c)) return range_result("emit: channel must be an integer in [0, 65535]");
      op.channel = static_cast<std::uint16_t>(c);
    }
    return submit_io(IoOp(std::move(op)), std::nullopt);
  }

  // timeoutMs: undefined (wait until a message comes or the endpoint closes) or >= 0.
  val ovp_receive(const val& token, const val& timeout_ms) {
    SocketToken t;
    if (!token_arg(token, t)) return error_result("receive: endpoint is closed or not an OVP endpoint");
    std::optional<Nanos> timeout;
    if (auto r = timeout_arg(timeout_ms, "receive", timeout); !r["ok"].as<bool>()) return r;
    return submit_io(IoOp(io_ops::OvpReceive{t}), timeout);
  }

  val ovp_close(const val& token) {
    SocketToken t;
    if (!token_arg(token, t)) return error_result("close: not an OVP endpoint");
    return submit_io(IoOp(io_ops::OvpClose{t}), std::nullopt);
  }

  // Finished I/O operations since the last call, as [id, ok, value-or-error] triples; value:
  // {socket, bytes, data (Uint8Array), sourceDrone, channel}. Never runs CPU work.
  val poll_io() {
    return take_finished(io_pending_, [](const IoOutput& o) {
      val v = val::object();
      if (o.socket) v.set("socket", static_cast<double>(o.socket->value));
      v.set("bytes", static_cast<double>(o.bytes));
      // A copy that owns its bytes (the heap view would change under it).
      v.set("data", val(emscripten::typed_memory_view(o.data.size(), o.data.data())).call<val>("slice"));
      v.set("sourceDrone", static_cast<double>(o.source_drone));
      v.set("channel", static_cast<double>(o.channel));
      return v;
    });
  }

  val stats() const {
    val r = val::object();
    if (!system_) return r;
    val nodes = val::array();
    std::uint64_t submitted = 0, completed = 0, rejected = 0, panicked = 0;
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
      submitted += s.submitted;
      completed += s.completed;
      rejected += s.rejected;
      panicked += s.panicked;
      wait.merge(node.queue_wait());
      run.merge(node.run_time());
    }
    r.set("nodes", nodes);
    r.set("submitted", static_cast<double>(submitted));
    r.set("completed", static_cast<double>(completed));
    r.set("rejected", static_cast<double>(rejected));
    r.set("panicked", static_cast<double>(panicked));
    r.set("maxedOut", static_cast<double>(system_->maxed_out()));
    r.set("queueWait", percentiles_to_js(wait.percentiles()));
    r.set("runTime", percentiles_to_js(run.percentiles()));
    return r;
  }

  std::string metrics_prometheus() const { return system_ ? system_->metrics().to_prometheus() : std::string(); }

  // Shutdown in steps so the browser's main thread never waits on a worker: beginShutdown
  // refuses new work and tells the workers to drain and exit; JS polls shutdownFinished
  // from its event loop; shutdown then joins threads that have already exited.
  void begin_shutdown() {
    if (system_) system_->begin_shutdown();
  }
  bool shutdown_finished() const { return !system_ || system_->shutdown_finished(); }
  void shutdown() {
    if (system_) system_->shutdown_all();
  }

 private:
  // Takes the finished handles out of `pending`, as [id, ok, value-or-error] triples; value:
  // to_js(the result).
  template <class T, class ToJs>
  static val take_finished(std::unordered_map<std::uint32_t, TaskHandle<T>>& pending, ToJs&& to_js) {
    val out = val::array();
    for (auto it = pending.begin(); it != pending.end();) {
      auto r = it->second.try_result();
      if (!r) {
        ++it;
        continue;
      }
      val triple = val::array();
      triple.call<void>("push", it->first);
      if (*r) {
        triple.call<void>("push", true, to_js(**r));
      } else {
        triple.call<void>("push", false, to_string(r->error()));
      }
      out.call<void>("push", triple);
      it = pending.erase(it);
    }
    return out;
  }

  std::unique_ptr<UltraOmegaSystem> system_;
  OmegaRng rng_ = OmegaRng::from_entropy();
  std::unordered_map<std::uint32_t, TaskHandle<double>> pending_;
  std::unordered_map<std::uint32_t, TaskHandle<IoOutput>> io_pending_;

  val submit_io(IoOp op, std::optional<Nanos> timeout) {
    auto handle = system_->submit_io_task(std::move(op), timeout, rng_);
    if (!handle) {
      val r = val::object();
      r.set("ok", false);
      r.set("error", std::string(to_string(handle.error())));
      r.set("backpressure", true);
      return r;
    }
    const std::uint32_t id = next_id_++;
    io_pending_.emplace(id, std::move(*handle));
    val r = val::object();
    r.set("ok", true);
    r.set("id", id);
    return r;
  }
  static bool token_arg(const val& v, SocketToken& out) {
    const double d = number_arg(v);
    if (!(d >= 1 && d <= kMaxSafeInteger) || d != std::floor(d)) {
      runtime().invalid_arguments.add();
      return false;
    }
    out.value = static_cast<std::uint64_t>(d);
    return true;
  }
  // undefined keeps `out`; otherwise a finite number of milliseconds >= 0.
  static val timeout_arg(const val& v, const char* what, std::optional<Nanos>& out) {
    if (v.isUndefined()) return ok_result();
    if (!v.isNumber()) return error_result(std::string(what) + ": timeoutMs must be a number of milliseconds");
    const double ms = v.as<double>();
    if (!(ms >= 0 && ms <= 86400e3)) return range_result(std::string(what) + ": timeoutMs must lie in [0, 86400000]");
    out = Nanos(static_cast<std::int64_t>(ms * 1e6));
    return ok_result();
  }
  std::uint32_t next_id_ = 1;
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
  r.set("threadBudget", static_cast<double>(kThreadBudget));
  return r;
}

std::string runtime_metrics_json() { return runtime().registry.snapshot().to_json(); }
std::string runtime_metrics_prometheus() { return runtime().registry.snapshot().to_prometheus(); }

}  // namespace

// Shared with the other binding files (js_common.hpp): one counter for every bad JS argument.
Counter& invalid_arguments_counter() { return runtime().invalid_arguments; }

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
      .function("ovpInit", &JsSystem::ovp_init)
      .function("ovpEmit", &JsSystem::ovp_emit)
      .function("ovpReceive", &JsSystem::ovp_receive)
      .function("ovpClose", &JsSystem::ovp_close)
      .function("pollIo", &JsSystem::poll_io);
  class_<JsMetricsSnapshot>("MetricsSnapshot")
      .constructor<>()
      .function("addCounter", &JsMetricsSnapshot::add_counter)
      .function("addGauge", &JsMetricsSnapshot::add_gauge)
      .function("addHistogram", &JsMetricsSnapshot::add_histogram)
      .function("toJson", &JsMetricsSnapshot::to_json)
      .function("toPrometheus", &JsMetricsSnapshot::to_prometheus);
}
