// Pulse from JavaScript, in both builds under Node: the built-in cooperative workloads
// (system.spawn) and their values, priorities, refusals (TypeError/RangeError, counted,
// nothing lost), a hog climbing to the slow lane while light tasks keep completing, the
// on/off switch, the slow lane's algorithm, and shutdown cancelling sleeping tasks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const { loadOmega, OmegaTaskError, OmegaNodeError } = await import(pathToFileURL(path.join(packageDir, 'index.mjs')).href);

const invalidCount = (omega) => JSON.parse(omega.runtimeMetricsJson()).metrics
  .find((m) => m.name === 'omega_js_invalid_arguments_total').series[0].value;

// sum of i*i for i < n, mod 2^64, low 52 bits: what 'crunch' resolves to.
function crunchExpected(n) {
  const N = BigInt(n);
  const sum = (N * (N - 1n) * (2n * N - 1n)) / 6n;
  return Number(BigInt.asUintN(64, sum) & ((1n << 52n) - 1n));
}

// Two nodes of one worker each: small enough for the threaded build's pool, two workers
// for light tasks to run beside a hog. Queues of 256 (the default is the seed's 10 a node):
// a burst of light tasks beside requeued hogs must not meet backpressure.
const CONFIG = { nodes: 2, superNodes: 0, threads: [1, 1, 1, 1], queueCapacity: [256, 256] };

const modules = new Map();
async function load(variant) {
  if (!modules.has(variant)) modules.set(variant, await loadOmega({ variant }));
  return modules.get(variant);
}

