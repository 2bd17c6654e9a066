// OmegaScheduler: the nanosecond scheduler from JavaScript.
//
//   const scheduler = omega.createScheduler({ tickRateNs: 1000, maxTasksPerTick: 1000 });
//   const id = scheduler.schedule('spin', 2000, { delayNs: 50_000, priority: 'critical' });
//   scheduler.schedule('noop', 0, { periodNs: 100_000 });   // every 100 us, on its grid
//   scheduler.cancel(id);
//   scheduler.start();            // ticks from the event loop
//   scheduler.metrics();          // tick time, lateness percentiles, tasks/s, overlap, loop state
//   scheduler.close();
//
// The wheel is the same C++ as natively; tasks are built-in C++ workloads run on the ticking
// (this) thread. start() drives tick() with a MessageChannel loop: each turn runs one tick()
// and posts the next turn, so ticks come back-to-back without blocking the thread (rendering
// and other tasks run between turns). A nested setTimeout(0) would be clamped to 4 ms by
// Chromium and requestAnimationFrame runs at display rate, both far too coarse. When the next
// deadline is further away than idleThresholdMs the loop sleeps with setTimeout until shortly
// before it instead of spinning. The thread never blocks: run() is not available here.

import { createNative } from './native.mjs';

export class OmegaScheduler {
  #native;
  #port = null;
  #timer = null;
  #running = false;
  #idleThresholdMs;

  constructor(module, config = {}) {
    this.#native = createNative(module, 'NativeScheduler', config, 'createScheduler');
  }

  /**
   * Schedules a built-in workload ('noop' | 'spin' ns of busy work) after delayNs, every
   * periodNs if given (drift-free), with a priority ('critical' | 'high' | 'normal' | 'low').
   * Returns the task's id (a string). Throws TypeError for bad arguments (counted).
   */
  schedule(workload, arg = 0, { delayNs = 0, periodNs = 0, priority = 'normal' } = {}) {
    const r = this.#live().schedule(workload, arg, delayNs, periodNs, priority);
    if (!r.ok) throw new TypeError(`schedule: ${r.error}`);
    this.#wake();
    return r.id;
  }

  /** true if the task was pending and now never runs; false if it already ran or was cancelled. */
  cancel(id) {
    const r = this.#live().cancel(id);
    if (r < 0) throw new TypeError('cancel: id must be a string returned by schedule()');
    return r === 1;
  }

  /** One step: runs what is due (up to maxTasksPerTick); returns how many ran. */
  tick() {
    return this.#live().tick();
  }

  metrics() {
    return this.#live().metrics();
  }

  temporalOverlap() {
    return this.#live().temporalOverlap();
  }

  strangeLoopState() {
    return this.#live().strangeLoopState();
  }

  /** The blocking loop is native-only: here it reports why ({ ok: false, error: 'WouldBlock' }). */
  run() {
    return this.#live().run();
  }

  get running() {
    return this.#running;
  }

  /** Ticks from the event loop until stop(). */
  start({ idleThresholdMs = 4 } = {}) {
    this.#live();
    if (typeof idleThresholdMs !== 'number' || !(idleThresholdMs >= 0)) {
      throw new TypeError('start: idleThresholdMs must be a non-negative number');
    }
    if (this.#running) return;
    this.#idleThresholdMs = idleThresholdMs;
    this.#running = true;
    const channel = new MessageChannel();
    this.#port = channel.port2;
    channel.port1.onmessage = () => this.#turn();
    this.#channel = channel;
    this.#port.postMessage(0);
  }

  stop() {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#channel) {
      this.#channel.port1.onmessage = null;
      this.#channel.port1.close();
      this.#channel.port2.close();
    }
    this.#channel = null;
    this.#port = null;
  }

  /** Stops ticking and frees the native scheduler; pending tasks are dropped with it. */
  close() {
    this.stop();
    if (this.#native) this.#native.delete();
    this.#native = null;
  }

  #channel = null;

  #turn() {
    if (!this.#running || !this.#native) return;
    this.#native.tick();
    const dueInMs = this.#native.nextDueInNs() / 1e6;
    if (dueInMs > this.#idleThresholdMs) {
      // Nothing near: sleep (setTimeout's clamping and jitter are harmless this far ahead),
      // and wake a little early to tick precisely from the MessageChannel loop again.
      const sleepMs = Number.isFinite(dueInMs) ? dueInMs - this.#idleThresholdMs / 2 : 50;
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (this.#running) this.#port.postMessage(0);
      }, sleepMs);
    } else {
      this.#port.postMessage(0);
    }
  }

  // A new task may be due before the loop's sleep ends: tick again now.
  #wake() {
    if (this.#running && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#port.postMessage(0);
    }
  }

  #live() {
    if (!this.#native) throw new TypeError('the scheduler is closed');
    return this.#native;
  }
}
