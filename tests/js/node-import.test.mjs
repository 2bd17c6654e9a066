// A user's Node project, outside the source tree, installs the built JS package and imports
// it by name with a plain `node` (no flags): both variants load and work, and bad arguments
// get clear errors and counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');

const USER_SCRIPT = `
import { loadOmega, threadsAvailable } from '@ultra-omega/omega';

const report = { threadsAvailable: threadsAvailable(), variants: {} };
for (const variant of ['threaded', 'single-threaded']) {
  const omega = await loadOmega({ variant });
  const t0 = omega.nowNs();
  const h = new omega.Histogram();
  for (let i = 1; i <= 1000; i++) h.record(i * 1000);
  const bad = [h.record(NaN), h.record(-1), h.record(Infinity), h.record(2 ** 60), h.record('123'), h.record(null)];
  const sampler = new omega.ParkSampler();
  const parking = sampler.start(1e6);
  if (parking) await new Promise((r) => setTimeout(r, 100));
  const park = sampler.percentiles();
  sampler.stop();
  const snap = new omega.MetricsSnapshot();
  const added = snap.addHistogram('user_latency_ns', 'from a user script', { app: 'demo' }, h);
  const refused = snap.addCounter('bad name', '', {}, 1);
  const refusedLabels = snap.addCounter('ok_total', '', { n: 5 }, 1);
  // Fuzz: random JS values of every type as arguments. Nothing may throw; every refusal is
  // counted in omega_js_invalid_arguments_total; accepted samples are all there.
  const invalidCount = () => JSON.parse(omega.runtimeMetricsJson()).metrics
    .find((m) => m.name === 'omega_js_invalid_arguments_total').series[0].value;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const junk = [NaN, -1, Infinity, -Infinity, 2 ** 60, '42', '', null, undefined, true, {}, [], [1],
    () => 1, 10n, Symbol('s'), { n: 5 }, { ok: 'yes' }, 'bad name', 'ok_total'];
  const pick = () => (rand() < 0.5 ? Math.floor(rand() * 1e9) : junk[Math.floor(rand() * junk.length)]);
  const fuzz = { accepted: 0, refused: 0, recorded: 0, threw: [], before: invalidCount() };
  const fz = new omega.Histogram();
  const fs = new omega.MetricsSnapshot();
  for (let i = 0; i < 3000; i++) {
    try {
      let ok;
      switch (i % 4) {
        case 0: ok = fz.record(pick()); fuzz.recorded += ok ? 1 : 0; break;
        case 1: ok = !Number.isNaN(fz.valueAtQuantile(rand() < 0.5 ? rand() : pick())); break;
        case 2: ok = fs.addCounter(rand() < 0.5 ? 'fuzz_' + i : pick(), rand() < 0.8 ? 'help' : pick(),
                                   rand() < 0.5 ? { k: String(i) } : pick(), pick()).ok; break;
        default: ok = fs.addGauge(rand() < 0.5 ? 'gauge_' + i : pick(), 'help', undefined, pick()).ok;
      }
      ok ? fuzz.accepted++ : fuzz.refused++;
    } catch (e) {
      fuzz.threw.push(String(e));
    }
  }
  fuzz.counted = invalidCount() - fuzz.before;
  fuzz.samplesKept = fz.count();
  fuzz.prometheusLines = fs.toPrometheus().split('\\n').length;
  fz.delete(); fs.delete();
  // The CPU circulation: built-in workloads, Promises, bad arguments, bad configurations.
  const system = omega.createSystem({ nodes: 4, superNodes: 2, timingSampleEvery: 1 });
  const sysResults = await Promise.all([
    system.submit('primes', 100, { priority: 'high', cost: 50 }),
    system.submit('hash', 0),
    system.submit('spin', 1000, { priority: 'low', cost: 1 }),
    ...Array.from({ length: 40 }, (_, i) => system.submit('primes', 10 + i)),
    system.submit('primes', 50, { priority: 'critical' }),
  ]);
  const sysErrors = [];
  for (const bad of [() => system.submit('nope', 1), () => system.submit('spin', -1),
    () => system.submit('spin', 1, { priority: 'urgent' }), () => system.submit('spin', 1, { cost: 0 }),
    () => system.submit(42, 1), () => system.submit('primes', '100')]) {
    try { await bad(); sysErrors.push('accepted'); } catch (e) { sysErrors.push(e.name); }
  }
  const cfgErrors = [];
  for (const cfg of [{ nodes: 2, superNodes: 5 }, { nodes: -1 }, { nodes: 1.5 }, 'x', { queueCapacity: [0, 1] },
    { threads: [2, 1, 1, 1] }, { timingSampleEvery: 0 }, { nodes: 64, superNodes: 32 }]) {
    try { await omega.createSystem(cfg).shutdown(); cfgErrors.push('accepted'); } catch (e) { cfgErrors.push(e.name + ': ' + e.message); }
  }
  // A node counts a task completed just after its result is published: wait for the count.
  let sysStats = system.stats();
  for (let i = 0; i < 1000 && sysStats.completed < 44; i++) {
    await new Promise((r) => setTimeout(r, 1));
    sysStats = system.stats();
  }
  await system.shutdown();
  let afterShutdown = null;
  try { await system.submit('spin', 1); } catch (e) { afterShutdown = e.name + ': ' + e.message; }
  report.variants[variant] = {
    sysResults, sysErrors, cfgErrors, sysStats, afterShutdown,
    fuzz,
    moduleVariant: omega.variant,
    build: omega.buildInfo(),
    clock: omega.clockInfo(),
    advanced: omega.nowNs() >= t0,
    percentiles: h.percentiles(),
    q99: h.valueAtQuantile(0.99),
    badQuantileIsNaN: Number.isNaN(h.valueAtQuantile(1.5)),
    bad, parking, parkCount: park.count,
    added, refused, refusedLabels,
    prometheus: snap.toPrometheus(),
    json: JSON.parse(snap.toJson()),
    runtime: JSON.parse(omega.runtimeMetricsJson()),
  };
  snap.delete(); sampler.delete(); h.delete();
}
let badVariant = null;
try { await loadOmega({ variant: 'gpu' }); } catch (e) { badVariant = e.constructor.name + ': ' + e.message; }
report.badVariant = badVariant;
console.log(JSON.stringify(report));
`;

