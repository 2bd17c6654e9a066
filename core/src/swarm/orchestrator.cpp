// SwarmOrchestrator: the agent registry, the DAG task scheduler and the glue between the
// components (hub, coordinator, memory manager, circuit breakers) — seed 004's
// "SwarmOrchestrator" box. Contracts are in omega/swarm/swarm.hpp.
//
// Threading: one owner thread drives the orchestrator (submit, process_cycle, queries). With
// a system attached, task runs happen on the system's workers; the only state they touch is
// the completion inbox (a mutex and a vector), drained by the owner at each cycle.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include <omega/base/config.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/rng.hpp>
#include <omega/exec/system.hpp>
#include <omega/swarm/swarm.hpp>
#include <omega/time/scheduler.hpp>

namespace omega::swarm {

std::vector<std::byte> checksum_bytes(std::span<const std::byte> payload);  // agent.cpp

std::string SchedulerConfig::validate() const {
  if (max_concurrent_tasks == 0) return "scheduler_config: max_concurrent_tasks must be at least 1";
  if (task_queue_size == 0) return "scheduler_config: task_queue_size must be at least 1";
  if (task_queue_size > (std::size_t{1} << 28)) return "scheduler_config: task_queue_size must be at most 2^28";
  if (result_retention == 0) return "scheduler_config: result_retention must be at least 1";
  return {};
}

namespace {

constexpr std::uint32_t kNoIndex = ~std::uint32_t{0};

// What settling a dependency reads comes first, in one cache line: finishing a task touches
// each dependent's record, and a DAG of 10^5 tasks does not fit in cache.
struct TaskRec {
  TaskStatus status = TaskStatus::Pending;
  Priority priority = Priority::Normal;
  bool submitted = false;           // false: a reserved id, not yet submitted
  bool released = false;            // past result_retention: payload and output freed
  std::uint32_t unmet = 0;          // dependencies not yet Completed
  std::uint32_t first_dependent = kNoIndex;  // edges (Impl::edges) to the tasks that wait for this one
  std::uint32_t last_dependent = kNoIndex;
  std::int64_t ready_ns = 0;
  Task task;
  std::uint32_t agent = kNoIndex;   // agent index of the current or counted run
  std::uint32_t attempts = 0;
  std::uint64_t token = 0;          // the current dispatch; outcomes of other tokens are late
  BreakerPermit permit;             // the current dispatch's permit from its agent's breaker
  std::int64_t submitted_ns = 0, started_ns = 0, finished_ns = 0;
  std::vector<std::byte> output;
  std::optional<TaskError> error;
  std::string reason;
  TimerId timer;
  bool has_timer = false;
};

// One "waits for" edge: dependents are kept as lists threaded through one append-only pool, in
// submission order, so a task with dependents costs no allocation of its own.
struct Edge {
  std::uint64_t task;   // the dependent
  std::uint32_t next;   // the next edge of the same list, kNoIndex at the end
};

// Task records by index, in chunks of 1024: stable addresses like std::deque, but one
// allocation per chunk (libstdc++'s deque gives a record this size a block of its own).
class TaskTable {
 public:
  static constexpr std::size_t kChunk = 1024;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  TaskRec& operator[](std::size_t i) noexcept { return chunks_[i / kChunk][i % kChunk]; }
  const TaskRec& operator[](std::size_t i) const noexcept { return chunks_[i / kChunk][i % kChunk]; }
  TaskRec& emplace_back() {
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<TaskRec[]>(kChunk));
    return (*this)[size_++];
  }

 private:
  std::vector<std::unique_ptr<TaskRec[]>> chunks_;
  std::size_t size_ = 0;
};

struct AgentRec {
  AgentRec(Agent d, AgentId i) : def(std::move(d)), id(i) {}
  Agent def;
  AgentId id;
  AgentStatus status = AgentStatus::Idle;
  bool crashed = false;             // killed: selectable again only after restart
  std::uint64_t incarnation = 0;    // bumped at each restart: runs of older ones are lost
  unsigned running = 0;
  std::vector<std::uint64_t> runs;  // tasks whose current run is on this agent (this incarnation)
  std::uint64_t completed = 0, failed = 0, restarts = 0;
  std::unique_ptr<CircuitBreaker> breaker;
  std::vector<std::int64_t> restart_times;  // within the policy's window
  std::uint32_t backoff_restarts = 0;
  std::int64_t restart_at = 0;      // Restarting: when
  double failure_ewma = 0;          // LoadBalanced: recent failure ratio
  AgentId replaced_by;
};

struct Completion {
  std::uint64_t task;
  std::uint64_t token;
  std::uint32_t agent;
  std::uint64_t incarnation;
  BreakerPermit permit;
  Result<std::vector<std::byte>, TaskError> outcome;
};

}  // namespace

struct SwarmOrchestrator::Impl {
  std::string name;
  std::size_t max_agents;
  SwarmTopology topology;
  bool fault_tolerance;
  bool monitoring;
  SchedulerConfig sched;
  BreakerConfig breaker_config;
  TimeSource time;
  UltraOmegaSystem* system;
  OmegaRng rng;

  CommunicationHub hub;      // the agents' data plane: what users send through hub()
  CommunicationHub control;  // the coordinator's: heartbeats and elections, same topology
  MemoryManager memory;
  SwarmCoordinator coordinator;
  Scheduler wheel;

  bool initialized = false;
  bool shutting_down = false;
  std::int64_t started_ns = 0;

  TaskTable tasks;                                // index = TaskId - 1
  std::vector<Edge> edges;                        // every dependency edge ever submitted
  std::array<std::deque<std::uint64_t>, 4> ready; // by Priority
  std::deque<std::uint64_t> finished_order;       // for result_retention
  std::size_t unfinished = 0;                     // submitted, not final
  std::size_t pending = 0, ready_count = 0, running = 0;
  std::uint64_t next_token = 1;
  std::uint64_t replacements = 0;

  std::vector<AgentRec> agents;                   // index = AgentId - 1
  // The agents that can take a task: one list per capability, one for tasks without one.
  // What selection needs to stop early (the best score any member could have) is kept with it.
  struct CapList {
    std::vector<std::uint32_t> agents;
    std::uint32_t cursor = 0;      // RoundRobin's next start; the scored strategies' tie rotation
    double max_weight = 1.0;
    std::size_t min_caps = 0;
  };
  std::unordered_map<std::string, CapList> by_capability;  // node-based: CapList addresses are stable
  CapList all_agents;
  std::unordered_map<std::string, std::uint32_t> names;

