// The demo page's actor section: the seed's pipeline (omega.runPipeline) running in the
// browser, on the teams' threads in the threaded build and on this event loop without them.
// Every 100 ms it draws the latest telemetry frame as a graph: actors as nodes grouped by
// team (polls, CPU %, restarts), channels as edges coloured by fill (green, orange, red) and
// labelled with messages per second and fill; then, once every actor has stopped, the
// exactly-once verdict. Writes its numbers into demo (window.omegaDemo).
import { fmtNs, renderCells } from './format.mjs';

const RENDER_MS = 100;
const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 900;
const HEIGHT = 250;
const NODE_W = 170;
const NODE_H = 58;
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });

// Edge colours by fill, as the DOT export has them.
export function fillColor(percent) {
  if (percent >= 80) return '#f85149';
  if (percent >= 40) return '#d29922';
  return '#3fb950';
}

export function fmtRate(perSec) {
  if (!Number.isFinite(perSec)) return '–';
  if (perSec >= 1e9) return `${(perSec / 1e9).toFixed(2)}G/s`;
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)}M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}k/s`;
  return `${perSec.toFixed(0)}/s`;
}

function svg(tag, attrs = {}, text = undefined) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// Columns by data flow: an actor's depth is the longest channel path that reaches it; a
// team stands in the column of its shallowest actor, its actors stacked in it.
function layout(frame) {
  const depth = new Map(frame.actors.map((a) => [a.name, 0]));
  const edges = frame.channels.filter((c) => depth.has(c.from) && depth.has(c.to));
  for (let i = 0; i < frame.actors.length; i++) {
    for (const e of edges) depth.set(e.to, Math.max(depth.get(e.to), depth.get(e.from) + 1));
  }
  const teams = new Map();
  for (const a of frame.actors) {
    if (!teams.has(a.team)) teams.set(a.team, []);
    teams.get(a.team).push(a);
  }
  const ordered = [...teams.entries()]
    .map(([team, actors]) => ({ team, actors, column: Math.min(...actors.map((a) => depth.get(a.name))) }))
    .sort((x, y) => x.column - y.column || x.team.localeCompare(y.team));
  const step = WIDTH / ordered.length;
  const pos = new Map();
  const boxes = ordered.map((t, i) => {
    const cx = step * (i + 0.5);
    const gap = (HEIGHT - 30) / t.actors.length;
    t.actors.forEach((a, j) => pos.set(a.name, { x: cx, y: 30 + gap * (j + 0.5) }));
    return { ...t, cx, top: 22, bottom: HEIGHT - 4 };
  });
  return { pos, boxes, edges };
}

function drawGraph(el, frame, threaded) {
  const { pos, boxes, edges } = layout(frame);
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'actor-graph' });
  const defs = svg('defs');
  for (const color of ['#3fb950', '#d29922', '#f85149']) {
    const marker = svg('marker', { id: `arrow-${color.slice(1)}`, viewBox: '0 0 10 10', refX: 10, refY: 5,
      markerUnits: 'userSpaceOnUse', markerWidth: 10, markerHeight: 10, orient: 'auto' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
    defs.append(marker);
  }
  root.append(defs);
  for (const b of boxes) {
    const g = svg('g', { class: 'team' });
    g.append(svg('rect', { x: b.cx - NODE_W / 2 - 10, y: b.top, width: NODE_W + 20, height: b.bottom - b.top, rx: 8 }));
    const own = b.actors.every((a) => a.ownThread);
    g.append(svg('text', { x: b.cx, y: b.top - 6, 'text-anchor': 'middle', class: 'team-label' },
      `team ${b.team}${threaded ? (own ? ' (own thread)' : ' (shared thread)') : ' (event loop)'}`));
    root.append(g);
  }
  for (const c of edges) {
    const from = pos.get(c.from);
    const to = pos.get(c.to);
    const color = fillColor(c.fillPercent);
    // From the right side of the sender to the left side of the receiver.
    const x1 = from.x + NODE_W / 2;
    const x2 = to.x - NODE_W / 2;
    const mx = (x1 + x2) / 2;
    const g = svg('g', { class: 'edge', 'data-channel': c.name, 'data-rate': c.msgsPerSec, 'data-fill': c.fillPercent });
    g.append(svg('path', { d: `M${x1},${from.y} C${mx},${from.y} ${mx},${to.y} ${x2},${to.y}`, fill: 'none',
      stroke: color, 'stroke-width': 2 + Math.min(4, Math.log10(1 + c.msgsPerSec) / 2),
      'marker-end': `url(#arrow-${color.slice(1)})` }));
    const ly = (from.y + to.y) / 2 - 20;
    const label = svg('text', { x: mx, y: ly, 'text-anchor': 'middle', class: 'edge-label' });
    label.append(svg('tspan', { x: mx, dy: 0, class: 'edge-name' }, c.name),
      svg('tspan', { x: mx, dy: 13 }, `${fmtRate(c.msgsPerSec)} · ${c.fillPercent.toFixed(0)}%`));
    g.append(label);
    root.append(g);
  }
  for (const a of frame.actors) {
    const { x, y } = pos.get(a.name);
    const g = svg('g', { class: `node state-${a.state.toLowerCase()}`, 'data-actor': a.name });
    g.append(svg('rect', { x: x - NODE_W / 2, y: y - NODE_H / 2, width: NODE_W, height: NODE_H, rx: 6 }));
    g.append(svg('text', { x, y: y - 10, 'text-anchor': 'middle', class: 'node-name' }, `${a.name} · ${a.state}`));
    g.append(svg('text', { x, y: y + 6, 'text-anchor': 'middle' }, `${compact.format(a.polls)} polls · ${a.cpuPercent.toFixed(1)}% cpu`));
    g.append(svg('text', { x, y: y + 21, 'text-anchor': 'middle' }, `restarts ${a.restarts} · ${a.tier}`));
    root.append(g);
  }
  el.replaceChildren(root);
  return { nodes: frame.actors.length, edges: edges.length };
}

