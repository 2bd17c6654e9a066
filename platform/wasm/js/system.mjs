// OmegaSystem: the CPU circulation from JavaScript.
//
//   const system = omega.createSystem({ nodes: 8, superNodes: 4 });
//   const primes = await system.submit('primes', 100_000, { priority: 'high', cost: 50 });
//   await system.shutdown();
//
// Every call returns at once; the main thread never blocks. Work runs as built-in C++
// workloads on the system's nodes (worker threads in the threaded build; the event loop in
// the single-threaded one). While results are pending a timer polls for them, resolves the
// Promises on this thread, and (under Node) keeps the process alive until they arrive.

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

export class OmegaSystem {
  #native;
  #waiters = new Map();
  #timer = null;
  #closed = false;

  constructor(module, config = {}) {
    const native = new module.NativeSystem();
    const r = native.init(config);
    if (!r.ok) {
      native.delete();
      throw new TypeError(`createSystem: ${r.error}`);
    }
    this.#native = native;
  }

  /** Runs a built-in workload ('spin' ns | 'hash' bytes | 'primes' below n); resolves to its number. */
  submit(workload, arg, { priority = 'normal', cost = 10 } = {}) {
    if (this.#closed) return Promise.reject(new OmegaNodeError('NodeShuttingDown'));
    const r = this.#native.submit(workload, arg, priority, cost);
    if (!r.ok) {
      return Promise.reject(r.backpressure ? new OmegaNodeError(r.error) : new TypeError(`submit: ${r.error}`));
    }
    return new Promise((resolve, reject) => {
      this.#waiters.set(r.id, { resolve, reject });
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
   * Refuses new work, lets pending work finish, then stops the nodes. The workers drain and
   * exit while this thread keeps serving its event loop; the final join finds them gone.
   */
  async shutdown() {
    if (!this.#native) return;
    this.#closed = true;
    while (this.#waiters.size > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    this.#native.beginShutdown();
    while (!this.#native.shutdownFinished()) {
      this.#native.poll(256);  // single-threaded build: the queued work runs here
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.#native.shutdown();
    this.#native.delete();
    this.#native = null;
  }

  #schedule() {
    if (this.#timer === null) this.#timer = setTimeout(() => this.#poll(), 0);
  }

  #poll() {
    this.#timer = null;
    if (!this.#native) return;
    for (const [id, ok, value] of this.#native.poll(256)) {
      const waiter = this.#waiters.get(id);
      this.#waiters.delete(id);
      if (ok) waiter.resolve(value);
      else waiter.reject(new OmegaTaskError(value));
    }
    if (this.#waiters.size > 0) this.#schedule();
  }
}
