// --extern-pre-js: runs at the top of omega.mjs, outside Emscripten's factory.
// Emscripten 3.1.6's ES module glue still reaches for CommonJS globals (require, __dirname)
// when it runs under Node, where ES modules do not have them. Define them from
// import.meta.url; browsers skip this branch (and never resolve the node: imports).
const __omegaIsNode = typeof process == 'object' && typeof process.versions == 'object' &&
  typeof process.versions.node == 'string';
const require = __omegaIsNode ? (await import('node:module')).createRequire(import.meta.url) : undefined;
const __dirname = __omegaIsNode ? require('node:path').dirname(require('node:url').fileURLToPath(import.meta.url)) : undefined;
// The OVP transport opens WebSockets (Emscripten's library_websocket.js reaches for
// `WebSocket` by name). Browsers and Node >= 22 have a global one; Node 20 has it only with
// --experimental-websocket. Without it the `ws` package serves, if it can be imported from
// here; it is bound in this module's scope only, never made a global. Without either,
// OvpInit fails with a message naming both ways.
// `ws` is an EventEmitter: an 'error' event nobody listens to (after the transport has
// unhooked its handlers from a socket it is closing) would be thrown as an uncaught
// exception, where a browser WebSocket just drops it. Each socket gets a listener that
// ignores it; the transport learns of failures from the close event that follows.
const WebSocket = globalThis.WebSocket ?? (() => {
  // Sockets live on the main thread only; pool workers (which run this file too) skip it.
  if (!__omegaIsNode || !require('node:worker_threads').isMainThread) return undefined;
  let Ws;
  try {
    Ws = require('ws');
  } catch {
    return undefined;
  }
  return class extends Ws {
    constructor(...args) {
      super(...args);
      this.on('error', () => {});
    }
  };
})();
// Under Node, 3.1.6's threaded glue assigns global.Worker = worker_threads.Worker (a global
// Node 20 does not have, and which libraries read to tell a browser from Node). Importing the
// package must leave the host's globals as they were: both names are bound in this module's
// scope, `global` as a view of globalThis whose writes stay here.
const global = __omegaIsNode ? Object.create(globalThis) : globalThis;
const Worker = __omegaIsNode ? require('node:worker_threads').Worker : globalThis.Worker;
