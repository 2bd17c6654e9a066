#!/usr/bin/env node
// Two WASM drones in one Node process talk through the real omega-gateway on loopback, for
// 2 s per row: one-way 64 B messages (the sender emits `window` per event-loop turn) and
// ping-pong (one message in flight). Best effort and reliable. It prints messages delivered
// in the 2 s, messages/s, messages per WebSocket frame sent (BATCH packing), and ping-pong
// round trips (P50/P99). Both drones share this process's main thread, which runs every
// WebSocket callback, so the figures are what one JS thread drives; it is a benchmark, not
// a test: nothing is asserted.
//
//   node bench/wasm_ovp_bench.mjs [threaded|single-threaded] [path/to/omega-gateway]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGateway, startOmegaGateway } from '../tests/js/support/omega-gateway.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const variant = process.argv[2] ?? 'threaded';
const binary = process.argv[3] ?? findGateway();
if (!binary) {
  console.error('omega-gateway is not built: cmake --build --preset native-release --target omega-gateway');
  process.exit(2);
}
const { loadOmega } = await import(path.join(repoRoot, 'build', 'omega-js', 'index.mjs'));
const omega = await loadOmega({ variant });
const SECONDS = 2;
const payload = new Uint8Array(64).fill(7);

function metric(prom, name, drone) {
  const line = prom.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`drone="${drone}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function oneWay(a, b, window, to) {
  let received = 0;
  let stop = false;
  const receiver = (async () => {
    while (!stop) {
      try {
        await b.receive(200);
        received++;
      } catch {
        // TimedOut after the sender stopped
      }
    }
  })();
  // The sender emits `window` messages per turn, then yields to the event loop: socket reads
  // (the receiver's, and the gateway's for its reader) are macrotasks, and a sender that
  // only ever awaits its own emits would starve them until the gateway cuts the receiver
  // off as a slow reader.
  const end = performance.now() + SECONDS * 1000;
  let sent = 0;
  while (performance.now() < end) {
    const burst = [];
    for (let i = 0; i < window; i++) burst.push(a.emit([to], payload, 0));
    const accepted = (await Promise.allSettled(burst)).filter((r) => r.status === 'fulfilled').length;
    sent += accepted;
    // Reliable mode refuses emits past the peer's send buffer (SendBufferFull): back off.
    await new Promise((r) => (accepted < window ? setTimeout(r, 1) : setImmediate(r)));
  }
  const counted = received;  // what arrived within the 2 s
  stop = true;
  await receiver;
  return { sent, received: counted };
}

async function pingPong(a, b, [idA, idB]) {
  const rtts = [];
  const end = performance.now() + SECONDS * 1000;
  const echo = (async () => {
    for (;;) {
      let m;
      try {
        m = await b.receive(500);
      } catch (e) {
        if (process.env.DEBUG) console.log('echo ends:', e.message, rtts.length);
        return;
      }
      await b.emit([idA], m.data, 0);
    }
  })();
  while (performance.now() < end) {
    const t0 = performance.now();
    await a.emit([idB], payload, 0);
    await a.receive(5000);
    rtts.push(performance.now() - t0);
  }
  await echo;
  rtts.sort((x, y) => x - y);
  const q = (f) => rtts[Math.min(rtts.length - 1, Math.floor(f * rtts.length))];
  return { ops: rtts.length, p50: q(0.5), p99: q(0.99) };
}

const gw = await startOmegaGateway(binary);
console.log(`WASM OVP through omega-gateway on loopback, ${variant} build, Node ${process.version}, ${SECONDS} s per row, 64 B payloads`);
console.log('row                          | messages in 2 s | messages/s | msgs per frame | RTT P50 ms | RTT P99 ms');
const row = (name, n, perFrame, p50 = '', p99 = '') => console.log(
  `${name.padEnd(28)} | ${String(n).padStart(15)} | ${String(Math.round(n / SECONDS)).padStart(10)} | ` +
  `${String(perFrame).padStart(14)} | ${String(p50).padStart(10)} | ${String(p99).padStart(10)}`);
// Each row gets fresh drones (ids 7/9 + 10 per row), so no backlog of one row reaches the next.
let base = 0;
async function pair(reliable) {
  base += 10;
  const system = omega.createSystem({ nodes: 1, superNodes: 0, threads: [1, 1, 1, 1] });
  const a = await system.ovp.init({ url: gw.wsUrl, droneId: base + 7, reliable });
  const b = await system.ovp.init({ url: gw.wsUrl, droneId: base + 9, reliable });
  return { system, a, b, ids: [base + 7, base + 9],
    async close() { await a.close(); await b.close(); await system.shutdown(); } };
}
for (const reliable of [false, true]) {
  const mode = reliable ? 'reliable' : 'best effort';
  let p = await pair(reliable);
  const before = metric(p.system.metricsPrometheus(), 'omega_ovp_frames_sent_total', p.ids[0]);
  const ow = await oneWay(p.a, p.b, 256, p.ids[1]);
  const frames = metric(p.system.metricsPrometheus(), 'omega_ovp_frames_sent_total', p.ids[0]) - before;
  row(`one-way, ${mode}`, ow.received, (ow.sent / Math.max(frames, 1)).toFixed(1));
  await p.close();
  p = await pair(reliable);
  const pp = await pingPong(p.a, p.b, p.ids);
  row(`ping-pong, ${mode}`, pp.ops, '', pp.p50.toFixed(3), pp.p99.toFixed(3));
  await p.close();
}
await gw.close();
