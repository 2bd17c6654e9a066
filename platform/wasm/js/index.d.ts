export type Variant = 'threaded' | 'single-threaded';

export interface Percentiles {
  count: number; min: number; p50: number; p90: number; p99: number; p999: number; max: number; mean: number;
}
export type Bucket = [lower: number, upper: number, count: number];
export type AddResult = { ok: true } | { ok: false; error: string };

export interface Histogram {
  /** false (and counted) for anything but a number in [0, 2^53]. */
  record(ns: number): boolean;
  count(): number;
  valueAtQuantile(q: number): number;
  percentiles(): Percentiles;
  buckets(): Bucket[];
  merge(other: Histogram): void;
  reset(): void;
  delete(): void;
}
export interface ParkSampler {
  start(periodNs: number): boolean;
  stop(): void;
  running(): boolean;
  percentiles(): Percentiles;
  buckets(): Bucket[];
  delete(): void;
}
export interface MetricsSnapshot {
  addCounter(name: string, help: string, labels: Record<string, string> | undefined, value: number): AddResult;
  addGauge(name: string, help: string, labels: Record<string, string> | undefined, value: number): AddResult;
  addHistogram(name: string, help: string, labels: Record<string, string> | undefined, h: Histogram): AddResult;
  toJson(): string;
  toPrometheus(): string;
  delete(): void;
}
export interface NodeStats {
  pressure: number; level: 'Empty' | 'Low' | 'Normal' | 'High' | 'Full';
  active: number; desired: number; queued: number; super: boolean;
}
export interface SystemStats {
  nodes: NodeStats[]; submitted: number; completed: number; rejected: number; panicked: number; maxedOut: number;
  queueWait: Percentiles; runTime: Percentiles;
}
export interface SystemConfig {
  nodes?: number; superNodes?: number;
  queueCapacity?: [regular: number, superNode: number];
  threads?: [regularMin: number, regularMax: number, superMin: number, superMax: number];
  /** Each worker thread times 1 task in this many for the wait/run percentiles (default 64 in WASM, where a clock read costs about 7 times what it does natively; 1: every task). */
  timingSampleEvery?: number;
  /** Pulse's thresholds for cooperative tasks (spawn): 'aggressive' steps in early, 'permissive' late (default 'balanced'). */
  pulse?: PulseProfile;
}
export type Workload = 'spin' | 'hash' | 'primes';
export type PulseProfile = 'aggressive' | 'balanced' | 'permissive';
/** How the slow lane serves isolated Low/Normal/High tasks (Critical ones always first). */
export type PulseAlgorithm = 'creditBased' | 'lottery' | 'deficitRoundRobin';
/**
 * The built-in cooperative workloads (omega::Coro tasks polled under Pulse) and what arg means:
 * 'crunch' n iterations (checkpoint every 1024; resolves to the sum of i*i for i < n mod 2^64, low 52 bits),
 * 'light' µs asleep then one yield (resolves to the wake-to-poll latency in µs),
 * 'sleepy' ms asleep (resolves to the ms slept),
 * 'hog' ms spun per poll, 60 polls with a yield between (resolves to 60),
 * 'stall' ms spun in one poll that never yields (resolves to the ms spun).
 */
