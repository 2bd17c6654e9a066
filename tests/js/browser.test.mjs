// The demo page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// served with COOP/COEP it must load the threaded build; served without them it must fall
// back to the single-threaded build. Either way its numbers move and the console is clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

const CHROMIUM = process.env.OMEGA_CHROMIUM ?? '/usr/bin/chromium';
// Headless as root on a machine without outside network: no sandbox, no background traffic.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

async function openDemo(isolate) {
  const server = await startServer({ port: 0, isolate });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  const close = async () => {
    await browser.close();
    await server.close();
  };
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => window.omegaDemo?.ready || window.omegaDemo?.error, null, { timeout: 30_000 });
  } catch (err) {
    await close();
    throw err;
  }
  return { page, problems, close };
}

const readDemo = (page) => page.evaluate(() => ({
  ...window.omegaDemo,
  nowText: document.getElementById('now').textContent,
  statsText: document.getElementById('loop-stats').textContent,
  prometheus: document.getElementById('prometheus').textContent,
}));

for (const isolate of [true, false]) {
  const name = isolate ? 'cross-origin isolated page loads the threaded build'
                       : 'page without COOP/COEP falls back to the single-threaded build';
  test(name, { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, async () => {
    const { page, problems, close } = await openDemo(isolate);
    try {
      const first = await readDemo(page);
      assert.equal(first.error, null, first.error ?? '');
      assert.equal(first.crossOriginIsolated, isolate);
      assert.equal(first.variant, isolate ? 'threaded' : 'single-threaded');
      assert.equal(first.simd, 'WASM');
      assert.equal(first.parking, isolate, 'the park sampler runs exactly when threads exist');

      await page.waitForTimeout(1500);
      const second = await readDemo(page);
      // At least 5 updates a second, and the numbers on the page move.
      assert.ok(second.updates - first.updates >= 7, `updates: ${first.updates} -> ${second.updates}`);
      assert.ok(second.nowNs > first.nowNs + 1e9, `clock: ${first.nowNs} -> ${second.nowNs}`);
      assert.notEqual(second.nowText, first.nowText);
      assert.ok(second.loopSamples > first.loopSamples + 100, `samples: ${first.loopSamples} -> ${second.loopSamples}`);
      assert.notEqual(second.statsText, first.statsText);
      assert.match(second.prometheus, /^omega_demo_timer_lateness_ns_count\{variant="[a-z-]+"\} \d+$/m);
      // The CPU circulation runs in both builds: on worker threads, or on the event loop.
      assert.equal(second.circulationNodes, 4);
      assert.ok(second.circulationCompleted > first.circulationCompleted + 100,
        `circulation: ${first.circulationCompleted} -> ${second.circulationCompleted}`);
      assert.match(second.prometheus, /^omega_node_completed_total\{kind="super",node="0"\} \d+$/m);
      // The nanosecond scheduler ticks from the event loop in both builds and its numbers move.
      assert.ok(second.schedulerTicks > first.schedulerTicks + 1000, `ticks: ${first.schedulerTicks} -> ${second.schedulerTicks}`);
      assert.ok(second.schedulerExecuted > first.schedulerExecuted + 1000,
        `scheduler: ${first.schedulerExecuted} -> ${second.schedulerExecuted}`);
      assert.ok(second.schedulerAvgTickNs > 0 && second.schedulerLatenessP99 >= 0);
      if (isolate) assert.ok(second.circulationActiveThreads >= 4, `active threads ${second.circulationActiveThreads}`);
      else assert.equal(second.circulationActiveThreads, 0);
      if (isolate) {
        // A pthread parked for 1 ms at a time for 1.5 s: hundreds of wake-ups recorded,
        // each no earlier than asked.
        assert.ok(second.parkSamples > first.parkSamples + 100, `park: ${first.parkSamples} -> ${second.parkSamples}`);
        assert.ok(second.parkP50 >= 0);
      }
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}

// The Pulse section: hogs and light tasks side by side; its numbers move every 250 ms, the
// hogs reach the slow lane, and the switch and the algorithm reach the system.
for (const isolate of [true, false]) {
  const name = `pulse section updates (${isolate ? 'threaded' : 'single-threaded'} build)`;
  test(name, { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, async () => {
    const { page, problems, close } = await openDemo(isolate);
    const readPulse = () => page.evaluate(() => ({
      ...window.omegaDemo,
      lightText: document.getElementById('pulse-light').textContent,
      workerRows: document.querySelectorAll('#pulse-workers tbody tr').length,
    }));
    try {
      const first = await readPulse();
      assert.equal(first.error, null, first.error ?? '');
      await page.waitForFunction(() => window.omegaDemo.pulseIsolatedPolls > 0, null, { timeout: 15_000, polling: 100 });
      await page.waitForTimeout(1500);
      const second = await readPulse();
      assert.ok(second.pulseUpdates - first.pulseUpdates >= 4, `pulse updates: ${first.pulseUpdates} -> ${second.pulseUpdates}`);
      assert.ok(second.pulseLightCompleted > first.pulseLightCompleted + 10,
        `light tasks: ${first.pulseLightCompleted} -> ${second.pulseLightCompleted}`);
      assert.ok(Number.isFinite(second.pulseLightP99Us) && second.pulseLightP99Us >= 0);
      assert.notEqual(second.lightText, first.lightText);
      assert.ok(second.pulseSpawned > first.pulseSpawned);
      assert.ok(second.pulsePromotions >= 1, `promotions ${second.pulsePromotions}`);
      assert.equal(second.pulseHogsRunning, isolate ? 2 : 1);
      assert.equal(second.pulseEnabled, true);
      // Two node workers (none without threads: the event loop polls), the slow lane, other threads.
      assert.equal(second.workerRows, isolate ? 4 : 2);
      assert.match(second.pulseTiersText, /monitor\d+warn\d+yield\d+isolate\d+/);

      await page.uncheck('#pulse-enabled');
      await page.selectOption('#pulse-algorithm', 'lottery');
      await page.waitForFunction(() => window.omegaDemo.pulseEnabled === false && window.omegaDemo.pulseAlgorithm === 'lottery',
        null, { timeout: 10_000, polling: 100 });
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}

// The actor section: start the seed's pipeline on the page (on the teams' threads, or on the
// event loop without them), see its graph drawn every 100 ms with messages moving on every
// edge, stop it, and see the exactly-once verdict.
for (const isolate of [true, false]) {
  const name = `actor section runs the pipeline and draws its graph (${isolate ? 'threaded' : 'single-threaded'} build)`;
  test(name, { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, async () => {
    const { page, problems, close } = await openDemo(isolate);
    const readGraph = () => page.evaluate(() => ({
      ...window.omegaDemo,
      nodes: [...document.querySelectorAll('#actors-graph g.node')].map((g) => g.dataset.actor),
      teams: document.querySelectorAll('#actors-graph g.team').length,
      edges: [...document.querySelectorAll('#actors-graph g.edge')].map((g) => ({
        channel: g.dataset.channel,
        rate: Number(g.dataset.rate),
        fill: Number(g.dataset.fill),
        stroke: g.querySelector('path').getAttribute('stroke'),
        label: g.querySelector('text').textContent,
      })),
      rows: document.querySelectorAll('#actors-table tbody tr').length,
      verdictText: document.getElementById('actors-verdict').textContent,
      stopDisabled: document.getElementById('actors-stop').disabled,
      startDisabled: document.getElementById('actors-start').disabled,
    }));
    try {
      const idle = await readGraph();
      assert.equal(idle.error, null, idle.error ?? '');
      assert.equal(idle.actorsRunning, false);
      assert.equal(idle.nodes.length, 0, 'nothing drawn before start');
      await page.fill('#actors-rate', '5');
      await page.fill('#actors-beats', '1000000');
      await page.click('#actors-start');
      // Every channel carries messages: three edges with non-zero rates.
      await page.waitForFunction(() => {
        const rates = Object.values(window.omegaDemo.actorsEdgeRates ?? {});
        return window.omegaDemo.actorsEdgesDrawn === 3 && rates.length === 3 && rates.every((r) => r > 0);
      }, null, { timeout: 20_000, polling: 100 });
      const first = await readGraph();
      assert.equal(first.actorsRunning, true);
      assert.equal(first.startDisabled, true);
      assert.equal(first.stopDisabled, false);
      assert.deepEqual([...first.nodes].sort(), ['generator', 'heartbeat', 'logger', 'worker']);
      assert.equal(first.teams, 3, 'generator and heartbeat share a team; worker and logger have one each');
      assert.equal(first.rows, 4);
      assert.equal(first.edges.length, 3);
      for (const e of first.edges) {
        assert.ok(e.rate > 0, JSON.stringify(e));
        assert.ok(['#3fb950', '#d29922', '#f85149'].includes(e.stroke), JSON.stringify(e));
        assert.match(e.label, new RegExp(`^${e.channel}[\\d.]+[kMG]?/s · \\d+%$`));  // name, then rate · fill
      }
      assert.match(first.verdictText, /^running/);

      await page.waitForTimeout(1000);
      const second = await readGraph();
      // Redrawn about every 100 ms, and the pipeline moves on.
      assert.ok(second.actorsUpdates - first.actorsUpdates >= 5, `updates: ${first.actorsUpdates} -> ${second.actorsUpdates}`);
      assert.ok(second.actorsLogged > first.actorsLogged, `logged: ${first.actorsLogged} -> ${second.actorsLogged}`);
      assert.ok(second.actorsPolls > first.actorsPolls);

      await page.click('#actors-stop');
      await page.waitForFunction(() => window.omegaDemo.actorsExactlyOnce !== null && !window.omegaDemo.actorsRunning,
        null, { timeout: 30_000, polling: 100 });
      const done = await readGraph();
      assert.equal(done.actorsExactlyOnce, true, done.verdictText);
      assert.match(done.verdictText, /^exactly once ✓/);
      assert.equal(done.actorsReport.finished, true);
      assert.ok(done.actorsReport.logged > 0 && done.actorsReport.logged === done.actorsReport.generated);
      assert.equal(done.startDisabled, false, 'start again once it has stopped');
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}

// The swarm section: the orchestrator runs in the page (its cycles on the event loop, in both
// builds). A leader is elected and wears the badge; "run DAG" fills the 60-node grid until
// every task completed; "kill the leader" brings a new leader of a later term.
for (const isolate of [true, false]) {
  const name = `swarm section runs a DAG to completion and re-elects a killed leader (${isolate ? 'threaded' : 'single-threaded'} build)`;
  test(name, { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, async () => {
    const { page, problems, close } = await openDemo(isolate);
    const readSwarm = () => page.evaluate(() => ({
      ...window.omegaDemo,
      tiles: [...document.querySelectorAll('#swarm-agents .agent-tile')].map((t) => ({
        agent: Number(t.dataset.agent), status: t.dataset.status, leader: t.classList.contains('leader'),
        badge: t.querySelector('.badge')?.textContent ?? null,
      })),
      nodes: [...document.querySelectorAll('#swarm-dag g.dag-node')].map((g) => ({
        status: g.dataset.status, fill: getComputedStyle(g.querySelector('circle')).fill,
      })),
      edges: document.querySelectorAll('#swarm-dag line.dag-edge').length,
      logText: document.getElementById('swarm-log').textContent,
      runDisabled: document.getElementById('swarm-run').disabled,
      statsText: document.getElementById('swarm-stats').textContent,
    }));
    try {
      await page.waitForFunction(() => window.omegaDemo.swarmReady && window.omegaDemo.swarmLeader?.agent != null,
        null, { timeout: 20_000, polling: 100 });
      const idle = await readSwarm();
      assert.equal(idle.error, null, idle.error ?? '');
      assert.equal(idle.tiles.length, 6);
      assert.equal(idle.nodes.length, 0, 'no DAG drawn before "run DAG"');
      const leaderTiles = idle.tiles.filter((t) => t.leader);
      assert.equal(leaderTiles.length, 1, JSON.stringify(idle.tiles));
      assert.equal(leaderTiles[0].agent, idle.swarmLeader.agent);
      assert.equal(leaderTiles[0].badge, `leader · term ${idle.swarmLeader.term}`);

      await page.click('#swarm-run');
      // The grid fills in over several renders, not all at once: some completed while others are not yet.
      await page.waitForFunction(() => {
        const d = window.omegaDemo.swarmDag;
        return d && d.counts.Completed > 0 && d.counts.Completed < d.total;
      }, null, { timeout: 20_000, polling: 20 });
      await page.waitForFunction(() => window.omegaDemo.swarmDag?.finished, null, { timeout: 30_000, polling: 100 });
      const done = await readSwarm();
      assert.equal(done.swarmDag.total, 60);
      assert.equal(done.swarmDag.counts.Completed, 60, JSON.stringify(done.swarmDag));
      assert.equal(done.nodes.length, 60);
      assert.equal(done.edges, 100);
      assert.ok(done.nodes.every((n) => n.status === 'Completed'));
      assert.equal(new Set(done.nodes.map((n) => n.fill)).size, 1, 'one colour for completed');
      assert.match(done.logText, /^DAG 1 finished: 60 of 60 completed ✓/);
      assert.equal(done.runDisabled, false);
      assert.ok(done.swarmMemoryUtilization > 0, 'outputs are kept in the pool');

      const old = done.swarmLeader;
      await page.click('#swarm-kill-leader');
      await page.waitForFunction((o) => {
        const l = window.omegaDemo.swarmLeader;
        return l && l.agent != null && l.term > o.term;  // the restarted agent may win again
      }, old, { timeout: 20_000, polling: 100 });
      await page.waitForTimeout(2 * 100);  // the tiles are redrawn every 100 ms
      const after = await readSwarm();
      assert.equal(after.swarmKills, 1);
      assert.ok(after.swarmLeader.term > old.term);
      const badges = after.tiles.filter((t) => t.leader);
      assert.equal(badges.length, 1);
      assert.equal(badges[0].agent, after.swarmLeader.agent);
      assert.equal(badges[0].badge, `leader · term ${after.swarmLeader.term}`);
      assert.ok(after.swarmAgents.find((a) => a.id === old.agent).restarts > 0 ||
                after.swarmAgents.length > done.swarmAgents.length, 'the killed leader was restarted or replaced');

      // A second DAG after the kill still completes.
      await page.click('#swarm-run');
      await page.waitForFunction(() => window.omegaDemo.swarmDag?.run === 2 && window.omegaDemo.swarmDag.finished,
        null, { timeout: 30_000, polling: 100 });
      const again = await readSwarm();
      assert.equal(again.swarmDag.counts.Completed, 60, JSON.stringify(again.swarmDag));
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });
}
