// Ultra Omega for JavaScript: loads the threaded build where the page may use threads and
// the single-threaded build otherwise.
//
//   import { loadOmega } from '@ultra-omega/omega';
//   const omega = await loadOmega();          // or loadOmega({ variant: 'single-threaded' })
//   omega.variant;                            // 'threaded' | 'single-threaded'
//   const h = new omega.Histogram(); h.record(1500); h.percentiles(); h.delete();
//   const system = omega.createSystem({ nodes: 8, superNodes: 4 });
//   await system.submit('primes', 100000);   // built-in C++ workloads on the nodes
//   await system.spawn('light', 100);         // built-in cooperative tasks under Pulse; system.pulseStats()
//   const drone = await system.ovp.init({ url: 'ws://127.0.0.1:8080/ovp', droneId: 7 });  // OVP via the gateway
//   await drone.emit(null, new Uint8Array([1, 2])); const msg = await drone.receive(500); await drone.close();
//   await system.shutdown();
//   const scheduler = omega.createScheduler({ tickRateNs: 1000 });
//   scheduler.schedule('noop', 0, { periodNs: 100_000 }); scheduler.start();  // ticks from the event loop
//   const pipeline = omega.runPipeline({ rate: 1, beats: 50 });   // the seed's actor pipeline
//   pipeline.telemetry(); pipeline.toDot(); (await pipeline.done).exactlyOnce; await pipeline.close();
//   const swarm = omega.createSwarm({ topology: 'Mesh' }); swarm.bootstrap();   // the swarm orchestrator
//   swarm.submit({ name: 'infer', payload: new Float32Array(128), capability: 'neural_inference' });
//   await swarm.runUntilIdle(5000); swarm.leader(); swarm.close();
//
// Threads need SharedArrayBuffer: in a browser the page must be cross-origin isolated
// (served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
// require-corp); Node always has it.

import { OmegaSystem } from './system.mjs';
import { OmegaScheduler } from './scheduler.mjs';
import { OmegaPipeline } from './actor.mjs';
import { OmegaSwarm } from './swarm.mjs';

export { OmegaSystem, OmegaTaskError, OmegaNodeError, OvpEndpoint } from './system.mjs';
export { OmegaScheduler } from './scheduler.mjs';
export { OmegaPipeline } from './actor.mjs';
export {
  OmegaSwarm, OmegaSwarmError, encodeFloats, decodeFloats, encodeCircuit, decodeCircuitResult, encodeMaxCut, decodeCut,
} from './swarm.mjs';

const VARIANTS = ['threaded', 'single-threaded'];

/** Whether this JS environment can run the threaded build. */
export function threadsAvailable() {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  if (typeof globalThis.crossOriginIsolated === 'boolean') return globalThis.crossOriginIsolated;
  return typeof process === 'object' && typeof process.versions?.node === 'string';
}

/**
 * Loads the module. options.variant forces one build ('threaded' | 'single-threaded');
 * options.moduleArgs is passed to Emscripten's factory (print, printErr, locateFile, ...).
 */
export async function loadOmega(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('loadOmega(options): options must be an object');
  }
  const { variant, moduleArgs = {} } = options;
  if (variant !== undefined && !VARIANTS.includes(variant)) {
    throw new TypeError(`loadOmega: variant must be one of ${VARIANTS.join(', ')}; got ${String(variant)}`);
  }
  if (moduleArgs === null || typeof moduleArgs !== 'object') {
    throw new TypeError('loadOmega: moduleArgs must be an object');
  }
  const threads = threadsAvailable();
  if (variant === 'threaded' && !threads) {
    throw new Error('loadOmega: the threaded build needs SharedArrayBuffer; serve the page cross-origin isolated ' +
                    '(COOP: same-origin, COEP: require-corp) or load the single-threaded variant');
  }
  const chosen = variant ?? (threads ? 'threaded' : 'single-threaded');
  const factory = chosen === 'threaded' ? (await import('./mt/omega.mjs')).default
                                        : (await import('./st/omega.mjs')).default;
  const module = await factory({ ...moduleArgs });
  module.variant = chosen;
  /** The CPU circulation: see system.mjs. Throws TypeError for a bad configuration. */
  module.createSystem = (config = {}) => new OmegaSystem(module, config);
  /** The nanosecond scheduler: see scheduler.mjs. Throws TypeError for a bad configuration. */
  module.createScheduler = (config = {}) => new OmegaScheduler(module, config);
  /**
   * The seed's actor pipeline, started: see actor.mjs. Throws TypeError/RangeError for a bad
   * configuration (counted), Error when the threaded build's pool has no room for another.
   */
  module.runPipeline = (config = {}) => new OmegaPipeline(module, config);
  /**
   * The swarm orchestrator, built and initialised: see swarm.mjs. Throws TypeError/RangeError
   * for a bad configuration (counted).
   */
  module.createSwarm = (config = {}) => new OmegaSwarm(module, config);
  return module;
}

export default loadOmega;