export type CoroWorkload = 'crunch' | 'light' | 'sleepy' | 'hog' | 'stall';
/** One polling thread's counters: node workers first, then the slow lane, then one shared by every other thread that polls. */
export interface PulseWorkerStats {
  worker: number; polls: number;
  /** Polls over their time budget. */
  violations: number;
  /** Polls that ended in a yield. */
  yields: number; cpuNs: number;
  /** Cooperative tasks that finished on this worker. */
  tasks: number;
  /** Polls at or over the slow-poll threshold. */
  slowPolls: number; pollP50Ns: number; pollP99Ns: number;
}
export interface PulseStats {
  spawned: number; completed: number;
  /** Destroyed by shutdown. */
  cancelled: number; promotions: number; demotions: number;
  /** SlowPoll signals published (Warn tier and above, and watchdog flags). */
  warnings: number;
  /** Polls flagged while still running (a task that does not yield). */
  watchdogFlags: number;
  /** Parked workers woken to take over a blocked worker's queue. */
  rescues: number;
  /** Polls run by the slow lane. */
  isolatedPolls: number;
  /** Spawned and not yet finished or cancelled. */
  live: number;
  /** The live tasks per tier. */
  tiers: { monitor: number; warn: number; yield: number; isolate: number };
  slowLaneQueued: number; algorithm: PulseAlgorithm;
  /** Interventions on (setPulseEnabled). */
  enabled: boolean;
  /** What the slow lane's thread got from the platform ("not started" until the first spawn). */
  slowLaneIsolation: string;
  workers: PulseWorkerStats[];
}
export declare class OmegaTaskError extends Error {}
export declare class OmegaNodeError extends Error { kind: 'SystemMaxedOut' | 'NodeShuttingDown' | 'NoNodesAvailable'; }
export interface OvpInitOptions {
  /** The gateway's WebSocket URL (ws:// or wss://); the endpoint connects to it with ?drone=<droneId> appended. */
  url: string;
  /** This drone's id: an integer in [1, 4294967294]. */
  droneId: number;
  /** Unicast emits are delivered exactly once and in order, retransmitted on loss (default false). */
  reliable?: boolean;
  /** Group ids whose frames this drone also receives. */
  groups?: number[];
  /** How long to wait for the connection (default 10000). */
  timeoutMs?: number;
}
export interface OvpMessage { data: Uint8Array; sourceDrone: number; channel: number; }
export declare class OvpEndpoint {
  readonly droneId: number;
  readonly closed: boolean;
  /**
   * Sends data (at most 1468 bytes) to the listed drones, or to every drone (null); resolves with its size.
   * TypeError/RangeError for bad arguments; OmegaTaskError when the connection is gone.
   */
  emit(targets: number[] | null, data: Uint8Array, channel?: number): Promise<number>;
  /** The next message; rejects with OmegaTaskError 'TimedOut' after timeoutMs (none: waits). */
  receive(timeoutMs?: number): Promise<OvpMessage>;
  /** Leaves; pending receives reject ("socket closed"). */
  close(): Promise<void>;
}
export declare class OmegaSystem {
  /**
   * OVP through omega-gateway. init rejects with OmegaTaskError naming the reason when the URL is
   * not usable, the connection is refused or the gateway rejects the handshake.
   */
  readonly ovp: { init(options: OvpInitOptions): Promise<OvpEndpoint> };
  /** Rejects with TypeError for bad arguments, OmegaNodeError for backpressure, OmegaTaskError for a failed task. */
  submit(workload: Workload, arg: number, options?: { priority?: Priority; cost?: number }): Promise<number>;
  /**
   * Spawns a built-in cooperative task under Pulse; resolves to its number (see CoroWorkload).
   * Rejects with TypeError/RangeError for bad arguments, OmegaNodeError for backpressure, and
   * OmegaTaskError "ExecutionFailed: NodeShuttingDown: ..." when shutdown cancels it while suspended.
   */
  spawn(workload: CoroWorkload, arg: number, options?: { priority?: Priority }): Promise<number>;
  /** Pulse's statistics; null after shutdown. */
  pulseStats(): PulseStats | null;
  /** Interventions on or off (accounting goes on); throws TypeError for anything but a boolean. */
  setPulseEnabled(on: boolean): void;
  /** The slow lane's algorithm, from the next isolated poll on; throws TypeError for an unknown name. */
  setPulseAlgorithm(algorithm: PulseAlgorithm): void;
  stats(): SystemStats;
  metricsPrometheus(): string;
  readonly pending: number;
  shutdown(): Promise<void>;
}
export interface SchedulerConfig {
  /** The wheel's resolution (default 1000 ns); 0 is refused. */
  tickRateNs?: number;
  /** Tasks run per tick() at most (default 10000); the rest wait for the next tick. */
  maxTasksPerTick?: number;
  /** The strange loop's contraction factor, in (0, 1) (default 0.9). */
  lipschitzConstant?: number;
  /** Temporal window, in tick intervals (default 100). */
  windowSize?: number;
  /** Every 2^n-th tick is timed (default 4). */
  tickSampleShift?: number;
  /** Only false from JS: parallel dispatch is a C++ feature (Scheduler(config, system)). */
  parallel?: false;
}
export type SchedulerWorkload = 'noop' | 'spin';
/** One priority for the circulation and the scheduler; 'critical' is served before all others. */
export type Priority = 'critical' | 'high' | 'normal' | 'low';
export type TimerPriority = Priority;
export interface SchedulePercentiles extends Percentiles { p95: number; }
export interface SchedulerMetrics {
  ticks: number; timedTicks: number;
  avgTickNs: number; minTickNs: number; p50TickNs: number; p95TickNs: number; p99TickNs: number; maxTickNs: number;
  tasksPerSecond: number; scheduled: number; executed: number; cancelled: number; panicked: number;
  carriedOver: number; pending: number; ready: number; memoryBytes: number;
  temporalOverlap: number; strangeLoopState: number; strangeLoopBound: number;
  /** ns from each run's deadline to its start. */
  lateness: SchedulePercentiles;
  /** ns per timed tick. */
  tickTime: SchedulePercentiles;
}
export declare class OmegaScheduler {
  /** Returns the task's id. Throws TypeError for bad arguments (counted in omega_js_invalid_arguments_total). */
  schedule(workload: SchedulerWorkload, arg?: number,
           options?: { delayNs?: number; periodNs?: number; priority?: TimerPriority }): string;
  /** true if it was pending and now never runs; TypeError for a non-string id. */
  cancel(id: string): boolean;
  tick(): number;
  metrics(): SchedulerMetrics;
  temporalOverlap(): number;
  strangeLoopState(): number;
  /** Never blocks: { ok: false, error: 'WouldBlock' }. Use start(). */
  run(): { ok: false; error: string };
  /** Drives tick() from the event loop (MessageChannel), sleeping while the next deadline is far. */
  start(options?: { idleThresholdMs?: number }): void;
  stop(): void;
  close(): void;
  readonly running: boolean;
}
/** Integers; the bounds are PipelineConfig::validate's (a value out of them is a RangeError naming them). */
export interface PipelineConfig {
  /** Milliseconds between heartbeat bursts, 1 to 60000 (default 10; steady_state's --rate). */
  rate?: number;
  /** Heartbeat bursts before the pipeline shuts down, 1 to 10^9 (default 1000; --beats). */
  beats?: number;
  /** Values the worker moves per slice, 1 to the channels' capacity less the logger's batch (default 256; --batch). */
  batch?: number;
  /** Milliseconds between telemetry frames, up to an hour (default 100; 0: a frame only when asked, without rates). */
  telemetryPeriodMs?: number;
  /** The worker throws once every this many values and is restarted with its state (default 0: never); nothing may be lost or duplicated. */
  workerFaultEvery?: number;
}
/** The configuration in force, defaults filled in. */
export interface PipelineSettings {
  rate: number; beats: number; batch: number; telemetryPeriodMs: number; workerFaultEvery: number;
  beatBurst: number; generatorBatch: number; loggerBatch: number; capacity: number;
}
export type ActorState = 'Starting' | 'Running' | 'Waiting' | 'BackingOff' | 'Stopped' | 'Failed';
export type PulseTier = 'Monitor' | 'Warn' | 'Yield' | 'Isolate';
export type ChannelOverflow = 'Block' | 'DropNewest' | 'DropOldest' | 'Fail';
export interface ActorTelemetry {
  name: string;
  /** The team whose thread polls it. */
  team: string;
  /** Spawned (a team of its own) rather than joined to a shared team. */
  ownThread: boolean;
  state: ActorState; tier: PulseTier;
  polls: number;
  /** Time in polls since start. */
  cpuNs: number;
  /** Of one core, over the last period. */
  cpuPercent: number;
  restarts: number;
  /** Times it was woken from a wait. */
  wakes: number;
}
export interface ChannelTelemetry {
  name: string;
  /** The sending actor ('' until someone sent). */
  from: string;
  /** The receiving actor. */
  to: string;
  capacity: number; len: number; fillPercent: number;
  /** Taken per second over the last period. */
  msgsPerSec: number;
  /** Little's law: len / rate (0 when idle). */
  latencyMs: number;
  overflow: ChannelOverflow;
  sent: number; taken: number; droppedNewest: number; droppedOldest: number; refused: number; full: number;
  closed: boolean;
}
export interface PipelineTelemetry {
  /** Frames taken so far (0: computed on demand, no rates yet). */
  seq: number; atNs: number;
  /** The span the rates cover. */
  periodS: number;
  shuttingDown: boolean; stopped: boolean;
  /** generator, heartbeat, worker, logger. */
  actors: ActorTelemetry[];
  /** The pipeline's: values (generator -> worker), heartbeat (heartbeat -> worker), fizzbuzz (worker -> logger). */
  channels: ChannelTelemetry[];
}
export interface PipelineReport {
  /** Values the generator sent. */
  generated: number;
  /** Messages the logger took. */
  logged: number;
  heartbeats: number; bursts: number;
  /** 64-bit checksums, as decimal strings. */
  generatedChecksum: string; loggedChecksum: string;
  /** Messages whose value was not the next expected. */
  outOfOrder: number;
  fizz: number; buzz: number; fizzbuzz: number;
  workerRestarts: number;
  /** From start to the logger's last message. */
  elapsedS: number;
  msgsPerSec: number;
  /** Every actor stopped. */
  finished: boolean;
  /** Every generated value logged exactly once, in order, and the pipeline finished. */
  exactlyOnce: boolean;
}
export declare class OmegaPipeline {
  /** Resolves with the final report once every actor stopped (after the last burst, requestShutdown() or close()); never rejects. */
  readonly done: Promise<PipelineReport>;
  readonly config: Readonly<PipelineSettings>;
  /** Teams on threads of their own: 3 in the threaded build, 0 in the single-threaded one (the event loop polls). */
  readonly threadedTeams: number;
  readonly stopped: boolean;
  readonly closed: boolean;
  /** The latest frame; after close(), the last one before it. */
  telemetry(): PipelineTelemetry;
  /** Graphviz DOT: actors clustered by team, channels as edges labelled with msgs/s and fill, coloured by fill. */
  toDot(): string;
  /** Prometheus text exposition (omega_actor_*, omega_channel_*). */
  toPrometheus(): string;
  /** The counts so far; final once stopped. */
  report(): PipelineReport;
  /** Every actor stops once its inputs are drained; nothing accepted is lost. */
  requestShutdown(): void;
  /**
   * Asks for shutdown, waits (at most 10 s) for the actors to stop, frees the pipeline. Idempotent.
   * Where the runtime has Symbol.asyncDispose, `await using` calls it.
   */
  close(): Promise<void>;
}
// ---- the swarm (swarm.mjs) ----------------------------------------------------------------
export type SwarmTopology = 'Centralized' | 'Mesh' | 'Hierarchical' | 'Ring' | 'Star';
export type SwarmStrategy = 'RoundRobin' | 'LeastLoaded' | 'LoadBalanced' | 'CapabilityBased';
export type EvictionPolicy = 'LRU' | 'LFU' | 'FIFO' | 'TTL' | 'WTinyLFU';
export type AgentKind = 'neural' | 'quantum' | 'generic';
export type AgentStatus = 'Idle' | 'Busy' | 'Degraded' | 'Restarting' | 'Failed' | 'Stopped';
export type SwarmTaskStatus = 'Pending' | 'Ready' | 'Running' | 'Completed' | 'Failed' | 'Cancelled' | 'TimedOut';
export type ProposalType = 'TaskAssignment' | 'ResourceAllocation' | 'LeaderChange' | 'ConfigChange' | 'Custom';
export type VoteDecision = 'Approve' | 'Reject' | 'Abstain';
export type ProposalStatus = 'Open' | 'Accepted' | 'Rejected' | 'Expired';
export type Bytes = ArrayBufferView | ArrayBuffer;
/**
 * Every field optional. Integers unless said otherwise; a wrong type is a TypeError, a value out
 * of range (or one the core's validation refuses, with its reason) a RangeError, both counted in
 * omega_js_invalid_arguments_total.
 */
