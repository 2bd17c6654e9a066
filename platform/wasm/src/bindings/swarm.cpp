// NativeSwarm: the swarm orchestrator from JS (swarm.hpp).
#include "swarm.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace omega::js {
namespace {

namespace os = omega::swarm;

// Bounds on what JS may ask for: far past any sensible swarm, well inside what 32-bit
// size_t and a JS number hold.
constexpr double kMaxAgentsBound = 65536;
constexpr double kMaxPayload = 64.0 * 1024 * 1024;  // one task's payload or one memory write/read
constexpr double kMaxPool = 1024.0 * 1024 * 1024;   // the memory pool
constexpr double kMaxCount = 1e7;                   // queue sizes, concurrency
constexpr double kMaxTimeoutMs = 86'400'000;        // a day
constexpr double kMaxSliceMs = 1000;                // one run_for slice
constexpr std::size_t kJsMaxConcurrentTasks = 16;

// ---- names ----------------------------------------------------------------------------

inline constexpr NamedValue<os::SwarmTopology> kTopologyNames[] = {
    {"Centralized", os::SwarmTopology::Centralized}, {"Mesh", os::SwarmTopology::Mesh},
    {"Hierarchical", os::SwarmTopology::Hierarchical}, {"Ring", os::SwarmTopology::Ring},
    {"Star", os::SwarmTopology::Star},
};
inline constexpr NamedValue<os::AgentSelectionStrategy> kStrategyNames[] = {
    {"RoundRobin", os::AgentSelectionStrategy::RoundRobin},
    {"LeastLoaded", os::AgentSelectionStrategy::LeastLoaded},
    {"LoadBalanced", os::AgentSelectionStrategy::LoadBalanced},
    {"CapabilityBased", os::AgentSelectionStrategy::CapabilityBased},
};
inline constexpr NamedValue<os::EvictionPolicy> kEvictionNames[] = {
    {"LRU", os::EvictionPolicy::LRU}, {"LFU", os::EvictionPolicy::LFU}, {"FIFO", os::EvictionPolicy::FIFO},
    {"TTL", os::EvictionPolicy::TTL}, {"WTinyLFU", os::EvictionPolicy::WTinyLFU},
};
inline constexpr NamedValue<os::VoteDecision> kVoteNames[] = {
    {"Approve", os::VoteDecision::Approve}, {"Reject", os::VoteDecision::Reject},
    {"Abstain", os::VoteDecision::Abstain},
};
inline constexpr NamedValue<os::ProposalType> kProposalTypeNames[] = {
    {"TaskAssignment", os::ProposalType::TaskAssignment},
    {"ResourceAllocation", os::ProposalType::ResourceAllocation},
    {"LeaderChange", os::ProposalType::LeaderChange},
    {"ConfigChange", os::ProposalType::ConfigChange},
    {"Custom", os::ProposalType::Custom},
};
// What JS reads back, spelled like what it passes in (PascalCase, as the C++ enumerators).
inline constexpr NamedValue<os::ProposalStatus> kProposalStatusNames[] = {
    {"Open", os::ProposalStatus::Open}, {"Accepted", os::ProposalStatus::Accepted},
    {"Rejected", os::ProposalStatus::Rejected}, {"Expired", os::ProposalStatus::Expired},
};
inline constexpr NamedValue<os::BreakerState> kBreakerNames[] = {
    {"Closed", os::BreakerState::Closed}, {"Open", os::BreakerState::Open}, {"HalfOpen", os::BreakerState::HalfOpen},
};
inline constexpr NamedValue<os::AgentStatus> kAgentStatusNames[] = {
    {"Idle", os::AgentStatus::Idle}, {"Busy", os::AgentStatus::Busy}, {"Degraded", os::AgentStatus::Degraded},
    {"Restarting", os::AgentStatus::Restarting}, {"Failed", os::AgentStatus::Failed},
    {"Stopped", os::AgentStatus::Stopped},
};
inline constexpr NamedValue<os::TaskStatus> kTaskStatusNames[] = {
    {"Pending", os::TaskStatus::Pending}, {"Ready", os::TaskStatus::Ready}, {"Running", os::TaskStatus::Running},
    {"Completed", os::TaskStatus::Completed}, {"Failed", os::TaskStatus::Failed},
    {"Cancelled", os::TaskStatus::Cancelled}, {"TimedOut", os::TaskStatus::TimedOut},
};
inline constexpr NamedValue<os::AgentKind> kKindNames[] = {
    {"neural", os::AgentKind::Neural}, {"quantum", os::AgentKind::Quantum}, {"generic", os::AgentKind::Generic},
};

std::string str(std::string_view s) { return std::string(s); }

// The core's reasons for refusing a configuration, spoken with the names createSwarm takes.
std::string js_names(std::string why) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"scheduler_config: ", ""},
      {"max_concurrent_tasks", "maxConcurrentTasks"},
      {"task_queue_size", "taskQueueSize"},
      {"total_size", "memory.totalSize"},
      {"region_size", "memory.regionSize"},
      {"heartbeat_interval", "heartbeatMs"},
      {"election_timeout_min", "electionTimeoutMs[0]"},
      {"election_timeout_max", "electionTimeoutMs[1]"},
      {"failure_threshold", "failureThreshold"},
      {"max_agents", "maxAgents"},
  };
  for (const auto& [cpp, js] : kNames) {
    for (std::size_t at = why.find(cpp); at != std::string::npos; at = why.find(cpp, at + js.size())) {
      why.replace(at, cpp.size(), js);
    }
  }
  return why;
}

