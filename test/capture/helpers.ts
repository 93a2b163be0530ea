// Shared helpers for the capture-layer tests: hand-built byte layouts in either byte order.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCapture } from "../../src/capture/pcap.ts";
import type { CapturePacket } from "../../src/capture/types.ts";

/** Appends integers in a chosen byte order. */
export class Bytes {
  private readonly parts: number[] = [];

  constructor(readonly le = true) {}

  u8(...v: number[]): this {
    for (const x of v) this.parts.push(x & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.le ? this.u8(v, v >> 8) : this.u8(v >> 8, v);
  }

  u32(v: number): this {
    const b = [v >>> 24, v >>> 16, v >>> 8, v];
    return this.u8(...(this.le ? b.reverse() : b));
  }

  bytes(b: Uint8Array | number[]): this {
    return this.u8(...b);
  }

  /** Zero bytes up to a multiple of 4. */
  pad4(): this {
    while (this.parts.length % 4) this.parts.push(0);
    return this;
  }

  get length(): number {
    return this.parts.length;
  }

  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One pcapng block: type, total length, body (padded), total length. */
export function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  return new Bytes(le).u32(type).u32(len).bytes(body).pad4().u32(len).build();
}

export function shb(le: boolean): Uint8Array {
  // byte-order magic, version 1.0, section length -1
  return block(le, 0x0a0d0d0a, new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).build());
}

export function idb(
  le: boolean,
  linkType: number,
  opts: { tsresol?: number; tsoffset?: number; snapLen?: number } = {},
): Uint8Array {
  const b = new Bytes(le)
    .u16(linkType)
    .u16(0)
    .u32(opts.snapLen ?? 0);
  if (opts.tsresol !== undefined) b.u16(9).u16(1).u8(opts.tsresol).pad4();
  if (opts.tsoffset !== undefined) {
    const lo = opts.tsoffset >>> 0;
    const hi = Math.floor(opts.tsoffset / 2 ** 32) >>> 0;
    b.u16(14).u16(8);
    if (le) b.u32(lo).u32(hi);
    else b.u32(hi).u32(lo);
  }
  b.u16(0).u16(0); // opt_endofopt
  return block(le, 1, b.build());
}

/** Enhanced packet block with a raw 64-bit timestamp given as a bigint. */
export function epb(le: boolean, ifId: number, ts: bigint, data: Uint8Array, origLen = data.length): Uint8Array {
  const body = new Bytes(le)
    .u32(ifId)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(data.length)
    .u32(origLen)
    .bytes(data)
    .pad4()
    .build();
  return block(le, 6, body);
}

export { concatBytes as concat } from "../tools/encoder.ts";

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "pgwire-capture-"));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a file with readCapture, keeping the packets yielded before any error. */
export async function collect(path: string): Promise<{ packets: CapturePacket[]; error: unknown }> {
  const packets: CapturePacket[] = [];
  try {
    for await (const p of readCapture(path)) packets.push(p);
    return { packets, error: undefined };
  } catch (error) {
    return { packets, error };
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
