// OmegaPipeline: the seed's actor pipeline (omega::actor::Pipeline) from JavaScript.
//
//   const p = omega.runPipeline({ rate: 1, beats: 50 });   // ms between heartbeat bursts, bursts
//   p.telemetry();     // the latest frame: actors (polls, CPU %, restarts, state) and channels (fill, msgs/s)
//   p.toDot();         // Graphviz: actors clustered by team, edges coloured by fill
//   const report = await p.done;   // once every actor stopped: report.exactlyOnce
//   await p.close();   // frees it (asks for shutdown first and waits for the actors to stop)
//
//   Generator (256/batch) -> Worker (256/batch) -> Logger (1024/batch)
//                              ^ Heartbeat (32/burst)
//
// The graph is the same C++ as natively. In the threaded build its three teams (Generator
// and Heartbeat sharing one; Worker and Logger one each) run on pool threads and this thread
// only watches for the end. In the single-threaded build nothing has a thread: this thread
// polls the actors from its event loop, one slice of at most 4 ms per turn, and turns come
// back-to-back (MessageChannel: a nested setTimeout(0) is clamped to 4 ms) while actors are
// runnable or a timer is near, and after a setTimeout until shortly before the next timer
// otherwise. Either way the thread never blocks and rendering runs between turns. While the
// pipeline runs, the turn timer keeps a Node process alive until `done` has resolved.

import { createNative } from './native.mjs';

// Turns closer than this to the next timer come from the MessageChannel loop.
const NEAR_MS = 4;
// The longest sleep between turns: how late the end of a threaded pipeline (or a
// shutdown asked for from another thread) may be noticed.
const IDLE_MS = 10;
// How long close() waits for the actors to stop before it frees the pipeline anyway (the
// native destructor then waits out the graph's own grace).
const CLOSE_WAIT_MS = 10_000;

export class OmegaPipeline {
  #native;
  #config;
  #threadedTeams;
  #done;
  #resolveDone;
  #settled = false;
  #channel = null;
  #timer = null;
  #turnPosted = false;
  #stoppedAt = null;  // performance.now() when the end was first seen
  #last = null;  // at close(): the final telemetry, report and DOT
  #closing = null;  // close()'s release of the native pipeline

  constructor(module, config = {}) {
    this.#native = createNative(module, 'NativePipeline', config, 'runPipeline');
    this.#config = Object.freeze(this.#native.config());
    this.#threadedTeams = this.#native.info().threadedTeams;  // fixed once started
    this.#done = new Promise((resolve) => { this.#resolveDone = resolve; });
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      this.#turnPosted = false;
      this.#turn();
    };
    this.#channel = channel;
    this.#post();
  }

  /**
   * Resolves with the final report (see report()) once every actor has stopped: after the
   * Heartbeat's last burst, or requestShutdown(), or close(). Never rejects.
   */
  get done() {
    return this.#done;
  }

  /** The configuration in force, defaults filled in. */
  get config() {
    return this.#config;
  }

  /** Teams whose actors run on threads of their own (3 in the threaded build; 0 without threads: the event loop polls). */
  get threadedTeams() {
    return this.#threadedTeams;
  }

  /** Whether every actor has stopped. */
  get stopped() {
    return this.#native ? this.#native.stopped() : true;
  }

  get closed() {
    return this.#native === null;
  }

  /**
   * The latest telemetry frame (one every telemetryPeriodMs): per actor polls, CPU %,
   * restarts, state, tier; per channel fill, msgs/s, latency, counters. After close(), the
   * last frame taken before it.
   */
  telemetry() {
    return this.#native ? this.#native.telemetry() : this.#last.telemetry;
  }

  /** Graphviz DOT of the latest frame: actors clustered by team, channels as edges labelled with rate and fill. */
  toDot() {
    return this.#native ? this.#native.toDot() : this.#last.dot;
  }

  /** Prometheus text exposition of the latest frame (omega_actor_*, omega_channel_*). */
  toPrometheus() {
    return this.#native ? this.#native.toPrometheus() : this.#last.prometheus;
  }

  /** The pipeline's counts so far (final once stopped): generated, logged, checksums, exactlyOnce, ... */
  report() {
    return this.#native ? this.#native.report() : this.#last.report;
  }

  /** Asks every actor to stop once its inputs are drained (nothing accepted is lost); `done` then resolves. */
  requestShutdown() {
    if (!this.#native) return;
    this.#native.requestShutdown();
    this.#post();  // without threads, the actors hear of it on the next turn
  }

  /**
   * Asks for shutdown, waits for every actor to stop (at most 10 s), then frees the native
   * pipeline and its threads; resolves once they are freed. telemetry(), report(), toDot()
   * then return what they last showed. Idempotent.
   */
  async close() {
    if (!this.#native) return this.#closing;
    this.requestShutdown();
    let timer;
    const gaveUp = new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_WAIT_MS); });
    await Promise.race([this.#done, gaveUp]);
    clearTimeout(timer);
    if (!this.#native) return this.#closing;  // a concurrent close() got here first
    const native = this.#native;
    this.#last = {
      telemetry: native.telemetry(),
      report: native.report(),
      dot: native.toDot(),
      prometheus: native.toPrometheus(),
    };
    this.#stopLoop();
    this.#native = null;
    this.#settle(this.#last.report);  // close() gave up waiting: finished is false
    // The threads are joined off this thread (see NativePipeline::release); the pool has
    // them back, and another pipeline may start, once it is done.
    this.#closing = (async () => {
      native.release();
      while (!native.released()) await new Promise((resolve) => setTimeout(resolve, 1));
      native.delete();
    })();
    return this.#closing;
  }

  #settle(report) {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolveDone(report);
  }

  #post() {
    if (this.#turnPosted || !this.#channel) return;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#turnPosted = true;
    this.#channel.port2.postMessage(0);
  }

  #turn() {
    const native = this.#native;
    if (!native) return;
    // Teams without a thread (all of them in the single-threaded build; none, normally, in
    // the threaded one) are polled here.
    const ran = native.runPending(4096);
    if (native.stopped()) {
      // Settles once a frame shows the stop (the sampler's next one, or without threads the
      // one run_pending takes when it is due), so that telemetry() after `done` reads
      // "stopped": at most a period later, and never more than two.
      this.#stoppedAt ??= performance.now();
      const waited = performance.now() - this.#stoppedAt;
      if (native.telemetry().stopped || waited > 2 * this.#config.telemetryPeriodMs + IDLE_MS) {
        this.#stopLoop();
        this.#settle(native.report());
        return;
      }
    }
    const dueMs = ran > 0 ? 0 : native.nextDueInMs();
    if (dueMs <= NEAR_MS) {
      this.#post();
    } else {
      const sleepMs = Math.min(IDLE_MS, dueMs - NEAR_MS / 2);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#post();
      }, sleepMs);
    }
  }

  #stopLoop() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#channel) {
      this.#channel.port1.onmessage = null;
      this.#channel.port1.close();
      this.#channel.port2.close();
    }
    this.#channel = null;
    this.#turnPosted = false;
  }
}

// `await using p = omega.runPipeline(...)` closes it at the end of the block, where the
// environment has explicit resource management.
if (typeof Symbol.asyncDispose === 'symbol') {
  Object.defineProperty(OmegaPipeline.prototype, Symbol.asyncDispose, {
    value() { return this.close(); },
    writable: true,
    configurable: true,
  });
}
