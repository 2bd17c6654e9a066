#pragma once
// The swarm (seed 004, Micro Swarm): an orchestrator of agents that do real work.
//
//   namespace os = omega::swarm;
//   auto built = os::SwarmBuilder().name("production_swarm").max_agents(64)
//                    .topology(os::SwarmTopology::Mesh).fault_tolerance(true).build();
//   os::SwarmOrchestrator& orchestrator = *built;
//   orchestrator.initialize();
//   std::vector<os::AgentId> ids = *orchestrator.bootstrap_default_agents();
//   os::TaskId a = *orchestrator.submit_task(os::TaskBuilder("neural_analysis").payload(input)
//       .priority(omega::Priority::High).requires_capability("neural_inference").build());
//   os::TaskId b = *orchestrator.submit_task(os::TaskBuilder("post").depends_on(a).build());
//   orchestrator.run_until_idle(std::chrono::seconds(5));
//   std::optional<os::TaskResult> r = orchestrator.get_task_result(b);
//
// Contracts:
// - Every accepted task finishes exactly once: Completed, Failed, Cancelled or TimedOut. Its
//   result is recorded once even when it ran twice (an agent declared failed while it was
//   still running it, the task reassigned): the late outcome is counted and dropped.
// - Dependencies: a task becomes ready when every dependency Completed. A dependency that
//   fails, times out or is cancelled cancels its dependents (transitively), each with the
//   reason. A dependency may name a reserved id (reserve_task_id) submitted later; a
//   submission that would close a cycle is refused with CycleDetected.
// - Ready tasks start in priority order (Critical first), FIFO within a priority, at most
//   max_concurrent_tasks at once, each on an agent the strategy picks among live agents that
//   have the capability and whose circuit breaker admits the call. With none available the
//   task waits (graceful degradation) until its timeout; with none registered at all it is
//   refused at submit (NoCapableAgent) or, if that agent leaves later, waits likewise.
// - Timeouts are deadlines from submission. Heartbeats, election timers and task deadlines
//   come from the orchestrator's timer wheel (omega::Scheduler) on its TimeSource, advanced
//   by process_cycle(): with a fake TimeSource the whole swarm is deterministic.
// - Who runs the work: without a system, process_cycle() runs each dispatched task inline on
//   the calling thread; with SwarmBuilder::system(sys), tasks run on the system's nodes
//   (submit_cpu_task) and process_cycle() collects what finished. The orchestrator object
//   itself is driven by one thread at a time (its owner); tasks call back into nothing.
// - Fault tolerance (fault_tolerance(true)): an agent whose heartbeats stop (kill_agent, or a
//   crash) is detected within failure_threshold heartbeat intervals; its running tasks are
//   re-queued (each counts an attempt), it is restarted under its RestartPolicy (the actor
//   layer's: immediate restarts within a window, then exponential backoff) and replaced by a
//   new agent of the same kind once restarts are exhausted. Without fault tolerance a failed
//   agent stays Failed and its tasks fail.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <omega/actor/actor.hpp>  // RestartPolicy
#include <omega/base/error.hpp>
#include <omega/base/histogram.hpp>
#include <omega/base/metrics.hpp>
#include <omega/base/priority.hpp>
#include <omega/base/result.hpp>
#include <omega/swarm/breaker.hpp>
#include <omega/swarm/coordinator.hpp>
#include <omega/swarm/hub.hpp>
#include <omega/swarm/memory.hpp>
#include <omega/swarm/neural.hpp>
#include <omega/swarm/quantum.hpp>
#include <omega/swarm/types.hpp>

namespace omega {
class UltraOmegaSystem;
}

