// OmegaSwarm: the swarm orchestrator (omega::swarm::SwarmOrchestrator) from JavaScript.
//
//   const swarm = omega.createSwarm({ name: 'demo', topology: 'Mesh', strategy: 'LoadBalanced',
//                                     memory: { totalSize: 1 << 20, regionSize: 4096, eviction: 'LRU' } });
//   const ids = swarm.bootstrap();                       // 2 neural, 1 quantum, 1 generic (checksum)
//   const a = swarm.submit({ name: 'infer', payload: new Float32Array(128), capability: 'neural_inference' });
//   const b = swarm.submit({ name: 'bell', capability: 'quantum_simulation',
//                            payload: encodeCircuit({ qubits: 2, gates: [{ kind: 'H', a: 0 }, { kind: 'CNOT', a: 0, b: 1 }] }),
//                            dependsOn: [a] });
//   await swarm.runUntilIdle(5000);                      // cycles in slices; the event loop runs between them
//   decodeCircuitResult(swarm.result(b).output).probabilities;   // [0.5, 0, 0, 0.5]
//   swarm.leader();                                       // { agent, term }
//   swarm.killAgent(swarm.leader().agent);                // detection, restart, a new election follow
//   swarm.close();
//
// The orchestrator is the same C++ as natively, on the real clock, with no system attached in
// either build: every cycle runs the tasks it dispatches inline on this thread. So nothing of
// the swarm runs unless something calls processCycle() or runUntilIdle(): heartbeats, leader
// elections, failure detection, restarts and timeouts all advance with the cycles. A page
// drives them from its event loop (a cycle per frame or timer turn); runUntilIdle() cycles for
// at most 4 ms per turn and then yields, so the page keeps rendering. One cycle dispatches up
// to maxConcurrentTasks ready tasks and runs them before it returns: that many tasks' time is
// the longest the thread is held (default 16 here, against C++'s 512). Agents stop
// heartbeating while nothing cycles: a pause longer than heartbeatMs x failureThreshold (a
// busy page, a background tab) looks like failed agents, which are then restarted.
//
// Generic agents may be JS functions (registerAgent({ kind: 'generic', name, fn })), in both
// builds: the tasks run on this thread, inside processCycle()/runUntilIdle(). A function gets
// the payload (a Uint8Array copy) and returns a Uint8Array (or any ArrayBuffer view, or an
// ArrayBuffer); what it throws fails the task as Panicked with the message. While a cycle runs,
// an agent's function may not call back into the swarm (such calls throw Error).
//
// Errors: a bad argument throws TypeError (wrong type) or RangeError (right type, out of
// range), counted in omega_js_invalid_arguments_total, and leaves the swarm as it was; what the
// swarm itself refuses (an unknown agent or task, a dependency cycle, a full queue, a
// duplicate vote, ...) throws OmegaSwarmError with kind set to the C++ SwarmError's name.

import { createNative } from './native.mjs';

/** What the swarm refused (not a bad argument): kind is SwarmError's name ('UnknownAgent', 'CycleDetected', ...). */
export class OmegaSwarmError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = 'OmegaSwarmError';
    this.kind = kind;
  }
}

// One event-loop turn's worth of cycles in runUntilIdle.
const SLICE_MS = 4;

function check(r) {
  if (r.ok) return r;
  if (r.swarmError) throw new OmegaSwarmError(r.error, r.swarmError);
  if (r.range) throw new RangeError(r.error);
  if (r.failure) throw new Error(r.error);
  throw new TypeError(r.error);
}

// Any ArrayBuffer view or ArrayBuffer as a Uint8Array over the same bytes (a Float32Array's
// bytes are little-endian: every JS engine in use is, and the swarm's encodings are).
// Anything else is passed through for the native side to refuse with its message.
function asBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return v;
}

function task(spec) {
  if (spec === null || typeof spec !== 'object' || spec.payload === undefined) return spec;
  return { ...spec, payload: asBytes(spec.payload) };
}

export class OmegaSwarm {
  #native;
  #config;
  #inCycle = false;
  #memory;