  std::mutex inbox_mu;
  std::condition_variable inbox_cv;               // an idle owner waits here for a run to return
  std::vector<Completion> inbox;                  // filled by workers (system mode)
  std::atomic<std::size_t> in_flight{0};          // runs handed to the system, not yet returned

  SchedulerStats stats;
  Histogram ready_to_start{};
  Histogram run_time{};
  double latency_sum_ms = 0;
  std::uint64_t latency_n = 0;
  std::int64_t last_metrics_ns = 0;
  std::uint64_t last_metrics_finished = 0;
  CycleStats cycle;                               // the cycle in progress

  Impl(SwarmBuilder& b)
      : name(b.name_),
        max_agents(b.max_agents_),
        topology(b.topology_),
        fault_tolerance(b.fault_tolerance_),
        monitoring(b.monitoring_),
        sched(b.scheduler_),
        breaker_config(b.breaker_),
        time(b.time_),
        system(b.system_),
        rng(OmegaRng::new_with_seed(b.seed_)),
        hub(hub_config(b)),
        control(hub_config(b)),
        memory(b.memory_, b.time_),
        coordinator(control, coordinator_config(b), b.time_),
        wheel(SchedulerConfig_wheel(), b.time_) {}

  static HubConfig hub_config(const SwarmBuilder& b) {
    HubConfig h = b.hub_;
    h.topology = b.topology_;
    return h;
  }
  static CoordinatorConfig coordinator_config(const SwarmBuilder& b) {
    CoordinatorConfig c = b.coordinator_;
    if (c.seed == CoordinatorConfig{}.seed) c.seed = b.seed_;
    return c;
  }
  static omega::SchedulerConfig SchedulerConfig_wheel() {
    omega::SchedulerConfig c;
    c.tick_rate_ns = 100'000;  // 100 us: finer than any heartbeat or deadline the swarm keeps
    c.max_tasks_per_tick = 100'000;
    c.parallel = false;
    return c;
  }

  std::int64_t now() const { return time.read(); }

  // ---- tasks ---------------------------------------------------------------------------

  TaskRec* rec(TaskId id) {
    if (!id.valid() || id.value > tasks.size()) return nullptr;
    return &tasks[id.value - 1];
  }
  const TaskRec* rec(TaskId id) const {
    if (!id.valid() || id.value > tasks.size()) return nullptr;
    return &tasks[id.value - 1];
  }
  static TaskId id_of(std::uint64_t index) { return TaskId{index + 1}; }

  TaskId reserve() {
    tasks.emplace_back();
    return id_of(tasks.size() - 1);
  }

  void add_dependent(TaskRec& dep, std::uint64_t dependent) {
    const auto e = static_cast<std::uint32_t>(edges.size());
    edges.push_back(Edge{dependent, kNoIndex});
    if (dep.last_dependent == kNoIndex) {
      dep.first_dependent = e;
    } else {
      edges[dep.last_dependent].next = e;
    }
    dep.last_dependent = e;
  }

  // A cycle through the task at `from` exists iff `target` (one of its dependencies) waits,
  // transitively, for it: a walk along "is waited for by" edges from `from` reaches `target`.
  bool reaches(std::uint64_t from, std::uint64_t target) const {
    std::vector<std::uint64_t> stack{from};
    std::unordered_set<std::uint64_t> seen{from};
    while (!stack.empty()) {
      const std::uint64_t i = stack.back();
      stack.pop_back();
      if (i == target) return true;
      for (std::uint32_t e = tasks[i].first_dependent; e != kNoIndex; e = edges[e].next) {
        if (seen.insert(edges[e].task).second) stack.push_back(edges[e].task);
      }
    }
    return false;
  }

  bool capability_known(const std::string& c) const {
    if (c.empty()) return !agents.empty();
    auto it = by_capability.find(c);
    return it != by_capability.end() && !it->second.agents.empty();
  }

  Result<TaskId, SwarmError> submit(Task task) {
    auto refuse = [&](SwarmError e) -> Result<TaskId, SwarmError> {
      ++stats.refused;
      return Err(e);
    };
    if (!initialized) return refuse(SwarmError::NotInitialized);
    if (shutting_down) return refuse(SwarmError::ShuttingDown);
    if (task.name.empty()) return refuse(SwarmError::InvalidTask);
    if (unfinished >= sched.task_queue_size) return refuse(SwarmError::QueueFull);
    if (!task.dependencies.empty() && !sched.dependency_resolution) return refuse(SwarmError::InvalidTask);
    // Edge indices are 32-bit: 4 * 10^9 dependency edges in one orchestrator's life (64 GB of them).
    if (edges.size() + task.dependencies.size() >= kNoIndex) return refuse(SwarmError::QueueFull);
    if (!capability_known(task.capability)) return refuse(SwarmError::NoCapableAgent);
    std::uint64_t index;
    if (task.id.valid()) {
      TaskRec* r = rec(task.id);
      if (r == nullptr) return refuse(SwarmError::UnknownTask);
      if (r->submitted) return refuse(SwarmError::InvalidTask);  // the id was used already
      index = task.id.value - 1;
    } else {
      index = tasks.size();
    }
    // Dependencies: known ids, not itself, no cycle through this task, no duplicates.
    std::sort(task.dependencies.begin(), task.dependencies.end());
    task.dependencies.erase(std::unique(task.dependencies.begin(), task.dependencies.end()), task.dependencies.end());
    for (TaskId d : task.dependencies) {
      if (rec(d) == nullptr) return refuse(SwarmError::UnknownTask);
      if (d.value - 1 == index) return refuse(SwarmError::CycleDetected);
    }
    if (index < tasks.size() && tasks[index].first_dependent != kNoIndex) {
      for (TaskId d : task.dependencies) {
        if (reaches(index, d.value - 1)) return refuse(SwarmError::CycleDetected);
      }
    }
    if (index == tasks.size()) tasks.emplace_back();
    TaskRec& r = tasks[index];
    r.submitted = true;
    r.submitted_ns = now();
    task.id = id_of(index);
    r.priority = task.priority;
    r.task = std::move(task);
    ++stats.submitted;
    ++unfinished;
    std::string failed_dep;
    for (TaskId d : r.task.dependencies) {
      TaskRec& dep = tasks[d.value - 1];
      if (dep.status == TaskStatus::Completed) continue;
      if (is_final(dep.status)) {
        failed_dep = "dependency " + std::to_string(d.value) + " " + std::string(to_string(dep.status));
        continue;
      }
      add_dependent(dep, index);
      ++r.unmet;
    }
    if (r.task.timeout) {
      const auto deadline = *r.task.timeout;
      r.timer = wheel.schedule(TimerTask([this, index] { on_timeout(index); }, deadline));
      r.has_timer = true;
    }
    if (!failed_dep.empty()) {
      // Accepted, then cancelled at once: the same outcome as if the dependency had failed later.
      ++pending;
      r.status = TaskStatus::Pending;
      cancel_one(index, failed_dep);
      return r.task.id;
    }
    if (r.unmet == 0) {
      make_ready(index);
    } else {
      r.status = TaskStatus::Pending;
      ++pending;
    }
    return r.task.id;
  }

