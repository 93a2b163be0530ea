// Byte-array helpers shared by the capture reader and writers, TLS, the decoder and the encoder.

/** The parts one after another, in a new array (an array of parts: a writer may hold many). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
