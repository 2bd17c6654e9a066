// The demo page's swarm section: the swarm orchestrator (omega.createSwarm) running in the
// page, the same C++ as natively. Its cycles run here, one per timer turn (or per animation
// frame), each short: tasks run inline in the cycle, heartbeats, elections and failure
// detection advance with the cycles, and rendering goes on between them. It shows the agents
// as tiles (status colour, load, restarts, the leader's badge with its term), a layered DAG of
// 60 tasks filling in as they finish (an SVG grid coloured by status), and live counters; the
// buttons run a DAG, kill a random live agent, or kill the leader (a new election follows).
// Works the same in both builds (the orchestrator needs no threads). Writes its numbers into
// demo (window.omegaDemo).
import { encodeCircuit, encodeMaxCut } from '/omega/index.mjs';
import { renderCells } from './format.mjs';

const RENDER_MS = 100;
const SVG_NS = 'http://www.w3.org/2000/svg';
const LAYERS = 6;
const WIDTH = 10;  // tasks per layer
const STATUSES = ['Pending', 'Ready', 'Running', 'Completed', 'Failed', 'Cancelled', 'TimedOut'];
const FINAL = new Set(['Completed', 'Failed', 'Cancelled', 'TimedOut']);
const LIVE = ['Idle', 'Busy', 'Degraded'];
// The swarm's Prometheus text (every component's metrics) is rebuilt at most this often.
const PROMETHEUS_MS = 1000;

function svg(tag, attrs = {}, text = undefined) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// Each layer does a different kind of work, so the tasks spread over every agent kind: neural
// inference, a GHZ circuit, MaxCut annealing, CRC-32C, the page's own JS agent, inference again.
function dagLayers(run) {
  const inference = (k, i) => ({
    name: `infer ${k}.${i}`, capability: 'neural_inference',
    payload: new Float32Array(128).map((_, j) => Math.sin(run + k + i * 0.1 + j * 0.01)),
  });
  const kinds = [
    inference,
    (k, i) => ({
      name: `ghz ${k}.${i}`, capability: 'quantum_simulation',
      payload: encodeCircuit({ qubits: 3 + (i % 3), shots: 64,
        gates: [{ kind: 'H', a: 0 }, ...Array.from({ length: 2 + (i % 3) }, (_, q) => ({ kind: 'CNOT', a: q, b: q + 1 }))] }),
    }),
    (k, i) => ({
      name: `maxcut ${k}.${i}`, capability: 'optimization',
      payload: encodeMaxCut({ vertices: 8, edges: Array.from({ length: 8 }, (_, v) => [v, (v + 1 + (i % 3)) % 8, 1 + (v % 2)]) }),
    }),
    (k, i) => ({ name: `crc ${k}.${i}`, capability: 'checksum', payload: new Uint8Array(256).map((_, j) => (j * (i + 1)) & 0xff) }),
    (k, i) => ({ name: `js ${k}.${i}`, capability: 'normalise', payload: new Float32Array(32).map((_, j) => j - i) }),
    inference,
  ];
  return Array.from({ length: LAYERS }, (_, k) => Array.from({ length: WIDTH }, (_, i) => ({
    ...kinds[k](k, i),
    priority: i === 0 ? 'high' : 'normal',
    ...(k > 0 ? { after: [i, (i + 1) % WIDTH] } : {}),
  })));
}

// The DAG as a grid: a column per layer, a row per task, edges from each task's parents.
function drawDag(el, ids, statuses) {
  const W = 900;
  const H = 300;
  const dx = W / LAYERS;
  const dy = (H - 20) / WIDTH;
  const pos = (k, i) => ({ x: dx * (k + 0.5), y: 10 + dy * (i + 0.5) });
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'swarm-dag' });
  for (let k = 1; k < LAYERS; k++) {
    for (let i = 0; i < WIDTH; i++) {
      for (const j of [i, (i + 1) % WIDTH]) {
        const a = pos(k - 1, j);
        const b = pos(k, i);
        root.append(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'dag-edge' }));
      }
    }
  }
  for (let k = 0; k < LAYERS; k++) {
    for (let i = 0; i < WIDTH; i++) {
      const { x, y } = pos(k, i);
      const status = statuses.get(ids[k][i]) ?? 'Pending';
      const g = svg('g', { class: `dag-node status-${status.toLowerCase()}`, 'data-task': ids[k][i], 'data-status': status });
      g.append(svg('circle', { cx: x, cy: y, r: 9 }));
      g.append(svg('title', {}, `task ${ids[k][i]}: ${status}`));
      root.append(g);
    }
  }
  el.replaceChildren(root);
}

