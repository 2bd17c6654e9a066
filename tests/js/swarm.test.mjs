// The swarm layer from JavaScript, in both builds under Node: omega.createSwarm runs the same
// C++ orchestrator as natively (tasks inline on this thread, the real clock). Default agents
// bootstrap; a DAG of neural, quantum, optimisation, checksum and JS-function tasks gives real
// outputs in dependency order; cancellation cascades; a proposal reaches a decision by votes; a
// leader is elected and re-elected after it is killed; the memory pool moves ownership without
// copying; bad arguments throw TypeError/RangeError (counted) and leave the swarm working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const {
  loadOmega, OmegaSwarm, OmegaSwarmError, encodeFloats, decodeFloats, encodeCircuit, decodeCircuitResult,
  encodeMaxCut, decodeCut,
} = await import(pathToFileURL(path.join(packageDir, 'index.mjs')).href);

const invalidCount = (omega) => JSON.parse(omega.runtimeMetricsJson()).metrics
  .find((m) => m.name === 'omega_js_invalid_arguments_total').series[0].value;

const TIMEOUT = { timeout: 60_000 };
// Fast timers so that elections and failure detection happen within a test's patience; a
// tolerance of 10 heartbeats (100 ms) so that a loaded machine's pauses between cycles are
// not taken for failed agents.
const FAST = { heartbeatMs: 10, failureThreshold: 10, electionTimeoutMs: [30, 60] };
const FINAL = ['Completed', 'Failed', 'Cancelled', 'TimedOut'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Drives the swarm's cycles (nothing else does) until pred() holds; fails with describe().
async function cycleUntil(swarm, pred, describe, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    swarm.processCycle();
    if (pred()) return;
    assert.ok(Date.now() < end, `timed out: ${describe()}`);
    await sleep(2);
  }
}

// CRC-32C (Castagnoli, reflected 0x82F63B78): what the default generic agent computes.
function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

const modules = new Map();
async function load(variant) {
  if (!modules.has(variant)) modules.set(variant, await loadOmega({ variant }));
  return modules.get(variant);
}

