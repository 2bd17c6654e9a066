// OVP from JavaScript in Node: WASM drones (both builds) connect to a fake gateway (the
// `ws` package speaking omega-gateway's wire rules, support/fake-gateway.mjs) and exchange
// unicast, broadcast and reliable messages; refused handshakes, a gateway that closes
// mid-stream, malformed messages from the server and bad JS arguments each give a clear
// error and a counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsClient } from 'ws';
import { startFakeGateway } from './support/fake-gateway.mjs';
import { findGateway, startOmegaGateway } from './support/omega-gateway.mjs';
import { ovpFrame } from './support/ovp-frame.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const packageDir = process.env.OMEGA_JS_PACKAGE_DIR ?? path.join(repoRoot, 'build', 'omega-js');
const { loadOmega: load, OmegaTaskError } = await import(path.join(packageDir, 'index.mjs'));
// One module per build for the whole file (each threaded one starts 32 workers); every test
// makes its own system, and with it its own transport and counters.
const modules = new Map();
const loadOmega = async ({ variant }) => {
  if (!modules.has(variant)) modules.set(variant, await load({ variant }));
  return modules.get(variant);
};

const bytes = (...xs) => new Uint8Array(xs);
const text = (s) => new TextEncoder().encode(s);
const str = (u8) => new TextDecoder().decode(u8);