// ---- arguments ----------------------------------------------------------------------------
// Each checker returns the refusal (counted) or undefined when the value was taken.

val integer_arg(const val& v, double lo, double hi, const std::string& what, double& out) {
  if (!v.isNumber()) return refuse(what + " must be a number");
  const auto d = integer_in(v, lo, hi);
  if (!d) {
    return refuse_range(what + " must be an integer in [" + std::to_string(static_cast<std::uint64_t>(lo)) + ", " +
                        std::to_string(static_cast<std::uint64_t>(hi)) + "]");
  }
  out = *d;
  return val::undefined();
}

template <class T>
val optional_integer(const val& object, const char* key, double lo, double hi, const std::string& what, T& out) {
  const val v = object[key];
  if (v.isUndefined()) return val::undefined();
  double d = 0;
  val refusal = integer_arg(v, lo, hi, what, d);
  if (refusal.isUndefined()) out = static_cast<T>(d);
  return refusal;
}

val positive_number(const val& v, double hi, const std::string& what, double& out) {
  if (!v.isNumber()) return refuse(what + " must be a number");
  const auto d = number_in(v, 0, hi);
  if (!d || *d <= 0) return refuse_range(what + " must be a number in (0, " + std::to_string(static_cast<std::uint64_t>(hi)) + "]");
  out = *d;
  return val::undefined();
}

template <class E, std::size_t N>
val named(const NamedValue<E> (&table)[N], const val& v, const std::string& what, E& out) {
  if (!v.isString()) return refuse(what + " must be a string: " + names_of(table));
  const auto e = named_arg(table, v);
  if (!e) return refuse_range(what + " must be " + names_of(table) + "; got '" + v.as<std::string>() + "'");
  out = *e;
  return val::undefined();
}

val string_field(const val& v, const std::string& what, std::string& out, bool non_empty) {
  if (!string_arg(v, out)) return refuse(what + " must be a string");
  if (non_empty && out.empty()) return refuse_range(what + " must not be empty");
  return val::undefined();
}

val bool_field(const val& v, const std::string& what, bool& out) {
  if (!v.isTrue() && !v.isFalse()) return refuse(what + " must be a boolean");
  out = v.isTrue();
  return val::undefined();
}

// A Uint8Array (the wrapper turns other views and ArrayBuffers into one), copied.
val bytes_arg(const val& v, const std::string& what, std::vector<std::byte>& out) {
  if (!v.instanceof(val::global("Uint8Array"))) return refuse(what + " must be a Uint8Array");
  const double n = v["length"].as<double>();
  if (n > kMaxPayload) {
    return refuse_range(what + " is " + std::to_string(static_cast<std::uint64_t>(n)) + " bytes; at most " +
                        std::to_string(static_cast<std::uint64_t>(kMaxPayload)));
  }
  out.resize(static_cast<std::size_t>(n));
  if (!out.empty()) {
    val(emscripten::typed_memory_view(out.size(), reinterpret_cast<unsigned char*>(out.data()))).call<void>("set", v);
  }
  return val::undefined();
}

val bytes_to_js(std::span<const std::byte> bytes) {
  return val(emscripten::typed_memory_view(bytes.size(), reinterpret_cast<const unsigned char*>(bytes.data())))
      .call<val>("slice");
}

template <class Id>
val id_arg(const val& v, const std::string& what, Id& out) {
  double max = std::min(kMaxSafeInteger, static_cast<double>(std::numeric_limits<decltype(out.value)>::max()));
  double d = 0;
  val refusal = integer_arg(v, 1, max, what, d);
  if (refusal.isUndefined()) out.value = static_cast<decltype(out.value)>(d);
  return refusal;
}

// ---- results ----------------------------------------------------------------------------

std::string explain(os::SwarmError e) {
  switch (e) {
    case os::SwarmError::NotInitialized: return "the swarm is not initialised";
    case os::SwarmError::ShuttingDown: return "the swarm is shutting down";
    case os::SwarmError::AgentLimitReached: return "maxAgents agents are registered";
    case os::SwarmError::UnknownAgent: return "no such agent";
    case os::SwarmError::DuplicateAgent: return "an agent of that name is registered";
    case os::SwarmError::AgentUnavailable: return "the agent is failed, stopped or isolated";
    case os::SwarmError::UnknownTask: return "no such task";
    case os::SwarmError::QueueFull: return "taskQueueSize tasks are unfinished";
    case os::SwarmError::CycleDetected: return "the dependencies would form a cycle";
    case os::SwarmError::InvalidTask: return "the task cannot run (empty name, self-dependency, bad payload)";
    case os::SwarmError::NoCapableAgent: return "no registered agent has the capability";
    case os::SwarmError::TaskFinished: return "the task already finished";
    case os::SwarmError::OutOfMemory: return "no free region and nothing evictable";
    case os::SwarmError::QuotaExceeded: return "the agent's memory limit would be exceeded";
    case os::SwarmError::UnknownRegion: return "no such region (never allocated, freed or evicted)";
    case os::SwarmError::OutOfBounds: return "past the region's size";
    case os::SwarmError::NotOwner: return "the region belongs to another agent";
    case os::SwarmError::UnknownProposal: return "no such proposal";
    case os::SwarmError::ProposalClosed: return "the proposal is decided or expired";
    case os::SwarmError::AlreadyVoted: return "the agent already voted";
    case os::SwarmError::Equivocation: return "a second, different vote: the voter is marked faulty";
    case os::SwarmError::NotEligible: return "the voter is faulty or not a member";
    case os::SwarmError::CircuitOpen: return "the agent's circuit breaker refuses calls";
    default: return {};
  }
}