test('crc32c reference: the standard check value', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('payload encoders round-trip with the documented layouts', () => {
  const c = encodeCircuit({ qubits: 2, shots: 7, gates: [{ kind: 'H', a: 0 }, { kind: 'CNOT', a: 0, b: 1 }, { kind: 'RZ', a: 1, theta: 0.5 }] });
  assert.equal(c.length, 4 + 1 + 4 + 4 + 3 * 11);
  assert.equal(new TextDecoder().decode(c.subarray(0, 4)), 'OQC1');
  assert.deepEqual([...c.subarray(4, 13)], [2, 7, 0, 0, 0, 3, 0, 0, 0]);
  assert.deepEqual([...c.subarray(13, 16)], [0, 0, 0]);   // H on 0
  assert.deepEqual([...c.subarray(24, 27)], [7, 0, 1]);   // CNOT 0 -> 1
  assert.equal(new DataView(c.buffer).getFloat64(35 + 3, true), 0.5);
  assert.deepEqual([...decodeFloats(encodeFloats([1.5, -2, 0]))], [1.5, -2, 0]);
  const m = encodeMaxCut({ vertices: 3, edges: [[0, 1, 2], [1, 2]] });
  assert.equal(m.length, 12 + 32);
  assert.equal(new DataView(m.buffer).getFloat64(12 + 16 + 8, true), 1);
  assert.throws(() => encodeCircuit({ qubits: 1, gates: [{ kind: 'T', a: 0 }] }), RangeError);
  assert.throws(() => decodeCircuitResult(new Uint8Array(8)), RangeError);
  assert.throws(() => decodeFloats(new Uint8Array(3)), RangeError);
});

for (const variant of ['threaded', 'single-threaded']) {
  const built = existsSync(path.join(packageDir, variant === 'threaded' ? 'mt' : 'st', 'omega.mjs'));
  const skip = !built && 'not built';

  test(`${variant}: bootstrap registers the default agents; status() and metrics() describe them; a leader is elected`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-boot', topology: 'Mesh', strategy: 'LoadBalanced', ...FAST });
    try {
      assert.ok(swarm instanceof OmegaSwarm);
      assert.equal(swarm.config.name, 'js-boot');
      assert.equal(swarm.config.topology, 'Mesh');
      assert.deepEqual(swarm.config.electionTimeoutMs, [30, 60]);
      assert.equal(swarm.config.maxConcurrentTasks, 16, 'JS default: a cycle runs at most 16 tasks inline');
      assert.equal(swarm.config.heartbeatMs, 10);
      assert.equal(swarm.config.failureThreshold, 10);
      const ids = swarm.bootstrap();
      assert.equal(ids.length, 4);
      assert.equal(new Set(ids).size, 4);
      const agents = swarm.agents();
      assert.deepEqual(agents.map((a) => a.id).sort((x, y) => x - y), [...ids].sort((x, y) => x - y));
      assert.deepEqual(agents.map((a) => a.kind).sort(), ['generic', 'neural', 'neural', 'quantum']);
      for (const a of agents) {
        assert.ok(['Idle', 'Busy'].includes(a.status), a.status);
        assert.equal(a.restarts, 0);
        assert.ok(a.capabilities.length > 0);
      }
      assert.ok(agents.find((a) => a.kind === 'neural').capabilities.includes('neural_inference'));
      assert.ok(agents.find((a) => a.kind === 'quantum').capabilities.includes('quantum_simulation'));
      assert.ok(agents.find((a) => a.kind === 'generic').capabilities.includes('checksum'));

      await cycleUntil(swarm, () => swarm.leader().agent !== null, () => JSON.stringify(swarm.leader()));
      const leader = swarm.leader();
      assert.ok(ids.includes(leader.agent), JSON.stringify(leader));
      assert.ok(leader.term >= 1);

      const m = swarm.metrics();
      assert.equal(m.totalAgents, 4);
      assert.equal(m.activeAgents, 4);
      assert.equal(m.leader.agent, leader.agent);
      const status = swarm.status();
      assert.equal(typeof status, 'object');
      assert.match(JSON.stringify(status), /js-boot/);
      assert.match(swarm.metricsPrometheus(), /^# (HELP|TYPE) /m);
    } finally {
      swarm.close();
    }
    assert.equal(swarm.closed, true);
    assert.throws(() => swarm.agents(), (e) => e.constructor === Error && /closed/.test(e.message));
    swarm.close();  // idempotent
  });

  test(`${variant}: a DAG gives real outputs (inference, a Bell pair, MaxCut, CRC32C, a JS agent) in dependency order`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-dag', ...FAST });
    try {
      swarm.bootstrap();
      const reversed = swarm.registerAgent({
        kind: 'generic', name: 'reverser', capabilities: ['reverse'], fn: (bytes) => bytes.slice().reverse(),
      });
      assert.ok(Number.isInteger(reversed) && reversed > 0);
      const input = new Float32Array(128).map((_, i) => Math.sin(i));
      const text = new TextEncoder().encode('123456789');
      const [[infer, bell, cut], [sum], [rev]] = swarm.submitDag([
        [
          { name: 'infer', payload: input, capability: 'neural_inference', priority: 'high' },
          { name: 'bell', capability: 'quantum_simulation',
            payload: encodeCircuit({ qubits: 2, gates: [{ kind: 'H', a: 0 }, { kind: 'CNOT', a: 0, b: 1 }] }) },
          { name: 'square', capability: 'optimization',
            payload: encodeMaxCut({ vertices: 4, edges: [[0, 1], [1, 2], [2, 3], [3, 0]] }) },
        ],
        [{ name: 'crc', payload: text, capability: 'checksum' }],
        [{ name: 'rev', payload: new Uint8Array([1, 2, 3]), capability: 'reverse' }],
      ]);
      assert.equal(await swarm.runUntilIdle(20_000), true);
      const results = new Map([infer, bell, cut, sum, rev].map((id) => [id, swarm.result(id)]));
      for (const [id, r] of results) {
        assert.equal(r.status, 'Completed', JSON.stringify({ ...r, output: undefined }));
        assert.equal(r.id, id);
        assert.ok(r.attempts >= 1);
        assert.ok(r.agent > 0);
        assert.ok(r.output instanceof Uint8Array);
        assert.ok(r.submittedNs <= r.readyNs && r.readyNs <= r.startedNs && r.startedNs <= r.finishedNs, JSON.stringify(r));
      }
      // Neural: 128 inputs -> 64 -> 16, finite.
      const out = decodeFloats(results.get(infer).output);
      assert.equal(out.length, 16);
      assert.ok(out.every(Number.isFinite));
      assert.ok(out.some((v) => v !== 0));
      // Bell pair: |00> and |11> each with probability 1/2.
      const p = decodeCircuitResult(results.get(bell).output).probabilities;
      assert.equal(p.length, 4);
      assert.ok(Math.abs(p[0] - 0.5) < 1e-9 && Math.abs(p[3] - 0.5) < 1e-9 && p[1] < 1e-12 && p[2] < 1e-12, String(p));
      // A 4-cycle's maximum cut takes all 4 edges.
      const c = decodeCut(results.get(cut).output);
      assert.equal(c.vertices, 4);
      assert.equal(c.cutValue, 4);
      assert.ok(c.side[0] !== c.side[1] && c.side[1] !== c.side[2] && c.side[2] !== c.side[3]);
      // The checksum agent: CRC-32C of the payload, 4 bytes little-endian.
      const crc = results.get(sum).output;
      assert.equal(crc.length, 4);
      assert.equal(new DataView(crc.buffer, crc.byteOffset, 4).getUint32(0, true), crc32c(text));
      // The JS agent ran on this thread.
      assert.deepEqual([...results.get(rev).output], [3, 2, 1]);
      assert.equal(results.get(rev).agent, reversed);
      // Dependency order: crc started after all three of layer 0 finished; rev after crc.
      for (const id of [infer, bell, cut]) assert.ok(results.get(sum).startedNs >= results.get(id).finishedNs);
      assert.ok(results.get(rev).startedNs >= results.get(sum).finishedNs);
      assert.ok(results.get(rev).readyNs >= results.get(sum).finishedNs);

      const stats = swarm.schedulerStats();
      assert.equal(stats.submitted, 5);
      assert.equal(stats.completed, 5);
      assert.ok(stats.dispatchedByPriority.high >= 1, JSON.stringify(stats.dispatchedByPriority));
      const m = swarm.metrics();
      assert.equal(m.tasksCompleted, 5);
      assert.equal(m.tasksPending + m.tasksRunning, 0);
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: runUntilIdle yields to the event loop between slices`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-yield', ...FAST });
    try {
      // 100 tasks of 1 ms each: far more than one 4 ms slice.
      swarm.registerAgent({
        kind: 'generic', name: 'spinner', capabilities: ['spin'], maxConcurrent: 8,
        fn: () => {
          const end = performance.now() + 1;
          while (performance.now() < end);
          return new Uint8Array([1]);
        },
      });
      const ids = Array.from({ length: 100 }, (_, i) => swarm.submit({ name: `spin ${i}`, capability: 'spin' }));
      let turns = 0;
      let ticking = true;
      const tick = () => {
        turns += 1;
        if (ticking) setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      assert.equal(await swarm.runUntilIdle(30_000), true);
      ticking = false;
      assert.ok(ids.every((id) => swarm.result(id).status === 'Completed'));
      assert.ok(turns >= 5, `the event loop turned ${turns} times while 100 ms of tasks ran`);
      // A cycle dispatches at most maxConcurrentTasks (16 by default in JS).
      const s = swarm.schedulerStats();
      assert.ok(s.cycles >= 100 / 16, JSON.stringify(s));
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: a wide layered DAG completes in topological order`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-wide', maxConcurrentTasks: 3, ...FAST });
    try {
      swarm.bootstrap();
      const layers = Array.from({ length: 6 }, (_, k) => Array.from({ length: 10 }, (_, i) => ({
        name: `t${k}.${i}`, capability: 'checksum', payload: new Uint8Array([k, i]),
        ...(k > 0 ? { after: [i, (i + 3) % 10] } : {}),
      })));
      const ids = swarm.submitDag(layers);
      let cycles = 0;
      while (ids.flat().some((id) => !FINAL.includes(swarm.taskStatus(id)))) {
        const s = swarm.processCycle();
        assert.ok(s.running <= 3 && s.dispatched <= 3, JSON.stringify(s));
        assert.ok(++cycles < 10_000);
      }
      assert.ok(cycles >= 20, `60 tasks at 3 at a time take at least 20 cycles, took ${cycles}`);
      for (let k = 0; k < 6; k++) {
        for (let i = 0; i < 10; i++) {
          const r = swarm.result(ids[k][i]);
          assert.equal(r.status, 'Completed');
          assert.equal(new DataView(r.output.buffer, r.output.byteOffset, 4).getUint32(0, true), crc32c([k, i]));
          if (k > 0) {
            for (const j of [i, (i + 3) % 10]) assert.ok(r.startedNs >= swarm.result(ids[k - 1][j]).finishedNs);
          }
        }
      }
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: cancel cascades to dependents; a cycle is refused at submit; a deadline times a task out`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-cancel', ...FAST });
    try {
      swarm.bootstrap();
      const later = swarm.reserveTaskId();
      const a = swarm.submit({ name: 'a', capability: 'checksum', dependsOn: [later] });
      const b = swarm.submit({ name: 'b', capability: 'checksum', dependsOn: [a] });
      const c = swarm.submit({ name: 'c', capability: 'checksum', dependsOn: [b] });
      const free = swarm.submit({ name: 'free', capability: 'checksum' });
      swarm.processCycle();
      assert.equal(swarm.taskStatus(a), 'Pending');
      // The reserved id closing a loop a -> later -> a is refused.
      assert.throws(() => swarm.submit({ id: later, name: 'loop', capability: 'checksum', dependsOn: [c] }),
        (e) => e instanceof OmegaSwarmError && e.kind === 'CycleDetected' && /submit: CycleDetected/.test(e.message));
      assert.equal(swarm.cancel(a), 3);
      for (const id of [a, b, c]) {
        const r = swarm.result(id);
        assert.equal(r.status, 'Cancelled');
        assert.ok(r.reason.length > 0);
      }
      assert.throws(() => swarm.cancel(a), (e) => e instanceof OmegaSwarmError && e.kind === 'TaskFinished');
      assert.throws(() => swarm.taskStatus(123456), (e) => e instanceof OmegaSwarmError && e.kind === 'UnknownTask');
      assert.equal(await swarm.runUntilIdle(10_000), true);
      assert.equal(swarm.result(free).status, 'Completed');
      // A deadline (from submission) passes while the task waits for a dependency that never comes.
      const never = swarm.reserveTaskId();
      const late = swarm.submit({ name: 'late', capability: 'checksum', dependsOn: [never], timeoutMs: 30 });
      const after = swarm.submit({ name: 'after-late', capability: 'checksum', dependsOn: [late] });
      await cycleUntil(swarm, () => FINAL.includes(swarm.taskStatus(after)), () => swarm.taskStatus(late));
      assert.equal(swarm.result(late).status, 'TimedOut');
      assert.equal(swarm.result(late).errorKind, 'TimedOut');
      assert.ok(swarm.result(late).finishedNs - swarm.result(late).submittedNs >= 30e6);
      assert.equal(swarm.result(after).status, 'Cancelled', 'a timed-out dependency cancels its dependents');
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: a proposal reaches a decision by votes`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-vote', ...FAST });
    try {
      const ids = swarm.bootstrap();
      const p = swarm.propose(ids[0], 'TaskAssignment', new TextEncoder().encode('task 7 -> agent 2'));
      assert.ok(Number.isInteger(p) && p > 0);
      const first = swarm.proposalStatus(p);
      assert.equal(first, 'Open');
      let status = first;
      for (const voter of ids) {
        try {
          status = swarm.vote(p, voter, 'Approve', 'Resource allocation approved');
        } catch (e) {
          // Once decided, the proposal is closed to further votes.
          assert.ok(e instanceof OmegaSwarmError && e.kind === 'ProposalClosed', String(e));
          break;
        }
      }
      assert.notEqual(status, first, `votes moved the proposal on from ${first}`);
      assert.equal(swarm.proposalStatus(p), status);
      assert.equal(status, 'Accepted');
      // A second proposal rejected by every voter is decided the other way.
      const q = swarm.propose(ids[1], 'TaskAssignment');
      let qs = swarm.proposalStatus(q);
      for (const voter of ids) {
        try {
          qs = swarm.vote(q, voter, 'Reject', 'no');
        } catch (e) {
          assert.ok(e instanceof OmegaSwarmError && e.kind === 'ProposalClosed', String(e));
          break;
        }
      }
      assert.equal(qs, 'Rejected');
      assert.throws(() => swarm.vote(999_999, ids[0], 'Approve'), (e) => e instanceof OmegaSwarmError && e.kind === 'UnknownProposal');
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: memory regions: allocate, write, read, transfer ownership, free, gc`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-mem', memory: { totalSize: 64 * 1024, regionSize: 4096, eviction: 'LRU' }, ...FAST });
    try {
      assert.deepEqual(swarm.config.memory, { totalSize: 64 * 1024, regionSize: 4096, eviction: 'LRU' });
      const [a, b] = swarm.bootstrap();
      const region = swarm.memory.allocate(a, 4096);
      assert.ok(Number.isInteger(region) && region > 0);
      const data = new Uint8Array(100).map((_, i) => (i * 7) & 0xff);
      swarm.memory.write(region, data, 10);
      assert.deepEqual([...swarm.memory.read(region, 100, 10)], [...data]);
      assert.ok(swarm.memory.stats().utilization > 0);
      assert.ok(swarm.agent(a).memoryBytes >= 4096);
      swarm.memory.transfer(region, b);
      assert.equal(swarm.agent(a).memoryBytes, 0);
      assert.ok(swarm.agent(b).memoryBytes >= 4096);
      assert.deepEqual([...swarm.memory.read(region, 100, 10)], [...data], 'the bytes did not move');
      assert.throws(() => swarm.memory.write(region, new Uint8Array(10), 4090),
        (e) => e instanceof OmegaSwarmError && e.kind === 'OutOfBounds');
      // Floats go in as their bytes.
      swarm.memory.write(region, new Float32Array([1.25]), 0);
      assert.equal(decodeFloats(swarm.memory.read(region, 4))[0], 1.25);
      swarm.memory.free(region);
      assert.throws(() => swarm.memory.read(region, 1), (e) => e instanceof OmegaSwarmError && e.kind === 'UnknownRegion');
      assert.equal(typeof swarm.memory.gc(), 'number');
      assert.equal(swarm.metrics().memoryUtilization, 0);
      assert.throws(() => swarm.memory.allocate(a, 1024 * 1024), (e) => e instanceof OmegaSwarmError);
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: killing the leader: failure detected, a new leader of a later term, work goes on`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-kill', faultTolerance: true, ...FAST });
    try {
      const ids = swarm.bootstrap();
      await cycleUntil(swarm, () => swarm.leader().agent !== null, () => 'no leader');
      const old = swarm.leader();
      swarm.killAgent(old.agent);
      await cycleUntil(swarm, () => {
        const l = swarm.leader();
        // A later term's leader (the killed agent, once restarted, may stand and win again).
        return l.agent !== null && l.term > old.term;
      }, () => JSON.stringify({ old, now: swarm.leader(), agents: swarm.agents() }));
      const now = swarm.leader();
      assert.ok(now.term > old.term);
      // The killed agent came back (restarted) or was replaced.
      await cycleUntil(swarm, () => {
        const a = swarm.agent(old.agent);
        return a.restarts > 0 || a.replacedBy !== null;
      }, () => JSON.stringify(swarm.agent(old.agent)));
      // Work still gets done.
      const t = swarm.submit({ name: 'after', capability: 'checksum', payload: new Uint8Array([1]) });
      assert.equal(await swarm.runUntilIdle(10_000), true);
      assert.equal(swarm.result(t).status, 'Completed');
      assert.ok(swarm.agents().length >= ids.length);
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: JS agents: a throw fails the task with its message; calls back into the swarm are refused`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const swarm = omega.createSwarm({ name: 'js-fn', ...FAST });
    try {
      let reentry = null;
      swarm.registerAgent({ kind: 'generic', name: 'thrower', capabilities: ['boom'], fn: () => { throw new Error('kaboom'); } });
      swarm.registerAgent({
        kind: 'generic', name: 'reentrant', capabilities: ['reenter'],
        fn: () => {
          try {
            swarm.submit({ name: 'inner' });
          } catch (e) {
            reentry = e;
          }
          return new Uint8Array([9]);
        },
      });
      swarm.registerAgent({ kind: 'generic', name: 'bad-return', capabilities: ['bad'], fn: () => 42 });
      const boom = swarm.submit({ name: 'boom', capability: 'boom', maxRetries: 0 });
      const re = swarm.submit({ name: 're', capability: 'reenter' });
      const bad = swarm.submit({ name: 'bad', capability: 'bad', maxRetries: 0 });
      assert.equal(await swarm.runUntilIdle(10_000), true);
      const rb = swarm.result(boom);
      assert.equal(rb.status, 'Failed');
      assert.match(rb.error, /kaboom/);
      assert.equal(swarm.result(re).status, 'Completed');
      assert.deepEqual([...swarm.result(re).output], [9]);
      assert.ok(reentry instanceof Error && /inside an agent's function/.test(reentry.message), String(reentry));
      assert.equal(swarm.result(bad).status, 'Failed');
      assert.match(swarm.result(bad).error, /must return a Uint8Array/);
    } finally {
      swarm.close();
    }
  });

  test(`${variant}: bad arguments throw TypeError/RangeError with clear messages, are counted, and break nothing`, { skip, ...TIMEOUT }, async () => {
    const omega = await load(variant);
    const before = invalidCount(omega);
    const configs = [
      [42, TypeError, /createSwarm: config must be an object/],
      [{ name: 5 }, TypeError, /createSwarm: name must be a string/],
      [{ name: '' }, RangeError, /name must not be empty/],
      [{ maxAgents: '3' }, TypeError, /maxAgents must be a number/],
      [{ maxAgents: 0 }, RangeError, /maxAgents must be an integer in \[1, 65536\]/],
      [{ maxAgents: 1.5 }, RangeError, /maxAgents must be an integer/],
      [{ topology: 'Blob' }, RangeError, /topology must be 'Centralized', 'Mesh', 'Hierarchical', 'Ring' or 'Star'; got 'Blob'/],
      [{ topology: 3 }, TypeError, /topology must be a string/],
      [{ strategy: 'Random' }, RangeError, /strategy must be 'RoundRobin', 'LeastLoaded', 'LoadBalanced' or 'CapabilityBased'/],
      [{ faultTolerance: 'yes' }, TypeError, /faultTolerance must be a boolean/],
      [{ memory: 7 }, TypeError, /memory must be an object/],
      [{ memory: { eviction: 'MRU' } }, RangeError, /memory.eviction must be 'LRU', 'LFU', 'FIFO', 'TTL' or 'WTinyLFU'/],
      [{ memory: { totalSize: -1 } }, RangeError, /memory.totalSize must be an integer/],
      [{ heartbeatMs: 0 }, RangeError, /heartbeatMs must be an integer in \[1, 86400000\]/],
      [{ electionTimeoutMs: 100 }, TypeError, /electionTimeoutMs must be an array \[min, max\]/],
      [{ electionTimeoutMs: [200, 100] }, RangeError, /min < max/],
      [{ seed: -1 }, RangeError, /seed must be an integer/],
      [{ failureThreshold: 0 }, RangeError, /failureThreshold must be an integer in \[1, 1000\]/],
      // Integers the core's own validation refuses, with its reason.
      [{ memory: { totalSize: 1024, regionSize: 4096 } }, RangeError, /^createSwarm: memory\.totalSize must hold at least one region$/],
      [{ heartbeatMs: 10, electionTimeoutMs: [5, 8] }, RangeError, /^createSwarm: electionTimeoutMs\[0\] must exceed heartbeatMs/],
    ];
    let counted = 0;
    for (const [config, type, message] of configs) {
      assert.throws(() => omega.createSwarm(config), (e) => e.constructor === type && message.test(e.message),
        `${JSON.stringify(config)}: ${String(message)}`);
      counted++;
    }
    assert.equal(invalidCount(omega) - before, counted);

    const swarm = omega.createSwarm({ name: 'js-bad', ...FAST });
    try {
      const ids = swarm.bootstrap();
      const region = swarm.memory.allocate(ids[0], 64);
      const p = swarm.propose(ids[0], 'TaskAssignment');
      const calls = [
        [() => swarm.submit(null), TypeError, /submit: the task must be an object/],
        [() => swarm.submit({ name: 5 }), TypeError, /submit: name must be a string/],
        [() => swarm.submit({ name: '' }), RangeError, /submit: name must not be empty/],
        [() => swarm.submit({ name: 'x', payload: 'abc' }), TypeError, /submit: payload must be a Uint8Array/],
        [() => swarm.submit({ name: 'x', priority: 'urgent' }), RangeError, /priority must be 'critical', 'high', 'normal' or 'low'/],
        [() => swarm.submit({ name: 'x', priority: 1 }), TypeError, /priority must be/],
        [() => swarm.submit({ name: 'x', dependsOn: 3 }), TypeError, /dependsOn must be an array of task ids/],
        [() => swarm.submit({ name: 'x', dependsOn: [0] }), RangeError, /dependsOn\[0\] must be an integer in \[1, /],
        [() => swarm.submit({ name: 'x', dependsOn: ['1'] }), TypeError, /dependsOn\[0\] must be a number/],
        [() => swarm.submit({ name: 'x', timeoutMs: -5 }), RangeError, /timeoutMs must be a number in \(0, /],
        [() => swarm.submitDag('nope'), TypeError, /submitDag: layers must be an array of arrays/],
        [() => swarm.submitDag([[{ name: 'a', capability: 'checksum' }], [{ name: 'b', after: [4] }]]), RangeError, /after must be indices/],
        [() => swarm.registerAgent(null), TypeError, /registerAgent: the agent must be an object/],
        [() => swarm.registerAgent({ kind: 'robot', name: 'r' }), RangeError, /kind must be 'neural', 'quantum' or 'generic'/],
        [() => swarm.registerAgent({ kind: 'neural', name: 'n' }), TypeError, /inputs .* must be a number/],
        [() => swarm.registerAgent({ kind: 'neural', name: 'n', inputs: 0 }), RangeError, /inputs .* must be an integer in \[1, 65536\]/],
        [() => swarm.registerAgent({ kind: 'quantum', name: 'q', qubits: 21 }), RangeError, /qubits must be an integer in \[1, 20\]/],
        [() => swarm.registerAgent({ kind: 'generic', name: 'g' }), TypeError, /a generic agent needs fn, a function/],
        [() => swarm.registerAgent({ kind: 'generic', name: 'g', fn: () => 0, capabilities: [1] }), TypeError, /each capability must be a string/],
        [() => swarm.killAgent(-1), RangeError, /killAgent: id must be an integer in \[1, 4294967295\]/],
        [() => swarm.killAgent('1'), TypeError, /killAgent: id must be a number/],
        [() => swarm.cancel(1.5), RangeError, /cancel: id must be an integer/],
        [() => swarm.result(undefined), TypeError, /result: id must be a number/],
        [() => swarm.propose(ids[0], 'Coup'), RangeError, /propose: type must be/],
        [() => swarm.propose(ids[0], 'TaskAssignment', 'data'), TypeError, /propose: data must be a Uint8Array/],
        [() => swarm.vote(p, ids[1], 'Maybe'), RangeError, /vote: decision must be 'Approve', 'Reject' or 'Abstain'; got 'Maybe'/],
        [() => swarm.vote(p, ids[1], 'Approve', 7), TypeError, /vote: reason must be a string/],
        [() => swarm.memory.allocate(ids[0], 0), RangeError, /memory.allocate: size must be an integer in \[1, /],
        [() => swarm.memory.write(region, [1, 2]), TypeError, /memory.write: data must be a Uint8Array/],
        [() => swarm.memory.write(region, new Uint8Array(1), -1), RangeError, /memory.write: offset must be an integer/],
        [() => swarm.memory.read(region, 'all'), TypeError, /memory.read: length must be a number/],
        [() => swarm.memory.transfer(region, 0), RangeError, /memory.transfer: agentId must be an integer in \[1, /],
      ];
      let n = 0;
      for (const [call, type, message] of calls) {
        assert.throws(call, (e) => e.constructor === type && message.test(e.message), `${call}: ${String(message)}`);
        n++;
      }
      await assert.rejects(swarm.runUntilIdle('soon'), (e) => e.constructor === TypeError && /runUntilIdle: ms must be a number/.test(e.message));
      await assert.rejects(swarm.runUntilIdle(-1), (e) => e.constructor === RangeError && /runUntilIdle: ms must be a number >= 0/.test(e.message));
      n += 2;
      // submitDag's second layer was refused after its first layer went in: one good task.
      assert.equal(invalidCount(omega) - before, counted + n);
      // The swarm's own refusals are not bad arguments: not counted here.
      assert.throws(() => swarm.killAgent(4_000_000), (e) => e instanceof OmegaSwarmError && e.kind === 'UnknownAgent');
      assert.throws(() => swarm.submit({ name: 'x', capability: 'teleport' }), (e) => e instanceof OmegaSwarmError && e.kind === 'NoCapableAgent');
      assert.equal(invalidCount(omega) - before, counted + n);
      // Nothing broke: work still completes and nothing half-submitted is left.
      const t = swarm.submit({ name: 'fine', capability: 'checksum', payload: new Uint8Array([1, 2, 3]) });
      assert.equal(await swarm.runUntilIdle(10_000), true);
      assert.equal(swarm.result(t).status, 'Completed');
      assert.equal(swarm.agents().length, 4, 'no refused agent was registered');
    } finally {
      swarm.close();
    }
  });
}