// One series' value from Prometheus text: `name` with no labels, or the series of `name`
// whose labels include each of `labels` ('drone="7"', 'reason="TooShort"'); else undefined.
function metric(prom, name, ...labels) {
  const line = prom.split('\n').find((l) => (labels.length === 0 ? l.startsWith(`${name} `)
    : l.startsWith(`${name}{`) && labels.every((x) => l.includes(x))));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const gatewayBinary = findGateway();

// A port nothing listens on: bound, then closed.
async function deadPort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function rejectsWith(promise, Type, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Type, `expected ${Type.name}, got ${e?.name}: ${e?.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

for (const variant of ['threaded', 'single-threaded']) {
  const built = existsSync(path.join(packageDir, variant === 'threaded' ? 'mt' : 'st', 'omega.mjs'));
  const skip = !built && `the ${variant} build is not in ${packageDir}`;

  test(`${variant}: two drones exchange unicast, broadcast and batched messages through the gateway`, { skip }, async () => {
    const gw = await startFakeGateway();
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    try {
      const [a, b, c] = await Promise.all([
        system.ovp.init({ url: gw.url, droneId: 7 }),
        system.ovp.init({ url: gw.url, droneId: 9 }),
        system.ovp.init({ url: gw.url, droneId: 11 }),
      ]);
      assert.deepEqual(gw.connected(), [7, 9, 11]);
      assert.equal(a.droneId, 7);

      // Unicast: only the addressed drone gets it, with its source and channel.
      assert.equal(await a.emit([9], text('to nine'), 3), 7);
      const m = await b.receive(5000);
      assert.equal(str(m.data), 'to nine');
      assert.equal(m.sourceDrone, 7);
      assert.equal(m.channel, 3);
      await rejectsWith(c.receive(100), OmegaTaskError, /^TimedOut$/);

      // Broadcast (null): every other drone, not the sender.
      await b.emit(null, text('all'), 0);
      for (const ep of [a, c]) {
        const got = await ep.receive(5000);
        assert.deepEqual([str(got.data), got.sourceDrone, got.channel], ['all', 9, 0]);
      }
      await rejectsWith(b.receive(50), OmegaTaskError, /^TimedOut$/);

      // Several targets in one emit; then 300 emits in one JS task share frames (BATCH).
      await a.emit([9, 11], text('both'), 1);
      assert.equal(str((await b.receive(5000)).data), 'both');
      assert.equal(str((await c.receive(5000)).data), 'both');
      const framesBefore = gw.received.length;
      const sent = await Promise.all(Array.from({ length: 300 }, (_, i) => a.emit([9], text(`m${i}`), 2)));
      assert.equal(sent.length, 300);
      for (let i = 0; i < 300; i++) {
        const got = await b.receive(5000);
        assert.equal(str(got.data), `m${i}`);  // best effort over one WebSocket: in order, nothing lost
      }
      const frames = gw.received.length - framesBefore;
      assert.ok(frames >= 1 && frames < 300 / 10, `300 small messages took ${frames} frames`);

      const prom = system.metricsPrometheus();
      assert.ok(metric(prom, 'omega_ovp_ws_connects_total') === 3);
      assert.ok(metric(prom, 'omega_ovp_ws_messages_sent_total') >= frames);
      assert.ok(metric(prom, 'omega_ovp_batches_sent_total', 'drone="7"') >= 1, prom);
      // Per endpoint, labelled like the native transport's: one message per target.
      assert.equal(metric(prom, 'omega_ovp_messages_sent_total', 'drone="7"', `interface="${gw.url}"`), 1 + 2 + 300);
      assert.equal(metric(prom, 'omega_ovp_ws_malformed_messages_total'), 0);
      await Promise.all([a.close(), b.close(), c.close()]);
      assert.equal(metric(system.metricsPrometheus(), 'omega_io_open_sockets'), 0);
    } finally {
      await system.shutdown();
      await gw.close();
    }
  });

  test(`${variant}: reliable messages arrive exactly once and in order although the gateway loses frames`, { skip }, async () => {
    let n = 0;
    let lossy = true;
    // Loses every 5th frame from drone 7 (data) and every 7th from drone 9 (acks).
    const gw = await startFakeGateway({ drop: (_, from) => lossy && (++n % (from === 7 ? 5 : 7)) === 0 });
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    try {
      const a = await system.ovp.init({ url: gw.url, droneId: 7, reliable: true });
      const b = await system.ovp.init({ url: gw.url, droneId: 9, reliable: true });
      const total = 200;
      for (let i = 0; i < total; i++) {
        await a.emit([9], text(`r${i}`), 4);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 1));  // several flushes, not one
      }
      for (let i = 0; i < total; i++) {
        const got = await b.receive(10_000).catch((e) => { throw new Error(`message r${i} of ${total}: ${e.message}`); });
        assert.equal(str(got.data), `r${i}`);
        assert.equal(got.sourceDrone, 7);
        assert.equal(got.channel, 4);
      }
      await rejectsWith(b.receive(300), OmegaTaskError, /^TimedOut$/);  // and no duplicates
      assert.ok(gw.stats.dropped > 0);
      const prom = system.metricsPrometheus();
      assert.ok(metric(prom, 'omega_ovp_reliable_retransmissions_total', 'drone="7"') > 0, prom);

      // Closing right after 300 emits (most still queued behind the 64-message window): the
      // emits were accepted, so the closed endpoint keeps sending until they are acknowledged.
      // Without loss here: the drain is bounded at 2 s, and the fixed loss pattern above can
      // hit a batch's retransmissions again and again (each timeout doubles the RTO).
      lossy = false;
      const burst = await Promise.all(Array.from({ length: 300 }, (_, i) => a.emit([9], text(`c${i}`), 5)));
      assert.equal(burst.length, 300);
      await a.close();
      await rejectsWith(a.receive(), OmegaTaskError, /endpoint closed/);
      for (let i = 0; i < 300; i++) {
        const got = await b.receive(10_000).catch((e) => { throw new Error(`message c${i} of 300, after the close: ${e.message}`); });
        assert.equal(str(got.data), `c${i}`);
      }
      await gw.waitFor(() => !gw.connected().includes(7), 'drone 7 to leave once drained');
      await b.close();
    } finally {
      await system.shutdown();
      await gw.close();
    }
  });

  test(`${variant}: bad URLs, refused connections and rejected handshakes fail init clearly`, { skip }, async () => {
    const gw = await startFakeGateway({ refuse: new Set([13]) });
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    try {
      const first = await system.ovp.init({ url: gw.url, droneId: 7 });
      const cases = [
        [{ url: 'http://127.0.0.1/ovp', droneId: 8 }, /not a usable gateway URL: the scheme must be ws:\/\/ or wss:\/\//],
        [{ url: 'not a url', droneId: 8 }, /not a usable gateway URL: not a valid URL/],
        [{ url: `${gw.url}#frag`, droneId: 8 }, /may not carry a fragment/],
        [{ url: `${gw.url}?drone=3`, droneId: 8 }, /already has a drone or groups parameter/],
        [{ url: `ws://127.0.0.1:${await deadPort()}/ovp`, droneId: 8 }, /could not connect to ws:\/\/127\.0\.0\.1:\d+\/ovp\?drone=8: connection refused/],
        [{ url: gw.url, droneId: 7 }, /could not connect .*\?drone=7: .*rejected the WebSocket handshake/],  // id taken (409)
        [{ url: gw.url, droneId: 13 }, /could not connect .*\?drone=13: .*rejected the WebSocket handshake/],  // refused (403)
        [{ url: gw.url.replace('/ovp', '/elsewhere'), droneId: 8 }, /could not connect/],  // 404
      ];
      for (const [options, pattern] of cases) {
        await rejectsWith(system.ovp.init(options), OmegaTaskError, pattern);
      }
      // The first connection is untouched, and the failures are counted.
      await first.emit(null, bytes(1), 0);
      const prom = system.metricsPrometheus();
      assert.equal(metric(prom, 'omega_ovp_ws_connect_failures_total'), 4);
      assert.equal(metric(prom, 'omega_io_open_sockets'), 1);
      assert.equal(gw.stats.refused, 3);
      await first.close();
    } finally {
      await system.shutdown();
      await gw.close();
    }
  });

  test(`${variant}: a gateway that closes mid-stream fails what is pending and what comes after`, { skip }, async () => {
    const gw = await startFakeGateway();
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    try {
      const a = await system.ovp.init({ url: gw.url, droneId: 7 });
      const b = await system.ovp.init({ url: gw.url, droneId: 9 });
      await a.emit([9], text('before'), 0);
      const pending = [b.receive(), b.receive(), b.receive(10_000)];
      assert.equal(str((await pending[0]).data), 'before');  // queued messages are still delivered
      const closed = pending.slice(1).map((p) => rejectsWith(p, OmegaTaskError,
        /^ExecutionFailed: OvpReceive: the OVP gateway connection ws:\/\/.*\?drone=9 closed \(close code 4001, reason "maintenance"\)/));
      gw.kick(9, 4001, 'maintenance');
      await Promise.all(closed);
      await rejectsWith(b.emit([7], bytes(1)), OmegaTaskError, /OvpEmit: the OVP gateway connection .* closed \(close code 4001/);
      await b.close();  // closing a dead endpoint is fine

      // Cut without a close frame: 1006.
      const r = a.receive();
      gw.cut(7);
      await rejectsWith(r, OmegaTaskError, /closed \(close code 1006, abnormal: no close frame\)/);
      await a.close();
      const prom = system.metricsPrometheus();
      assert.equal(metric(prom, 'omega_ovp_ws_disconnects_total'), 2);
      assert.equal(metric(prom, 'omega_io_open_sockets'), 0);
      // A closed endpoint's later calls fail in JS without reaching the transport.
      await rejectsWith(a.receive(), OmegaTaskError, /endpoint closed/);
    } finally {
      await system.shutdown();
      await gw.close();
    }
  });

  test(`${variant}: malformed messages from the server are counted and dropped`, { skip }, async () => {
    const gw = await startFakeGateway();
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    try {
      const b = await system.ovp.init({ url: gw.url, droneId: 9 });
      await gw.waitFor(() => gw.connected().includes(9), 'drone 9');
      const good = ovpFrame({ source: 5, destination: 9, channel: 6, payload: text('valid') });
      const badCrc = Uint8Array.from(good);
      badCrc[34] ^= 0x01;  // one bit of the payload
      const wrongVersion = Uint8Array.from(good);
      wrongVersion[0] = 2;
      gw.sendRaw(9, 'a text message');
      gw.sendRaw(9, bytes(1, 2, 3));  // shorter than a header
      gw.sendRaw(9, badCrc);
      gw.sendRaw(9, wrongVersion);
      gw.sendRaw(9, new Uint8Array(0));
      gw.sendRaw(9, ovpFrame({ source: 5, destination: 10, payload: text('not mine') }));
      gw.sendRaw(9, good);
      const got = await b.receive(5000);  // only the valid frame comes through
      assert.deepEqual([str(got.data), got.sourceDrone, got.channel], ['valid', 5, 6]);
      await rejectsWith(b.receive(100), OmegaTaskError, /^TimedOut$/);
      const prom = system.metricsPrometheus();
      assert.equal(metric(prom, 'omega_ovp_ws_messages_received_total'), 7);
      assert.equal(metric(prom, 'omega_ovp_ws_text_messages_total'), 1);
      assert.equal(metric(prom, "omega_ovp_ws_malformed_messages_total"), 6, prom.split("\n").filter((l) => /ovp_ws|rejected/.test(l)).join("\n"));
      const rejected = (reason) => metric(prom, 'omega_ovp_frames_rejected_total', 'drone="9"', `reason="${reason}"`);
      assert.equal(rejected('TooShort'), 2);
      assert.equal(rejected('CrcMismatch'), 1);
      assert.equal(rejected('BadVersion'), 1);
      assert.equal(rejected('NotForMe'), 1);
      await b.close();
    } finally {
      await system.shutdown();
      await gw.close();
    }
  });

  test(`${variant}: bad JS arguments get TypeError/RangeError and are counted`, { skip }, async () => {
    const gw = await startFakeGateway();
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    const invalid = () => JSON.parse(omega.runtimeMetricsJson()).metrics
      .find((m) => m.name === 'omega_js_invalid_arguments_total').series[0].value;
    try {
      const before = invalid();
      const initCases = [
        [undefined, TypeError, /options must be an object/],
        [null, TypeError, /options must be an object/],
        ['ws://x', TypeError, /options must be an object/],
        [{ droneId: 7 }, TypeError, /url must be a non-empty string/],
        [{ url: '', droneId: 7 }, TypeError, /url must be a non-empty string/],
        [{ url: gw.url }, TypeError, /droneId must be a number/],
        [{ url: gw.url, droneId: '7' }, TypeError, /droneId must be a number/],
        [{ url: gw.url, droneId: 0 }, RangeError, /droneId must be an integer in \[1, 4294967294\]/],
        [{ url: gw.url, droneId: 2 ** 32 - 1 }, RangeError, /droneId/],
        [{ url: gw.url, droneId: 1.5 }, RangeError, /droneId/],
        [{ url: gw.url, droneId: 7, reliable: 'yes' }, TypeError, /reliable must be a boolean/],
        [{ url: gw.url, droneId: 7, groups: 5 }, TypeError, /groups must be an array/],
        [{ url: gw.url, droneId: 7, groups: [0] }, RangeError, /group ids/],
        [{ url: gw.url, droneId: 7, timeoutMs: -1 }, RangeError, /timeoutMs/],
        [{ url: gw.url, droneId: 7, timeoutMs: 'soon' }, TypeError, /timeoutMs must be a number/],
      ];
      for (const [options, Type, pattern] of initCases) await rejectsWith(system.ovp.init(options), Type, pattern);
      const a = await system.ovp.init({ url: gw.url, droneId: 7 });
      const emitCases = [
        [[[9], 'text', 0], TypeError, /data must be a Uint8Array/],
        [[[9], [1, 2], 0], TypeError, /data must be a Uint8Array/],
        [[[9], new Uint8Array(1469), 0], RangeError, /1469 bytes; at most 1468/],
        [[[], bytes(1), 0], RangeError, /targets is empty/],
        [[[0], bytes(1), 0], RangeError, /target drone ids/],
        [[['9'], bytes(1), 0], TypeError, /targets must hold numbers/],
        [[9, bytes(1), 0], TypeError, /targets must be null .* or an array/],
        [[undefined, bytes(1), 0], TypeError, /targets must be null/],
        [[[9], bytes(1), 65536], RangeError, /channel must be an integer in \[0, 65535\]/],
        [[[9], bytes(1), '1'], TypeError, /channel must be a number/],
      ];
      for (const [args, Type, pattern] of emitCases) await rejectsWith(a.emit(...args), Type, pattern);
      await rejectsWith(a.receive(-5), RangeError, /timeoutMs must lie in/);
      await rejectsWith(a.receive('1'), TypeError, /timeoutMs must be a number/);
      assert.equal(invalid() - before, initCases.length - 3 + emitCases.length + 2);  // 3 refused by the JS wrapper itself
      // The endpoint still works after all that.
      assert.equal(await a.emit([7], bytes(4, 2), 0), 2);
      assert.deepEqual([...(await a.receive(5000)).data], [4, 2]);  // to itself: looped back
      await a.close();
    } finally {
      await system.shutdown();
      await gw.close();
    }
  });

  test(`${variant}: close and shutdown resolve pending receives; init times out against a silent server`, { skip }, async () => {
    const gw = await startFakeGateway();
    // Accepts TCP but never answers the upgrade.
    const held = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    const omega = await loadOmega({ variant });
    const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
    try {
      await rejectsWith(system.ovp.init({ url: `ws://127.0.0.1:${silent.address().port}/ovp`, droneId: 8, timeoutMs: 200 }),
        OmegaTaskError, /^TimedOut$/);
      const a = await system.ovp.init({ url: gw.url, droneId: 7 });
      const r = rejectsWith(a.receive(), OmegaTaskError, /OvpReceive: socket closed/);
      await a.close();
      await r;
      assert.equal(a.closed, true);
      const b = await system.ovp.init({ url: gw.url, droneId: 9 });
      const r2 = rejectsWith(b.receive(), OmegaTaskError, /shutting down/);
      await system.shutdown();
      await r2;
      await b.close();  // shutdown closed it already: nothing to do
      await rejectsWith(b.emit(null, bytes(1)), OmegaTaskError, /endpoint closed/);
      await gw.waitFor(() => gw.connected().length === 0, 'the endpoints to disconnect');
    } finally {
      await system.shutdown();
      await gw.close();
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });
}

test('a threaded and a single-threaded drone exchange frames through the real omega-gateway', {
  skip: (!existsSync(path.join(packageDir, 'mt', 'omega.mjs')) && `the JS package is not built in ${packageDir}`) ||
    (!gatewayBinary && 'omega-gateway is not built (cmake --build --preset native-release --target omega-gateway)'),
}, async () => {
  const gw = await startOmegaGateway(gatewayBinary, { packageDir });
  const mt = await loadOmega({ variant: 'threaded' });
  const st = await loadOmega({ variant: 'single-threaded' });
  const sysA = mt.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
  const sysB = st.createSystem({});
  let raw;
  try {
    const a = await sysA.ovp.init({ url: gw.wsUrl, droneId: 7, reliable: true, groups: [100, 101] });
    const b = await sysB.ovp.init({ url: gw.wsUrl, droneId: 9, reliable: true });
    // Unicast both ways, reliable and in order; broadcast.
    for (let i = 0; i < 200; i++) await a.emit([9], text(`a${i}`), 2);
    for (let i = 0; i < 200; i++) {
      const m = await b.receive(5000);
      assert.deepEqual([str(m.data), m.sourceDrone, m.channel], [`a${i}`, 7, 2]);
    }
    await b.emit(null, text('to all'), 0);
    const all = await a.receive(5000);
    assert.deepEqual([str(all.data), all.sourceDrone], ['to all', 9]);

    // A third drone speaking raw WebSocket claims to be drone 77: the gateway rewrites the
    // source to its bound id (and re-seals the CRC), so b sees drone 21.
    raw = new WsClient(`${gw.wsUrl}?drone=21`);
    raw.on('error', () => {});  // an EventEmitter: a reset at shutdown must not become an uncaught exception
    await new Promise((resolve, reject) => { raw.once('open', resolve); raw.once('error', reject); });
    raw.send(ovpFrame({ source: 77, destination: 9, channel: 8, payload: text('spoofed') }));
    const m = await b.receive(5000);
    assert.deepEqual([str(m.data), m.sourceDrone, m.channel], ['spoofed', 21, 8]);
    // A group frame: drone 7 declared group 100 (?groups=100,101), so it gets it; drone 9
    // declared none, so the gateway hands it every group frame and its endpoint drops this one.
    raw.send(ovpFrame({ flags: 0x0002, source: 21, destination: 100, channel: 1, payload: text('group 100') }));
    const g = await a.receive(5000);
    assert.deepEqual([str(g.data), g.sourceDrone, g.channel], ['group 100', 21, 1]);
    // A frame with a bad CRC never gets through the gateway.
    const bad = ovpFrame({ source: 21, destination: 9, payload: text('corrupt') });
    bad[33] ^= 0x10;
    raw.send(bad);
    await rejectsWith(b.receive(300), OmegaTaskError, /^TimedOut$/);
    assert.equal(metric(sysB.metricsPrometheus(), 'omega_ovp_frames_rejected_total', 'drone="9"', 'reason="NotForMe"'), 1);

    // The gateway refuses drone 7 a second time (409): a clear error.
    await rejectsWith(sysB.ovp.init({ url: gw.wsUrl, droneId: 7 }), OmegaTaskError,
      /could not connect to ws:\/\/127\.0\.0\.1:\d+\/ovp\?drone=7: connection refused, or the gateway rejected/);
    const metrics = await gw.metrics();
    assert.ok(Number(metrics.match(/^omega_gateway_frames_bridged_total\{path="ws_to_ws"\} (\d+)$/m)?.[1]) >= 4, metrics);
    assert.match(metrics, /^omega_gateway_source_rewrites_total [1-9]\d*$/m);
    assert.match(metrics, /^omega_ovp_frames_rejected_total\{reason="CrcMismatch",side="websocket"\} 1$/m);

    // The gateway shuts down: both drones' pending receives reject with its close (1001).
    // (Handlers are attached before the close: an unhandled rejection ends the process.)
    const pa = rejectsWith(a.receive(), OmegaTaskError, /OVP gateway connection .*\?drone=7&groups=100%2C101 closed \(close code 1001/);
    const pb = rejectsWith(b.receive(), OmegaTaskError, /OVP gateway connection .*\?drone=9 closed \(close code 1001/);
    await gw.close();
    await pa;
    await pb;
    await a.close();
    await b.close();
  } finally {
    raw?.terminate();
    await sysA.shutdown();
    await sysB.shutdown();
    await gw.close();
  }
});