// {ok: false, error: "<call>: <Kind> (<why>)", swarmError: "<Kind>"}: the swarm's answer, not
// a bad argument (not counted here).
val swarm_refusal(const char* call, os::SwarmError e, std::string why = {}) {
  if (why.empty()) why = explain(e);
  val r = val::object();
  r.set("ok", false);
  r.set("error", std::string(call) + ": " + str(os::to_string(e)) + (why.empty() ? "" : " (" + why + ")"));
  r.set("swarmError", str(os::to_string(e)));
  return r;
}

val failed(std::string error) {
  val r = val::object();
  r.set("ok", false);
  r.set("error", std::move(error));
  r.set("failure", true);
  return r;
}

val agent_to_js(const os::AgentInfo& a) {
  val o = val::object();
  set_numbers(o, "id", a.id.value);
  o.set("name", a.name);
  o.set("kind", str(name_of(kKindNames, a.kind)));
  o.set("status", str(name_of(kAgentStatusNames, a.status)));
  val caps = val::array();
  for (const auto& c : a.capabilities) caps.call<void>("push", c);
  o.set("capabilities", caps);
  set_numbers(o, "running", a.running, "completed", a.completed, "failed", a.failed, "restarts", a.restarts,
              "memoryBytes", a.memory_bytes, "lastHeartbeatNs", a.last_heartbeat_ns);
  o.set("breaker", str(name_of(kBreakerNames, a.breaker)));
  o.set("replacedBy", a.replaced_by.valid() ? val(static_cast<double>(a.replaced_by.value)) : val::null());
  return o;
}

val task_result_to_js(const os::TaskResult& r) {
  val o = val::object();
  set_numbers(o, "id", r.id.value);
  o.set("name", r.name);
  o.set("status", str(name_of(kTaskStatusNames, r.status)));
  o.set("output", bytes_to_js(r.output));
  o.set("error", r.error ? val(omega::to_string(*r.error)) : val::null());
  o.set("errorKind", r.error ? val(str(omega::to_string(r.error->kind()))) : val::null());
  o.set("reason", r.reason);
  o.set("agent", r.agent.valid() ? val(static_cast<double>(r.agent.value)) : val::null());
  set_numbers(o, "attempts", r.attempts, "submittedNs", r.submitted_ns, "readyNs", r.ready_ns, "startedNs",
              r.started_ns, "finishedNs", r.finished_ns);
  return o;
}

val cycle_to_js(const os::CycleStats& s) {
  val o = val::object();
  set_numbers(o, "dispatched", s.dispatched, "completed", s.completed, "failed", s.failed, "cancelled", s.cancelled,
              "timedOut", s.timed_out, "retried", s.retried, "ready", s.ready, "running", s.running, "pending",
              s.pending, "durationNs", s.duration_ns);
  return o;
}

val leader_to_js(const os::LeaderInfo& l) {
  val o = val::object();
  o.set("agent", l.agent.valid() ? val(static_cast<double>(l.agent.value)) : val::null());
  set_numbers(o, "term", l.term);
  return o;
}

val ok_value(const char* key, const val& v) {
  val r = ok_result();
  r.set(key, v);
  return r;
}

// A JS function as a generic agent's work. It is called only on the thread that registered
// it (the swarm runs tasks inline on its caller's thread); anywhere else the task fails
// instead of touching a JS value that thread does not own.
os::GenericWork js_work(const val& fn, std::string name) {
  struct Holder {
    val fn;
    pthread_t owner;
  };
  auto holder = std::make_shared<Holder>(Holder{fn, pthread_self()});
  return [holder, name = std::move(name)](std::span<const std::byte> in)
             -> Result<std::vector<std::byte>, TaskError> {
    if (!pthread_equal(pthread_self(), holder->owner)) {
      return Err(TaskError(TaskError::ExecutionFailed{"agent '" + name +
                                                      "': its JS function runs only on the thread that created the swarm"}));
    }
    const val r = holder->fn(bytes_to_js(in));
    if (!r["ok"].isTrue()) {
      const val e = r["error"];
      return Err(TaskError(TaskError::Panicked{e.isString() ? e.as<std::string>() : std::string("the agent's function failed")}));
    }
    std::vector<std::byte> out;
    const val bytes = r["bytes"];
    if (!bytes.instanceof(val::global("Uint8Array"))) {
      return Err(TaskError(TaskError::ExecutionFailed{"agent '" + name + "': its function must return a Uint8Array"}));
    }
    out.resize(bytes["length"].as<std::size_t>());
    if (!out.empty()) {
      val(emscripten::typed_memory_view(out.size(), reinterpret_cast<unsigned char*>(out.data())))
          .call<void>("set", bytes);
    }
    return out;
  };
}

}  // namespace

JsSwarm::~JsSwarm() { close(); }

void JsSwarm::close() {
  if (!orchestrator_ || in_cycle_) return;
  orchestrator_->shutdown();
  orchestrator_.reset();
}

val JsSwarm::unusable(const char* call) const {
  if (in_cycle_) {
    return failed(std::string(call) + ": called from inside an agent's function while the swarm runs a cycle");
  }
  if (!orchestrator_) return failed(std::string(call) + ": the swarm is closed");
  return val::undefined();
}

