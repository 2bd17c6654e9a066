// The live demo: loads Ultra Omega's WebAssembly module (threaded when the page is
// cross-origin isolated, single-threaded otherwise) and shows its clock and histograms
// filling up, 10 times a second, beside the CPU circulation, the nanosecond scheduler,
// Pulse (hogs beside light tasks), the actor pipeline and the swarm. window.omegaDemo exposes the same
// numbers to tests.
import { loadOmega } from '/omega/index.mjs';
import { fmtNs, renderCells } from './format.mjs';
import { startSchedulerDemo } from './scheduler.mjs';
import { startPulseDemo } from './pulse.mjs';
import { startActorsDemo } from './actors.mjs';
import { startSwarmDemo } from './swarm.mjs';

const $ = (id) => document.getElementById(id);
const RENDER_MS = 100;
const TIMER_MS = 4;  // Chromium clamps nested timers to >= 4 ms; ask for what can be delivered

const demo = { ready: false, error: null, updates: 0 };
window.omegaDemo = demo;

function renderStats(el, p) {
  renderCells(el, [['samples', p.count.toLocaleString()], ['p50', fmtNs(p.p50)], ['p90', fmtNs(p.p90)],
    ['p99', fmtNs(p.p99)], ['p99.9', fmtNs(p.p999)], ['max', fmtNs(p.max)], ['mean', fmtNs(p.mean)]]);
}

// Buckets are log-linear; draw them on a log-scaled x axis, one bar per non-empty bucket.
function drawBuckets(canvas, buckets) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (buckets.length === 0) return;
  const lo = Math.log10(Math.max(1, buckets[0][0]));
  const hi = Math.log10(Math.max(10, buckets[buckets.length - 1][1] + 1));
  const span = Math.max(1e-9, hi - lo);
  const peak = Math.max(...buckets.map((b) => b[2]));
  ctx.fillStyle = '#3fb950';
  for (const [lower, upper, count] of buckets) {
    const x0 = ((Math.log10(Math.max(1, lower)) - lo) / span) * (w - 2);
    const x1 = ((Math.log10(Math.max(1, upper + 1)) - lo) / span) * (w - 2);
    const bh = Math.max(1, (count / peak) * (h - 18));
    ctx.fillRect(x0, h - 14 - bh, Math.max(1, x1 - x0), bh);
  }
  ctx.fillStyle = '#8b949e';
  ctx.font = '11px monospace';
  ctx.fillText(fmtNs(buckets[0][0]), 2, h - 2);
  const right = fmtNs(buckets[buckets.length - 1][1]);
  ctx.fillText(right, w - ctx.measureText(right).width - 2, h - 2);
}

