// OmegaSystem: the CPU circulation and OVP from JavaScript.
//
//   const system = omega.createSystem({ nodes: 8, superNodes: 4 });
//   const primes = await system.submit('primes', 100_000, { priority: 'high', cost: 50 });
//   const lateUs = await system.spawn('light', 100);   // a cooperative task under Pulse
//   system.pulseStats().tiers;                          // { monitor, warn, yield, isolate }
//   await system.shutdown();
//
// Every call returns at once; the main thread never blocks. Work runs as built-in C++
// workloads on the system's nodes (worker threads in the threaded build; the event loop in
// the single-threaded one). While results are pending a timer polls for them, resolves the
// Promises on this thread, and (under Node) keeps the process alive until they arrive.
// Cooperative tasks (spawn) are built-in C++ omega::Coro workloads: Pulse times each of
// their polls and steps in (Warn, Yield, Isolate to the slow lane) when they overrun.

import { createNative } from './native.mjs';

export class OmegaTaskError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TaskError';  // message: "Panicked: ...", "TimedOut", "ExecutionFailed: ..."
  }
}

export class OmegaNodeError extends Error {
  constructor(kind) {
    super(kind);
    this.name = 'NodeError';  // SystemMaxedOut, NodeShuttingDown, NoNodesAvailable
    this.kind = kind;
  }
}

// A refusal from the native layer (its message names the call) as the JS error it stands for.
function argumentError(r) {
  return r.range ? new RangeError(r.error) : new TypeError(r.error);
}

// Settles the waiters of finished operations: the native poll's [id, ok, value-or-error] triples.
function settle(waiters, finished) {
  for (const [id, ok, value] of finished) {
    const waiter = waiters.get(id);
    waiters.delete(id);
    if (ok) waiter.resolve(value);
    else waiter.reject(new OmegaTaskError(value));
  }
}

export class OmegaSystem {
  #native;
  #waiters = new Map();  // submitted and spawned tasks by id: {resolve, reject, spawned}
  #submitted = 0;        // of #waiters, the submitted ones: shutdown lets them finish
  #timer = null;
  #closed = false;
  #ioWaiters = new Map();  // I/O results: polled when the transport signals, never on a timer
  #ioScheduled = false;
  #unwake;