val JsSwarm::init(const val& config) {
  if (orchestrator_) return refuse("swarm already started");
  os::SwarmBuilder b;
  b.time_source(TimeSource::system());
  os::SchedulerConfig sched;
  // Without a system a cycle runs up to max_concurrent_tasks tasks inline, on this thread:
  // JS's default keeps one cycle short enough for a page's event loop (C++'s is 512).
  sched.max_concurrent_tasks = kJsMaxConcurrentTasks;
  os::MemoryConfig memory;
  os::CoordinatorConfig coord;
  std::string name = "swarm";
  std::size_t max_agents = 64;
  os::SwarmTopology topology = os::SwarmTopology::Mesh;
  bool fault_tolerance = true;
  std::uint64_t seed = 1;
  if (!config.isUndefined() && !config.isNull()) {
    if (!object_arg(config)) return refuse("config must be an object");
    val r = val::undefined();
    const auto next = [&r](auto&& check) {
      if (r.isUndefined()) r = check();
    };
    if (!config["name"].isUndefined()) next([&] { return string_field(config["name"], "name", name, true); });
    next([&] { return optional_integer(config, "maxAgents", 1, kMaxAgentsBound, "maxAgents", max_agents); });
    if (!config["topology"].isUndefined()) {
      next([&] { return named(kTopologyNames, config["topology"], "topology", topology); });
    }
    if (!config["faultTolerance"].isUndefined()) {
      next([&] { return bool_field(config["faultTolerance"], "faultTolerance", fault_tolerance); });
    }
    if (!config["strategy"].isUndefined()) {
      next([&] { return named(kStrategyNames, config["strategy"], "strategy", sched.selection_strategy); });
    }
    next([&] {
      return optional_integer(config, "maxConcurrentTasks", 1, kMaxCount, "maxConcurrentTasks", sched.max_concurrent_tasks);
    });
    next([&] { return optional_integer(config, "taskQueueSize", 1, kMaxCount, "taskQueueSize", sched.task_queue_size); });
    const val mem = config["memory"];
    if (!mem.isUndefined()) {
      next([&] { return object_arg(mem) ? val::undefined() : refuse("memory must be an object {totalSize, regionSize, eviction}"); });
      if (r.isUndefined()) {
        next([&] { return optional_integer(mem, "totalSize", 1, kMaxPool, "memory.totalSize", memory.total_size); });
        next([&] { return optional_integer(mem, "regionSize", 1, kMaxPool, "memory.regionSize", memory.region_size); });
        if (!mem["eviction"].isUndefined()) {
          next([&] { return named(kEvictionNames, mem["eviction"], "memory.eviction", memory.eviction_policy); });
        }
      }
    }
    if (!config["heartbeatMs"].isUndefined()) {
      next([&] {
        double ms = 0;
        val refusal = integer_arg(config["heartbeatMs"], 1, kMaxTimeoutMs, "heartbeatMs", ms);
        coord.heartbeat_interval = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
        return refusal;
      });
    }
    next([&] {
      return optional_integer(config, "failureThreshold", 1, 1000, "failureThreshold", coord.failure_threshold);
    });
    const val election = config["electionTimeoutMs"];
    if (!election.isUndefined()) {
      next([&] {
        if (!election.isArray() || election["length"].as<double>() != 2) {
          return refuse("electionTimeoutMs must be an array [min, max] of milliseconds");
        }
        double lo = 0, hi = 0;
        val refusal = integer_arg(election[0], 1, kMaxTimeoutMs, "electionTimeoutMs[0]", lo);
        if (refusal.isUndefined()) refusal = integer_arg(election[1], 1, kMaxTimeoutMs, "electionTimeoutMs[1]", hi);
        if (refusal.isUndefined() && lo >= hi) refusal = refuse_range("electionTimeoutMs must be [min, max] with min < max");
        coord.election_timeout_min = std::chrono::milliseconds(static_cast<std::int64_t>(lo));
        coord.election_timeout_max = std::chrono::milliseconds(static_cast<std::int64_t>(hi));
        return refusal;
      });
    }
    next([&] { return optional_integer(config, "seed", 0, kMaxSafeInteger, "seed", seed); });
    if (!r.isUndefined()) return r;
  }
  b.name(name)
      .max_agents(max_agents)
      .topology(topology)
      .fault_tolerance(fault_tolerance)
      .scheduler_config(sched)
      .memory_config(memory)
      .coordinator_config(coord)
      .seed(seed);
  try {
    auto built = b.build();
    if (!built) {
      if (built.error() == os::SwarmError::InvalidConfig) return refuse_range(js_names(b.last_error()));
      return swarm_refusal("createSwarm", built.error());
    }
    auto orchestrator = std::make_unique<os::SwarmOrchestrator>(std::move(*built));
    if (auto init = orchestrator->initialize(); !init) return swarm_refusal("createSwarm", init.error());
    orchestrator_ = std::move(orchestrator);
  } catch (const std::bad_alloc&) {
    return failed("createSwarm: the swarm needs more memory than the module can have");
  } catch (const std::exception& e) {
    return failed(std::string("createSwarm: the swarm could not start: ") + e.what());
  }
  val c = val::object();
  c.set("name", name);
  set_numbers(c, "maxAgents", max_agents);
  c.set("topology", str(name_of(kTopologyNames, topology)));
  c.set("faultTolerance", fault_tolerance);
  c.set("strategy", str(name_of(kStrategyNames, sched.selection_strategy)));
  set_numbers(c, "maxConcurrentTasks", sched.max_concurrent_tasks, "taskQueueSize", sched.task_queue_size);
  val m = val::object();
  set_numbers(m, "totalSize", memory.total_size, "regionSize", memory.region_size);
  m.set("eviction", str(name_of(kEvictionNames, memory.eviction_policy)));
  c.set("memory", m);
  set_numbers(c, "heartbeatMs", coord.heartbeat_interval.count(), "failureThreshold", coord.failure_threshold);
  val election = val::array();
  election.call<void>("push", static_cast<double>(coord.election_timeout_min.count()),
                      static_cast<double>(coord.election_timeout_max.count()));
  c.set("electionTimeoutMs", election);
  set_numbers(c, "seed", seed);
  config_ = c;
  return ok_result();
}