namespace omega::swarm {

enum class AgentKind : std::uint8_t { Neural, Quantum, Generic };
[[nodiscard]] std::string_view to_string(AgentKind k) noexcept;

enum class AgentSelectionStrategy : std::uint8_t {
  RoundRobin,       // the next capable agent after the last one picked
  LeastLoaded,      // fewest tasks running now (ties: lowest id)
  LoadBalanced,     // lowest (running + 1) / weight, weighted by recent success and latency
  CapabilityBased,  // the most specialised capable agent (fewest capabilities), then least loaded
};
[[nodiscard]] std::string_view to_string(AgentSelectionStrategy s) noexcept;

enum class AgentStatus : std::uint8_t {
  Idle,        // live, nothing running
  Busy,        // live, running tasks
  Degraded,    // live, but its circuit breaker is open or half-open
  Restarting,  // failed and waiting for its restart (backoff)
  Failed,      // restarts exhausted (replaced when fault tolerance is on)
  Stopped,     // removed by stop_agent
};
[[nodiscard]] std::string_view to_string(AgentStatus s) noexcept;

// What a built-in or user agent gets for one task.
struct TaskInput {
  std::string_view name;
  std::string_view capability;  // the task's requires_capability, empty if none
  std::span<const std::byte> payload;
};
using AgentWork = std::function<Result<std::vector<std::byte>, TaskError>(const TaskInput&)>;
using GenericWork = std::function<Result<std::vector<std::byte>, TaskError>(std::span<const std::byte>)>;

// An agent definition (AgentFactory makes them; register_agent takes one). The work function
// runs on whichever thread the orchestrator dispatches to: it must be safe to call
// concurrently up to max_concurrent times. Copies share the work function.
class Agent {
 public:
  Agent(std::string name, AgentKind kind, std::vector<std::string> capabilities, AgentWork work);
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] AgentKind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::vector<std::string>& capabilities() const noexcept { return capabilities_; }
  [[nodiscard]] bool has_capability(std::string_view c) const noexcept;
  [[nodiscard]] unsigned max_concurrent() const noexcept { return max_concurrent_; }
  [[nodiscard]] double weight() const noexcept { return weight_; }
  [[nodiscard]] std::size_t memory_limit() const noexcept { return memory_limit_; }
  Agent& with_capability(std::string c);
  Agent& with_max_concurrent(unsigned n) noexcept;    // tasks at once on this agent (default 4)
  Agent& with_weight(double w) noexcept;              // LoadBalanced capacity (default 1)
  Agent& with_memory_limit(std::size_t bytes) noexcept;  // per-agent pool limit, 0: the config's
  Agent& with_restart_policy(actor::RestartPolicy p);
  // The same definition (work function shared) under another name: a replacement agent.
  [[nodiscard]] Agent renamed(std::string name) const;
  [[nodiscard]] const actor::RestartPolicy& restart_policy() const noexcept { return restart_; }
  // Runs the work function; an exception becomes TaskError::Panicked with its message.
  [[nodiscard]] Result<std::vector<std::byte>, TaskError> execute(const TaskInput& input) const;
  // The work function, shared by copies of this definition (what a run on a node holds).
  [[nodiscard]] const std::shared_ptr<const AgentWork>& work() const noexcept { return work_; }
  // execute() on a work function held apart from its definition.
  [[nodiscard]] static Result<std::vector<std::byte>, TaskError> run(const AgentWork& work, const TaskInput& input);

 private:
  std::string name_;
  AgentKind kind_;
  std::vector<std::string> capabilities_;
  std::shared_ptr<const AgentWork> work_;
  unsigned max_concurrent_ = 4;
  double weight_ = 1.0;
  std::size_t memory_limit_ = 0;
  actor::RestartPolicy restart_;
};

