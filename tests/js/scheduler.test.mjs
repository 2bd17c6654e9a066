// The nanosecond scheduler from JavaScript, in both builds under Node: scheduling, cancelling,
// the event-loop driver, metrics, and bad arguments (TypeError, counted, never a crash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const { loadOmega } = await import(pathToFileURL(path.join(packageDir, 'index.mjs')).href);

const invalidCount = (omega) => JSON.parse(omega.runtimeMetricsJson()).metrics
  .find((m) => m.name === 'omega_js_invalid_arguments_total').series[0].value;

async function waitFor(cond, ms = 10_000) {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const variant of ['threaded', 'single-threaded']) {
  const built = existsSync(path.join(packageDir, variant === 'threaded' ? 'mt' : 'st', 'omega.mjs'));
  test(`${variant}: schedule, cancel, tick from the event loop, metrics`, { skip: !built && 'not built' }, async () => {
    const omega = await loadOmega({ variant });
    const s = omega.createScheduler({ tickRateNs: 1000, maxTasksPerTick: 64, windowSize: 50 });
    const ids = [];
    for (let i = 0; i < 300; i++) {
      ids.push(s.schedule('noop', 0, { delayNs: i * 10_000, priority: ['critical', 'high', 'normal', 'low'][i % 4] }));
    }
    assert.equal(typeof ids[0], 'string');
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(s.cancel(ids[7]), true);
    assert.equal(s.cancel(ids[7]), false);
    const beat = s.schedule('spin', 1000, { periodNs: 200_000, priority: 'critical' });
    assert.deepEqual(s.run(), { ok: false, error: 'WouldBlock' });  // the thread never blocks

    s.start();
    assert.equal(s.running, true);
    await waitFor(() => s.metrics().pending === 1 && s.metrics().executed >= 299 + 5);  // only the beat left
    s.stop();
    assert.equal(s.running, false);
    assert.equal(s.cancel(beat), true);
    assert.equal(s.cancel(ids[0]), false);  // already ran

    const m = s.metrics();
    assert.equal(m.scheduled, 301);
    assert.equal(m.cancelled, 2);
    assert.equal(m.pending, 0);
    assert.ok(m.executed >= 304);
    assert.equal(m.lateness.count, m.executed);
    assert.ok(m.lateness.min >= 0);
    assert.ok(m.ticks > 0 && m.timedTicks > 0);
    assert.ok(m.avgTickNs > 0 && m.p50TickNs <= m.p99TickNs && m.p99TickNs <= m.maxTickNs);
    assert.ok(m.tasksPerSecond > 0);
    assert.ok(m.temporalOverlap >= 0 && m.temporalOverlap <= 1);
    assert.ok(m.strangeLoopState >= 0 && m.strangeLoopState <= 1);
    assert.equal(s.temporalOverlap(), m.temporalOverlap);
    assert.equal(s.strangeLoopState(), m.strangeLoopState);
    assert.ok(m.memoryBytes > 0);

    // Manual ticks still work after stop(), and carry-over keeps everything.
    for (let i = 0; i < 200; i++) s.schedule('noop', 0);
    await new Promise((r) => setTimeout(r, 2));
    assert.equal(s.tick(), 64);
    while (s.metrics().pending > 0) s.tick();
    assert.equal(s.metrics().executed, m.executed + 200);
    s.close();
    assert.throws(() => s.tick(), TypeError);
  });

  test(`${variant}: bad arguments are TypeErrors, counted, and change nothing`, { skip: !built && 'not built' }, async () => {
    const omega = await loadOmega({ variant });
    const before = invalidCount(omega);
    const badConfigs = [
      [{ tickRateNs: 0 }, /tick_rate_ns must be at least 1/],
      [{ windowSize: 0 }, /window_size must be at least 1/],
      [{ maxTasksPerTick: 0 }, /max_tasks_per_tick must be at least 1/],
      [{ lipschitzConstant: 1 }, /lipschitz_constant must lie in the open interval \(0, 1\)/],
      [{ lipschitzConstant: 0 }, /lipschitz_constant/],
      [{ lipschitzConstant: NaN }, /lipschitz_constant/],
      [{ lipschitzConstant: '0.5' }, /lipschitzConstant must be a number/],
      [{ tickRateNs: -5 }, /tickRateNs must be a non-negative integer/],
      [{ tickRateNs: '500' }, /tickRateNs must be a non-negative integer/],
      [{ parallel: true }, /parallel dispatch is available from C\+\+/],
      [5, /config must be an object/],
    ];
    for (const [config, message] of badConfigs) {
      assert.throws(() => omega.createScheduler(config), (e) => e instanceof TypeError && message.test(e.message),
        JSON.stringify(config));
    }
    const s = omega.createScheduler();
    const badCalls = [
      () => s.schedule('nope'),
      () => s.schedule(5),
      () => s.schedule('spin', -1),
      () => s.schedule('spin', 1e12),
      () => s.schedule('noop', 0, { delayNs: -1 }),
      () => s.schedule('noop', 0, { delayNs: '5' }),
      () => s.schedule('noop', 0, { delayNs: 1.5 }),
      () => s.schedule('noop', 0, { periodNs: NaN }),
      () => s.schedule('noop', 0, { priority: 'urgent' }),
      () => s.schedule('noop', 0, { priority: 1 }),
      () => s.cancel(5),
      () => s.cancel('not-a-number'),
      () => s.cancel({}),
    ];
    for (const call of badCalls) assert.throws(call, TypeError, call.toString());
    assert.equal(invalidCount(omega) - before, badConfigs.length + badCalls.length);
    assert.equal(s.cancel('123456789'), false);  // well-formed, never issued: not an error
    assert.equal(s.metrics().scheduled, 0);
    assert.throws(() => s.start({ idleThresholdMs: -1 }), TypeError);
    s.close();
  });
}