  void make_ready(std::uint64_t index) {
    TaskRec& r = tasks[index];
    r.status = TaskStatus::Ready;
    r.ready_ns = now();
    ready[static_cast<std::size_t>(r.priority)].push_back(index);
    ++ready_count;
  }

  // Ends a task (any final status) and settles its dependents.
  void finish(std::uint64_t index, TaskStatus status) {
    TaskRec& r = tasks[index];
    switch (r.status) {
      case TaskStatus::Pending: --pending; break;
      case TaskStatus::Ready: --ready_count; break;  // its queue entry is skipped when popped
      case TaskStatus::Running: --running; break;
      default: return;  // already final
    }
    r.status = status;
    r.finished_ns = now();
    --unfinished;
    if (r.has_timer) {
      wheel.cancel(r.timer);
      r.has_timer = false;
    }
    const double ms = static_cast<double>(r.finished_ns - r.submitted_ns) / 1e6;
    latency_sum_ms += ms;
    ++latency_n;
    switch (status) {
      case TaskStatus::Completed: ++stats.completed; ++cycle.completed; break;
      case TaskStatus::Failed: ++stats.failed; ++cycle.failed; break;
      case TaskStatus::Cancelled: ++stats.cancelled; ++cycle.cancelled; break;
      case TaskStatus::TimedOut: ++stats.timed_out; ++cycle.timed_out; break;
      default: break;
    }
    finished_order.push_back(index);
    while (finished_order.size() > sched.result_retention) {
      TaskRec& old = tasks[finished_order.front()];
      old.released = true;
      std::vector<std::byte>().swap(old.output);
      std::vector<std::byte>().swap(old.task.payload);
      finished_order.pop_front();
    }
    std::uint32_t edge = r.first_dependent;
    r.first_dependent = r.last_dependent = kNoIndex;
    if (status == TaskStatus::Completed) {
      for (; edge != kNoIndex; edge = edges[edge].next) {
        const std::uint64_t d = edges[edge].task;
        TaskRec& dr = tasks[d];
        if (dr.status != TaskStatus::Pending) continue;
        if (--dr.unmet == 0) {
          --pending;
          make_ready(d);
        }
      }
    } else {
      const std::string why = "dependency " + std::to_string(index + 1) + " " + std::string(to_string(status));
      for (; edge != kNoIndex; edge = edges[edge].next) cancel_one(edges[edge].task, why);
    }
  }

  void cancel_one(std::uint64_t index, const std::string& why) {
    TaskRec& r = tasks[index];
    if (is_final(r.status) || !r.submitted) return;
    r.reason = why;
    if (r.status == TaskStatus::Running) release_run(r);
    finish(index, TaskStatus::Cancelled);
  }

  // The current run no longer counts: its outcome, when it comes, is late. The agent stays
  // busy with it until it returns (its running count drops then).
  static void release_run(TaskRec& r) { r.token = 0; }

  void on_timeout(std::uint64_t index) {
    TaskRec& r = tasks[index];
    r.has_timer = false;
    if (is_final(r.status)) return;
    r.error = TaskError(TaskError::TimedOut{});
    if (r.status == TaskStatus::Running) release_run(r);
    finish(index, TaskStatus::TimedOut);
  }

  // ---- agents ------------------------------------------------------------------------

  AgentRec* agent(AgentId id) {
    if (!id.valid() || id.value > agents.size()) return nullptr;
    return &agents[id.value - 1];
  }
  const AgentRec* agent(AgentId id) const {
    if (!id.valid() || id.value > agents.size()) return nullptr;
    return &agents[id.value - 1];
  }

  static bool live(const AgentRec& a) {
    return !a.crashed && (a.status == AgentStatus::Idle || a.status == AgentStatus::Busy || a.status == AgentStatus::Degraded);
  }

  Result<AgentId, SwarmError> add_agent(Agent def) {
    if (shutting_down) return Err(SwarmError::ShuttingDown);
    std::size_t live_count = 0;
    for (const AgentRec& a : agents) live_count += (a.status != AgentStatus::Stopped && a.status != AgentStatus::Failed);
    if (live_count >= max_agents) return Err(SwarmError::AgentLimitReached);
    if (def.name().empty()) return Err(SwarmError::InvalidConfig);
    if (names.count(def.name()) != 0) return Err(SwarmError::DuplicateAgent);
    const AgentId id{static_cast<std::uint32_t>(agents.size() + 1)};
    if (auto r = hub.add_agent(id); !r) return Err(r.error());
    if (auto r = coordinator.add_member(id); !r) {
      hub.remove_agent(id);
      return Err(r.error());
    }
    AgentRec a(std::move(def), id);
    a.breaker = std::make_unique<CircuitBreaker>(breaker_config, time);
    if (a.def.memory_limit() != 0) memory.set_agent_limit(id, a.def.memory_limit());
    const auto index = static_cast<std::uint32_t>(agents.size());
    names.emplace(a.def.name(), index);
    agents.push_back(std::move(a));
    for (const std::string& c : agents.back().def.capabilities()) add_to(by_capability[c], index);
    add_to(all_agents, index);
    return id;
  }

  void refresh(CapList& l) {
    l.max_weight = 0;
    l.min_caps = ~std::size_t{0};
    for (std::uint32_t i : l.agents) {
      l.max_weight = std::max(l.max_weight, agents[i].def.weight());
      l.min_caps = std::min(l.min_caps, agents[i].def.capabilities().size());
    }
    if (l.agents.empty()) l.max_weight = 1.0, l.min_caps = 0;
  }
  void add_to(CapList& l, std::uint32_t index) {
    l.agents.push_back(index);
    refresh(l);
  }
  void drop_from_indexes(std::uint32_t index) {
    auto erase = [&](CapList& l) {
      l.agents.erase(std::remove(l.agents.begin(), l.agents.end(), index), l.agents.end());
      refresh(l);
    };
    for (const std::string& c : agents[index].def.capabilities()) erase(by_capability[c]);
    erase(all_agents);
  }