async function main() {
  const omega = await loadOmega();
  const build = omega.buildInfo();
  const clock = omega.clockInfo();
  const startNs = omega.nowNs();
  const loopHist = new omega.Histogram();
  const sampler = new omega.ParkSampler();
  const parking = sampler.start(1e6);  // false in the single-threaded build

  // Event-loop lateness: how much later than asked a 4 ms timer fires, on omega's clock.
  let expected = omega.nowNs() + TIMER_MS * 1e6;
  const tick = () => {
    const now = omega.nowNs();
    loopHist.record(Math.max(0, now - expected));
    expected = omega.nowNs() + TIMER_MS * 1e6;
    setTimeout(tick, TIMER_MS);
  };
  setTimeout(tick, TIMER_MS);

  // The CPU circulation, fed at a steady rate: at most 32 tasks of 20 us in flight.
  const system = omega.createSystem(build.variant === 'threaded'
    ? { nodes: 4, superNodes: 2, threads: [1, 2, 1, 4] }
    : { nodes: 4, superNodes: 2 });
  const circ = { submitted: 0, lastCompleted: 0, lastNs: omega.nowNs(), rate: 0 };
  const priorities = ['low', 'normal', 'high'];
  const feed = () => {
    while (system.pending < 32) {
      const i = circ.submitted++;
      system.submit('spin', 20_000, { priority: priorities[i % 3], cost: 1 + (i % 100) }).catch((err) => {
        if (err.name !== 'NodeError') console.error(err);  // backpressure shows as stats().maxedOut
      });
    }
    setTimeout(feed, 2);
  };
  feed();

  startSchedulerDemo(omega, demo);  // the nanosecond scheduler section renders itself
  startPulseDemo(omega, demo);      // and so does the Pulse section
  const actors = startActorsDemo(omega, demo);  // and the actor section, once started
  const swarm = startSwarmDemo(omega, demo);    // and the swarm section, its cycles on this event loop

  const renderCirculation = (now) => {
    const st = system.stats();
    if (now - circ.lastNs >= 5e8) {
      circ.rate = ((st.completed - circ.lastCompleted) * 1e9) / (now - circ.lastNs);
      circ.lastCompleted = st.completed;
      circ.lastNs = now;
    }
    renderCells($('circ-stats'), [['completed', st.completed.toLocaleString()],
      ['tasks/s', Math.round(circ.rate).toLocaleString()],
      ['wait p50', fmtNs(st.queueWait.p50)], ['wait p99', fmtNs(st.queueWait.p99)],
      ['run p50', fmtNs(st.runTime.p50)], ['run p99', fmtNs(st.runTime.p99)], ['refused', String(st.maxedOut)]]);
    $('nodes').tBodies[0].replaceChildren(...st.nodes.map((n, i) => {
      const tr = document.createElement('tr');
      const bar = document.createElement('div');
      bar.className = 'bar';
      const fill = document.createElement('div');
      fill.style.width = `${n.pressure}%`;
      bar.append(fill);
      for (const v of [String(i), n.super ? 'super' : 'regular', `${n.pressure}%`, bar, n.level, String(n.queued),
        build.variant === 'threaded' ? `${n.active} / ${n.desired}` : 'event loop']) {
        const td = document.createElement('td');
        td.append(v);
        tr.append(td);
      }
      return tr;
    }));
    return st;
  };

  $('clock-source').textContent = `${clock.source} (${clock.reason})`;
  $('clock-resolution').textContent = fmtNs(clock.resolutionNs);
  $('build').textContent = `${build.variant}, SIMD ${build.simd}, ${build.hardwareConcurrency} hardware threads`;
  const status = $('status');
  status.textContent = build.variant === 'threaded'
    ? 'threaded build (page is cross-origin isolated)'
    : 'single-threaded build (page is not cross-origin isolated: no SharedArrayBuffer)';
  status.className = 'status ok';
  if (!parking) $('park-stats').textContent = 'needs the threaded build: serve the page with COOP/COEP headers';

  const render = () => {
    const now = omega.nowNs();
    $('now').textContent = Math.round(now).toLocaleString('en-US');
    $('elapsed').textContent = fmtNs(now - startNs);
    const loop = loopHist.percentiles();
    renderStats($('loop-stats'), loop);
    drawBuckets($('loop-chart'), loopHist.buckets());
    let park = null;
    if (parking) {
      park = sampler.percentiles();
      renderStats($('park-stats'), park);
      drawBuckets($('park-chart'), sampler.buckets());
    }
    const snap = new omega.MetricsSnapshot();
    snap.addHistogram('omega_demo_timer_lateness_ns', 'Main-thread setTimeout lateness', { variant: build.variant }, loopHist);
    snap.addGauge('omega_demo_uptime_seconds', 'Seconds since the module loaded', {}, (now - startNs) / 1e9);
    $('prometheus').textContent = snap.toPrometheus() + omega.runtimeMetricsPrometheus() + system.metricsPrometheus() +
      actors.prometheus() + swarm.prometheus();
    snap.delete();
    const st = renderCirculation(now);
    demo.updates += 1;
    $('updates').textContent = String(demo.updates);
    Object.assign(demo, {
      nowNs: now,
      loopSamples: loop.count,
      parkSamples: park ? park.count : 0,
      parkP50: park ? park.p50 : null,
      circulationCompleted: st.completed,
      circulationNodes: st.nodes.length,
      circulationActiveThreads: st.nodes.reduce((sum, n) => sum + n.active, 0),
    });
  };
  Object.assign(demo, {
    variant: build.variant,
    simd: build.simd,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    parking,
  });
  render();
  setInterval(render, RENDER_MS);
  demo.ready = true;
}

main().catch((err) => {
  demo.error = String(err?.stack ?? err);
  const status = $('status');
  status.textContent = `failed to start: ${err?.message ?? err}`;
  status.className = 'status error';
  console.error(err);
});
