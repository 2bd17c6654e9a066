// --extern-pre-js: runs at the top of omega.mjs, outside Emscripten's factory.
// Emscripten 3.1.6's ES module glue still reaches for CommonJS globals (require, __dirname)
// when it runs under Node, where ES modules do not have them. Define them from
// import.meta.url; browsers skip this branch (and never resolve the node: imports).
const __omegaIsNode = typeof process == 'object' && typeof process.versions == 'object' &&
  typeof process.versions.node == 'string';
const require = __omegaIsNode ? (await import('node:module')).createRequire(import.meta.url) : undefined;
const __dirname = __omegaIsNode ? require('node:path').dirname(require('node:url').fileURLToPath(import.meta.url)) : undefined;