export interface SwarmConfig {
  /** Default 'swarm'; non-empty. */
  name?: string;
  /** 1..65536 (default 64). */
  maxAgents?: number;
  topology?: SwarmTopology;
  /** Detect failed agents by their heartbeats, restart or replace them, re-queue their work (default true). */
  faultTolerance?: boolean;
  strategy?: SwarmStrategy;
  /**
   * Tasks running at once, which is also how many one cycle may dispatch; they run inline, so
   * one cycle takes up to this many tasks' time on this thread (default 16 here; C++'s is 512).
   */
  maxConcurrentTasks?: number;
  /** Unfinished tasks accepted at once (default 10000). */
  taskQueueSize?: number;
  /** The pool: totalSize / regionSize regions of regionSize bytes (defaults 28 MiB, 64 KiB, 'LRU'). */
  memory?: { totalSize?: number; regionSize?: number; eviction?: EvictionPolicy };
  /** Milliseconds between heartbeats, 1..86400000 (default 100). */
  heartbeatMs?: number;
  /**
   * Heartbeat intervals an agent may go unheard before it is declared failed, 1..1000 (default
   * 3). Heartbeats come only from cycles: a driver that stalls longer than heartbeatMs x this
   * (a busy page, a background tab) makes every agent look failed.
   */
  failureThreshold?: number;
  /** [min, max) milliseconds a follower waits for a leader before standing (default [150, 300]). */
  electionTimeoutMs?: [number, number];
  /** Seeds election timeouts and the agents' default networks (default 1). */
  seed?: number;
}
/** The configuration in force, defaults filled in. */
export interface SwarmSettings {
  name: string; maxAgents: number; topology: SwarmTopology; faultTolerance: boolean; strategy: SwarmStrategy;
  maxConcurrentTasks: number; taskQueueSize: number;
  memory: { totalSize: number; regionSize: number; eviction: EvictionPolicy };
  heartbeatMs: number; failureThreshold: number; electionTimeoutMs: [number, number]; seed: number;
}
interface AgentOptions {
  name: string;
  /** Seeds the agent's network or simulator (default 1). */
  seed?: number;
  /** Tasks at once on this agent, 1..1024 (default 4). */
  maxConcurrent?: number;
  /** LoadBalanced capacity, > 0 (default 1). */
  weight?: number;
  /** Pool bytes the agent may own; 0: the pool's per-agent limit. */
  memoryLimit?: number;
}
export type AgentSpec =
  /** Capability 'neural_inference': f32 inputs -> a seeded inputs -> 64 -> 16 network's f32 outputs. */
  | (AgentOptions & { kind: 'neural'; inputs: number })
  /** Capabilities 'quantum_simulation' (encodeCircuit -> decodeCircuitResult) and 'optimization' (encodeMaxCut -> decodeCut); 1..20 qubits. */
  | (AgentOptions & { kind: 'quantum'; qubits: number })
  /**
   * A JS function: payload bytes in, output bytes out. It runs on the thread that created the
   * swarm, inside processCycle()/runUntilIdle(), in both builds; what it throws fails the task
   * (Panicked, with the message); it may not call back into the swarm. Capabilities: 'generic'
   * plus those given.
   */
  | (AgentOptions & { kind: 'generic'; fn: (payload: Uint8Array) => Bytes; capabilities?: string[] });