  // Re-queues (fault tolerance, or a stopped agent) or fails every task the agent runs now.
  void orphan_runs(std::uint32_t index, const std::string& why, bool requeue) {
    std::vector<std::uint64_t> runs = std::move(agents[index].runs);
    agents[index].runs.clear();
    agents[index].running = 0;
    for (std::uint64_t i : runs) {
      TaskRec& r = tasks[i];
      if (r.status != TaskStatus::Running || r.agent != index) continue;
      r.token = 0;
      if (requeue) {
        ++stats.reassigned;
        ++cycle.retried;
        --running;
        make_ready(i);
      } else {
        r.error = TaskError(TaskError::ExecutionFailed{why});
        finish(i, TaskStatus::Failed);
      }
    }
  }

  void on_agent_failure(AgentId id) {
    AgentRec* a = agent(id);
    if (a == nullptr || a->status == AgentStatus::Stopped || a->status == AgentStatus::Failed ||
        a->status == AgentStatus::Restarting) {
      return;
    }
    const auto index = static_cast<std::uint32_t>(id.value - 1);
    ++a->failed;
    ++a->incarnation;  // whatever it ran is lost
    orphan_runs(index, "agent " + a->def.name() + " failed", fault_tolerance);
    if (!fault_tolerance) {
      a->status = AgentStatus::Failed;
      drop_from_indexes(index);
      return;
    }
    // The actor layer's RestartPolicy: immediate restarts within the window, then backoff.
    const actor::RestartPolicy& p = a->def.restart_policy();
    const std::int64_t t = now();
    const std::int64_t window = std::chrono::duration_cast<std::chrono::nanoseconds>(p.window).count();
    std::erase_if(a->restart_times, [&](std::int64_t at) { return t - at > window; });
    a->status = AgentStatus::Restarting;
    if (a->restart_times.size() < p.max_restarts) {
      a->restart_at = t;
      a->backoff_restarts = 0;
    } else if (a->backoff_restarts < p.max_backoff_restarts) {
      const std::int64_t initial = std::chrono::duration_cast<std::chrono::nanoseconds>(p.backoff_initial).count();
      const std::int64_t cap = std::chrono::duration_cast<std::chrono::nanoseconds>(p.backoff_max).count();
      const std::int64_t backoff = std::min(cap, initial << std::min<std::uint32_t>(a->backoff_restarts, 30));
      ++a->backoff_restarts;
      a->restart_at = t + backoff;
    } else {
      replace(index);
    }
  }

  // Restarts exhausted: the agent is Failed for good and a fresh one of the same definition
  // takes its place (new id, name "<name>~<n>").
  void replace(std::uint32_t index) {
    AgentRec& a = agents[index];
    a.status = AgentStatus::Failed;
    drop_from_indexes(index);
    coordinator.remove_member(a.id);
    control.remove_agent(a.id);
    hub.remove_agent(a.id);
    memory.release_agent(a.id);
    Agent def = a.def.renamed(a.def.name() + "~" + std::to_string(++replacements));
    if (auto r = add_agent(std::move(def)); r) agents[index].replaced_by = *r;
  }

  void restart_due() {
    const std::int64_t t = now();
    for (AgentRec& a : agents) {
      if (a.status != AgentStatus::Restarting || a.restart_at > t) continue;
      a.status = AgentStatus::Idle;
      a.crashed = false;
      ++a.restarts;
      a.restart_times.push_back(t);
      coordinator.revive(a.id);
      hub.revive(a.id);
      hub.restart(a.id);
    }
  }

  // ---- selection -----------------------------------------------------------------------

  bool available(AgentRec& a) const { return live(a) && a.running < a.def.max_concurrent(); }

  struct Choice {
    std::uint32_t agent = kNoIndex;
    BreakerPermit permit;
  };

