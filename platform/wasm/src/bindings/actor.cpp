// NativePipeline: the seed's actor pipeline from JS (actor.hpp).
#include "actor.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <new>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

namespace omega::js {
namespace {

namespace oa = omega::actor;

// Pipelines alive now (built and not yet deleted). In the threaded build each holds
// kPipelineThreads pool threads until it is deleted: more than the pool keeps places for
// would take threads the pool does not have (a worker the browser starts only once this
// thread yields, and Emscripten's "pool exhausted" warning). Without threads only memory
// bounds them.
std::atomic<std::size_t> g_live{0};

// {ok: false, error, failure: true}: not the caller's mistake (not counted); the JS wrapper
// throws Error.
val failed(std::string_view error) {
  val r = val::object();
  r.set("ok", false);
  r.set("error", std::string(error));
  r.set("failure", true);
  return r;
}

// config[key], when given, as an integer in [0, max] (and what `out`'s type holds: size_t
// is 32 bits here) into `out`. Returns the refusal (TypeError for a non-number, RangeError
// for NaN, negatives, fractions and values past the bound; counted), or undefined when the
// value was taken or absent.
template <class T>
val integer_field(const val& config, const char* key, double max, const char* meaning, T& out) {
  max = std::min(max, static_cast<double>(std::numeric_limits<T>::max()));
  const val v = config[key];
  if (v.isUndefined()) return val::undefined();
  const std::string name(key);
  if (!v.isNumber()) return refuse(name + " must be a number (" + meaning + ")");
  const auto d = integer_in(v, 0, max);
  if (!d) {
    return refuse_range(name + " must be an integer in [0, " + std::to_string(static_cast<std::uint64_t>(max)) +
                        "] (" + meaning + ")");
  }
  out = static_cast<T>(*d);
  return val::undefined();
}

// PipelineConfig's field names in a reason, as runPipeline's options name them.
std::string js_names(std::string why) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"worker_batch", "batch"},
      {"telemetry_period", "telemetryPeriodMs"},
      {"worker_fault_every", "workerFaultEvery"},
  };
  for (const auto& [cpp, js] : kNames) {
    for (std::size_t at = why.find(cpp); at != std::string::npos; at = why.find(cpp, at + js.size())) {
      why.replace(at, cpp.size(), js);
    }
  }
  return why;
}

val actor_to_js(const oa::ActorTelemetry& a) {
  val o = val::object();
  o.set("name", a.name);
  o.set("team", a.team);
  o.set("ownThread", a.own_thread);
  o.set("state", std::string(oa::to_string(a.state)));
  o.set("tier", std::string(omega::to_string(a.tier)));
  set_numbers(o, "polls", a.polls, "cpuNs", a.cpu_ns, "cpuPercent", a.cpu_percent, "restarts", a.restarts, "wakes",
              a.wakes);
  return o;
}

val channel_to_js(const oa::ChannelTelemetry& c) {
  val o = val::object();
  o.set("name", c.name);
  o.set("from", c.from);
  o.set("to", c.to);
  set_numbers(o, "capacity", c.capacity, "len", c.len, "fillPercent", c.fill_percent, "msgsPerSec", c.msgs_per_sec,
              "latencyMs", c.latency_ms);
  o.set("overflow", std::string(oa::to_string(c.overflow)));
  set_numbers(o, "sent", c.counters.sent, "taken", c.counters.taken, "droppedNewest", c.counters.dropped_newest,
              "droppedOldest", c.counters.dropped_oldest, "refused", c.counters.refused, "full", c.counters.full);
  o.set("closed", c.closed);
  return o;
}

}  // namespace