test('a Node project outside the tree imports the package and uses both builds',
  { skip: !existsSync(path.join(packageDir, 'mt', 'omega.mjs')) && `no package at ${packageDir}: build wasm-mt and wasm-st` },
  () => {
    const work = mkdtempSync(path.join(tmpdir(), 'omega-node-user-'));
    try {
      writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
      execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', packageDir], { cwd: work, stdio: 'pipe' });
      writeFileSync(path.join(work, 'app.mjs'), USER_SCRIPT);
      const out = execFileSync(process.execPath, ['app.mjs'], { cwd: work, encoding: 'utf8', timeout: 60_000 });
      const report = JSON.parse(out.trim().split('\n').pop());

      assert.equal(report.threadsAvailable, true);
      assert.match(report.badVariant, /^TypeError: loadOmega: variant must be one of/);
      for (const variant of ['threaded', 'single-threaded']) {
        const r = report.variants[variant];
        assert.equal(r.moduleVariant, variant);
        assert.equal(r.build.variant, variant);
        assert.equal(r.build.simd, 'WASM');
        assert.equal(r.clock.source, 'performance.now');
        assert.ok(r.clock.resolutionNs > 0);
        assert.equal(r.advanced, true);
        assert.equal(r.percentiles.count, 1000);
        assert.equal(r.percentiles.min, 1000);
        assert.equal(r.percentiles.max, 1_000_000);
        assert.ok(Math.abs(r.percentiles.p50 - 500_000) <= 500_000 / 256 + 1, `p50 ${r.percentiles.p50}`);
        assert.ok(Math.abs(r.q99 - 990_000) <= 990_000 / 256 + 1, `p99 ${r.q99}`);
        assert.equal(r.badQuantileIsNaN, true);
        assert.deepEqual(r.bad, [false, false, false, false, false, false]);
        assert.deepEqual(r.added, { ok: true });
        assert.deepEqual(r.refused, { ok: false, error: 'InvalidMetricName' });
        assert.equal(r.refusedLabels.ok, false);
        assert.match(r.refusedLabels.error, /label values must be strings/);
        assert.match(r.prometheus, /^user_latency_ns_count\{app="demo"\} 1000$/m);
        assert.equal(r.json.metrics[0].series[0].p50, r.percentiles.p50);
        // The circulation from JS.
        assert.equal(r.sysResults[0], 25, 'primes below 100');
        assert.equal(r.sysResults[1], Number(1469598103934665603n & ((1n << 52n) - 1n)), 'FNV-1a of nothing');
        assert.ok(r.sysResults[2] >= 1000, 'spin ran for its time');
        assert.equal(r.sysResults[3], 4, 'primes below 10');
        assert.equal(r.sysResults[3 + 40 - 1], 15, 'primes below 49');
        assert.equal(r.sysResults[3 + 40], 15, 'primes below 50, on the Critical lane');
        assert.deepEqual(r.sysErrors, Array(6).fill('TypeError'));
        for (const e of r.cfgErrors.slice(0, 7)) assert.match(e, /^TypeError: createSystem: /);
        assert.match(r.cfgErrors[6], /timingSampleEvery must be an integer/);
        if (variant === 'threaded') assert.match(r.cfgErrors[7], /needs 384 worker threads; the threaded build has 31/);
        else assert.equal(r.cfgErrors[7], 'accepted');  // no threads to run out of
        assert.equal(r.sysStats.nodes.length, 4);
        assert.equal(r.sysStats.nodes[0].super, true);
        assert.equal(r.sysStats.nodes[3].super, false);
        assert.equal(r.sysStats.completed, 44);
        assert.equal(r.sysStats.maxedOut, 0);
        // timingSampleEvery: 1 times every task (the default samples 1 in 64 per thread in WASM).
        assert.ok(r.sysStats.queueWait.count === 44 && r.sysStats.runTime.p50 > 0);
        assert.equal(r.afterShutdown, 'NodeError: NodeShuttingDown');
        assert.deepEqual(r.fuzz.threw, []);
        assert.ok(r.fuzz.accepted > 500 && r.fuzz.refused > 500, JSON.stringify(r.fuzz));
        assert.equal(r.fuzz.counted, r.fuzz.refused, 'every refused call is counted once');
        assert.equal(r.fuzz.samplesKept, r.fuzz.recorded);
        assert.ok(r.fuzz.recorded > 200 && r.fuzz.prometheusLines > 100, JSON.stringify(r.fuzz));
        const invalid = r.runtime.metrics.find((m) => m.name === 'omega_js_invalid_arguments_total');
        // 6 bad samples + 1 bad quantile + 2 refused metrics + the fuzz's refusals + 6 bad
        // submissions + 7 or 8 bad configurations, per module instance.
        assert.equal(invalid.series[0].value, 9 + r.fuzz.refused + 6 + (variant === 'threaded' ? 8 : 7));
        assert.equal(r.parking, variant === 'threaded');
        if (variant === 'threaded') assert.ok(r.parkCount > 10, `park samples ${r.parkCount}`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