val JsSwarm::config() const { return config_; }

val JsSwarm::refuse_argument(const val& message, const val& range) const {
  const std::string m = message.isString() ? message.as<std::string>() : std::string("bad argument");
  return range.isTrue() ? refuse_range(m) : refuse(m);
}

val JsSwarm::bootstrap() {
  if (val u = unusable("bootstrap"); !u.isUndefined()) return u;
  auto ids = orchestrator_->bootstrap_default_agents();
  if (!ids) return swarm_refusal("bootstrap", ids.error());
  val out = val::array();
  for (const auto id : *ids) out.call<void>("push", static_cast<double>(id.value));
  return ok_value("ids", out);
}

val JsSwarm::register_agent(const val& spec, const val& work) {
  if (val u = unusable("registerAgent"); !u.isUndefined()) return u;
  if (!object_arg(spec)) return refuse("registerAgent: the agent must be an object {kind, name, ...}");
  os::AgentKind kind{};
  std::string name;
  val r = named(kKindNames, spec["kind"], "registerAgent: kind", kind);
  if (r.isUndefined()) r = string_field(spec["name"], "registerAgent: name", name, true);
  std::uint64_t seed = 1;
  if (r.isUndefined()) r = optional_integer(spec, "seed", 0, kMaxSafeInteger, "registerAgent: seed", seed);
  std::size_t inputs = 0;
  unsigned qubits = 0;
  std::vector<std::string> caps;
  if (r.isUndefined()) {
    switch (kind) {
      case os::AgentKind::Neural: {
        double d = 0;
        r = integer_arg(spec["inputs"], 1, static_cast<double>(os::NeuralNetwork::kMaxWidth),
                        "registerAgent: inputs (a neural agent's input width)", d);
        inputs = static_cast<std::size_t>(d);
        break;
      }
      case os::AgentKind::Quantum: {
        double d = 0;
        r = integer_arg(spec["qubits"], 1, os::kMaxQubits, "registerAgent: qubits", d);
        qubits = static_cast<unsigned>(d);
        break;
      }
      case os::AgentKind::Generic: {
        if (work.typeOf().as<std::string>() != "function") {
          r = refuse("registerAgent: a generic agent needs fn, a function (Uint8Array) -> Uint8Array");
          break;
        }
        const val list = spec["capabilities"];
        if (list.isUndefined()) break;
        if (!list.isArray()) {
          r = refuse("registerAgent: capabilities must be an array of strings");
          break;
        }
        const auto n = list["length"].as<std::size_t>();
        for (std::size_t i = 0; i < n && r.isUndefined(); ++i) {
          std::string c;
          r = string_field(list[i], "registerAgent: each capability", c, true);
          caps.push_back(std::move(c));
        }
        break;
      }
    }
  }
  unsigned max_concurrent = 0;
  double weight = 0;
  std::size_t memory_limit = 0;
  if (r.isUndefined()) r = optional_integer(spec, "maxConcurrent", 1, 1024, "registerAgent: maxConcurrent", max_concurrent);
  if (r.isUndefined() && !spec["weight"].isUndefined()) {
    r = positive_number(spec["weight"], 1e6, "registerAgent: weight", weight);
  }
  if (r.isUndefined()) r = optional_integer(spec, "memoryLimit", 0, kMaxPool, "registerAgent: memoryLimit", memory_limit);
  if (!r.isUndefined()) return r;
  try {
    std::optional<os::Agent> agent;
    switch (kind) {
      case os::AgentKind::Neural: agent = os::AgentFactory::create_neural(name, inputs, seed); break;
      case os::AgentKind::Quantum: agent = os::AgentFactory::create_quantum(name, qubits, seed); break;
      case os::AgentKind::Generic: agent = os::AgentFactory::create_generic(name, js_work(work, name), caps); break;
    }
    if (max_concurrent > 0) agent->with_max_concurrent(max_concurrent);
    if (weight > 0) agent->with_weight(weight);
    if (memory_limit > 0) agent->with_memory_limit(memory_limit);
    auto id = orchestrator_->register_agent(std::move(*agent));
    if (!id) return swarm_refusal("registerAgent", id.error());
    return ok_result(val(static_cast<double>(id->value)));
  } catch (const std::bad_alloc&) {
    return failed("registerAgent: the agent needs more memory than the module can have");
  }
}

val JsSwarm::stop_agent(const val& id) {
  if (val u = unusable("stopAgent"); !u.isUndefined()) return u;
  os::AgentId a;
  if (val r = id_arg(id, "stopAgent: id", a); !r.isUndefined()) return r;
  if (auto s = orchestrator_->stop_agent(a); !s) return swarm_refusal("stopAgent", s.error());
  return ok_result();
}

val JsSwarm::kill_agent(const val& id) {
  if (val u = unusable("killAgent"); !u.isUndefined()) return u;
  os::AgentId a;
  if (val r = id_arg(id, "killAgent: id", a); !r.isUndefined()) return r;
  if (auto s = orchestrator_->kill_agent(a); !s) return swarm_refusal("killAgent", s.error());
  return ok_result();
}

