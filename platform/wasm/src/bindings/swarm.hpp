#pragma once
// NativeSwarm: the swarm orchestrator (omega::swarm::SwarmOrchestrator) from JS, wrapped by
// js/swarm.mjs (omega.createSwarm). The orchestrator is the same C++ as natively, built on
// the real clock (TimeSource::system()) and with no system attached in either build: each
// process_cycle() runs the tasks it dispatches inline on the calling thread (the thread that
// created the swarm, the browser's main thread on the page). That is what lets a generic
// agent's work be a JS function in both builds: it is only ever called on the thread that owns
// it, between the wrapper's calls, never from a worker.
//
// Nothing here blocks for long: run_for() cycles for at most the slice it is given and the
// wrapper yields to the event loop between slices. Heartbeats, elections, restarts and task
// deadlines advance only while someone calls process_cycle()/run_for().
//
// Every call answers {ok: true, ...} or a refusal: {ok: false, error[, range]} for bad
// arguments (counted in omega_js_invalid_arguments_total; the wrapper throws TypeError or
// RangeError), {ok: false, error, swarmError} for what the swarm refused (an unknown agent, a
// cycle, a full queue: counted by the swarm's own statistics; the wrapper throws
// OmegaSwarmError), {ok: false, error, failure: true} for what is not the caller's doing.
// Exceptions never cross into JS.
#include <cstdint>
#include <memory>
#include <string>

#include <omega/swarm/swarm.hpp>

#include "js_common.hpp"

namespace omega::js {

class JsSwarm {
 public:
  JsSwarm() = default;
  JsSwarm(const JsSwarm&) = delete;
  JsSwarm& operator=(const JsSwarm&) = delete;
  ~JsSwarm();

  // config: {name, maxAgents, topology, faultTolerance, strategy, maxConcurrentTasks,
  // taskQueueSize, memory: {totalSize, regionSize, eviction}, heartbeatMs, failureThreshold,
  // electionTimeoutMs: [min, max], seed} (all optional). Builds and initialises the swarm.
  val init(const val& config);
  // {ok, ids}: the default agents (two neural, one quantum, one generic checksum).
  val bootstrap();
  // spec: {kind: 'neural', name, inputs, seed} | {kind: 'quantum', name, qubits, seed} |
  // {kind: 'generic', name, capabilities}, each with optional maxConcurrent, weight,
  // memoryLimit. work: for 'generic', a JS function (bytes, name, capability) -> {ok: true,
  // bytes: Uint8Array} | {ok: false, error: string} that never throws (the wrapper makes it so).
  val register_agent(const val& spec, const val& work);
  val stop_agent(const val& id);
  val kill_agent(const val& id);
  val agents() const;
  val agent(const val& id) const;

  // spec: {name, payload: Uint8Array, priority, capability, dependsOn: [ids], timeoutMs,
  // maxRetries, id (from reserveTaskId)}.
  val submit(const val& spec);
  val reserve_task_id();
  val process_cycle();
  // Cycles until nothing is pending, ready or running ({ok, idle: true, cycles}) or `slice_ms`
  // has passed (idle: false).
  val run_for(const val& slice_ms);
  val result(const val& id) const;
  val task_status(const val& id) const;
  val cancel(const val& id);

  val propose(const val& agent, const val& type, const val& bytes);
  val vote(const val& proposal, const val& agent, const val& decision, const val& reason);
  val proposal_status(const val& proposal) const;
  val leader() const;

  val mem_allocate(const val& agent, const val& size);
  val mem_write(const val& region, const val& bytes, const val& offset);
  val mem_read(const val& region, const val& length, const val& offset);
  val mem_transfer(const val& region, const val& agent);
  val mem_free(const val& region);
  val mem_gc();
  val mem_stats() const;

  val metrics();
  val scheduler_stats() const;
  val coordination_stats() const;
  std::string status_json() const;
  std::string metrics_prometheus() const;
  std::string metrics_json() const;
  // The configuration in force, defaults filled in.
  val config() const;
  // A bad argument the wrapper caught itself, refused and counted like the rest: {ok: false,
  // error: message[, range: true]}.
  val refuse_argument(const val& message, const val& range) const;
  // Shuts the swarm down and frees it; idempotent. Later calls answer as for a closed swarm.
  void close();
  bool closed() const { return orchestrator_ == nullptr; }

 private:
  // A refusal when the swarm is closed or a cycle is running (a call from inside an agent's
  // JS function); undefined when the call may go on.
  val unusable(const char* call) const;

  std::unique_ptr<swarm::SwarmOrchestrator> orchestrator_;
  val config_ = val::undefined();
  bool in_cycle_ = false;
};

}  // namespace omega::js