// The seed's agent kinds, each doing real work:
// - neural: capability "neural_inference"; payload f32 inputs (encode_floats), output the
//   network's f32 outputs. create_neural(name, inputs) draws a seeded network inputs -> 64 ->
//   16 (ReLU, then Identity); pass a NeuralNetwork to use given weights.
// - quantum: capabilities "quantum_simulation" (payload encode_circuit, output
//   encode_result) and "optimization" (payload encode_maxcut, output encode_cut); circuits of
//   more qubits than the agent has are refused (ExecutionFailed).
// - generic: the user's function; capabilities {"generic"} plus those given.
class AgentFactory {
 public:
  [[nodiscard]] static Agent create_neural(std::string name, std::size_t inputs, std::uint64_t seed = 1);
  [[nodiscard]] static Agent create_neural(std::string name, NeuralNetwork network);
  [[nodiscard]] static Agent create_quantum(std::string name, unsigned qubits, std::uint64_t seed = 1);
  [[nodiscard]] static Agent create_generic(std::string name, GenericWork work,
                                            std::vector<std::string> capabilities = {});
};

struct Task {
  std::string name;
  std::vector<std::byte> payload;
  Priority priority = Priority::Normal;
  std::string capability;                  // empty: any agent
  std::optional<std::chrono::nanoseconds> timeout;
  std::vector<TaskId> dependencies;
  std::uint32_t max_retries = 2;           // re-runs after its agent failed or it panicked
  TaskId id;                               // a reserved id (reserve_task_id), or none
};

class TaskBuilder {
 public:
  explicit TaskBuilder(std::string name) { task_.name = std::move(name); }
  TaskBuilder& payload(std::vector<std::byte> bytes) { task_.payload = std::move(bytes); return *this; }
  TaskBuilder& payload(std::span<const std::byte> bytes) { task_.payload.assign(bytes.begin(), bytes.end()); return *this; }
  TaskBuilder& priority(Priority p) noexcept { task_.priority = p; return *this; }
  TaskBuilder& requires_capability(std::string c) { task_.capability = std::move(c); return *this; }
  template <class Rep, class Period>
  TaskBuilder& timeout(std::chrono::duration<Rep, Period> d) {
    task_.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(d);
    return *this;
  }
  TaskBuilder& depends_on(TaskId id) { task_.dependencies.push_back(id); return *this; }
  TaskBuilder& max_retries(std::uint32_t n) noexcept { task_.max_retries = n; return *this; }
  TaskBuilder& with_id(TaskId reserved) noexcept { task_.id = reserved; return *this; }
  [[nodiscard]] Task build() const& { return task_; }
  [[nodiscard]] Task build() && { return std::move(task_); }

 private:
  Task task_;
};

enum class TaskStatus : std::uint8_t { Pending, Ready, Running, Completed, Failed, Cancelled, TimedOut };
[[nodiscard]] std::string_view to_string(TaskStatus s) noexcept;
[[nodiscard]] constexpr bool is_final(TaskStatus s) noexcept { return s >= TaskStatus::Completed; }

struct TaskResult {
  TaskId id;
  std::string name;
  TaskStatus status = TaskStatus::Pending;
  std::vector<std::byte> output;       // Completed
  std::optional<TaskError> error;      // Failed (the agent's error), TimedOut
  std::string reason;                  // Cancelled: by whom ("cancel_task", "dependency 7 failed", ...)
  AgentId agent;                       // the agent whose run counted
  std::uint32_t attempts = 0;
  std::int64_t submitted_ns = 0;
  std::int64_t ready_ns = 0;           // dependencies met
  std::int64_t started_ns = 0;         // last dispatch
  std::int64_t finished_ns = 0;
};

struct CycleStats {
  std::size_t dispatched = 0;
  std::size_t completed = 0;
  std::size_t failed = 0;
  std::size_t cancelled = 0;
  std::size_t timed_out = 0;
  std::size_t retried = 0;          // re-queued after a panic or an agent failure
  std::size_t ready = 0;            // waiting for an agent after this cycle
  std::size_t running = 0;
  std::size_t pending = 0;          // waiting for dependencies
  std::int64_t duration_ns = 0;
};

