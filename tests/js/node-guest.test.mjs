// The package is a guest in a user's Node program: importing and using it changes nothing the
// program can observe about its own process. Each case runs a user program in a child Node
// twice, as plain Node and with the package imported, used and disposed of first (each build),
// and compares what the two runs print and how they end: an unhandled rejection or uncaught
// exception of the user's own reads as without the package (exit code 1, a short message,
// never the module's glue), process.exitCode holds, the program ends by itself, nothing is
// printed, and process listeners and globals are unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const packageUrl = pathToFileURL(path.join(packageDir, 'index.mjs')).href;

// The user's programs. Each is the whole of user.mjs.
const PROGRAMS = {
  'an unhandled rejection of its own': `Promise.reject(new Error('mine'));\n`,
  'an uncaught exception of its own': `setTimeout(() => { throw new Error('boom'); }, 0);\n`,
  'process.exitCode': `process.exitCode = 3;\nconsole.log('exit code set');\n`,
  'ending by itself': `console.log('user done');\n`,
  'its process listeners and globals': `
const events = new Set([...process.eventNames(), 'uncaughtException', 'unhandledRejection', 'exit',
  'beforeExit', 'warning', 'SIGINT', 'SIGTERM', 'message']);
const listeners = Object.fromEntries([...events].map((e) => [String(e), process.listenerCount(e)]));
console.log(JSON.stringify({ listeners, globals: Object.getOwnPropertyNames(globalThis).sort(), exitCode: process.exitCode }));
`,
};

// Imports the package, uses each part, disposes of it, then runs the user's program. One
// system is left open and idle: an idle system must not keep the process alive either.
const guestHost = (variant) => `
const { loadOmega } = await import(${JSON.stringify(packageUrl)});
const omega = await loadOmega({ variant: ${JSON.stringify(variant)} });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const h = new omega.Histogram();
h.record(1500);
h.record('bad');  // refused and counted, never printed
h.percentiles();
h.delete();
const system = omega.createSystem({ nodes: 2, superNodes: 1 });
await Promise.all([system.submit('primes', 1000), system.submit('spin', 1000, { priority: 'high' })]);
await system.submit('nope', 1).catch(() => {});
await system.shutdown();
const idle = omega.createSystem({ nodes: 1, superNodes: 0 });
await idle.submit('hash', 64);
const scheduler = omega.createScheduler();
scheduler.schedule('noop', 0, { delayNs: 100_000 });
scheduler.start();
await sleep(5);
scheduler.close();
const sampler = new omega.ParkSampler();
if (sampler.start(1e6)) await sleep(10);
sampler.stop();
sampler.delete();
await import('./user.mjs');
`;

// Runs `script` in a child Node in `dir`; resolves with its exit code, stdout and stderr. A
// child still running after 30 s is killed (code null): something kept it alive.
function run(dir, script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// Node's report of an uncaught error, less its stack frames (the host's frames differ).
const withoutFrames = (text) => text.split('\n').filter((line) => !/^\s+at /.test(line)).join('\n');

for (const variant of ['threaded', 'single-threaded']) {
  const built = existsSync(path.join(packageDir, variant === 'threaded' ? 'mt' : 'st', 'omega.mjs'));
  test(`${variant}: a user's program behaves the same with the package imported`,
    { skip: !built && `no ${variant} build at ${packageDir}` }, async (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'omega-guest-'));
      try {
        writeFileSync(path.join(dir, 'plain.mjs'), `await import('./user.mjs');\n`);
        writeFileSync(path.join(dir, 'guest.mjs'), guestHost(variant));
        for (const [name, program] of Object.entries(PROGRAMS)) {
          await t.test(name, async () => {
            writeFileSync(path.join(dir, 'user.mjs'), program);
            const plain = await run(dir, 'plain.mjs');
            const guest = await run(dir, 'guest.mjs');
            assert.notEqual(plain.code, null, 'plain Node ended by itself');
            assert.notEqual(guest.code, null, `the program did not end by itself with the package imported: ${guest.stderr}`);
            assert.equal(guest.code, plain.code, `exit code (stderr: ${guest.stderr.slice(0, 2000)})`);
            assert.equal(guest.stdout, plain.stdout);
            assert.ok(guest.stderr.length < 2000, `a short report, not the module's glue: ${guest.stderr.length} bytes`);
            assert.equal(withoutFrames(guest.stderr), withoutFrames(plain.stderr));
          });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
