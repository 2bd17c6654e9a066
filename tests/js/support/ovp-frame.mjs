// Builds OVP v1 frames in JS, as omega's codec lays them out (core/include/omega/ovp/frame.hpp):
// a 32-byte big-endian header, then the payload; CRC32C over header bytes 0..27 and the payload.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32C continued over `bytes` (crc32c(a ++ b) == crc32cUpdate(crc32c(a), b); crc32c of nothing is 0). */
export function crc32cUpdate(crc, bytes) {
  let c = ~crc >>> 0;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export const FrameType = { Data: 1, Ack: 2, Hello: 3, Heartbeat: 4, Batch: 5 };

/** A frame (Uint8Array): DATA from `source` to `destination` unless told otherwise. */
export function ovpFrame({ type = FrameType.Data, flags = 0, channel = 0, source, destination = 0xffffffff,
  epoch = 1, sequence = 1, ack = 0, payload = new Uint8Array(0) }) {
  const f = new Uint8Array(32 + payload.length);
  const v = new DataView(f.buffer);
  v.setUint8(0, 1);
  v.setUint8(1, type);
  v.setUint16(2, flags);
  v.setUint16(4, payload.length);
  v.setUint16(6, channel);
  v.setUint32(8, source);
  v.setUint32(12, destination);
  v.setUint32(16, epoch);
  v.setUint32(20, sequence);
  v.setUint32(24, ack);
  f.set(payload, 32);
  v.setUint32(28, crc32cUpdate(crc32cUpdate(0, f.subarray(0, 28)), payload));
  return f;
}