val JsSwarm::agents() const {
  if (val u = unusable("agents"); !u.isUndefined()) return u;
  val out = val::array();
  for (const auto& a : orchestrator_->agents()) out.call<void>("push", agent_to_js(a));
  return ok_value("agents", out);
}

val JsSwarm::agent(const val& id) const {
  if (val u = unusable("agent"); !u.isUndefined()) return u;
  os::AgentId a;
  if (val r = id_arg(id, "agent: id", a); !r.isUndefined()) return r;
  const auto info = orchestrator_->agent_info(a);
  return ok_value("agent", info ? agent_to_js(*info) : val::null());
}

val JsSwarm::reserve_task_id() {
  if (val u = unusable("reserveTaskId"); !u.isUndefined()) return u;
  return ok_result(val(static_cast<double>(orchestrator_->reserve_task_id().value)));
}

val JsSwarm::submit(const val& spec) {
  if (val u = unusable("submit"); !u.isUndefined()) return u;
  if (!object_arg(spec)) return refuse("submit: the task must be an object {name, payload, priority, capability, dependsOn, timeoutMs}");
  os::Task t;
  val r = string_field(spec["name"], "submit: name", t.name, true);
  if (r.isUndefined() && !spec["payload"].isUndefined()) r = bytes_arg(spec["payload"], "submit: payload", t.payload);
  if (r.isUndefined() && !spec["priority"].isUndefined()) {
    const auto p = priority_arg(spec["priority"]);
    if (!p) {
      r = spec["priority"].isString() ? refuse_range("submit: " + priority_refusal())
                                      : refuse("submit: " + priority_refusal());
    } else {
      t.priority = *p;
    }
  }
  if (r.isUndefined() && !spec["capability"].isUndefined()) {
    r = string_field(spec["capability"], "submit: capability", t.capability, false);
  }
  if (r.isUndefined() && !spec["timeoutMs"].isUndefined()) {
    double ms = 0;
    r = positive_number(spec["timeoutMs"], kMaxTimeoutMs, "submit: timeoutMs", ms);
    t.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double, std::milli>(ms));
  }
  if (r.isUndefined()) r = optional_integer(spec, "maxRetries", 0, 1000, "submit: maxRetries", t.max_retries);
  if (r.isUndefined() && !spec["id"].isUndefined()) r = id_arg(spec["id"], "submit: id (a reserved task id)", t.id);
  const val deps = spec["dependsOn"];
  if (r.isUndefined() && !deps.isUndefined()) {
    if (!deps.isArray()) {
      r = refuse("submit: dependsOn must be an array of task ids");
    } else {
      const auto n = deps["length"].as<std::size_t>();
      for (std::size_t i = 0; i < n && r.isUndefined(); ++i) {
        os::TaskId d;
        r = id_arg(deps[i], "submit: dependsOn[" + std::to_string(i) + "]", d);
        t.dependencies.push_back(d);
      }
    }
  }
  if (!r.isUndefined()) return r;
  auto id = orchestrator_->submit_task(std::move(t));
  if (!id) return swarm_refusal("submit", id.error());
  return ok_result(val(static_cast<double>(id->value)));
}

val JsSwarm::process_cycle() {
  if (val u = unusable("processCycle"); !u.isUndefined()) return u;
  in_cycle_ = true;
  auto s = orchestrator_->process_cycle();
  in_cycle_ = false;
  if (!s) return swarm_refusal("processCycle", s.error());
  return ok_value("stats", cycle_to_js(*s));
}

val JsSwarm::run_for(const val& slice_ms) {
  if (val u = unusable("runFor"); !u.isUndefined()) return u;
  double ms = 0;
  if (val r = positive_number(slice_ms, kMaxSliceMs, "runFor: sliceMs", ms); !r.isUndefined()) return r;
  const std::int64_t until = now_ns() + static_cast<std::int64_t>(ms * 1e6);
  std::size_t cycles = 0;
  bool idle = false;
  in_cycle_ = true;
  std::optional<os::SwarmError> error;
  while (true) {
    auto s = orchestrator_->process_cycle();
    ++cycles;
    if (!s) {
      error = s.error();
      break;
    }
    if (s->pending == 0 && s->ready == 0 && s->running == 0) {
      idle = true;
      break;
    }
    if (now_ns() >= until) break;
  }
  in_cycle_ = false;
  if (error) return swarm_refusal("runUntilIdle", *error);
  val r = ok_result();
  r.set("idle", idle);
  set_numbers(r, "cycles", cycles);
  return r;
}

val JsSwarm::result(const val& id) const {
  if (val u = unusable("result"); !u.isUndefined()) return u;
  os::TaskId t;
  if (val r = id_arg(id, "result: id", t); !r.isUndefined()) return r;
  const auto res = orchestrator_->get_task_result(t);
  return ok_value("result", res ? task_result_to_js(*res) : val::null());
}

val JsSwarm::task_status(const val& id) const {
  if (val u = unusable("taskStatus"); !u.isUndefined()) return u;
  os::TaskId t;
  if (val r = id_arg(id, "taskStatus: id", t); !r.isUndefined()) return r;
  const auto s = orchestrator_->task_status(t);
  if (!s) return swarm_refusal("taskStatus", s.error());
  return ok_value("status", val(str(name_of(kTaskStatusNames, *s))));
}

val JsSwarm::cancel(const val& id) {
  if (val u = unusable("cancel"); !u.isUndefined()) return u;
  os::TaskId t;
  if (val r = id_arg(id, "cancel: id", t); !r.isUndefined()) return r;
  const auto n = orchestrator_->cancel_task(t);
  if (!n) return swarm_refusal("cancel", n.error());
  return ok_value("count", val(static_cast<double>(*n)));
}

