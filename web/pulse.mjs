// The demo page's Pulse section: CPU hogs and light tasks side by side on a system of their
// own (two nodes of one worker; the event loop without threads). Each light task sleeps 100 µs and reports how late it was
// polled after its deadline; the section shows those latencies' P50/P99 over a rolling
// window, the tiers of the live tasks and Pulse's counters moving, refreshed every 250 ms.
// The switch turns Pulse's interventions off and on: with it off, hogs stay on the node
// workers and light tasks wait behind their polls. Writes its numbers into demo
// (window.omegaDemo).
import { fmtNs, renderCells } from './format.mjs';

const RENDER_MS = 250;
const WINDOW = 500;       // light-task latencies kept for the percentiles
const LIGHT_SLEEP_US = 100;

export function startPulseDemo(omega, demo) {
  const $ = (id) => document.getElementById(id);
  // Without threads every poll runs on this event loop, the page's own included: one lighter
  // hog, and the Aggressive profile (a 500 µs poll budget and a 10% slow lane) keep the other
  // sections moving.
  const threaded = omega.variant === 'threaded';
  const profile = threaded ? 'balanced' : 'aggressive';
  const system = omega.createSystem({ nodes: 2, superNodes: 0, threads: [1, 1, 1, 1], queueCapacity: [256, 256], pulse: profile });
  const latencies = new Float64Array(WINDOW);  // µs, a ring
  let recorded = 0;
  let lightsCompleted = 0;
  let hogsCompleted = 0;
  const running = { hog: 0, light: 0 };
  if (!threaded) {
    $('pulse-hogs').value = '1';
    $('pulse-hog-ms').value = '1';
  }

  const onError = (err) => {
    if (err?.name !== 'NodeError') console.error(err);
  };
  // Keeps target() tasks of a kind in flight: each slot spawns its next task when the last
  // one finishes, and stops when the target drops below it.
  const fill = (kind, target, spawnOne, done) => {
    while (running[kind] < target()) {
      const slot = running[kind]++;
      const loop = () => {
        if (slot >= target()) {
          running[kind]--;
          return;
        }
        spawnOne().then((v) => {
          done(v);
          loop();
        }, (err) => {
          running[kind]--;
          onError(err);
        });
      };
      loop();
    }
  };
  const hogTarget = () => Number($('pulse-hogs').value);
  const lightTarget = () => Number($('pulse-lights').value);
  const refill = () => {
    fill('hog', hogTarget, () => system.spawn('hog', Number($('pulse-hog-ms').value), { priority: 'normal' }),
      () => { hogsCompleted += 1; });
    fill('light', lightTarget, () => system.spawn('light', LIGHT_SLEEP_US, { priority: 'normal' }), (us) => {
      latencies[recorded % WINDOW] = us;
      recorded += 1;
      lightsCompleted += 1;
    });
  };
  for (const id of ['pulse-hogs', 'pulse-lights']) $(id).addEventListener('change', refill);
  $('pulse-enabled').addEventListener('change', (e) => system.setPulseEnabled(e.target.checked));
  $('pulse-algorithm').addEventListener('change', (e) => system.setPulseAlgorithm(e.target.value));
  refill();

  const percentile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const render = () => {
    const recent = latencies.slice(0, Math.min(recorded, WINDOW)).sort();
    const p50 = percentile(recent, 0.5);
    const p99 = percentile(recent, 0.99);
    const s = system.pulseStats();
    renderCells($('pulse-light'), [['light tasks done', lightsCompleted.toLocaleString()],
      ['wake→poll p50', fmtNs(p50 * 1e3)], ['p99', fmtNs(p99 * 1e3)], ['max', fmtNs(recent[recent.length - 1] * 1e3)],
      ['hogs done', hogsCompleted.toLocaleString()]]);
    renderCells($('pulse-tiers'), [['monitor', String(s.tiers.monitor)], ['warn', String(s.tiers.warn)],
      ['yield', String(s.tiers.yield)], ['isolate', String(s.tiers.isolate)], ['live', String(s.live)],
      ['slow lane queued', String(s.slowLaneQueued)]]);
    renderCells($('pulse-counts'), [['spawned', s.spawned.toLocaleString()], ['promotions', s.promotions.toLocaleString()],
      ['demotions', s.demotions.toLocaleString()], ['warnings', s.warnings.toLocaleString()],
      ['isolated polls', s.isolatedPolls.toLocaleString()], ['watchdog flags', String(s.watchdogFlags)],
      ['rescues', String(s.rescues)], ['profile', profile], ['slow lane', `${s.slowLaneIsolation}, ${s.algorithm}`],
      ['pulse', s.enabled ? 'on' : 'off']]);
    const lane = s.workers.length - 2;
    $('pulse-workers').tBodies[0].replaceChildren(...s.workers.map((w) => {
      const tr = document.createElement('tr');
      const name = w.worker < lane ? `worker ${w.worker}` : w.worker === lane ? 'slow lane' : 'other threads';
      for (const v of [name, w.polls.toLocaleString(), w.violations.toLocaleString(), w.yields.toLocaleString(),
        w.slowPolls.toLocaleString(), fmtNs(w.cpuNs), fmtNs(w.pollP50Ns), fmtNs(w.pollP99Ns)]) {
        const td = document.createElement('td');
        td.append(v);
        tr.append(td);
      }
      return tr;
    }));
    demo.pulseUpdates = (demo.pulseUpdates ?? 0) + 1;
    Object.assign(demo, {
      pulseLightCompleted: lightsCompleted,
      pulseLightP99Us: p99,
      pulseHogsRunning: running.hog,
      pulseSpawned: s.spawned,
      pulsePromotions: s.promotions,
      pulseIsolatedPolls: s.isolatedPolls,
      pulseTiers: { ...s.tiers },
      pulseEnabled: s.enabled,
      pulseAlgorithm: s.algorithm,
      pulseTiersText: $('pulse-tiers').textContent,
    });
  };
  render();
  setInterval(render, RENDER_MS);
  return system;
}
