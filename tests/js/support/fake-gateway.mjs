// A small stand-in for omega-gateway's /ovp endpoint, on the `ws` package, speaking its wire
// rules: a client connects to /ovp?drone=N and is bound to drone N (one connection per id);
// each binary message is one OVP frame (32-byte header + payload); frames are forwarded to
// the drone in the destination field, or to every other drone for broadcast and group
// frames. A frame whose source field is not the sender's bound id is dropped (counted): the
// real gateway overwrites it; this one only refuses spoofing. It does not check CRCs: the
// drones' decoders do.
//
// Tests also use it to misbehave on purpose: send raw bytes or text to a drone, close a
// drone's connection with a code, refuse handshakes.
import { WebSocketServer } from 'ws';
import { createServer } from 'node:http';

const BROADCAST = 0xffffffff;
const FLAG_GROUP = 0x0002;
const HEADER = 32;

// options.refuse: drone ids whose handshake gets HTTP 403. options.drop(bytes, from): true
// loses that frame (fault injection for the reliable mode).
export async function startFakeGateway({ refuse = new Set(), drop = null } = {}) {
  const clients = new Map();  // drone id -> ws
  const stats = { forwarded: 0, spoofed: 0, short: 0, text: 0, refused: 0, dropped: 0 };
  const received = [];  // every frame accepted from a drone: { from, bytes }
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://gateway');
    const id = Number(url.searchParams.get('drone'));
    const reject = (status, why) => {
      stats.refused++;
      socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/ovp') return reject(404, 'Not Found');
    if (!Number.isInteger(id) || id < 1 || id >= BROADCAST) return reject(400, 'Bad Request');
    if (refuse.has(id)) return reject(403, 'Forbidden');
    if (clients.has(id)) return reject(409, 'Conflict');
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.set(id, ws);
      ws.on('error', () => {});  // a drone that resets its connection just leaves (close follows)
      ws.on('close', () => { if (clients.get(id) === ws) clients.delete(id); });
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return void stats.text++;
        if (data.length < HEADER) return void stats.short++;
        const source = data.readUInt32BE(8);
        if (source !== id) return void stats.spoofed++;
        received.push({ from: id, bytes: Buffer.from(data) });
        if (drop?.(data, id)) return void stats.dropped++;
        const destination = data.readUInt32BE(12);
        const group = (data.readUInt16BE(2) & FLAG_GROUP) !== 0;
        for (const [peer, peerWs] of clients) {
          const wanted = destination === BROADCAST || group ? peer !== id : peer === destination;
          if (wanted && peerWs.readyState === peerWs.OPEN) {
            peerWs.send(data, { binary: true });
            stats.forwarded++;
          }
        }
      });
    });
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `ws://127.0.0.1:${port}/ovp`,
    port,
    stats,
    received,
    connected: () => [...clients.keys()].sort((a, b) => a - b),
    /** Sends raw bytes (Buffer/Uint8Array: binary; string: text) to one drone. */
    sendRaw(drone, data) {
      const ws = clients.get(drone);
      if (!ws) throw new Error(`drone ${drone} is not connected`);
      ws.send(data, { binary: typeof data !== 'string' });
    },
    /** Closes one drone's connection with a close frame (code, reason). */
    kick(drone, code = 4000, reason = 'kicked') {
      clients.get(drone)?.close(code, reason);
    },
    /** Drops one drone's TCP connection without a close frame. */
    cut(drone) {
      clients.get(drone)?.terminate();
    },
    async waitFor(predicate, what, ms = 5000) {
      const until = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > until) throw new Error(`fake gateway: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async close() {
      for (const ws of clients.values()) ws.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