export interface SwarmTaskSpec {
  /** Non-empty. */
  name: string;
  /** Bytes the agent gets (a Float32Array's are little-endian f32, what neural agents take). */
  payload?: Bytes;
  priority?: Priority;
  /** Only agents with this capability run it; none: any agent. */
  capability?: string;
  /** Task ids (submitted or reserved) that must complete first; one that fails, times out or is cancelled cancels this task. */
  dependsOn?: number[];
  /** Deadline from submission, milliseconds (> 0); TimedOut past it. */
  timeoutMs?: number;
  /** Re-runs after its agent failed or it panicked, 0..1000 (default 2). */
  maxRetries?: number;
  /** A reserveTaskId() id to submit under. */
  id?: number;
}
export interface SwarmDagTaskSpec extends SwarmTaskSpec {
  /** Indices into the previous layer this task depends on (default: all of it). */
  after?: number[];
}
export interface CycleStats {
  dispatched: number; completed: number; failed: number; cancelled: number; timedOut: number; retried: number;
  /** After the cycle: waiting for an agent, running, waiting for dependencies. */
  ready: number; running: number; pending: number;
  durationNs: number;
}
export interface SwarmTaskResult {
  id: number; name: string; status: SwarmTaskStatus;
  /** The agent's output (Completed); empty otherwise. */
  output: Uint8Array;
  /** 'Panicked: <message>', 'ExecutionFailed: ...', 'TimedOut', or null. */
  error: string | null;
  errorKind: 'TimedOut' | 'Panicked' | 'ExecutionFailed' | null;
  /** Cancelled: by whom ('cancel_task', 'dependency 7 failed', ...). */
  reason: string;
  /** The agent whose run counted. */
  agent: number | null;
  attempts: number;
  submittedNs: number; readyNs: number; startedNs: number; finishedNs: number;
}
export interface SwarmAgentInfo {
  id: number; name: string; kind: AgentKind; status: AgentStatus; capabilities: string[];
  /** Tasks running on it now: its load. */
  running: number;
  completed: number; failed: number; restarts: number;
  breaker: 'Closed' | 'Open' | 'HalfOpen';
  /** Pool bytes it owns. */
  memoryBytes: number;
  lastHeartbeatNs: number;
  /** A failed agent's replacement under fault tolerance. */
  replacedBy: number | null;
}
export interface LeaderInfo {
  /** null while there is none (before the first election, or between a leader's death and the next). */
  agent: number | null;
  term: number;
}
export interface SwarmMetrics {
  totalAgents: number; activeAgents: number; failedAgents: number;
  tasksSubmitted: number; tasksCompleted: number; tasksFailed: number; tasksCancelled: number; tasksTimedOut: number;
  tasksPending: number; tasksRunning: number;
  /** Tasks finished per second since the previous metrics() call. */
  throughput: number;
  /** Pool regions in use / regions. */
  memoryUtilization: number;
  avgTaskLatencyMs: number; p99ReadyToStartUs: number; messagesSent: number;
  leader: LeaderInfo;
  uptimeS: number;
}
export interface SwarmMemoryStats {
  totalBytes: number; usedBytes: number; reservedBytes: number; regionsTotal: number; regionsUsed: number;
  regionsPinned: number; agents: number; allocations: number; frees: number; evictions: number; transfers: number;
  reads: number; writes: number; bytesRead: number; bytesWritten: number; hits: number; misses: number;
  gcRuns: number; gcReclaimed: number; refusedQuota: number; refusedOom: number; refusedBounds: number;
  utilization: number; fill: number; hitRate: number;
}
export interface SwarmMemory {
  /** One region of size bytes (1..regionSize) owned by agentId; evicts per policy when the pool is full. */
  allocate(agentId: number, size: number): number;
  /** All of bytes at offset (default 0), or OmegaSwarmError OutOfBounds. */
  write(regionId: number, bytes: Bytes, offset?: number): void;
  /** Up to length bytes from offset (default 0). */
  read(regionId: number, length: number, offset?: number): Uint8Array;
  /** Ownership moves; the bytes stay. */
  transfer(regionId: number, agentId: number): void;
  free(regionId: number): void;
  /** Reclaims regions past their TTL; how many. */
  gc(): number;
  stats(): SwarmMemoryStats;
}
/** What the swarm refused (not a bad argument, not counted as one). kind: the C++ SwarmError's name. */
export declare class OmegaSwarmError extends Error {
  kind: 'NotInitialized' | 'ShuttingDown' | 'AgentLimitReached' | 'UnknownAgent' | 'DuplicateAgent' | 'AgentUnavailable' |
    'UnknownTask' | 'QueueFull' | 'CycleDetected' | 'InvalidTask' | 'NoCapableAgent' | 'TaskFinished' | 'OutOfMemory' |
    'QuotaExceeded' | 'UnknownRegion' | 'OutOfBounds' | 'NotOwner' | 'UnknownProposal' | 'ProposalClosed' |
    'AlreadyVoted' | 'Equivocation' | 'InvalidSignature' | 'NotEligible' | 'CircuitOpen' | string;
}
/**
 * The swarm orchestrator in WASM (the same C++ as natively, real clock, no system attached):
 * each cycle runs the tasks it dispatches inline on this thread, in both builds. Nothing
 * advances between calls: heartbeats, elections, failure detection and timeouts move with
 * processCycle()/runUntilIdle(). Bad arguments throw TypeError/RangeError (counted); the
 * swarm's refusals throw OmegaSwarmError; any call on a closed swarm, or from inside an agent's
 * function during a cycle, throws Error.
 */