  Choice select(const std::string& capability) {
    CapList* list = &all_agents;
    if (!capability.empty()) {
      auto it = by_capability.find(capability);
      if (it == by_capability.end()) return {};
      list = &it->second;
    }
    const std::size_t n = list->agents.size();
    if (n == 0) return {};
    AgentSelectionStrategy s = sched.selection_strategy;
    if (s == AgentSelectionStrategy::LoadBalanced && !sched.load_balancing) s = AgentSelectionStrategy::LeastLoaded;
    if (s == AgentSelectionStrategy::RoundRobin) {
      for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t i = list->agents[(list->cursor + k) % n];
        if (!available(agents[i])) continue;
        if (BreakerPermit permit = agents[i].breaker->try_acquire()) {
          list->cursor = static_cast<std::uint32_t>((list->cursor + k + 1) % n);
          return {i, permit};
        }
      }
      return {};
    }
    // Scored strategies: the best-scored available agent whose breaker admits the call. A
    // breaker is asked only for the agent about to be used, so a refusal never spends a
    // half-open probe of an agent passed over; refused agents (open circuits) are few. The
    // scan starts where the last one chose (ties rotate) and stops at an agent scoring the
    // best any member could (idle, healthy, heaviest): with idle agents a pick costs O(1).
    auto score = [&](const AgentRec& a) -> double {
      switch (s) {
        case AgentSelectionStrategy::LeastLoaded: return static_cast<double>(a.running);
        case AgentSelectionStrategy::LoadBalanced:
          return (static_cast<double>(a.running) + 1.0) * (1.0 + 4.0 * a.failure_ewma) / a.def.weight();
        case AgentSelectionStrategy::CapabilityBased:
          return static_cast<double>(a.def.capabilities().size()) * 1e6 + static_cast<double>(a.running);
        default: return 0;
      }
    };
    double floor = 0;
    if (s == AgentSelectionStrategy::LoadBalanced) floor = 1.0 / list->max_weight;
    if (s == AgentSelectionStrategy::CapabilityBased) floor = static_cast<double>(list->min_caps) * 1e6;
    std::uint32_t refused[8];
    std::size_t nrefused = 0;
    for (;;) {
      std::uint32_t best = kNoIndex;
      std::size_t best_k = 0;
      double best_score = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t i = list->agents[(list->cursor + k) % n];
        AgentRec& a = agents[i];
        if (!available(a) || std::find(refused, refused + nrefused, i) != refused + nrefused) continue;
        const double sc = score(a);
        if (sc < best_score) {
          best_score = sc;
          best = i;
          best_k = k;
          if (sc <= floor) break;
        }
      }
      if (best == kNoIndex) return {};
      if (BreakerPermit permit = agents[best].breaker->try_acquire()) {
        list->cursor = static_cast<std::uint32_t>((list->cursor + best_k + 1) % n);
        return {best, permit};
      }
      if (nrefused == std::size(refused)) return {};  // many open circuits: wait for the next cycle
      refused[nrefused++] = best;
    }
  }

  // ---- dispatch and completion -----------------------------------------------------------

  // Starts the task on the agent. False when the system refused the run (full or stopping):
  // the task is ready again at the front of its queue and the permit given back unused.
  bool dispatch(std::uint64_t index, std::uint32_t ai, BreakerPermit permit) {
    TaskRec& r = tasks[index];
    AgentRec& a = agents[ai];
    const std::uint64_t token = next_token++;
    const std::int64_t t = now();
    if (system != nullptr) {
      // System mode: the run is a cooperative task (pulse's Coro) polled by the system's
      // workers under their budgets; it owns what it reads (the record moves on meanwhile).
      auto run = std::make_shared<Run>(Run{a.def.work(), r.task.name, r.task.capability, r.task.payload, index, token,
                                           a.incarnation, ai, permit});
      in_flight.fetch_add(1, std::memory_order_relaxed);
      auto accepted = system->spawn(r.task.priority, run_on_node(this, std::move(run)), rng);
      if (!accepted) {
        in_flight.fetch_sub(1, std::memory_order_relaxed);
        a.breaker->release(permit);
        ready[static_cast<std::size_t>(r.task.priority)].push_front(index);
        return false;
      }
    }
    r.status = TaskStatus::Running;
    --ready_count;
    ++running;
    ++r.attempts;
    r.agent = ai;
    r.token = token;
    r.permit = permit;
    r.started_ns = t;
    ready_to_start.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, t - r.ready_ns)));
    ++a.running;
    a.runs.push_back(index);
    a.status = AgentStatus::Busy;
    ++stats.dispatched;
    ++stats.dispatched_by_priority[static_cast<std::size_t>(r.task.priority)];
    ++cycle.dispatched;
    if (system == nullptr) {
      Completion c{index, token, ai, a.incarnation, permit, a.def.execute(TaskInput{r.task.name, r.task.capability, r.task.payload})};
      complete(c);
    }
    return true;
  }

  struct Run {
    std::shared_ptr<const AgentWork> work;
    std::string name, capability;
    std::vector<std::byte> payload;
    std::uint64_t task, token, incarnation;
    std::uint32_t agent;
    BreakerPermit permit;
  };
  static Coro<void> run_on_node(Impl* self, std::shared_ptr<Run> run) {
    Completion c{run->task, run->token, run->agent, run->incarnation, run->permit,
                 Agent::run(*run->work, TaskInput{run->name, run->capability, run->payload})};
    // Everything under the lock, the notify included: once in_flight reads 0 the owner may
    // destroy the orchestrator, and it takes this lock (idle(), shutdown) before it can.
    {
      std::lock_guard lock(self->inbox_mu);
      self->inbox.push_back(std::move(c));
      self->in_flight.fetch_sub(1, std::memory_order_release);
      self->inbox_cv.notify_one();
    }
    co_return;
  }

  void complete(Completion& c) {
    AgentRec& a = agents[c.agent];
    const bool same_life = a.incarnation == c.incarnation;
    if (same_life && a.running > 0) {
      if (auto it = std::find(a.runs.begin(), a.runs.end(), c.task); it != a.runs.end()) {
        *it = a.runs.back();
        a.runs.pop_back();
      }
      --a.running;
      if (a.running == 0 && a.status == AgentStatus::Busy) a.status = AgentStatus::Idle;
    }
    const bool panicked = !c.outcome && c.outcome.error().panicked();
    if (same_life) {
      if (panicked) {
        a.breaker->on_failure(c.permit);
        ++a.failed;
      } else {
        a.breaker->on_success(c.permit);
        if (c.outcome) ++a.completed;
      }
      a.failure_ewma = 0.9 * a.failure_ewma + (panicked ? 0.1 : 0.0);
      if (live(a) && a.breaker->state() != BreakerState::Closed) a.status = AgentStatus::Degraded;
      if (a.status == AgentStatus::Degraded && a.breaker->state() == BreakerState::Closed) {
        a.status = a.running ? AgentStatus::Busy : AgentStatus::Idle;
      }
    }
    TaskRec& r = tasks[c.task];
    if (!same_life || r.status != TaskStatus::Running || r.token != c.token) {
      ++stats.duplicate_results;
      return;
    }
    run_time.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now() - r.started_ns)));
    if (c.outcome) {
      r.output = std::move(*c.outcome);
      r.error.reset();
      finish(c.task, TaskStatus::Completed);
      return;
    }
    if (panicked && r.attempts <= r.task.max_retries) {
      ++stats.retried;
      ++cycle.retried;
      r.token = 0;
      --running;
      make_ready(c.task);
      return;
    }
    r.error = std::move(c.outcome.error());
    finish(c.task, TaskStatus::Failed);
  }

  void drain_inbox() {
    std::vector<Completion> got;
    {
      std::lock_guard lock(inbox_mu);
      got.swap(inbox);
    }
    for (Completion& c : got) complete(c);
  }

  Result<CycleStats, SwarmError> process_cycle() {
    if (!initialized) return Err(SwarmError::NotInitialized);
    if (shutting_down) return Err(SwarmError::ShuttingDown);
    const std::int64_t t0 = now();
    cycle = CycleStats{};
    ++stats.cycles;
    wheel.tick();  // heartbeats, elections, failure detection, deadlines
    restart_due();
    drain_inbox();
    // Dispatch: at most max_concurrent_tasks running, highest priority first, FIFO within one.
    std::vector<std::uint64_t> blocked;
    std::size_t budget = sched.max_concurrent_tasks;
    bool starved = false;
    bool refused = false;
    for (int p = 3; p >= 0 && !refused; --p) {
      auto& q = ready[static_cast<std::size_t>(p)];
      blocked.clear();
      while (!q.empty() && running < sched.max_concurrent_tasks && budget > 0) {
        const std::uint64_t index = q.front();
        q.pop_front();
        TaskRec& r = tasks[index];
        if (r.status != TaskStatus::Ready) continue;  // cancelled or timed out while queued
        const Choice choice = select(r.task.capability);
        if (choice.agent == kNoIndex) {
          blocked.push_back(index);
          starved = true;
          continue;
        }
        if (!dispatch(index, choice.agent, choice.permit)) {
          refused = true;  // the nodes are full: the rest waits for the next cycle
          break;
        }
        --budget;
      }
      for (auto it = blocked.rbegin(); it != blocked.rend(); ++it) q.push_front(*it);
    }
    if (starved) ++stats.starved_cycles;
    if (system != nullptr) drain_inbox();
    cycle.ready = ready_count;
    cycle.running = running;
    cycle.pending = pending;
    cycle.duration_ns = now() - t0;
    return cycle;
  }

  AgentInfo info(const AgentRec& a) const {
    AgentInfo i;
    i.id = a.id;
    i.name = a.def.name();
    i.kind = a.def.kind();
    i.status = a.status;
    i.capabilities = a.def.capabilities();
    i.running = a.running;
    i.completed = a.completed;
    i.failed = a.failed;
    i.restarts = a.restarts;
    i.breaker = a.breaker ? a.breaker->state() : BreakerState::Closed;
    i.replaced_by = a.replaced_by;
    i.memory_bytes = memory.agent_bytes(a.id);
    // Stopped and failed agents are no longer members: their last heartbeat stays unknown (0).
    if (auto mi = coordinator.member(a.id)) i.last_heartbeat_ns = mi->last_heard_ns;
    return i;
  }

  // Nothing left, and no run's outcome waiting in the inbox either: a run decrements in_flight
  // under the inbox lock when it pushes, so an outcome pushed after this cycle's drain is seen.
  bool idle() {
    if (pending != 0 || ready_count != 0 || running != 0) return false;
    std::lock_guard lock(inbox_mu);
    return in_flight.load(std::memory_order_acquire) == 0 && inbox.empty();
  }
};