struct SchedulerConfig {
  AgentSelectionStrategy selection_strategy = AgentSelectionStrategy::LoadBalanced;
  std::size_t max_concurrent_tasks = 512;
  std::size_t task_queue_size = 10000;   // unfinished tasks accepted at once
  bool load_balancing = true;            // seed flag: false makes LoadBalanced act as LeastLoaded
  bool dependency_resolution = true;     // false: depends_on is refused (InvalidTask)
  std::size_t result_retention = 100000; // finished results kept for get_task_result (oldest dropped first)
  [[nodiscard]] std::string validate() const;
};

struct SchedulerStats {
  std::uint64_t submitted = 0, completed = 0, failed = 0, cancelled = 0, timed_out = 0;
  std::uint64_t refused = 0;           // submissions refused (QueueFull, CycleDetected, ...)
  std::uint64_t retried = 0, reassigned = 0;
  std::uint64_t duplicate_results = 0; // late outcomes of runs that no longer counted
  std::uint64_t dispatched = 0, cycles = 0;
  std::uint64_t starved_cycles = 0;    // cycles that ended with ready tasks and no agent for them
  std::size_t pending = 0, ready = 0, running = 0;
  std::array<std::uint64_t, 4> dispatched_by_priority{};  // index: Priority
  HistogramSnapshot ready_to_start_ns; // ready -> dispatched
  HistogramSnapshot run_ns;            // dispatched -> finished
};

struct AgentInfo {
  AgentId id;
  std::string name;
  AgentKind kind = AgentKind::Generic;
  AgentStatus status = AgentStatus::Idle;
  std::vector<std::string> capabilities;
  unsigned running = 0;
  std::uint64_t completed = 0, failed = 0, restarts = 0;
  BreakerState breaker = BreakerState::Closed;
  std::size_t memory_bytes = 0;        // pool bytes it owns
  std::int64_t last_heartbeat_ns = 0; // send time of its latest heartbeat a peer heard (0: not a member any more)
  AgentId replaced_by;                 // Failed agents replaced under fault tolerance
};

struct SwarmMetrics {
  std::size_t total_agents = 0, active_agents = 0, failed_agents = 0;
  std::uint64_t tasks_submitted = 0, tasks_completed = 0, tasks_failed = 0, tasks_cancelled = 0, tasks_timed_out = 0;
  std::size_t tasks_pending = 0, tasks_running = 0;
  double throughput = 0;               // tasks finished per second, over the time since the previous metrics() call
  double memory_utilization = 0;       // regions in use / regions (MemoryStats::utilization)
  double avg_task_latency_ms = 0;      // submit -> finish, finished tasks
  double p99_ready_to_start_us = 0;
  std::uint64_t messages_sent = 0;
  LeaderInfo leader;
  double uptime_s = 0;
};

class SwarmOrchestrator;

class SwarmBuilder {
 public:
  SwarmBuilder& name(std::string n) { name_ = std::move(n); return *this; }
  SwarmBuilder& max_agents(std::size_t n) noexcept { max_agents_ = n; return *this; }
  SwarmBuilder& topology(SwarmTopology t) noexcept { topology_ = t; return *this; }
  SwarmBuilder& fault_tolerance(bool on) noexcept { fault_tolerance_ = on; return *this; }
  SwarmBuilder& monitoring(bool on) noexcept { monitoring_ = on; return *this; }
  SwarmBuilder& scheduler_config(SchedulerConfig c) { scheduler_ = std::move(c); return *this; }
  SwarmBuilder& memory_config(MemoryConfig c) { memory_ = std::move(c); return *this; }
  SwarmBuilder& coordinator_config(CoordinatorConfig c) { coordinator_ = std::move(c); return *this; }
  SwarmBuilder& breaker_config(BreakerConfig c) { breaker_ = std::move(c); return *this; }
  SwarmBuilder& hub_config(HubConfig c) { hub_ = std::move(c); return *this; }  // its topology is topology()'s
  SwarmBuilder& time_source(TimeSource t) noexcept { time_ = t; return *this; }
  SwarmBuilder& system(UltraOmegaSystem& s) noexcept { system_ = &s; return *this; }
  SwarmBuilder& seed(std::uint64_t s) noexcept { seed_ = s; return *this; }
  // The orchestrator, or InvalidConfig (with the reason in SwarmBuilder::last_error()).
  [[nodiscard]] Result<SwarmOrchestrator, SwarmError> build();
  [[nodiscard]] const std::string& last_error() const noexcept { return error_; }

