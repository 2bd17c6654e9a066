// OVP in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): a drone
// in the page (the threaded build when the page is cross-origin isolated, the single-threaded
// one otherwise) exchanges unicast, broadcast and reliable messages with a WASM drone in this
// Node process, through the fake gateway (support/fake-gateway.mjs, page from
// scripts/serve.mjs) and through the real omega-gateway (which also serves the page), when it
// is built. Refused handshakes and a gateway that closes the connection reject the page's
// Promises with clear errors; nothing else reaches the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';
import { startFakeGateway } from './support/fake-gateway.mjs';
import { findGateway, startOmegaGateway } from './support/omega-gateway.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const CHROMIUM = process.env.OMEGA_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const built = existsSync(path.join(packageDir, 'mt', 'omega.mjs')) && existsSync(path.join(packageDir, 'st', 'omega.mjs'));
const skip = (!existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`) || (!built && `the JS package is not built in ${packageDir}`);
const gatewayBinary = findGateway();

const text = (s) => new TextEncoder().encode(s);
const str = (u8) => new TextDecoder().decode(u8);

// Opens `origin` + a small same-origin document (the package's typings: no scripts of its
// own, the server's isolation headers) and creates drone `droneId` in it. `page.ovp(fn, arg)`
// runs fn(ep, arg) in the page; errors come back as {error, name}.
async function openPageDrone(origin, wsUrl, droneId) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (msg) => {
    // Chromium itself reports a refused WebSocket handshake on the console; the tests that
    // provoke one expect it.
    if ((msg.type() === 'error' || msg.type() === 'warning') && !/WebSocket connection to .* failed/.test(msg.text()) &&
        !/Failed to load resource: .* 404/.test(msg.text())) {  // the favicon; real 404s are caught below
      problems.push(`console.${msg.type()}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('response', (res) => {
    // Chromium asks for /favicon.ico on its own.
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  await page.goto(`${origin}/omega/index.d.ts`);
  const info = await page.evaluate(async ({ wsUrl, droneId }) => {
    const { loadOmega } = await import('/omega/index.mjs');
    const omega = await loadOmega();
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    window.drone = await system.ovp.init({ url: wsUrl, droneId, reliable: true });
    window.system = system;
    return { variant: omega.variant, isolated: globalThis.crossOriginIsolated };
  }, { wsUrl, droneId });
  const ovp = (fn, arg) => page.evaluate(async ({ src, arg }) => {
    try {
      // eslint-disable-next-line no-new-func
      return await new Function('ep', 'system', 'arg', `return (${src})(ep, system, arg);`)(window.drone, window.system, arg);
    } catch (e) {
      return { error: e.message, name: e.name };
    }
  }, { src: fn.toString(), arg });
  return { page, info, ovp, problems, close: () => browser.close() };
}

// The page's drone 7 and a Node drone 9 (threaded build) exchange unicast, broadcast and
// reliable messages in both directions.
async function exchange(pageDrone, nodeDrone) {
  // Node -> page, unicast on channel 3.
  await nodeDrone.emit([7], text('to the page'), 3);
  let got = await pageDrone.ovp(async (ep) => {
    const m = await ep.receive(5000);
    return { data: new TextDecoder().decode(m.data), source: m.sourceDrone, channel: m.channel };
  });
  assert.deepEqual(got, { data: 'to the page', source: 9, channel: 3 });
  // Page -> Node: 100 reliable unicasts, in order.
  const sent = await pageDrone.ovp(async (ep) => {
    const ps = [];
    for (let i = 0; i < 100; i++) ps.push(ep.emit([9], new TextEncoder().encode(`p${i}`), 1));
    return (await Promise.all(ps)).length;
  });
  assert.equal(sent, 100);
  for (let i = 0; i < 100; i++) {
    const m = await nodeDrone.receive(5000);
    assert.deepEqual([str(m.data), m.sourceDrone, m.channel], [`p${i}`, 7, 1]);
  }
  // Broadcast both ways.
  await pageDrone.ovp((ep) => ep.emit(null, new TextEncoder().encode('hello all'), 0));
  assert.equal(str((await nodeDrone.receive(5000)).data), 'hello all');
  await nodeDrone.emit(null, text('hi page'), 0);
  got = await pageDrone.ovp(async (ep) => new TextDecoder().decode((await ep.receive(5000)).data));
  assert.equal(got, 'hi page');
  // Nothing else is waiting on either side.
  assert.deepEqual(await pageDrone.ovp((ep) => ep.receive(100)), { error: 'TimedOut', name: 'TaskError' });
}

for (const isolate of [true, false]) {
  test(`page drone (${isolate ? 'threaded' : 'single-threaded'}) and a Node drone through the fake gateway`, { skip }, async () => {
    const gw = await startFakeGateway();
    const server = await startServer({ port: 0, isolate, packageDir });
    const { loadOmega } = await import(path.join(packageDir, 'index.mjs'));
    const omega = await loadOmega({ variant: 'threaded' });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    const pageDrone = await openPageDrone(server.url.replace(/\/$/, ''), gw.url, 7);
    try {
      assert.equal(pageDrone.info.variant, isolate ? 'threaded' : 'single-threaded');
      assert.equal(pageDrone.info.isolated, isolate);
      const nodeDrone = await system.ovp.init({ url: gw.url, droneId: 9, reliable: true });
      await exchange(pageDrone, nodeDrone);

      // A second page drone with a taken id is refused at the handshake.
      const refused = await pageDrone.ovp((ep, sys, url) => sys.ovp.init({ url, droneId: 9 }), gw.url);
      assert.equal(refused.name, 'TaskError');
      assert.match(refused.error, /could not connect to ws:\/\/127\.0\.0\.1:\d+\/ovp\?drone=9: connection refused, or the gateway rejected/);
      // Bad arguments in the page: TypeError/RangeError.
      assert.deepEqual(await pageDrone.ovp((ep) => ep.emit([9], 'text')),
        { error: 'emit: data must be a Uint8Array', name: 'TypeError' });
      assert.equal((await pageDrone.ovp((ep) => ep.emit([0], new Uint8Array(1)))).name, 'RangeError');
      // The gateway closes the page's connection: a pending receive rejects with the code.
      const pending = pageDrone.ovp((ep) => ep.receive());
      await gw.waitFor(() => gw.connected().includes(7), 'drone 7');
      gw.kick(7, 4001, 'maintenance');
      const closed = await pending;
      assert.match(closed.error, /OvpReceive: the OVP gateway connection ws:\/\/.*\?drone=7 closed \(close code 4001, reason "maintenance"\)/);
      const prom = await pageDrone.ovp((ep, sys) => sys.metricsPrometheus());
      assert.match(prom, /^omega_ovp_ws_disconnects_total 1$/m);
      assert.match(prom, /^omega_ovp_ws_connect_failures_total 1$/m);
      await nodeDrone.close();
      assert.deepEqual(pageDrone.problems, []);
    } finally {
      await pageDrone.close();
      await system.shutdown();
      await server.close();
      await gw.close();
    }
  });
}

test('page drone served by omega-gateway exchanges frames with a Node drone through it', {
  skip: skip || (!gatewayBinary && 'omega-gateway is not built (cmake --build --preset native-release --target omega-gateway)'),
}, async () => {
  const gw = await startOmegaGateway(gatewayBinary, { packageDir });
  const { loadOmega } = await import(path.join(packageDir, 'index.mjs'));
  const omega = await loadOmega({ variant: 'single-threaded' });
  const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
  let pageDrone;
  try {
    pageDrone = await openPageDrone(gw.url, gw.wsUrl, 7);
    assert.equal(pageDrone.info.variant, 'threaded');  // the gateway serves with COOP/COEP
    const nodeDrone = await system.ovp.init({ url: gw.wsUrl, droneId: 9, reliable: true });
    await exchange(pageDrone, nodeDrone);
    // The gateway refuses a second binding of drone 9 (409) and the page says so.
    const refused = await pageDrone.ovp((ep, sys, url) => sys.ovp.init({ url, droneId: 9 }), gw.wsUrl);
    assert.match(refused.error, /could not connect .*\?drone=9: .*rejected the WebSocket handshake/);
    const metrics = await gw.metrics();
    const bridged = Number(metrics.match(/^omega_gateway_frames_bridged_total\{path="ws_to_ws"\} (\d+)$/m)?.[1]);
    assert.ok(bridged >= 4, `ws_to_ws frames: ${bridged}\n${metrics}`);
    assert.match(metrics, /^omega_gateway_handshake_rejects_total\{reason="[a-z_]+"\} [1-9]\d*$/m);
    await nodeDrone.close();
    assert.deepEqual(pageDrone.problems, []);
  } finally {
    await pageDrone?.close();
    await system.shutdown();
    await gw.close();
  }
});