  constructor(module, config = {}) {
    this.#native = createNative(module, 'NativeSwarm', config, 'createSwarm');
    this.#config = Object.freeze(this.#native.config());
    const call = (name, ...args) => this.#call(name, ...args);
    /** The swarm's memory pool: regions owned by agents, evicted by the configured policy. */
    this.#memory = Object.freeze({
      /** A region of `size` bytes owned by agentId; its id. */
      allocate: (agentId, size) => call('memAllocate', agentId, size).id,
      /** Writes bytes (any ArrayBuffer view) at offset (default 0). */
      write: (regionId, bytes, offset = 0) => { call('memWrite', regionId, asBytes(bytes), offset); },
      /** Up to `length` bytes from offset (default 0), as a new Uint8Array. */
      read: (regionId, length, offset = 0) => call('memRead', regionId, length, offset).data,
      /** Ownership moves to agentId; the bytes stay where they are. */
      transfer: (regionId, agentId) => { call('memTransfer', regionId, agentId); },
      free: (regionId) => { call('memFree', regionId); },
      /** Reclaims what is due (regions of failed or stopped agents, expired TTLs); how many regions. */
      gc: () => call('memGc').collected,
      stats: () => call('memStats').stats,
    });
  }

  #usable(name) {
    if (this.#inCycle) {
      throw new Error(`swarm.${name}: called from inside an agent's function while the swarm runs a cycle`);
    }
    if (!this.#native) throw new Error(`swarm.${name}: the swarm is closed`);
  }

  #call(name, ...args) {
    this.#usable(name);
    return check(this.#native[name](...args));
  }

  // A bad argument caught here rather than in C++: thrown as the native side would (TypeError,
  // or RangeError where range), and counted with the rest.
  #refuse(message, range = false) {
    this.#usable('refuse');
    check(this.#native.refuseArgument(message, range));
  }

  #cycle(name, ...args) {
    if (this.#inCycle) throw new Error('swarm: a cycle is already running (called from inside an agent\'s function)');
    if (!this.#native) throw new Error(`swarm.${name}: the swarm is closed`);
    this.#inCycle = true;
    try {
      return check(this.#native[name](...args));
    } finally {
      this.#inCycle = false;
    }
  }

  /** The configuration in force, defaults filled in. */
  get config() {
    return this.#config;
  }

  get memory() {
    return this.#memory;
  }

  get closed() {
    return this.#native === null;
  }

  /** Registers the default agents (two neural of 128 inputs, one quantum of 12 qubits, one generic 'checksum'); their ids. */
  bootstrap() {
    return this.#call('bootstrap').ids;
  }

  /**
   * Registers an agent; its id. spec: { kind: 'neural', name, inputs } | { kind: 'quantum',
   * name, qubits } | { kind: 'generic', name, fn, capabilities }, each with optional seed,
   * maxConcurrent, weight, memoryLimit. A generic agent's fn(bytes: Uint8Array) returns the
   * output bytes; it runs on this thread, inside processCycle()/runUntilIdle().
   */
  registerAgent(spec) {
    let work;
    if (spec !== null && typeof spec === 'object' && spec.kind === 'generic') {
      const { fn, name } = spec;
      // Without a function the native side refuses the agent (counted). With one, the native
      // side sees {ok, bytes} or {ok: false, error}: a JS exception never unwinds through the
      // orchestrator.
      if (typeof fn === 'function') {
        work = (bytes) => {
          try {
            const out = asBytes(fn(bytes));
            if (!(out instanceof Uint8Array)) {
              return { ok: false, error: `agent '${name}': fn must return a Uint8Array, ArrayBuffer view or ArrayBuffer` };
            }
            return { ok: true, bytes: out };
          } catch (err) {
            return { ok: false, error: String(err?.message ?? err) };
          }
        };
      }
    }
    return this.#call('registerAgent', spec, work).id;
  }

  /** Stops an agent (its queued work goes to others). */
  stopAgent(id) {
    this.#call('stopAgent', id);
  }

  /** Fault injection: the agent crashes (heartbeats stop, its running work is lost); detection, restart and reassignment follow over the next cycles. */
  killAgent(id) {
    this.#call('killAgent', id);
  }

  /** Every agent: { id, name, kind, status, capabilities, running, completed, failed, restarts, breaker, memoryBytes, lastHeartbeatNs, replacedBy }. */
  agents() {
    return this.#call('agents').agents;
  }

  /** One agent's info, or null. */
  agent(id) {
    return this.#call('agent', id).agent;
  }

  /** A task id to submit later (submit({ id, ... })); other tasks may depend on it before then. */
  reserveTaskId() {
    return this.#call('reserveTaskId').id;
  }

  /**
   * Submits a task; its id. spec: { name, payload (ArrayBuffer view or ArrayBuffer), priority:
   * 'critical'|'high'|'normal'|'low', capability, dependsOn: [taskIds], timeoutMs, maxRetries, id }.
   */
  submit(spec) {
    return this.#call('submit', task(spec)).id;
  }

  /**
   * Submits a layered DAG: layers is an array of arrays of task specs. A task of layer k > 0
   * depends on the tasks of layer k-1 its `after` names (indices into that layer), or on all
   * of them without `after`; dependsOn adds others. Returns the ids, layer by layer. Stops at
   * the first refusal (the tasks already submitted stay).
   */
  submitDag(layers) {
    if (!Array.isArray(layers) || !layers.every(Array.isArray)) {
      this.#refuse('submitDag: layers must be an array of arrays of task specs');
    }
    const ids = [];
    for (let k = 0; k < layers.length; k++) {
      const prev = k > 0 ? ids[k - 1] : [];
      ids.push(layers[k].map((spec, i) => {
        if (spec === null || typeof spec !== 'object') return this.submit(spec);
        const { after, ...rest } = spec;
        let parents = prev;
        if (after !== undefined) {
          if (!Array.isArray(after) || !after.every((j) => Number.isInteger(j) && j >= 0 && j < prev.length)) {
            this.#refuse(`submitDag: layers[${k}][${i}].after must be indices into layer ${k - 1} (0..${prev.length - 1})`, true);
          }
          parents = after.map((j) => prev[j]);
        }
        return this.submit({ ...rest, dependsOn: [...parents, ...(rest.dependsOn ?? [])] });
      }));
    }
    return ids;
  }

  /** One scheduling cycle: timers, heartbeats, elections, dispatch (tasks run inline); its stats. */
  processCycle() {
    return this.#cycle('processCycle').stats;
  }

  /**
   * Cycles until nothing is pending, ready or running (resolves true) or `ms` has passed
   * (false). Runs at most 4 ms of cycles per event-loop turn.
   */
  async runUntilIdle(ms = 5000) {
    if (typeof ms !== 'number') this.#refuse('runUntilIdle: ms must be a number');
    if (!(ms >= 0)) this.#refuse(`runUntilIdle: ms must be a number >= 0; got ${ms}`, true);
    const end = performance.now() + ms;
    for (;;) {
      const slice = Math.max(0.001, Math.min(SLICE_MS, end - performance.now()));
      if (this.#cycle('runFor', slice).idle) return true;
      if (performance.now() >= end) return false;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (!this.#native) return false;  // closed meanwhile
    }
  }

  /**
   * A task's result, or null while it has none: { id, name, status, output (Uint8Array),
   * error ('Panicked: ...' or null), errorKind, reason, agent, attempts, submittedNs, readyNs,
   * startedNs, finishedNs }.
   */
  result(id) {
    return this.#call('result', id).result;
  }

  /** 'Pending' | 'Ready' | 'Running' | 'Completed' | 'Failed' | 'Cancelled' | 'TimedOut'. */
  taskStatus(id) {
    return this.#call('taskStatus', id).status;
  }

  /** Cancels a task and, transitively, its dependents; how many it cancelled. */
  cancel(id) {
    return this.#call('cancel', id).count;
  }

  /** A proposal by agentId of a ProposalType ('TaskAssignment', ...) carrying bytes; its id. */
  propose(agentId, type, bytes = new Uint8Array(0)) {
    return this.#call('propose', agentId, type, asBytes(bytes)).id;
  }

  /** agentId's vote ('Approve' | 'Reject' | 'Abstain'); the proposal's status after it. */
  vote(proposalId, agentId, decision, reason = '') {
    return this.#call('vote', proposalId, agentId, decision, reason).status;
  }

  proposalStatus(proposalId) {
    return this.#call('proposalStatus', proposalId).status;
  }

  /** The current leader: { agent (null while there is none), term }. */
  leader() {
    return this.#call('leader').leader;
  }

  /** SwarmMetrics: agents, tasks by outcome, throughput (tasks/s since the previous call), memory utilization, leader, ... */
  metrics() {
    return this.#call('metrics').metrics;
  }

  /** The scheduler's statistics: counts, queue depths, dispatches by priority, latency percentiles. */
  schedulerStats() {
    return this.#call('schedulerStats').stats;
  }

  /** The coordinator's statistics: proposals, votes, elections, terms, ... */
  coordinationStats() {
    return this.#call('coordinationStats').stats;
  }

  /** export_status(), parsed: config, agents, tasks, leader, every component's stats. */
  status() {
    this.#usable('status');
    return JSON.parse(this.#native.statusJson());
  }

  /** Every component's metrics as Prometheus text. */
  metricsPrometheus() {
    this.#usable('metricsPrometheus');
    return this.#native.metricsPrometheus();
  }

  /** Shuts the swarm down and frees it. Idempotent; afterwards every call throws Error. */
  close() {
    if (!this.#native) return;
    if (this.#inCycle) throw new Error('swarm.close: called from inside an agent\'s function while the swarm runs a cycle');
    const native = this.#native;
    this.#native = null;
    native.close();
    native.delete();
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(OmegaSwarm.prototype, Symbol.dispose, {
    value() { this.close(); },
    writable: true,
    configurable: true,
  });
}

// ---- payload encodings (little-endian; the C++ encoders' formats, swarm/neural.hpp and
// swarm/quantum.hpp) -------------------------------------------------------------------

const GATES = ['H', 'X', 'Y', 'Z', 'RX', 'RY', 'RZ', 'CNOT', 'Measure'];

function magic(view, at, text) {
  for (let i = 0; i < 4; i++) view.setUint8(at + i, text.charCodeAt(i));
}

function expectMagic(view, text, what) {
  if (view.byteLength < 4 || String.fromCharCode(...new Uint8Array(view.buffer, view.byteOffset, 4)) !== text) {
    throw new RangeError(`${what}: not a ${text} payload`);
  }
}

function viewOf(bytes, what) {
  const b = asBytes(bytes);
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what}: bytes must be a Uint8Array, ArrayBuffer view or ArrayBuffer`);
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A neural task's payload: f32 values (any iterable of numbers or a Float32Array). */
export function encodeFloats(values) {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** A neural task's output as a Float32Array. */
export function decodeFloats(bytes) {
  const v = viewOf(bytes, 'decodeFloats');
  if (v.byteLength % 4 !== 0) throw new RangeError(`decodeFloats: ${v.byteLength} bytes is not a whole number of f32`);
  const out = new Float32Array(v.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  return out;
}

/**
 * A quantum circuit ('OQC1'): { qubits (1..20), shots (default 0), gates: [{ kind: 'H'|'X'|
 * 'Y'|'Z'|'RX'|'RY'|'RZ'|'CNOT'|'Measure', a, b (CNOT's target), theta }] }.
 */
export function encodeCircuit({ qubits, shots = 0, gates = [] }) {
  const v = new DataView(new ArrayBuffer(4 + 1 + 4 + 4 + 11 * gates.length));
  magic(v, 0, 'OQC1');
  v.setUint8(4, qubits);
  v.setUint32(5, shots, true);
  v.setUint32(9, gates.length, true);
  gates.forEach((g, i) => {
    const at = 13 + 11 * i;
    const kind = GATES.indexOf(g.kind);
    if (kind < 0) throw new RangeError(`encodeCircuit: gates[${i}].kind must be one of ${GATES.join(', ')}`);
    v.setUint8(at, kind);
    v.setUint8(at + 1, g.a ?? 0);
    v.setUint8(at + 2, g.b ?? 0);
    v.setFloat64(at + 3, g.theta ?? 0, true);
  });
  return new Uint8Array(v.buffer);
}

/** A circuit task's output ('OQR1'): { qubits, probabilities: Float64Array, counts: Map(basis -> count) }. */
export function decodeCircuitResult(bytes) {
  const v = viewOf(bytes, 'decodeCircuitResult');
  expectMagic(v, 'OQR1', 'decodeCircuitResult');
  const qubits = v.getUint8(4);
  const n = 2 ** qubits;
  const probabilities = new Float64Array(n);
  let at = 5;
  for (let i = 0; i < n; i++, at += 8) probabilities[i] = v.getFloat64(at, true);
  const k = v.getUint32(at, true);
  at += 4;
  const counts = new Map();
  for (let i = 0; i < k; i++, at += 12) counts.set(v.getUint32(at, true), Number(v.getBigUint64(at + 4, true)));
  return { qubits, probabilities, counts };
}

/** A MaxCut problem ('OMC1') for an 'optimization' task: { vertices, edges: [[u, v, weight], ...] }. */
export function encodeMaxCut({ vertices, edges }) {
  const v = new DataView(new ArrayBuffer(12 + 16 * edges.length));
  magic(v, 0, 'OMC1');
  v.setUint32(4, vertices, true);
  v.setUint32(8, edges.length, true);
  edges.forEach(([a, b, w = 1], i) => {
    v.setUint32(12 + 16 * i, a, true);
    v.setUint32(16 + 16 * i, b, true);
    v.setFloat64(20 + 16 * i, w, true);
  });
  return new Uint8Array(v.buffer);
}

/** An 'optimization' task's output ('OCS1'): { vertices, cutValue, iterations, side: Uint8Array }. */
export function decodeCut(bytes) {
  const v = viewOf(bytes, 'decodeCut');
  expectMagic(v, 'OCS1', 'decodeCut');
  const vertices = v.getUint32(4, true);
  const cutValue = v.getFloat64(8, true);
  const iterations = Number(v.getBigUint64(16, true));
  const side = new Uint8Array(v.buffer.slice(v.byteOffset + 24, v.byteOffset + 24 + vertices));
  return { vertices, cutValue, iterations, side };
}