export declare class OmegaSwarm {
  readonly config: Readonly<SwarmSettings>;
  readonly memory: SwarmMemory;
  readonly closed: boolean;
  /** Two neural agents (128 inputs), one quantum (12 qubits), one generic 'checksum' (CRC-32C, 4 bytes little-endian); their ids. */
  bootstrap(): number[];
  registerAgent(spec: AgentSpec): number;
  stopAgent(id: number): void;
  /** Fault injection: the agent crashes; detection, restart (or replacement) and re-election follow over the next cycles. */
  killAgent(id: number): void;
  agents(): SwarmAgentInfo[];
  agent(id: number): SwarmAgentInfo | null;
  reserveTaskId(): number;
  submit(task: SwarmTaskSpec): number;
  /** Layers of tasks, each after the previous layer's tasks its `after` names (default all); the ids by layer. */
  submitDag(layers: SwarmDagTaskSpec[][]): number[][];
  processCycle(): CycleStats;
  /** Cycles (at most 4 ms per event-loop turn) until nothing is pending, ready or running (true) or ms passed (false). */
  runUntilIdle(ms?: number): Promise<boolean>;
  /** null until the task has a result. */
  result(id: number): SwarmTaskResult | null;
  taskStatus(id: number): SwarmTaskStatus;
  /** Cancels the task and, transitively, its dependents; how many. */
  cancel(id: number): number;
  propose(agentId: number, type: ProposalType, data?: Bytes): number;
  /** Votes are signed (HMAC-SHA256) per voter; the proposal's status after this one. */
  vote(proposalId: number, agentId: number, decision: VoteDecision, reason?: string): ProposalStatus;
  proposalStatus(proposalId: number): ProposalStatus;
  leader(): LeaderInfo;
  metrics(): SwarmMetrics;
  schedulerStats(): {
    submitted: number; completed: number; failed: number; cancelled: number; timedOut: number; refused: number;
    retried: number; reassigned: number; duplicateResults: number; dispatched: number; cycles: number;
    starvedCycles: number; pending: number; ready: number; running: number;
    dispatchedByPriority: Record<Priority, number>;
    readyToStartNs: Percentiles; runNs: Percentiles;
  };
  /** Proposals, votes, equivocations, elections, terms, leaderChanges, heartbeats, failuresDetected, ... */
  coordinationStats(): Record<string, number | boolean>;
  /** export_status(), parsed: config, agents, tasks, leader, every component's stats. */
  status(): Record<string, unknown>;
  metricsPrometheus(): string;
  /** Shuts down and frees the swarm; idempotent. `using` calls it where the runtime has Symbol.dispose. */
  close(): void;
}
/** f32 values as little-endian bytes (a neural task's payload). */
export function encodeFloats(values: Iterable<number>): Uint8Array;
export function decodeFloats(bytes: Bytes): Float32Array;
export interface CircuitGate { kind: 'H' | 'X' | 'Y' | 'Z' | 'RX' | 'RY' | 'RZ' | 'CNOT' | 'Measure'; a: number; b?: number; theta?: number }
/** 'OQC1': a 'quantum_simulation' task's payload. */
export function encodeCircuit(circuit: { qubits: number; shots?: number; gates?: CircuitGate[] }): Uint8Array;
/** 'OQR1': the final state's probabilities and, with shots, the measured counts. */
export function decodeCircuitResult(bytes: Bytes): { qubits: number; probabilities: Float64Array; counts: Map<number, number> };
/** 'OMC1': an 'optimization' task's payload; edges [u, v, weight = 1]. */
export function encodeMaxCut(problem: { vertices: number; edges: Array<[number, number, number?]> }): Uint8Array;
/** 'OCS1': the annealed cut. */
export function decodeCut(bytes: Bytes): { vertices: number; cutValue: number; iterations: number; side: Uint8Array };
export interface OmegaModule {
  createSystem(config?: SystemConfig): OmegaSystem;
  /**
   * Starts the seed's actor pipeline (Generator -> Worker -> Logger, paced by a Heartbeat).
   * TypeError (a non-object config, a non-number field) or RangeError (a negative, fractional,
   * NaN or too large number; what the core refuses) for a bad configuration, counted in
   * omega_js_invalid_arguments_total; Error when the threaded build already runs a pipeline.
   */
  runPipeline(config?: PipelineConfig): OmegaPipeline;
  /** Throws TypeError for a bad configuration (the core's validation message). */
  createScheduler(config?: SchedulerConfig): OmegaScheduler;
  /**
   * Builds and initialises a swarm orchestrator. TypeError/RangeError for a bad configuration,
   * counted in omega_js_invalid_arguments_total.
   */
  createSwarm(config?: SwarmConfig): OmegaSwarm;
  variant: Variant;
  nowNs(): number;
  clockInfo(): { source: string; reason: string; resolutionNs: number };
  buildInfo(): { variant: Variant; simd: string; canPark: boolean; hardwareConcurrency: number; threadBudget: number };
  runtimeMetricsJson(): string;
  runtimeMetricsPrometheus(): string;
  Histogram: { new (): Histogram };
  ParkSampler: { new (): ParkSampler };
  MetricsSnapshot: { new (): MetricsSnapshot };
}
export function threadsAvailable(): boolean;
export function loadOmega(options?: { variant?: Variant; moduleArgs?: object }): Promise<OmegaModule>;
export default loadOmega;