val JsSwarm::propose(const val& agent, const val& type, const val& bytes) {
  if (val u = unusable("propose"); !u.isUndefined()) return u;
  os::AgentId a;
  os::ProposalType pt{};
  std::vector<std::byte> data;
  val r = id_arg(agent, "propose: agentId", a);
  if (r.isUndefined()) r = named(kProposalTypeNames, type, "propose: type", pt);
  if (r.isUndefined() && !bytes.isUndefined()) r = bytes_arg(bytes, "propose: data", data);
  if (!r.isUndefined()) return r;
  auto id = orchestrator_->coordinator().submit_proposal(a, pt, data);
  if (!id) return swarm_refusal("propose", id.error());
  return ok_result(val(static_cast<double>(id->value)));
}

val JsSwarm::vote(const val& proposal, const val& agent, const val& decision, const val& reason) {
  if (val u = unusable("vote"); !u.isUndefined()) return u;
  os::ProposalId p;
  os::AgentId a;
  os::VoteDecision d{};
  std::string why;
  val r = id_arg(proposal, "vote: proposalId", p);
  if (r.isUndefined()) r = id_arg(agent, "vote: agentId", a);
  if (r.isUndefined()) r = named(kVoteNames, decision, "vote: decision", d);
  if (r.isUndefined() && !reason.isUndefined()) r = string_field(reason, "vote: reason", why, false);
  if (!r.isUndefined()) return r;
  auto s = orchestrator_->coordinator().cast_vote(p, a, d, why);
  if (!s) return swarm_refusal("vote", s.error());
  return ok_value("status", val(str(name_of(kProposalStatusNames, *s))));
}

val JsSwarm::proposal_status(const val& proposal) const {
  if (val u = unusable("proposalStatus"); !u.isUndefined()) return u;
  os::ProposalId p;
  if (val r = id_arg(proposal, "proposalStatus: proposalId", p); !r.isUndefined()) return r;
  auto s = orchestrator_->coordinator().status(p);
  if (!s) return swarm_refusal("proposalStatus", s.error());
  return ok_value("status", val(str(name_of(kProposalStatusNames, *s))));
}

val JsSwarm::leader() const {
  if (val u = unusable("leader"); !u.isUndefined()) return u;
  return ok_value("leader", leader_to_js(orchestrator_->coordinator().leader()));
}

val JsSwarm::mem_allocate(const val& agent, const val& size) {
  if (val u = unusable("memory.allocate"); !u.isUndefined()) return u;
  os::AgentId a;
  double n = 0;
  val r = id_arg(agent, "memory.allocate: agentId", a);
  if (r.isUndefined()) r = integer_arg(size, 1, kMaxPool, "memory.allocate: size", n);
  if (!r.isUndefined()) return r;
  auto id = orchestrator_->memory_manager().allocate(a, static_cast<std::size_t>(n));
  if (!id) return swarm_refusal("memory.allocate", id.error());
  return ok_result(val(static_cast<double>(id->value)));
}

val JsSwarm::mem_write(const val& region, const val& bytes, const val& offset) {
  if (val u = unusable("memory.write"); !u.isUndefined()) return u;
  os::RegionId id;
  std::vector<std::byte> data;
  double at = 0;
  val r = id_arg(region, "memory.write: regionId", id);
  if (r.isUndefined()) r = bytes_arg(bytes, "memory.write: data", data);
  if (r.isUndefined() && !offset.isUndefined()) r = integer_arg(offset, 0, kMaxPool, "memory.write: offset", at);
  if (!r.isUndefined()) return r;
  auto w = orchestrator_->memory_manager().write(id, data, static_cast<std::size_t>(at));
  if (!w) return swarm_refusal("memory.write", w.error());
  return ok_result();
}

val JsSwarm::mem_read(const val& region, const val& length, const val& offset) {
  if (val u = unusable("memory.read"); !u.isUndefined()) return u;
  os::RegionId id;
  double n = 0, at = 0;
  val r = id_arg(region, "memory.read: regionId", id);
  if (r.isUndefined()) r = integer_arg(length, 0, kMaxPayload, "memory.read: length", n);
  if (r.isUndefined() && !offset.isUndefined()) r = integer_arg(offset, 0, kMaxPool, "memory.read: offset", at);
  if (!r.isUndefined()) return r;
  std::vector<std::byte> buf(static_cast<std::size_t>(n));
  auto got = orchestrator_->memory_manager().read(id, buf, static_cast<std::size_t>(at));
  if (!got) return swarm_refusal("memory.read", got.error());
  return ok_value("data", bytes_to_js(std::span<const std::byte>(buf).first(std::min(*got, buf.size()))));
}

val JsSwarm::mem_transfer(const val& region, const val& agent) {
  if (val u = unusable("memory.transfer"); !u.isUndefined()) return u;
  os::RegionId id;
  os::AgentId a;
  val r = id_arg(region, "memory.transfer: regionId", id);
  if (r.isUndefined()) r = id_arg(agent, "memory.transfer: agentId", a);
  if (!r.isUndefined()) return r;
  auto t = orchestrator_->memory_manager().transfer(id, a);
  if (!t) return swarm_refusal("memory.transfer", t.error());
  return ok_result();
}

val JsSwarm::mem_free(const val& region) {
  if (val u = unusable("memory.free"); !u.isUndefined()) return u;
  os::RegionId id;
  if (val r = id_arg(region, "memory.free: regionId", id); !r.isUndefined()) return r;
  auto f = orchestrator_->memory_manager().free(id);
  if (!f) return swarm_refusal("memory.free", f.error());
  return ok_result();
}