for (const variant of ['threaded', 'single-threaded']) {
  const built = existsSync(path.join(packageDir, variant === 'threaded' ? 'mt' : 'st', 'omega.mjs'));
  const skip = !built && 'not built';

  test(`${variant}: each built-in cooperative workload resolves to its value, at every priority`, { skip }, async () => {
    const omega = await load(variant);
    const system = omega.createSystem({ ...CONFIG, pulse: 'balanced' });
    try {
      const [small, big, light, sleepy, hog, stall] = await Promise.all([
        system.spawn('crunch', 10_000, { priority: 'critical' }),
        system.spawn('crunch', 3_000_000, { priority: 'high' }),  // past 2^52: the low 52 bits
        system.spawn('light', 100, { priority: 'normal' }),
        system.spawn('sleepy', 20, { priority: 'low' }),
        system.spawn('hog', 0.5),
        system.spawn('stall', 3),
      ]);
      assert.equal(small, crunchExpected(10_000));
      assert.equal(big, crunchExpected(3_000_000));
      assert.ok(Number.isFinite(light) && light >= 0, `light latency ${light} µs`);
      assert.ok(sleepy >= 20, `slept ${sleepy} ms`);
      assert.equal(hog, 60);
      assert.ok(stall >= 3, `stalled ${stall} ms`);
      assert.equal(await system.spawn('crunch', 0), 0);

      const s = system.pulseStats();
      assert.equal(s.spawned, 7);
      assert.equal(s.completed, 7);
      assert.equal(s.cancelled, 0);
      assert.equal(s.live, 0);
      assert.deepEqual(s.tiers, { monitor: 0, warn: 0, yield: 0, isolate: 0 });
      assert.equal(s.algorithm, 'creditBased');
      assert.equal(s.enabled, true);
      assert.equal(typeof s.slowLaneIsolation, 'string');
      // Node workers (none without threads: the event loop polls), then the slow lane, then
      // the slot of every other thread that polls.
      assert.equal(s.workers.length, variant === 'threaded' ? 4 : 2);
      assert.deepEqual(s.workers.map((w) => w.worker), s.workers.map((_, i) => i));
      const total = (key) => s.workers.reduce((sum, w) => sum + w[key], 0);
      assert.equal(total('tasks'), 7);
      assert.ok(total('polls') >= 7 + 60);
      assert.ok(total('yields') >= 60);
      assert.ok(total('cpuNs') > 0);
      for (const w of s.workers) {
        for (const key of ['polls', 'violations', 'yields', 'cpuNs', 'tasks', 'slowPolls', 'pollP50Ns', 'pollP99Ns']) {
          assert.equal(typeof w[key], 'number', key);
        }
        assert.ok(w.pollP50Ns <= w.pollP99Ns);
      }
      assert.equal(system.pending, 0);
    } finally {
      await system.shutdown();
    }
  });

  test(`${variant}: bad workloads, arguments, priorities, profiles and algorithms are refused, counted, nothing lost`, { skip }, async () => {
    const omega = await load(variant);
    const before = invalidCount(omega);
    for (const pulse of ['turbo', 'Balanced', 3, null]) {
      assert.throws(() => omega.createSystem({ ...CONFIG, pulse }),
        (e) => e instanceof TypeError && /pulse must be 'aggressive', 'balanced' or 'permissive'/.test(e.message));
    }
    const system = omega.createSystem({ ...CONFIG, pulse: 'aggressive' });
    try {
      const refusals = [
        [() => system.spawn('nope', 1), TypeError, /spawn: unknown workload 'nope' \(crunch, light, sleepy, hog, stall\)/],
        [() => system.spawn(7, 1), TypeError, /spawn: workload must be a string/],
        [() => system.spawn('crunch', '5'), TypeError, /spawn: crunch: argument must be a number/],
        [() => system.spawn('crunch', undefined), TypeError, /argument must be a number/],
        [() => system.spawn('crunch', -1), RangeError, /spawn: crunch: argument must be in \[0, 1000000000\]/],
        [() => system.spawn('hog', 101), RangeError, /hog: argument must be in \[0, 100\]/],
        [() => system.spawn('light', NaN), RangeError, /light: argument must be in/],
        [() => system.spawn('crunch', 5, { priority: 'urgent' }), TypeError, /priority must be 'critical', 'high', 'normal' or 'low'/],
      ];
      for (const [call, type, message] of refusals) {
        await assert.rejects(call(), (e) => e instanceof type && message.test(e.message), String(message));
      }
      assert.throws(() => system.setPulseAlgorithm('fifo'),
        (e) => e instanceof TypeError && /setPulseAlgorithm: algorithm must be 'creditBased', 'lottery' or 'deficitRoundRobin'/.test(e.message));
      assert.throws(() => system.setPulseEnabled(1), (e) => e instanceof TypeError && /setPulseEnabled takes true or false/.test(e.message));
      assert.equal(invalidCount(omega) - before, 4 + refusals.length + 2);

      // Nothing was queued or lost: the system still takes work and counts only that.
      assert.equal(system.pending, 0);
      assert.equal(system.pulseStats().spawned, 0);
      assert.equal(await system.spawn('crunch', 2048, { priority: 'low' }), crunchExpected(2048));
      assert.equal(system.pulseStats().spawned, 1);
      for (const algorithm of ['lottery', 'deficitRoundRobin', 'creditBased']) {
        system.setPulseAlgorithm(algorithm);
        assert.equal(system.pulseStats().algorithm, algorithm);
      }
      assert.equal(invalidCount(omega) - before, 4 + refusals.length + 2);
    } finally {
      await system.shutdown();
    }
  });

  test(`${variant}: a hog climbs to the slow lane while light tasks keep completing`, { skip }, async () => {
    const omega = await load(variant);
    const system = omega.createSystem({ ...CONFIG, pulse: 'balanced' });
    try {
      // 60 polls of 3 ms each: three times Balanced's 1 ms budget, a violation every poll.
      const hogs = [system.spawn('hog', 3), system.spawn('hog', 3)];
      let isolatedSeen = false;
      let lights = 0;
      const until = Date.now() + 20_000;
      while (!isolatedSeen) {
        assert.ok(Date.now() < until, `no hog isolated: ${JSON.stringify(system.pulseStats())}`);
        const latencies = await Promise.all(Array.from({ length: 4 }, () => system.spawn('light', 100)));
        for (const l of latencies) assert.ok(l >= 0);
        lights += latencies.length;
        const s = system.pulseStats();
        isolatedSeen = s.tiers.isolate >= 1 && s.isolatedPolls > 0;
      }
      // With a hog in the slow lane, light tasks still complete.
      const after = await Promise.all(Array.from({ length: 20 }, () => system.spawn('light', 100)));
      assert.equal(after.length, 20);
      assert.deepEqual(await Promise.all(hogs), [60, 60]);
      const s = system.pulseStats();
      // Three steps up, or one: a poll the watchdog catches still running (a busy machine
      // can stretch a 3 ms poll past Balanced's 5 ms) goes straight to Isolate.
      assert.ok(s.promotions >= 1, `promotions ${s.promotions}`);
      assert.ok(s.warnings > 0);
      assert.ok(s.isolatedPolls > 0);
      assert.equal(s.completed, 2 + lights + 20);
      assert.equal(s.live, 0);
      const violations = s.workers.reduce((sum, w) => sum + w.violations, 0);
      assert.ok(violations >= 11, `violations ${violations}`);
      // The isolated polls count on the slow lane's slot (second to last): its own thread's,
      // or without threads the event loop's turns for it.
      assert.ok(s.workers[s.workers.length - 2].polls > 0);
    } finally {
      await system.shutdown();
    }
  });

  test(`${variant}: with pulse off no task is isolated; accounting goes on`, { skip }, async () => {
    const omega = await load(variant);
    const system = omega.createSystem({ ...CONFIG, pulse: 'aggressive' });
    try {
      system.setPulseEnabled(false);
      assert.equal(system.pulseStats().enabled, false);
      assert.equal(await system.spawn('hog', 2), 60);
      const s = system.pulseStats();
      assert.equal(s.isolatedPolls, 0);
      assert.equal(s.tiers.isolate, 0);
      const violations = s.workers.reduce((sum, w) => sum + w.violations, 0);
      assert.ok(violations >= 50, `violations ${violations}`);
      system.setPulseEnabled(true);
      assert.equal(system.pulseStats().enabled, true);
    } finally {
      await system.shutdown();
    }
  });

  if (variant === 'threaded') {
    test('threaded: the watchdog flags a task that never yields while it runs', { skip }, async () => {
      const omega = await load(variant);
      const system = omega.createSystem({ ...CONFIG, pulse: 'balanced' });
      try {
        const stall = system.spawn('stall', 100);
        const lights = await Promise.all(Array.from({ length: 10 }, () => system.spawn('light', 100)));
        assert.equal(lights.length, 10);
        assert.ok(await stall >= 100);
        const s = system.pulseStats();
        assert.ok(s.watchdogFlags >= 1, `watchdog flags ${s.watchdogFlags}`);
      } finally {
        await system.shutdown();
      }
    });
  }

  test(`${variant}: shutdown cancels sleeping spawned tasks: their promises reject with NodeShuttingDown`, { skip }, async () => {
    const omega = await load(variant);
    const system = omega.createSystem({ ...CONFIG, pulse: 'permissive' });
    const sleepers = Array.from({ length: 3 }, () => system.spawn('sleepy', 60_000).then((v) => ({ value: v }), (error) => ({ error })));
    assert.equal(await system.spawn('crunch', 1000), crunchExpected(1000));
    const submitted = system.submit('primes', 1000);  // submitted work still finishes
    await system.shutdown();
    assert.equal(await submitted, 168);
    for (const r of await Promise.all(sleepers)) {
      assert.ok(r.error instanceof OmegaTaskError, JSON.stringify(r));
      assert.match(r.error.message, /NodeShuttingDown/);
    }
    assert.equal(system.pending, 0);
    assert.equal(system.pulseStats(), null);
    await assert.rejects(system.spawn('crunch', 1), (e) => e instanceof OmegaNodeError && e.kind === 'NodeShuttingDown');
  });
}