 private:
  friend class SwarmOrchestrator;
  std::string name_ = "swarm";
  std::size_t max_agents_ = 256;
  SwarmTopology topology_ = SwarmTopology::Mesh;
  bool fault_tolerance_ = true;
  bool monitoring_ = true;
  SchedulerConfig scheduler_;
  MemoryConfig memory_;
  CoordinatorConfig coordinator_;
  BreakerConfig breaker_;
  HubConfig hub_;
  TimeSource time_ = TimeSource::system();
  UltraOmegaSystem* system_ = nullptr;
  std::uint64_t seed_ = 1;
  std::string error_;
};

class SwarmOrchestrator {
 public:
  SwarmOrchestrator(SwarmOrchestrator&&) noexcept;
  SwarmOrchestrator& operator=(SwarmOrchestrator&&) noexcept;
  ~SwarmOrchestrator();  // shutdown(): running tasks on a system are waited for

  Result<void, SwarmError> initialize();
  // A starting set: two neural (128 inputs), one quantum (12 qubits), one generic (CRC32C
  // of its payload, capability "checksum"); their ids.
  Result<std::vector<AgentId>, SwarmError> bootstrap_default_agents();
  Result<AgentId, SwarmError> register_agent(Agent agent);
  Result<void, SwarmError> stop_agent(AgentId id);     // its queued work goes to others
  // Fault injection (tests, the demo's kill buttons): the agent crashes: its heartbeats stop
  // and whatever it runs is lost; detection, restart and reassignment follow.
  Result<void, SwarmError> kill_agent(AgentId id);
  [[nodiscard]] std::optional<AgentInfo> agent_info(AgentId id) const;
  [[nodiscard]] std::vector<AgentInfo> agents() const;

  [[nodiscard]] TaskId reserve_task_id();
  Result<TaskId, SwarmError> submit_task(Task task);
  Result<CycleStats, SwarmError> process_cycle();
  // Cycles until nothing is pending, ready or running (true) or `limit` passes (false).
  bool run_until_idle(std::chrono::nanoseconds limit);
  [[nodiscard]] std::optional<TaskResult> get_task_result(TaskId id) const;
  [[nodiscard]] Result<TaskStatus, SwarmError> task_status(TaskId id) const;
  // Cancels the task (unless finished: TaskFinished) and, transitively, its dependents;
  // returns how many tasks it cancelled. A running task's outcome is dropped when it comes.
  Result<std::size_t, SwarmError> cancel_task(TaskId id);

  [[nodiscard]] SwarmCoordinator& coordinator() noexcept;
  [[nodiscard]] MemoryManager& memory_manager() noexcept;
  [[nodiscard]] CommunicationHub& hub() noexcept;

  [[nodiscard]] SwarmMetrics metrics();
  [[nodiscard]] MetricsSnapshot metrics_snapshot() const;  // every component: .to_json(), .to_prometheus()
  [[nodiscard]] std::string export_status() const;         // JSON: config, agents, tasks, leader, every component's stats
  [[nodiscard]] SchedulerStats scheduler_stats() const;
  [[nodiscard]] CoordinationStats coordination_stats() const;
  [[nodiscard]] MemoryStats memory_stats() const;
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] std::int64_t now_ns() const;

  void shutdown();

 private:
  friend class SwarmBuilder;
  struct Impl;
  explicit SwarmOrchestrator(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace omega::swarm