val JsSwarm::mem_gc() {
  if (val u = unusable("memory.gc"); !u.isUndefined()) return u;
  const auto n = orchestrator_->memory_manager().garbage_collect();
  if (!n) return swarm_refusal("memory.gc", n.error());
  return ok_value("collected", val(static_cast<double>(*n)));
}

val JsSwarm::mem_stats() const {
  if (val u = unusable("memory.stats"); !u.isUndefined()) return u;
  const os::MemoryStats s = orchestrator_->memory_stats();
  val o = val::object();
  set_numbers(o, "totalBytes", s.total_bytes, "usedBytes", s.used_bytes, "reservedBytes", s.reserved_bytes,
              "regionsTotal", s.regions_total, "regionsUsed", s.regions_used, "regionsPinned", s.regions_pinned,
              "agents", s.agents, "allocations", s.allocations, "frees", s.frees, "evictions", s.evictions,
              "transfers", s.transfers, "reads", s.reads, "writes", s.writes, "bytesRead", s.bytes_read,
              "bytesWritten", s.bytes_written, "hits", s.hits, "misses", s.misses, "gcRuns", s.gc_runs,
              "gcReclaimed", s.gc_reclaimed, "refusedQuota", s.refused_quota, "refusedOom", s.refused_oom,
              "refusedBounds", s.refused_bounds, "utilization", s.utilization, "fill", s.fill, "hitRate",
              s.hit_rate);
  return ok_value("stats", o);
}

val JsSwarm::metrics() {
  if (val u = unusable("metrics"); !u.isUndefined()) return u;
  const os::SwarmMetrics m = orchestrator_->metrics();
  val o = val::object();
  set_numbers(o, "totalAgents", m.total_agents, "activeAgents", m.active_agents, "failedAgents", m.failed_agents,
              "tasksSubmitted", m.tasks_submitted, "tasksCompleted", m.tasks_completed, "tasksFailed", m.tasks_failed,
              "tasksCancelled", m.tasks_cancelled, "tasksTimedOut", m.tasks_timed_out, "tasksPending", m.tasks_pending,
              "tasksRunning", m.tasks_running, "throughput", m.throughput, "memoryUtilization", m.memory_utilization,
              "avgTaskLatencyMs", m.avg_task_latency_ms, "p99ReadyToStartUs", m.p99_ready_to_start_us,
              "messagesSent", m.messages_sent, "uptimeS", m.uptime_s);
  o.set("leader", leader_to_js(m.leader));
  return ok_value("metrics", o);
}

val JsSwarm::scheduler_stats() const {
  if (val u = unusable("schedulerStats"); !u.isUndefined()) return u;
  const os::SchedulerStats s = orchestrator_->scheduler_stats();
  val o = val::object();
  set_numbers(o, "submitted", s.submitted, "completed", s.completed, "failed", s.failed, "cancelled", s.cancelled,
              "timedOut", s.timed_out, "refused", s.refused, "retried", s.retried, "reassigned", s.reassigned,
              "duplicateResults", s.duplicate_results, "dispatched", s.dispatched, "cycles", s.cycles,
              "starvedCycles", s.starved_cycles, "pending", s.pending, "ready", s.ready, "running", s.running);
  val by = val::object();
  for (const auto& row : kPriorityNames) {
    by.set(str(row.name), static_cast<double>(s.dispatched_by_priority[static_cast<std::size_t>(row.value)]));
  }
  o.set("dispatchedByPriority", by);
  o.set("readyToStartNs", percentiles_to_js(s.ready_to_start_ns));
  o.set("runNs", percentiles_to_js(s.run_ns));
  return ok_value("stats", o);
}

val JsSwarm::coordination_stats() const {
  if (val u = unusable("coordinationStats"); !u.isUndefined()) return u;
  const os::CoordinationStats s = orchestrator_->coordination_stats();
  val o = val::object();
  set_numbers(o, "proposals", s.proposals, "accepted", s.accepted, "rejected", s.rejected, "expired", s.expired,
              "votes", s.votes, "votesRefusedSignature", s.votes_refused_signature, "votesRefusedOther",
              s.votes_refused_other, "equivocations", s.equivocations, "faultyAgents", s.faulty_agents, "echoes",
              s.echoes, "elections", s.elections, "terms", s.terms, "leaderChanges", s.leader_changes,
              "splitBrainTerms", s.split_brain_terms, "heartbeatsSent", s.heartbeats_sent, "heartbeatsMissed",
              s.heartbeats_missed, "failuresDetected", s.failures_detected, "recoveries", s.recoveries,
              "messagesSent", s.messages_sent, "messagesReceived", s.messages_received, "messagesLost",
              s.messages_lost, "messagesMalformed", s.messages_malformed, "members", s.members, "alive", s.alive,
              "openProposals", s.open_proposals);
  o.set("byzantineTolerant", s.byzantine_tolerant);
  return ok_value("stats", o);
}

std::string JsSwarm::status_json() const { return orchestrator_ && !in_cycle_ ? orchestrator_->export_status() : std::string(); }

std::string JsSwarm::metrics_prometheus() const {
  return orchestrator_ && !in_cycle_ ? orchestrator_->metrics_snapshot().to_prometheus() : std::string();
}

std::string JsSwarm::metrics_json() const {
  return orchestrator_ && !in_cycle_ ? orchestrator_->metrics_snapshot().to_json() : std::string();
}

}  // namespace omega::js
