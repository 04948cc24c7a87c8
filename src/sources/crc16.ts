// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor; the
// check value of "123456789" is 0x29B1). Binary serial frames carry it after their
// payload, most significant byte first.
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** The payload followed by its CRC (big-endian): what a sensor puts inside a frame. */
export function withCrc(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 2);
  out.set(payload);
  const c = crc16(payload);
  out[payload.length] = c >> 8;
  out[payload.length + 1] = c & 0xff;
  return out;
}

/** The payload of `frame` (payload + CRC) when its CRC matches, else undefined. */
export function checkCrc(frame: Uint8Array): Uint8Array | undefined {
  if (frame.length < 2) return undefined;
  const n = frame.length - 2;
  const want = (frame[n] << 8) | frame[n + 1];
  return crc16(frame, 0, n) === want ? frame.subarray(0, n) : undefined;
}