JsPipeline::~JsPipeline() {
  if (pipeline_) {
    pipeline_.reset();
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
}

void JsPipeline::release() {
  if (!pipeline_) return;
  if constexpr (kHasThreads) {
    if (!can_park()) {
      auto done = std::make_shared<std::atomic<bool>>(false);
      actor::Pipeline* raw = pipeline_.release();
      released_ = done;
      const auto free_it = [raw, done] {
        delete raw;  // ~Graph joins the teams' and the sampler's threads
        g_live.fetch_sub(1, std::memory_order_relaxed);
        done->store(true, std::memory_order_release);
      };
      try {
        std::thread(free_it).detach();
      } catch (...) {
        free_it();  // no thread to be had: join here after all
      }
      return;
    }
  }
  pipeline_.reset();
  g_live.fetch_sub(1, std::memory_order_relaxed);
}

bool JsPipeline::released() const {
  return !pipeline_ && (!released_ || released_->load(std::memory_order_acquire));
}

val JsPipeline::init(const val& config) {
  if (pipeline_) return refuse("pipeline already started");
  oa::PipelineConfig c;
  if (!config.isUndefined() && !config.isNull()) {
    if (!object_arg(config)) return refuse("config must be an object {rate, beats, batch, telemetryPeriodMs}");
    std::uint64_t rate_ms = static_cast<std::uint64_t>(c.rate.count());
    std::uint64_t period_ms = static_cast<std::uint64_t>(c.telemetry_period.count());
    // The first bad field is refused (and counted once). Here only types and integers; the
    // bounds are the core's (PipelineConfig::validate, below).
    val refusal = integer_field(config, "rate", kMaxSafeInteger, "milliseconds between heartbeat bursts", rate_ms);
    if (refusal.isUndefined()) {
      refusal = integer_field(config, "beats", kMaxSafeInteger, "heartbeat bursts before shutdown", c.beats);
    }
    if (refusal.isUndefined()) {
      refusal = integer_field(config, "batch", kMaxSafeInteger, "values the worker moves per slice", c.worker_batch);
    }
    if (refusal.isUndefined()) {
      refusal = integer_field(config, "telemetryPeriodMs", kMaxSafeInteger,
                              "milliseconds between telemetry frames; 0: a frame only when asked", period_ms);
    }
    if (refusal.isUndefined()) {
      refusal = integer_field(config, "workerFaultEvery", kMaxSafeInteger,
                              "the worker throws once every this many values; 0: never", c.worker_fault_every);
    }
    if (!refusal.isUndefined()) return refusal;
    c.rate = std::chrono::milliseconds(rate_ms);
    c.telemetry_period = std::chrono::milliseconds(period_ms);
  }
  // The core's bounds (rate, beats, a batch no larger than the channels, ...), its reasons
  // spoken with the names JS uses.
  if (const std::string why = c.validate(); !why.empty()) return refuse_range(js_names(why));
#if defined(OMEGA_WASM_POOL_SIZE)
  if (g_live.load(std::memory_order_relaxed) >= kPipelinesAtOnce) {
    return backpressure("the threaded build runs " + std::to_string(kPipelinesAtOnce) +
                        " pipeline at a time (its thread pool keeps places for that many): close() the running one first");
  }
#endif
  // Exceptions never cross into JS: a configuration the core refuses, or memory the module
  // cannot have, is a refusal like any other.
  try {
    auto p = std::make_unique<oa::Pipeline>(c);
    p->start();
    pipeline_ = std::move(p);
    g_live.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::invalid_argument& e) {
    return refuse_range(e.what());
  } catch (const std::bad_alloc&) {
    return failed("the pipeline needs more memory than the module can have");
  } catch (const std::exception& e) {
    return failed(std::string("the pipeline could not start: ") + e.what());
  }
  return ok_result();
}

val JsPipeline::telemetry() const {
  val r = val::object();
  if (!pipeline_) return r;
  const oa::Telemetry t = pipeline_->graph().telemetry();
  set_numbers(r, "seq", t.seq, "atNs", t.at_ns, "periodS", t.period_s);
  r.set("shuttingDown", t.shutting_down);
  r.set("stopped", t.stopped);
  val actors = val::array();
  for (const auto& a : t.actors) actors.call<void>("push", actor_to_js(a));
  val channels = val::array();
  for (const auto& ch : t.channels) channels.call<void>("push", channel_to_js(ch));
  r.set("actors", actors);
  r.set("channels", channels);
  return r;
}

std::string JsPipeline::to_dot() const { return pipeline_ ? pipeline_->graph().to_dot() : std::string(); }

std::string JsPipeline::to_prometheus() const {
  return pipeline_ ? pipeline_->graph().telemetry().to_prometheus() : std::string();
}

val JsPipeline::report() const {
  val r = val::object();
  if (!pipeline_) return r;
  const oa::PipelineReport p = pipeline_->report();
  set_numbers(r, "generated", p.generated, "logged", p.logged, "heartbeats", p.heartbeats, "bursts", p.bursts);
  r.set("generatedChecksum", std::to_string(p.generated_checksum));
  r.set("loggedChecksum", std::to_string(p.logged_checksum));
  set_numbers(r, "outOfOrder", p.out_of_order, "fizz", p.fizz, "buzz", p.buzz, "fizzbuzz", p.fizzbuzz,
              "workerRestarts", p.worker_restarts, "elapsedS", p.elapsed_s, "msgsPerSec", p.msgs_per_sec);
  r.set("finished", p.finished);
  r.set("exactlyOnce", p.exactly_once);
  return r;
}

val JsPipeline::config() const {
  val r = val::object();
  if (!pipeline_) return r;
  const oa::PipelineConfig& c = pipeline_->config();
  set_numbers(r, "rate", c.rate.count(), "beats", c.beats, "batch", c.worker_batch, "telemetryPeriodMs",
              c.telemetry_period.count(), "workerFaultEvery", c.worker_fault_every, "beatBurst", c.beat_burst,
              "generatorBatch", c.generator_batch, "loggerBatch", c.logger_batch, "capacity", c.capacity);
  return r;
}

val JsPipeline::info() const {
  val r = val::object();
  if (!pipeline_) return r;
  const oa::Graph& g = pipeline_->graph();
  set_numbers(r, "actors", g.actor_count(), "teams", g.team_count(), "threadedTeams", g.threaded_teams());
  return r;
}

void JsPipeline::request_shutdown() {
  if (pipeline_) pipeline_->graph().request_shutdown();
}

bool JsPipeline::stopped() const { return !pipeline_ || pipeline_->graph().stopped(); }

double JsPipeline::run_pending(const val& budget) {
  if (!pipeline_) return 0;
  // A slice no longer than a browser's shortest timer turn, in chunks small enough that the
  // clock is read often: the page keeps rendering while the pipeline runs on its thread.
  constexpr std::int64_t kSliceNs = 4'000'000;
  constexpr std::size_t kChunk = 16;
  const double b = number_arg(budget);
  const std::size_t limit = b >= 1 ? static_cast<std::size_t>(std::min(b, 1e9)) : 1024;
  oa::Graph& g = pipeline_->graph();
  const std::int64_t until = now_ns() + kSliceNs;
  std::size_t ran = 0;
  while (ran < limit) {
    const std::size_t n = g.run_pending(std::min(kChunk, limit - ran));
    if (n == 0) break;
    ran += n;
    if (now_ns() >= until) break;
  }
  return static_cast<double>(ran);
}

double JsPipeline::next_due_in_ms() const {
  if (!pipeline_) return INFINITY;
  const std::int64_t next = pipeline_->graph().next_deadline_ns();
  if (next < 0) return INFINITY;
  const std::int64_t in = next - now_ns();
  return in > 0 ? static_cast<double>(in) / 1e6 : 0.0;
}

}  // namespace omega::js
