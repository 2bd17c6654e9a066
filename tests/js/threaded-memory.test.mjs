// The threaded build's memory never grows. V8 tells the other threads of a grown shared
// memory lazily; a worker that has not noticed yet traps ("memory access out of bounds") on
// an atomic access to the new pages. The first system of a fresh module used to grow the
// memory while its first node's workers already ran and stole from the next nodes, so the
// workers crashed in about 1 run in 8 (cmake/OmegaSettings.cmake fixes the memory instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const skip = !existsSync(path.join(packageDir, 'mt', 'omega.mjs')) && `no package at ${packageDir}: build wasm-mt`;
const index = pathToFileURL(path.join(packageDir, 'index.mjs')).href;

// What node-import.test.mjs's user script does with the threaded build: the first system of
// a fresh module, tasks on every node, refused configurations, shutdown. Prints the memory
// size before and after.
const FIRST_SYSTEM = `
const { loadOmega } = await import(${JSON.stringify(index)});
const omega = await loadOmega({ variant: 'threaded' });
const before = omega.wasmMemory.buffer.byteLength;
const system = omega.createSystem({ nodes: 4, superNodes: 2, timingSampleEvery: 1 });
await Promise.all([
  system.submit('primes', 100, { priority: 'high', cost: 50 }),
  system.submit('hash', 0),
  system.submit('spin', 1000, { priority: 'low', cost: 1 }),
  ...Array.from({ length: 40 }, (_, i) => system.submit('primes', 10 + i)),
]);
for (const cfg of [{ nodes: 2, superNodes: 5 }, { timingSampleEvery: 0 }, { nodes: 64, superNodes: 32 }]) {
  try { await omega.createSystem(cfg).shutdown(); } catch {}
}
await system.shutdown();
console.log(JSON.stringify({ before, after: omega.wasmMemory.buffer.byteLength }));
`;

function runFirstSystem() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', FIRST_SYSTEM], { stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

test('building and running the first system never grows the threaded memory', { skip }, async () => {
  const r = await runFirstSystem();
  assert.equal(r.code, 0, r.err);
  const { before, after } = JSON.parse(r.out.trim().split('\n').pop());
  assert.equal(after, before, 'the memory grew while workers ran');
});

test('fresh modules run their first system without a worker crash', { skip }, async () => {
  // Two at a time, so that building one competes with the other's workers for the CPUs.
  const runs = 12;
  const failures = [];
  for (let i = 0; i < runs; i += 2) {
    for (const r of await Promise.all([runFirstSystem(), runFirstSystem()])) {
      if (r.code !== 0) failures.push(`exit ${r.code ?? r.signal}: ${r.err.split('\n').slice(0, 3).join(' | ')}`);
    }
  }
  assert.deepEqual(failures, []);
});