  constructor(module, config = {}) {
    this.#native = createNative(module, 'NativeSystem', config, 'createSystem');
    // The OVP transport calls Module.__omegaIoWake (on this thread) when operations finish.
    const wakers = module.__omegaIoWakers ??= new Set();
    module.__omegaIoWake ??= () => { for (const wake of wakers) wake(); };
    const wake = () => this.#scheduleIo();
    wakers.add(wake);
    this.#unwake = () => wakers.delete(wake);
    /** OVP through the gateway: see OvpEndpoint. */
    this.ovp = Object.freeze({ init: (options) => this.#ovpInit(options) });
  }

  /** Runs a built-in workload ('spin' ns | 'hash' bytes | 'primes' below n); resolves to its number. */
  submit(workload, arg, { priority = 'normal', cost = 10 } = {}) {
    if (this.#closed) return Promise.reject(new OmegaNodeError('NodeShuttingDown'));
    const r = this.#native.submit(workload, arg, priority, cost);
    if (!r.ok) {
      return Promise.reject(r.backpressure ? new OmegaNodeError(r.error) : new TypeError(`submit: ${r.error}`));
    }
    return this.#track(r.id, false);
  }

  /**
   * Spawns a built-in cooperative task (an omega::Coro polled under Pulse) and resolves to
   * its number:
   *   'crunch' n:   sum of i*i for i < n (mod 2^64), low 52 bits; a checkpoint every 1024
   *   'light' us:   sleeps us µs, yields once; the wake-to-poll latency in µs
   *   'sleepy' ms:  sleeps ms; the ms actually slept
   *   'hog' ms:     60 polls spinning ms each between yields; 60
   *   'stall' ms:   spins ms in one poll, never yielding; the ms spun
   * Bad arguments reject with TypeError/RangeError (counted); a full system rejects with
   * NodeError; a task still suspended at shutdown rejects with TaskError
   * "ExecutionFailed: NodeShuttingDown: ...".
   */
  spawn(workload, arg, { priority = 'normal' } = {}) {
    if (this.#closed) return Promise.reject(new OmegaNodeError('NodeShuttingDown'));
    const r = this.#native.spawn(workload, arg, priority);
    if (!r.ok) {
      return Promise.reject(r.backpressure ? new OmegaNodeError(r.error) : argumentError({ ...r, error: `spawn: ${r.error}` }));
    }
    return this.#track(r.id, true);
  }

  /** Pulse's counts, tiers of the live tasks, the slow lane and per-worker poll statistics; null after shutdown. */
  pulseStats() {
    return this.#native ? this.#native.pulseStats() : null;
  }

  /** Pulse's interventions on or off (accounting and statistics go on either way). */
  setPulseEnabled(on) {
    this.#control('setPulseEnabled', on);
  }

  /** The slow lane's algorithm: 'creditBased' | 'lottery' | 'deficitRoundRobin'. */
  setPulseAlgorithm(algorithm) {
    this.#control('setPulseAlgorithm', algorithm);
  }

  #control(call, value) {
    if (!this.#native) throw new OmegaNodeError('NodeShuttingDown');
    const r = this.#native[call](value);
    if (!r.ok) throw argumentError({ ...r, error: `${call}: ${r.error}` });
  }

  #track(id, spawned) {
    if (!spawned) this.#submitted++;
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve, reject, spawned });
      this.#schedule();
    });
  }

  /** Pressure, threads and queue per node; totals; queue-wait and run-time percentiles (ns). */
  stats() {
    return this.#native ? this.#native.stats() : null;  // null after shutdown
  }

  metricsPrometheus() {
    return this.#native ? this.#native.metricsPrometheus() : '';
  }

  get pending() {
    return this.#waiters.size;
  }

  /**
   * Refuses new work, lets pending CPU work finish, then stops the nodes and the I/O
   * circulation: pending OVP operations reject with "shutting down", endpoints close.
   * Spawned tasks are not waited for: those still suspended (asleep, say) are cancelled and
   * reject with "ExecutionFailed: NodeShuttingDown: ...". The workers drain and exit while
   * this thread keeps serving its event loop; the final join finds them gone.
   */
  async shutdown() {
    if (!this.#native) return;
    this.#closed = true;
    while (this.#submitted > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    this.#native.beginShutdown();
    while (!this.#native.shutdownFinished()) {
      this.#settle(this.#native.poll(256));  // single-threaded build: the queued work runs here
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.#native.shutdown();
    this.#settle(this.#native.poll(256));  // the cancelled spawns, and what finished meanwhile
    for (const waiter of this.#waiters.values()) waiter.reject(new OmegaNodeError('NodeShuttingDown'));  // none expected
    this.#waiters.clear();
    this.#pollIo();
    this.#unwake();
    this.#native.delete();
    this.#native = null;
  }

  // ---- OVP ------------------------------------------------------------------------------

  /** Submits one I/O operation (native returns {ok, id} or a refusal); resolves with its output. */
  #submitIo(submit) {
    if (this.#closed || !this.#native) return Promise.reject(new OmegaNodeError('NodeShuttingDown'));
    const r = submit(this.#native);
    if (!r.ok) return Promise.reject(r.backpressure ? new OmegaNodeError(r.error) : argumentError(r));
    return new Promise((resolve, reject) => {
      this.#ioWaiters.set(r.id, { resolve, reject });
      this.#scheduleIo();  // some fail at once (bad token, expired timeout) without a wake
    });
  }

  #scheduleIo() {
    if (this.#ioScheduled || this.#ioWaiters.size === 0) return;
    this.#ioScheduled = true;
    queueMicrotask(() => {
      this.#ioScheduled = false;
      this.#pollIo();
    });
  }

  #pollIo() {
    if (!this.#native) return;
    settle(this.#ioWaiters, this.#native.pollIo());
  }

  async #ovpInit(options) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('ovp.init: options must be an object {url, droneId, reliable?, groups?, timeoutMs?}');
    }
    const out = await this.#submitIo((n) => n.ovpInit(options));
    return new OvpEndpoint(this, out.socket, options.droneId);
  }

  /** @internal OvpEndpoint's way in. */
  _ovp(op, ...args) {
    return this.#submitIo((n) => n[op](...args));
  }

  #schedule() {
    if (this.#timer === null) this.#timer = setTimeout(() => this.#poll(), 0);
  }

  #poll() {
    this.#timer = null;
    if (!this.#native) return;
    this.#settle(this.#native.poll(256));
    if (this.#waiters.size > 0) this.#schedule();
  }

  #settle(finished) {
    for (const [id] of finished) {
      if (!this.#waiters.get(id).spawned) this.#submitted--;
    }
    settle(this.#waiters, finished);
  }
}

/**
 * One drone's OVP endpoint, connected to the gateway over a WebSocket.
 *
 *   const ep = await system.ovp.init({ url: 'ws://127.0.0.1:8080/ovp', droneId: 7, reliable: true });
 *   await ep.emit([9], new Uint8Array([1, 2, 3]), 0);   // null: every drone
 *   const { data, sourceDrone, channel } = await ep.receive(500);   // rejects 'TimedOut' after 500 ms
 *   await ep.close();
 *
 * Failures reject with OmegaTaskError ("ExecutionFailed: ..." naming the reason, e.g. the
 * gateway closing the connection; "TimedOut"); bad arguments with TypeError/RangeError.
 */
export class OvpEndpoint {
  #system;
  #token;
  #closed = false;

  constructor(system, token, droneId) {
    this.#system = system;
    this.#token = token;
    this.droneId = droneId;
  }

  /** Sends data (a Uint8Array of at most 1468 bytes) to the listed drones, or to every drone (null). Resolves with its size. */
  emit(targets, data, channel = 0) {
    if (this.#closed) return Promise.reject(new OmegaTaskError('ExecutionFailed: emit: endpoint closed'));
    return this.#system._ovp('ovpEmit', this.#token, targets, data, channel).then((out) => out.bytes);
  }

  /** The next message {data, sourceDrone, channel}; without timeoutMs, waits until one comes or the endpoint closes. */
  receive(timeoutMs = undefined) {
    if (this.#closed) return Promise.reject(new OmegaTaskError('ExecutionFailed: receive: endpoint closed'));
    return this.#system._ovp('ovpReceive', this.#token, timeoutMs)
      .then(({ data, sourceDrone, channel }) => ({ data, sourceDrone, channel }));
  }

  /** Leaves: pending receives reject with "socket closed". Idempotent; after the system's shutdown (which closed it), a no-op. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#system._ovp('ovpClose', this.#token);
    } catch (e) {
      if (!(e instanceof OmegaNodeError)) throw e;
    }
  }

  get closed() {
    return this.#closed;
  }
}