// ---- SwarmBuilder ------------------------------------------------------------------------

Result<SwarmOrchestrator, SwarmError> SwarmBuilder::build() {
  error_.clear();
  auto bad = [&](std::string why) -> Result<SwarmOrchestrator, SwarmError> {
    error_ = std::move(why);
    return Err(SwarmError::InvalidConfig);
  };
  if (name_.empty()) return bad("name: must not be empty");
  if (max_agents_ == 0 || max_agents_ > 65536) return bad("max_agents: must be in [1, 65536]");
  if (auto e = scheduler_.validate(); !e.empty()) return bad(e);
  if (auto e = memory_.validate(); !e.empty()) return bad(e);
  if (auto e = coordinator_.validate(); !e.empty()) return bad(e);
  HubConfig h = hub_;
  h.topology = topology_;
  if (auto e = h.validate(); !e.empty()) return bad(e);
  if (time_.now == nullptr) return bad("time_source: no clock function");
  return SwarmOrchestrator(std::make_unique<SwarmOrchestrator::Impl>(*this));
}

// ---- SwarmOrchestrator -----------------------------------------------------------------

SwarmOrchestrator::SwarmOrchestrator(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
SwarmOrchestrator::SwarmOrchestrator(SwarmOrchestrator&&) noexcept = default;
SwarmOrchestrator& SwarmOrchestrator::operator=(SwarmOrchestrator&& other) noexcept {
  if (this != &other) {
    shutdown();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
SwarmOrchestrator::~SwarmOrchestrator() { shutdown(); }

Result<void, SwarmError> SwarmOrchestrator::initialize() {
  Impl& m = *impl_;
  if (m.shutting_down) return Err(SwarmError::ShuttingDown);
  if (m.initialized) return {};
  m.initialized = true;
  m.started_ns = m.now();
  m.last_metrics_ns = m.started_ns;
  m.coordinator.set_on_failure([&m](AgentId id) { m.on_agent_failure(id); });
  // The coordinator's clock work (heartbeats, election timers, failure detection, proposal
  // expiry) runs from the orchestrator's timer wheel, every tenth of a heartbeat (1-10 ms).
  const auto hb = std::chrono::duration_cast<std::chrono::nanoseconds>(m.coordinator.config().heartbeat_interval);
  const auto period = std::clamp<std::chrono::nanoseconds>(hb / 10, std::chrono::milliseconds(1), std::chrono::milliseconds(10));
  m.wheel.schedule(TimerTask::periodic([&m] { m.coordinator.tick(); }, period));
  return {};
}

Result<std::vector<AgentId>, SwarmError> SwarmOrchestrator::bootstrap_default_agents() {
  Impl& m = *impl_;
  if (!m.initialized) return Err(SwarmError::NotInitialized);
  std::vector<Agent> defs;
  defs.push_back(AgentFactory::create_neural("neural-0", 128, 1));
  defs.push_back(AgentFactory::create_neural("neural-1", 128, 2));
  defs.push_back(AgentFactory::create_quantum("quantum-0", 12, 3));
  defs.push_back(AgentFactory::create_generic(
      "generic-0", [](std::span<const std::byte> in) -> Result<std::vector<std::byte>, TaskError> { return checksum_bytes(in); },
      {"checksum"}));
  std::vector<AgentId> ids;
  for (Agent& d : defs) {
    auto id = m.add_agent(std::move(d));
    if (!id) return Err(id.error());
    ids.push_back(*id);
  }
  return ids;
}

Result<AgentId, SwarmError> SwarmOrchestrator::register_agent(Agent agent) {
  if (!impl_->initialized) return Err(SwarmError::NotInitialized);
  return impl_->add_agent(std::move(agent));
}

Result<void, SwarmError> SwarmOrchestrator::stop_agent(AgentId id) {
  Impl& m = *impl_;
  AgentRec* a = m.agent(id);
  if (a == nullptr) return Err(SwarmError::UnknownAgent);
  if (a->status == AgentStatus::Stopped || a->status == AgentStatus::Failed) return Err(SwarmError::AgentUnavailable);
  const auto index = static_cast<std::uint32_t>(id.value - 1);
  ++a->incarnation;
  m.orphan_runs(index, "agent stopped", true);
  a->status = AgentStatus::Stopped;
  m.drop_from_indexes(index);
  m.coordinator.remove_member(id);
  m.control.remove_agent(id);
  m.hub.remove_agent(id);
  m.memory.release_agent(id);
  return {};
}

Result<void, SwarmError> SwarmOrchestrator::kill_agent(AgentId id) {
  Impl& m = *impl_;
  AgentRec* a = m.agent(id);
  if (a == nullptr) return Err(SwarmError::UnknownAgent);
  if (!Impl::live(*a)) return Err(SwarmError::AgentUnavailable);
  a->crashed = true;
  m.coordinator.kill(id);  // its heartbeats stop; detection follows within failure_threshold intervals
  m.hub.kill(id);          // and nothing reaches it or leaves it on the data plane
  return {};
}


std::optional<AgentInfo> SwarmOrchestrator::agent_info(AgentId id) const {
  const AgentRec* a = impl_->agent(id);
  if (a == nullptr) return std::nullopt;
  return impl_->info(*a);
}

std::vector<AgentInfo> SwarmOrchestrator::agents() const {
  std::vector<AgentInfo> out;
  out.reserve(impl_->agents.size());
  for (const AgentRec& a : impl_->agents) out.push_back(impl_->info(a));
  return out;
}

TaskId SwarmOrchestrator::reserve_task_id() { return impl_->reserve(); }

Result<TaskId, SwarmError> SwarmOrchestrator::submit_task(Task task) { return impl_->submit(std::move(task)); }

Result<CycleStats, SwarmError> SwarmOrchestrator::process_cycle() { return impl_->process_cycle(); }

bool SwarmOrchestrator::run_until_idle(std::chrono::nanoseconds limit) {
  Impl& m = *impl_;
  if (!m.initialized) return false;
  const std::int64_t end = m.now() + limit.count();
  std::int64_t last_now = m.now();
  int frozen = 0;
  for (;;) {
    auto c = m.process_cycle();
    if (!c) return false;
    if (m.idle()) return true;
    const std::int64_t t = m.now();
    if (t >= end) return false;
    const bool moved = c->dispatched != 0 || c->completed != 0 || c->failed != 0 || c->cancelled != 0 ||
                       c->timed_out != 0 || c->retried != 0;
    const bool in_flight = m.in_flight.load(std::memory_order_acquire) != 0;
    // Nothing moved and the clock stands still (a test's fake clock): only time could unblock
    // what is left, and it will not pass by cycling, so give up rather than spin forever.
    frozen = (!moved && !in_flight && t == last_now) ? frozen + 1 : 0;
    if (frozen >= 64) return false;
    last_now = t;
    if (!moved) {
      if (in_flight && !kHasThreads) {
        m.system->run_pending(64);  // no workers: the runs happen here
      } else if (in_flight) {
        // Runs are out on the nodes: sleep until one returns (or a timer may be due) rather
        // than take a core from the workers.
        std::unique_lock lock(m.inbox_mu);
        m.inbox_cv.wait_for(lock, std::chrono::milliseconds(1), [&] { return !m.inbox.empty(); });
      } else {
        std::this_thread::yield();
      }
    }
  }
}

std::optional<TaskResult> SwarmOrchestrator::get_task_result(TaskId id) const {
  const TaskRec* r = impl_->rec(id);
  if (r == nullptr || !r->submitted || !is_final(r->status) || r->released) return std::nullopt;
  TaskResult out;
  out.id = id;
  out.name = r->task.name;
  out.status = r->status;
  out.output = r->output;
  out.error = r->error;
  out.reason = r->reason;
  if (r->agent != kNoIndex) out.agent = impl_->agents[r->agent].id;
  out.attempts = r->attempts;
  out.submitted_ns = r->submitted_ns;
  out.ready_ns = r->ready_ns;
  out.started_ns = r->started_ns;
  out.finished_ns = r->finished_ns;
  return out;
}

Result<TaskStatus, SwarmError> SwarmOrchestrator::task_status(TaskId id) const {
  const TaskRec* r = impl_->rec(id);
  if (r == nullptr || !r->submitted) return Err(SwarmError::UnknownTask);
  return r->status;
}

Result<std::size_t, SwarmError> SwarmOrchestrator::cancel_task(TaskId id) {
  Impl& m = *impl_;
  TaskRec* r = m.rec(id);
  if (r == nullptr) return Err(SwarmError::UnknownTask);
  if (!r->submitted) {
    // A reserved id never submitted: cancelling it releases whatever waits for it.
    r->submitted = true;
    r->task.id = id;
    r->task.name = "(reserved)";
    r->submitted_ns = m.now();
    ++m.unfinished;
    ++m.pending;
    ++m.stats.submitted;
  } else if (is_final(r->status)) {
    return Err(SwarmError::TaskFinished);
  }
  const std::uint64_t before = m.stats.cancelled;
  m.cancel_one(id.value - 1, "cancel_task");
  return static_cast<std::size_t>(m.stats.cancelled - before);
}

SwarmCoordinator& SwarmOrchestrator::coordinator() noexcept { return impl_->coordinator; }
MemoryManager& SwarmOrchestrator::memory_manager() noexcept { return impl_->memory; }
CommunicationHub& SwarmOrchestrator::hub() noexcept { return impl_->hub; }
const std::string& SwarmOrchestrator::name() const noexcept { return impl_->name; }
std::int64_t SwarmOrchestrator::now_ns() const { return impl_->now(); }

SchedulerStats SwarmOrchestrator::scheduler_stats() const {
  const Impl& m = *impl_;
  SchedulerStats s = m.stats;
  s.pending = m.pending;
  s.ready = m.ready_count;
  s.running = m.running;
  s.ready_to_start_ns = m.ready_to_start.snapshot();
  s.run_ns = m.run_time.snapshot();
  return s;
}

CoordinationStats SwarmOrchestrator::coordination_stats() const { return impl_->coordinator.stats(); }
MemoryStats SwarmOrchestrator::memory_stats() const { return impl_->memory.stats(); }

SwarmMetrics SwarmOrchestrator::metrics() {
  Impl& m = *impl_;
  SwarmMetrics out;
  for (const AgentRec& a : m.agents) {
    if (a.status == AgentStatus::Stopped) continue;
    ++out.total_agents;
    if (Impl::live(a)) ++out.active_agents;
    if (a.status == AgentStatus::Failed || a.status == AgentStatus::Restarting || a.crashed) ++out.failed_agents;
  }
  out.tasks_submitted = m.stats.submitted;
  out.tasks_completed = m.stats.completed;
  out.tasks_failed = m.stats.failed;
  out.tasks_cancelled = m.stats.cancelled;
  out.tasks_timed_out = m.stats.timed_out;
  out.tasks_pending = m.pending + m.ready_count;
  out.tasks_running = m.running;
  const std::int64_t t = m.now();
  const std::uint64_t finished = m.stats.completed + m.stats.failed + m.stats.cancelled + m.stats.timed_out;
  if (t > m.last_metrics_ns) {
    out.throughput = static_cast<double>(finished - m.last_metrics_finished) * 1e9 / static_cast<double>(t - m.last_metrics_ns);
  }
  m.last_metrics_ns = t;
  m.last_metrics_finished = finished;
  out.memory_utilization = m.memory.stats().utilization;
  out.avg_task_latency_ms = m.latency_n ? m.latency_sum_ms / static_cast<double>(m.latency_n) : 0;
  out.p99_ready_to_start_us = static_cast<double>(m.ready_to_start.snapshot().value_at_quantile(0.99)) / 1e3;
  out.messages_sent = m.hub.stats().sent + m.coordinator.stats().messages_sent;
  out.leader = m.coordinator.leader();
  out.uptime_s = static_cast<double>(t - m.started_ns) / 1e9;
  return out;
}

MetricsSnapshot SwarmOrchestrator::metrics_snapshot() const {
  const Impl& m = *impl_;
  MetricsSnapshot out;
  const MetricLabels swarm{{"swarm", m.name}};
  const SchedulerStats s = scheduler_stats();
  auto counter = [&](const char* name, const char* help, std::uint64_t v) { (void)out.add_counter(name, help, swarm, v); };
  auto gauge = [&](const char* name, const char* help, double v) { (void)out.add_gauge(name, help, swarm, v); };
  counter("swarm_tasks_submitted_total", "Tasks accepted", s.submitted);
  counter("swarm_tasks_completed_total", "Tasks completed", s.completed);
  counter("swarm_tasks_failed_total", "Tasks failed", s.failed);
  counter("swarm_tasks_cancelled_total", "Tasks cancelled (directly or by a dependency)", s.cancelled);
  counter("swarm_tasks_timed_out_total", "Tasks past their deadline", s.timed_out);
  counter("swarm_tasks_refused_total", "Submissions refused", s.refused);
  counter("swarm_tasks_retried_total", "Runs repeated after a panic", s.retried);
  counter("swarm_tasks_reassigned_total", "Runs moved off a failed or stopped agent", s.reassigned);
  counter("swarm_duplicate_results_total", "Late outcomes of runs that no longer counted", s.duplicate_results);
  counter("swarm_cycles_total", "Scheduling cycles", s.cycles);
  gauge("swarm_tasks_pending", "Tasks waiting for dependencies", static_cast<double>(s.pending));
  gauge("swarm_tasks_ready", "Tasks waiting for an agent", static_cast<double>(s.ready));
  gauge("swarm_tasks_running", "Tasks running", static_cast<double>(s.running));
  (void)out.add_histogram("swarm_ready_to_start_ns", "Ready to dispatched, nanoseconds", swarm, s.ready_to_start_ns);
  (void)out.add_histogram("swarm_task_run_ns", "Dispatched to finished, nanoseconds", swarm, s.run_ns);
  for (const AgentRec& a : m.agents) {
    const MetricLabels l{{"swarm", m.name}, {"agent", a.def.name()}, {"kind", std::string(to_string(a.def.kind()))}};
    (void)out.add_gauge("swarm_agent_running", "Tasks running on the agent", l, a.running);
    (void)out.add_counter("swarm_agent_completed_total", "Tasks the agent completed", l, a.completed);
    (void)out.add_counter("swarm_agent_failures_total", "Agent failures and panicked runs", l, a.failed);
    (void)out.add_counter("swarm_agent_restarts_total", "Agent restarts", l, a.restarts);
    (void)out.add_gauge("swarm_agent_up", "1 while the agent is live", l, Impl::live(a) ? 1.0 : 0.0);
  }
  m.hub.append_metrics(out, {{"swarm", m.name}, {"hub", "data"}});
  m.control.append_metrics(out, {{"swarm", m.name}, {"hub", "control"}});
  m.memory.append_metrics(out);
  m.coordinator.append_metrics(out);
  return out;
}

std::string SwarmOrchestrator::export_status() const {
  const Impl& m = *impl_;
  using nlohmann::json;
  json j;
  j["name"] = m.name;
  j["at_ns"] = m.now();
  j["uptime_s"] = static_cast<double>(m.now() - m.started_ns) / 1e9;
  j["config"] = {{"max_agents", m.max_agents},
                 {"topology", to_string(m.topology)},
                 {"fault_tolerance", m.fault_tolerance},
                 {"selection_strategy", to_string(m.sched.selection_strategy)},
                 {"max_concurrent_tasks", m.sched.max_concurrent_tasks},
                 {"task_queue_size", m.sched.task_queue_size},
                 {"system", m.system != nullptr}};
  json agents = json::array();
  for (const AgentRec& a : m.agents) {
    agents.push_back({{"id", a.id.value},
                      {"name", a.def.name()},
                      {"kind", to_string(a.def.kind())},
                      {"status", to_string(a.status)},
                      {"crashed", a.crashed},
                      {"capabilities", a.def.capabilities()},
                      {"running", a.running},
                      {"completed", a.completed},
                      {"failed", a.failed},
                      {"restarts", a.restarts},
                      {"breaker", to_string(a.breaker->state())},
                      {"memory_bytes", m.memory.agent_bytes(a.id)},
                      {"replaced_by", a.replaced_by.value}});
  }
  j["agents"] = std::move(agents);
  const SchedulerStats s = scheduler_stats();
  const Percentiles rts = s.ready_to_start_ns.percentiles();
  j["scheduler"] = {{"submitted", s.submitted}, {"completed", s.completed}, {"failed", s.failed},
                    {"cancelled", s.cancelled}, {"timed_out", s.timed_out}, {"refused", s.refused},
                    {"retried", s.retried}, {"reassigned", s.reassigned}, {"duplicate_results", s.duplicate_results},
                    {"dispatched", s.dispatched}, {"cycles", s.cycles}, {"starved_cycles", s.starved_cycles},
                    {"pending", s.pending}, {"ready", s.ready}, {"running", s.running},
                    {"ready_to_start_ns", {{"p50", rts.p50}, {"p99", rts.p99}, {"max", rts.max}, {"count", rts.count}}}};
  const LeaderInfo leader = m.coordinator.leader();
  j["leader"] = {{"agent", leader.agent.value}, {"term", leader.term}};
  j["metrics"] = json::parse(metrics_snapshot().to_json());
  return j.dump();
}

void SwarmOrchestrator::shutdown() {
  if (!impl_) return;
  Impl& m = *impl_;
  m.shutting_down = true;  // no new submissions and no more cycles
  // Runs handed to a system capture the orchestrator: wait for them before it goes away.
  while (m.in_flight.load(std::memory_order_acquire) != 0) {
    m.system->run_pending(64);
    std::this_thread::yield();
  }
  m.drain_inbox();
}

}  // namespace omega::swarm