export function startActorsDemo(omega, demo) {
  const $ = (id) => document.getElementById(id);
  const threaded = omega.variant === 'threaded';
  const start = $('actors-start');
  const stop = $('actors-stop');
  const verdict = $('actors-verdict');
  let pipeline = null;
  let timer = null;
  let updates = 0;
  let peakRates = {};
  Object.assign(demo, { actorsRunning: false, actorsUpdates: 0, actorsVerdict: null, actorsExactlyOnce: null });

  const render = () => {
    if (!pipeline) return;
    const t = pipeline.telemetry();
    const drawn = drawGraph($('actors-graph'), t, threaded);
    $('actors-table').tBodies[0].replaceChildren(...t.actors.map((a) => {
      const tr = document.createElement('tr');
      for (const v of [a.name, a.team, a.ownThread ? 'own' : 'shared', a.state, a.tier, a.polls.toLocaleString(),
        `${a.cpuPercent.toFixed(1)}%`, fmtNs(a.cpuNs), String(a.restarts), a.wakes.toLocaleString()]) {
        const td = document.createElement('td');
        td.append(v);
        tr.append(td);
      }
      return tr;
    }));
    const r = pipeline.report();
    renderCells($('actors-report'), [['generated', r.generated.toLocaleString()], ['logged', r.logged.toLocaleString()],
      ['bursts', `${r.bursts.toLocaleString()} / ${pipeline.config.beats.toLocaleString()}`],
      ['worker restarts', String(r.workerRestarts)], ['frame', String(t.seq)],
      ['state', t.stopped ? 'stopped' : t.shuttingDown ? 'shutting down' : 'running']]);
    for (const c of t.channels) peakRates[c.name] = Math.max(peakRates[c.name] ?? 0, c.msgsPerSec);
    updates += 1;
    Object.assign(demo, {
      actorsUpdates: updates,
      actorsFrame: t.seq,
      actorsNodesDrawn: drawn.nodes,
      actorsEdgesDrawn: drawn.edges,
      actorsEdgeRates: Object.fromEntries(t.channels.map((c) => [c.name, c.msgsPerSec])),
      actorsPeakRates: { ...peakRates },
      actorsPolls: t.actors.reduce((sum, a) => sum + a.polls, 0),
      actorsLogged: r.logged,
    });
  };

  const finish = async (p) => {
    const report = await p.done;
    render();  // the final frame and counts
    clearInterval(timer);
    timer = null;
    const ok = report.exactlyOnce;
    verdict.textContent = ok
      ? `exactly once ✓ — ${report.logged.toLocaleString()} values logged of ${report.generated.toLocaleString()} generated, ` +
        `checksums equal, in order; ${fmtRate(report.msgsPerSec).replace('/s', '')} msgs/s over ${report.elapsedS.toFixed(2)} s`
      : `NOT exactly once ✗ — generated ${report.generated}, logged ${report.logged}, out of order ${report.outOfOrder}, ` +
        `checksums ${report.generatedChecksum} / ${report.loggedChecksum}`;
    verdict.className = ok ? 'verdict ok' : 'verdict bad';
    await p.close();  // its threads go back to the pool
    pipeline = null;
    Object.assign(demo, { actorsRunning: false, actorsVerdict: verdict.textContent, actorsExactlyOnce: ok,
      actorsReport: report });
    start.disabled = false;
    stop.disabled = true;
  };

  start.addEventListener('click', () => {
    if (pipeline) return;
    let p;
    try {
      p = omega.runPipeline({ rate: Number($('actors-rate').value), beats: Number($('actors-beats').value) });
    } catch (err) {
      verdict.textContent = err.message;  // a bad input: the refusal says which and why
      verdict.className = 'verdict bad';
      return;
    }
    pipeline = p;
    peakRates = {};
    start.disabled = true;
    stop.disabled = false;
    verdict.textContent = `running: ${p.config.beats.toLocaleString()} bursts of ${p.config.beatBurst} beats, one every ${p.config.rate} ms`;
    verdict.className = 'verdict';
    Object.assign(demo, { actorsRunning: true, actorsVerdict: null, actorsExactlyOnce: null, actorsStarted: (demo.actorsStarted ?? 0) + 1 });
    render();
    timer = setInterval(render, RENDER_MS);
    finish(p).catch((err) => console.error(err));
  });
  stop.addEventListener('click', () => pipeline?.requestShutdown());

  // What the page's Prometheus section shows of the running pipeline ('' when none).
  return { prometheus: () => (pipeline ? pipeline.toPrometheus() : '') };
}
