// The actor layer from JavaScript, in both builds under Node: omega.runPipeline runs the
// seed's pipeline (Generator -> Worker -> Logger, paced by a Heartbeat) on the teams' threads
// or on the event loop; `done` resolves with a report that says every value was logged
// exactly once; telemetry, DOT and Prometheus describe the 4 actors and 3 channels while it
// runs and after; restarts lose nothing; shutdown drains; bad configurations are refused
// with TypeError/RangeError and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const { loadOmega, OmegaPipeline } = await import(pathToFileURL(path.join(packageDir, 'index.mjs')).href);

const invalidCount = (omega) => JSON.parse(omega.runtimeMetricsJson()).metrics
  .find((m) => m.name === 'omega_js_invalid_arguments_total').series[0].value;

const ACTORS = ['generator', 'heartbeat', 'worker', 'logger'];
const STATES = ['Starting', 'Running', 'Waiting', 'BackingOff', 'Stopped', 'Failed'];
const TIERS = ['Monitor', 'Warn', 'Yield', 'Isolate'];
const OVERFLOWS = ['Block', 'DropNewest', 'DropOldest', 'Fail'];
const TIMEOUT = { timeout: 60_000 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Waits (without blocking the event loop, which drives the single-threaded build) until
// pred() holds; fails with what describe() says after `ms`.
async function until(pred, describe, ms = 20_000) {
  const end = Date.now() + ms;
  while (!pred()) {
    assert.ok(Date.now() < end, `timed out: ${describe()}`);
    await sleep(5);
  }
}

// The shape every frame has, running or not.
function checkFrame(t, { capacity }) {
  for (const key of ['seq', 'atNs', 'periodS']) assert.equal(typeof t[key], 'number', key);
  assert.equal(typeof t.shuttingDown, 'boolean');
  assert.equal(typeof t.stopped, 'boolean');
  assert.deepEqual(t.actors.map((a) => a.name).sort(), [...ACTORS].sort());
  const teams = new Map(t.actors.map((a) => [a.name, a.team]));
  // Generator and Heartbeat share a team; Worker and Logger have one each.
  assert.equal(teams.get('generator'), teams.get('heartbeat'));
  assert.equal(new Set(teams.values()).size, 3);
  for (const a of t.actors) {
    assert.equal(a.ownThread, a.name === 'worker' || a.name === 'logger', a.name);
    assert.ok(STATES.includes(a.state), a.state);
    assert.ok(TIERS.includes(a.tier), a.tier);
    for (const key of ['polls', 'cpuNs', 'cpuPercent', 'restarts', 'wakes']) {
      assert.ok(Number.isFinite(a[key]) && a[key] >= 0, `${a.name}.${key} = ${a[key]}`);
    }
  }
  assert.equal(t.channels.length, 3);
  for (const c of t.channels) {
    assert.equal(typeof c.name, 'string');
    assert.ok(c.name.length > 0);
    // An end is named once its actor has used it ('' before).
    assert.ok(c.from === '' || ACTORS.includes(c.from), `${c.name} from ${c.from}`);
    assert.ok(c.to === '' || ACTORS.includes(c.to), `${c.name} to ${c.to}`);
    assert.equal(c.capacity, capacity);
    assert.ok(c.len >= 0 && c.len <= c.capacity, `${c.name} len ${c.len}`);
    assert.ok(c.fillPercent >= 0 && c.fillPercent <= 100, `${c.name} fill ${c.fillPercent}`);
    for (const key of ['msgsPerSec', 'latencyMs', 'sent', 'taken', 'droppedNewest', 'droppedOldest', 'refused', 'full']) {
      assert.ok(Number.isFinite(c[key]) && c[key] >= 0, `${c.name}.${key} = ${c[key]}`);
    }
    assert.ok(c.taken <= c.sent, `${c.name}: taken ${c.taken} > sent ${c.sent}`);
    assert.ok(OVERFLOWS.includes(c.overflow), c.overflow);
    assert.equal(typeof c.closed, 'boolean');
  }
  // The pipeline's edges: generator -> worker, heartbeat -> worker, worker -> logger.
  const edges = t.channels.filter((c) => c.from !== '' && c.to !== '').map((c) => `${c.from}->${c.to}`);
  for (const e of edges) assert.ok(['generator->worker', 'heartbeat->worker', 'worker->logger'].includes(e), e);
}

function checkReport(r, { beats, beatBurst }) {
  assert.equal(r.finished, true, JSON.stringify(r));
  assert.equal(r.exactlyOnce, true, JSON.stringify(r));
  assert.ok(r.generated > 0, JSON.stringify(r));
  assert.equal(r.logged, r.generated);
  assert.equal(r.loggedChecksum, r.generatedChecksum);
  assert.match(r.generatedChecksum, /^\d+$/);
  assert.equal(r.outOfOrder, 0);
  if (beats !== undefined) {
    assert.equal(r.bursts, beats);
    assert.equal(r.heartbeats, beats * beatBurst);
  }
  assert.ok(r.fizz > 0 && r.buzz > 0 && r.fizzbuzz > 0 && r.fizz + r.buzz + r.fizzbuzz < r.logged, JSON.stringify(r));
  assert.ok(r.elapsedS > 0 && r.msgsPerSec > 0, JSON.stringify(r));
}

const modules = new Map();
async function load(variant) {
  if (!modules.has(variant)) modules.set(variant, await loadOmega({ variant }));
  return modules.get(variant);
}

for (const variant of ['threaded', 'single-threaded']) {
  const built = existsSync(path.join(packageDir, variant === 'threaded' ? 'mt' : 'st', 'omega.mjs'));
  const skip = !built && 'not built';
  const threaded = variant === 'threaded';

  test(`${variant}: a short pipeline logs every value exactly once; done resolves with the report`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const p = omega.runPipeline({ rate: 1, beats: 50, telemetryPeriodMs: 20 });
    try {
      assert.ok(p instanceof OmegaPipeline);
      assert.equal(p.config.rate, 1);
      assert.equal(p.config.beats, 50);
      assert.equal(p.config.telemetryPeriodMs, 20);
      assert.equal(p.config.batch, 256);
      assert.equal(p.config.capacity, 8192);
      assert.equal(p.config.workerFaultEvery, 0);
      assert.ok(Object.isFrozen(p.config));
      // Threads exactly where the build has them; without, the event loop polls every team.
      assert.equal(p.threadedTeams, threaded ? 3 : 0);
      assert.equal(p.closed, false);

      checkFrame(p.telemetry(), p.config);  // while running (or the frame computed on demand)
      const report = await p.done;
      checkReport(report, p.config);
      assert.equal(p.stopped, true);
      assert.deepEqual(p.report(), report);

      // The frame after `done` shows the end: every actor stopped, every channel closed
      // and drained.
      const after = p.telemetry();
      checkFrame(after, p.config);
      assert.ok(after.seq >= 1, `frames: ${after.seq}`);
      assert.equal(after.stopped, true);
      for (const a of after.actors) assert.equal(a.state, 'Stopped', JSON.stringify(a));
      assert.deepEqual(after.channels.map((c) => `${c.from}->${c.to}`).sort(),
        ['generator->worker', 'heartbeat->worker', 'worker->logger']);
      for (const c of after.channels) {
        assert.equal(c.closed, true, JSON.stringify(c));
        assert.equal(c.taken, c.sent, JSON.stringify(c));
        assert.equal(c.len, 0, JSON.stringify(c));
      }
      assert.equal(after.channels.find((c) => c.from === 'generator')?.sent, report.generated);
      const totalPolls = after.actors.reduce((sum, a) => sum + a.polls, 0);
      assert.ok(totalPolls > 0);
      const dot = p.toDot();
      assert.match(dot, /^\s*digraph\b/);
      for (const c of after.channels) assert.ok(dot.includes(c.name), `DOT names ${c.name}`);
      for (const a of ACTORS) assert.ok(dot.includes(a), `DOT names ${a}`);
      assert.match(p.toPrometheus(), /^omega_channel_\w+\{[^}]*\} [\d.e+-]+$/m);

      await Promise.all([p.close(), p.close()]);  // both resolve once it is freed
      assert.equal(p.closed, true);
      await p.close();  // idempotent
      // What it showed last stays readable (with threads the sampler went on taking frames
      // after the stop: the last one it took is kept).
      assert.deepEqual(p.report(), report);
      const kept = p.telemetry();
      checkFrame(kept, p.config);
      assert.equal(kept.stopped, true);
      assert.ok(kept.seq >= after.seq);
      assert.deepEqual(p.telemetry(), kept);
      assert.match(p.toDot(), /^\s*digraph\b/);
      assert.equal(p.toDot(), p.toDot());
      assert.match(p.toPrometheus(), /^omega_channel_/m);
    } finally {
      await p.close();
    }
  });

  test(`${variant}: while it runs, frames come every period with moving counters and rates`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const p = omega.runPipeline({ rate: 5, beats: 100_000, telemetryPeriodMs: 50 });
    try {
      let t = p.telemetry();
      await until(() => {
        t = p.telemetry();
        return t.seq >= 3 && t.channels.every((c) => c.msgsPerSec > 0);
      }, () => JSON.stringify(t));
      checkFrame(t, p.config);
      assert.equal(t.stopped, false);
      assert.equal(t.shuttingDown, false);
      assert.ok(t.periodS > 0 && t.periodS < 1, `period ${t.periodS}`);  // about 50 ms, later on a busy loop
      for (const c of t.channels) assert.ok(c.sent > 0 && c.taken > 0, JSON.stringify(c));
      for (const a of t.actors) assert.ok(a.polls > 0, JSON.stringify(a));
      const seq = t.seq;
      await until(() => p.telemetry().seq > seq, () => `seq stuck at ${seq}`);
      const later = p.telemetry();
      const sent = (frame) => frame.channels.reduce((sum, c) => sum + c.sent, 0);
      assert.ok(sent(later) > sent(t), `sent ${sent(t)} -> ${sent(later)}`);
      assert.equal(p.stopped, false);

      // Shutdown on request drains what was accepted: still exactly once.
      p.requestShutdown();
      const report = await p.done;
      checkReport(report, {});
      assert.ok(report.bursts < 100_000);
      const final = p.telemetry();
      checkFrame(final, p.config);
    } finally {
      await p.close();
    }
  });

  test(`${variant}: a worker that throws is restarted with its state; nothing lost or duplicated`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    // A throw every 5M values, and shutdown as soon as a frame (every 10 ms) shows the first
    // restart: a few restarts at most, well inside the graph's restart intensity (10 within
    // a second; past it the worker backs off and at last fails, and the report says so).
    const p = omega.runPipeline({ rate: 1, beats: 1e9, workerFaultEvery: 5_000_000, telemetryPeriodMs: 10 });
    try {
      await until(() => p.report().workerRestarts >= 1, () => JSON.stringify(p.report()), 50_000);
      p.requestShutdown();
      const report = await p.done;
      checkReport(report, {});
      assert.ok(report.generated > 5_000_000, `generated ${report.generated}`);
      assert.ok(report.workerRestarts >= 1 && report.workerRestarts <= 10, `restarts ${report.workerRestarts}`);
      assert.ok(report.workerRestarts <= report.generated / 5_000_000);
    } finally {
      await p.close();
    }
    const worker = p.telemetry().actors.find((a) => a.name === 'worker');
    assert.ok(worker.restarts >= 1, JSON.stringify(worker));
    assert.equal(worker.state, 'Stopped');
  });

  test(`${variant}: close() before the end asks for shutdown and waits: the report is still exactly once`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const p = omega.runPipeline({ rate: 2, beats: 1_000_000 });
    try {
      await until(() => p.report().logged > 0, () => JSON.stringify(p.report()));
    } finally {
      await p.close();
    }
    assert.equal(p.closed, true);
    const report = await p.done;
    checkReport(report, {});
    assert.equal(p.stopped, true);
  });

  test(`${variant}: bad configurations are refused with TypeError/RangeError, counted, nothing started`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const before = invalidCount(omega);
    const refusals = [
      [42, TypeError, /runPipeline: config must be an object/],
      ['fast', TypeError, /config must be an object/],
      [[1, 2], TypeError, /config must be an object/],
      [{ rate: '1' }, TypeError, /runPipeline: rate must be a number \(milliseconds between heartbeat bursts\)/],
      [{ beats: null }, TypeError, /beats must be a number/],
      [{ batch: true }, TypeError, /batch must be a number/],
      [{ telemetryPeriodMs: {} }, TypeError, /telemetryPeriodMs must be a number/],
      [{ rate: -1 }, RangeError, /runPipeline: rate must be an integer in \[0, 9007199254740991\] \(milliseconds between heartbeat bursts\)/],
      [{ rate: NaN }, RangeError, /rate must be an integer in/],
      [{ rate: 1.5 }, RangeError, /rate must be an integer in/],
      [{ beats: Infinity }, RangeError, /beats must be an integer in \[0, 9007199254740991\]/],
      [{ beats: 2 ** 60 }, RangeError, /beats must be an integer in/],
      [{ batch: -256 }, RangeError, /batch must be an integer in/],
      [{ batch: 2 ** 33 }, RangeError, /batch must be an integer in \[0, 4294967295\]/],  // a size_t in WASM
      [{ telemetryPeriodMs: -100 }, RangeError, /telemetryPeriodMs must be an integer in/],
      [{ workerFaultEvery: 0.5 }, RangeError, /workerFaultEvery must be an integer in/],
      // Integers, refused by the core's bounds (PipelineConfig::validate), in JS's names.
      [{ rate: 0 }, RangeError, /runPipeline: .*\brate\b/],
      [{ rate: 3_600_001 }, RangeError, /runPipeline: .*\brate\b/],
      [{ beats: 0 }, RangeError, /runPipeline: .*\bbeats\b/],
      [{ batch: 0 }, RangeError, /runPipeline: .*\bbatch\b/],
      [{ batch: 1_000_000 }, RangeError, /runPipeline: .*\bbatch\b/],  // bigger than a channel
      [{ telemetryPeriodMs: 3_600_001 }, RangeError, /runPipeline: .*\btelemetryPeriodMs\b/],
    ];
    for (const [config, type, message] of refusals) {
      assert.throws(() => omega.runPipeline(config), (e) => e instanceof type && message.test(e.message),
        `${JSON.stringify(config)}: ${String(message)}`);
    }
    assert.equal(invalidCount(omega) - before, refusals.length);
    // Nothing was left running: a good configuration still starts (in the threaded build,
    // the pool's places for a pipeline are free) and is not counted.
    const p = omega.runPipeline({ rate: 1, beats: 5 });
    try {
      checkReport(await p.done, p.config);
    } finally {
      await p.close();
    }
    assert.equal(invalidCount(omega) - before, refusals.length);
  });

  if (threaded) {
    test('threaded: one pipeline at a time (the pool keeps places for one); a second is refused, not counted', { skip, ...TIMEOUT }, async () => {
      const omega = await load(variant);
      const before = invalidCount(omega);
      const p = omega.runPipeline({ rate: 1, beats: 20 });
      try {
        assert.throws(() => omega.runPipeline({ rate: 1, beats: 20 }),
          (e) => e.constructor === Error && /runPipeline: the threaded build runs 1 pipeline at a time/.test(e.message));
        assert.equal(invalidCount(omega), before);
        // Stopped is not enough: its threads are the pool's again once it is closed.
        await p.done;
        assert.throws(() => omega.runPipeline({ rate: 1, beats: 20 }), (e) => e.constructor === Error);
      } finally {
        await p.close();
      }
      const q = omega.runPipeline({ rate: 1, beats: 20 });
      checkReport(await q.done, q.config);
      await q.close();
    });
  }
}