function drawAgents(el, agents, leader) {
  el.replaceChildren(...agents.map((a) => {
    const tile = document.createElement('div');
    const isLeader = leader.agent === a.id;
    tile.className = `agent-tile status-${a.status.toLowerCase()}${isLeader ? ' leader' : ''}`;
    tile.dataset.agent = String(a.id);
    tile.dataset.status = a.status;
    const head = document.createElement('div');
    head.className = 'agent-name';
    head.textContent = `${a.name} · ${a.kind}`;
    if (isLeader) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = `leader · term ${leader.term}`;
      head.append(' ', badge);
    }
    const body = document.createElement('div');
    body.textContent = `${a.status} · load ${a.running} · done ${a.completed} · restarts ${a.restarts}` +
      (a.breaker !== 'Closed' ? ` · breaker ${a.breaker}` : '') + (a.replacedBy !== null ? ` · replaced by ${a.replacedBy}` : '');
    tile.append(head, body);
    return tile;
  }));
}

export function startSwarmDemo(omega, demo) {
  const $ = (id) => document.getElementById(id);
  const log = $('swarm-log');
  const swarm = omega.createSwarm({
    name: 'page', maxAgents: 16, topology: 'Mesh', faultTolerance: true, strategy: 'LoadBalanced',
    maxConcurrentTasks: 4, memory: { totalSize: 1 << 20, regionSize: 16 << 10, eviction: 'WTinyLFU' },
    // etcd's 100 ms heartbeat; an agent unheard for 5 of them (the page's event loop stalled
    // that long: nothing heartbeats between cycles) is declared failed and restarted.
    heartbeatMs: 100, failureThreshold: 5, electionTimeoutMs: [300, 600], seed: 7,
  });
  swarm.bootstrap();
  swarm.registerAgent({ kind: 'quantum', name: 'optimizer', qubits: 8 });
  // The page's own agent: a JS function, run inline by the cycles on this thread. Scales f32
  // values to unit length.
  swarm.registerAgent({
    kind: 'generic', name: 'js-normalise', capabilities: ['normalise'],
    fn: (bytes) => {
      const v = new Float32Array(bytes.slice().buffer);
      const norm = Math.hypot(...v) || 1;
      return v.map((x) => x / norm);
    },
  });

  let ids = null;  // the current DAG's ids, layer by layer
  let runs = 0;
  let kills = 0;
  let regions = [];  // pool regions holding the current DAG's outputs
  const stored = new Set();
  let cycles = 0;
  let updates = 0;
  const statuses = new Map();
  Object.assign(demo, { swarmReady: false, swarmRuns: 0, swarmKills: 0, swarmDag: null, swarmLeader: null });

  // A cycle per turn: timers, heartbeats, elections, dispatch; the tasks run inline.
  const pace = () => Number($('swarm-pace').value);
  let lastCycle = performance.now();
  let pause = { max: 0, windowMax: 0, windowStart: performance.now() };
  const step = () => {
    if (swarm.closed) return;
    const now = performance.now();
    // The longest pause between cycles over the last second: longer than heartbeatMs x
    // failureThreshold makes agents look failed (they heartbeat only in cycles).
    if (now - pause.windowStart > 1000) pause = { max: pause.windowMax, windowMax: 0, windowStart: now };
    pause.windowMax = Math.max(pause.windowMax, now - lastCycle);
    lastCycle = now;
    try {
      swarm.processCycle();
      cycles += 1;
    } catch (err) {
      log.textContent = err.message;
      log.className = 'verdict bad';
    }
    const ms = pace();
    if (ms === 0) requestAnimationFrame(step);
    else setTimeout(step, ms);
  };

  // Each finished task's output goes into a region its agent owns (evicted by W-TinyLFU when
  // the pool is full), so the pool's utilization follows the DAG.
  const keep = (id) => {
    const r = swarm.result(id);
    if (!r || r.status !== 'Completed' || r.agent === null || r.output.length === 0) return;
    try {
      const region = swarm.memory.allocate(r.agent, Math.min(r.output.length, 16 << 10));
      swarm.memory.write(region, r.output.subarray(0, 16 << 10));
      regions.push(region);
    } catch (err) {
      if (err.name !== 'OmegaSwarmError') throw err;  // the agent is gone, or its quota
    }
  };

  const render = () => {
    const leader = swarm.leader();
    const agents = swarm.agents();
    drawAgents($('swarm-agents'), agents, leader);
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    if (ids) {
      let changed = $('swarm-dag').childElementCount === 0;
      for (const id of ids.flat()) {
        // A finished task's status is final: only the others are asked again.
        const was = statuses.get(id);
        const s = FINAL.has(was) ? was : swarm.taskStatus(id);
        if (s !== was) changed = true;
        statuses.set(id, s);
        counts[s] += 1;
        if (s === 'Completed' && !stored.has(id)) {
          stored.add(id);
          keep(id);
        }
      }
      if (changed) drawDag($('swarm-dag'), ids, statuses);
    }
    const m = swarm.metrics();
    const c = swarm.coordinationStats();
    const live = agents.filter((a) => LIVE.includes(a.status)).length;
    renderCells($('swarm-stats'), [
      ['leader', leader.agent === null ? 'electing…' : `${agents.find((a) => a.id === leader.agent)?.name ?? leader.agent}`],
      // Between a leader's death and the next election there is no leader: the highest term reached shows.
      ['term', leader.agent === null ? `${c.terms} (no leader)` : String(leader.term)],
      ['elections won', String(c.leaderChanges)],
      ['agents live', `${live} / ${agents.length}`], ['tasks/s', m.throughput.toFixed(1)],
      ['completed', m.tasksCompleted.toLocaleString()], ['failed', String(m.tasksFailed)],
      ['cancelled', String(m.tasksCancelled)], ['pending', String(m.tasksPending)],
      ['memory', `${(m.memoryUtilization * 100).toFixed(1)}%`], ['cycles', cycles.toLocaleString()],
      ['longest pause', `${Math.max(pause.max, pause.windowMax).toFixed(0)} ms`],
    ]);
    renderCells($('swarm-dag-stats'), STATUSES.filter((s) => s !== 'TimedOut' || counts[s] > 0)
      .map((s) => [s.toLowerCase(), String(counts[s])]));
    updates += 1;
    const total = ids ? ids.flat().length : 0;
    const finished = counts.Completed + counts.Failed + counts.Cancelled + counts.TimedOut;
    if (ids && finished === total && demo.swarmDag && !demo.swarmDag.finished) {
      log.textContent = `DAG ${runs} finished: ${counts.Completed} of ${total} completed` +
        (counts.Completed === total ? ' ✓' : ` (${counts.Failed} failed, ${counts.Cancelled} cancelled)`);
      log.className = counts.Completed === total ? 'verdict ok' : 'verdict bad';
      $('swarm-run').disabled = false;
    }
    Object.assign(demo, {
      swarmReady: true,
      swarmUpdates: updates,
      swarmCycles: cycles,
      swarmPauseMs: Math.max(pause.max, pause.windowMax),
      swarmLeader: leader,
      swarmAgents: agents.map((a) => ({ id: a.id, name: a.name, kind: a.kind, status: a.status, restarts: a.restarts })),
      swarmLive: live,
      swarmMemoryUtilization: m.memoryUtilization,
      swarmDag: ids ? { total, finished: finished === total, counts, run: runs } : null,
      swarmRuns: runs,
      swarmKills: kills,
    });
  };

  $('swarm-run').addEventListener('click', () => {
    if (ids && !demo.swarmDag?.finished) return;
    for (const r of regions) {
      try {
        swarm.memory.free(r);
      } catch (err) {
        if (err.name !== 'OmegaSwarmError') throw err;  // evicted meanwhile
      }
    }
    regions = [];
    stored.clear();
    statuses.clear();
    runs += 1;
    try {
      ids = swarm.submitDag(dagLayers(runs));
    } catch (err) {
      log.textContent = err.message;
      log.className = 'verdict bad';
      return;
    }
    $('swarm-run').disabled = true;
    log.textContent = `DAG ${runs}: ${LAYERS} layers of ${WIDTH} tasks, each after two of the layer before`;
    log.className = 'verdict';
    render();
  });

  const kill = (id, what) => {
    if (id === null || id === undefined) {
      log.textContent = `no ${what} to kill`;
      return;
    }
    const name = swarm.agent(id)?.name ?? id;
    swarm.killAgent(id);
    kills += 1;
    log.textContent = `killed ${what} ${name} (agent ${id}): detection, restart and a new election follow`;
    log.className = 'verdict';
    demo.swarmLastKill = { agent: id, what, leader: swarm.leader() };
    render();
  };
  $('swarm-kill').addEventListener('click', () => {
    const live = swarm.agents().filter((a) => LIVE.includes(a.status));
    kill(live.length ? live[Math.floor(Math.random() * live.length)].id : null, 'agent');
  });
  $('swarm-kill-leader').addEventListener('click', () => kill(swarm.leader().agent, 'the leader'));

  step();
  render();
  setInterval(render, RENDER_MS);

  // What the page's Prometheus section shows of the swarm.
  let prometheus = { text: '', at: -Infinity };
  return {
    prometheus: () => {
      const now = performance.now();
      if (now - prometheus.at >= PROMETHEUS_MS) prometheus = { text: swarm.metricsPrometheus(), at: now };
      return prometheus.text;
    },
  };
}
