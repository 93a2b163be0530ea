// Capture file reading and writing: classic pcap and pcapng.
//
// One incremental parser (CaptureParser) serves both the streaming file reader
// (readCapture) and the in-memory helper (parseCaptureBuffer). The parser looks at
// bytes [off, end) of a buffer and either consumes one unit (file header, record or
// block, possibly producing a packet) or says how many bytes that unit needs.

import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { concat } from "./bytes.ts";
import { CaptureError, type CapturePacket } from "./types.ts";

/** Largest single record or block we accept; anything bigger means the file is corrupt. */
const MAX_UNIT = 256 * 1024 * 1024;
/**
 * Bytes per read (more for a larger record). A batch's packets live until it is decoded: small
 * batches die young, before the collector promotes them (1 MiB batches doubled the decoder's peak
 * memory and cost 15 % of its time; 32 KiB to 128 KiB are all as good).
 */
const CHUNK = 64 * 1024;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;

interface Interface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second (if_tsresol). */
  units: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offset: number;
}

/**
 * What the parser did with the bytes at an offset: a positive number is the size of the unit it
 * consumed (its packet, if any, in CaptureParser.packet); a negative one, minus the bytes the
 * unit needs.
 */
type Step = number;

/** Incremental pcap/pcapng parser. `name` is used in error messages ("capture file X"). */
class CaptureParser {
  private format: "pcap" | "pcapng" | undefined;
  private le = true;
  private pcapLinkType = 0;
  private pcapUnits = 1e6;
  private ifaces: Interface[] = [];
  private frame = 0;
  /** The packet of the unit the last next() consumed, if it held one. */
  packet: CapturePacket | undefined;
  private dv?: DataView;

  constructor(private readonly name: string) {}

  /**
   * Parses one unit starting at `off`; `end` is the end of valid data in `buf`. A packet's data
   * is a view of buf: the caller does not overwrite those bytes while the packet is in use.
   */
  next(buf: Uint8Array, off: number, end: number): Step {
    const avail = end - off;
    this.packet = undefined;
    let dv = this.dv;
    if (dv === undefined || dv.buffer !== buf.buffer || dv.byteOffset !== buf.byteOffset) {
      dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.dv = dv;
    }
    if (this.format === undefined) return this.fileHeader(buf, dv, off, avail);
    if (this.format === "pcap") return this.pcapRecord(buf, dv, off, avail);
    return this.pcapngBlock(buf, dv, off, avail);
  }

  /**
   * Called at end of file with `left` unparsed bytes and `total` file size: returns
   * normally when the file ended cleanly, otherwise throws the right CaptureError.
   */
  finish(left: number, total: number): void {
    if (total === 0) throw new CaptureError(`capture file ${this.name} is empty`);
    if (this.format === undefined && total < 4) throw this.notCapture();
    if (left === 0 && this.format !== undefined) return;
    throw new CaptureError(
      this.frame === 0
        ? `capture file ${this.name} is truncated before its first frame`
        : `capture file ${this.name} is truncated after frame ${this.frame}`,
    );
  }

  private notCapture(): CaptureError {
    return new CaptureError(`${this.name} is not a pcap or pcapng capture file`);
  }

  private corrupt(what: string): CaptureError {
    return new CaptureError(`capture file ${this.name} is corrupt after frame ${this.frame}: ${what}`);
  }

  private fileHeader(buf: Uint8Array, dv: DataView, off: number, avail: number): Step {
    if (avail < 4) return -4;
    if (buf[off] === 0x1f && buf[off + 1] === 0x8b) {
      throw new CaptureError(`capture file ${this.name} is gzip-compressed; decompress it first`);
    }
    const magic = dv.getUint32(off, true);
    if (magic === PCAPNG_SHB) {
      this.format = "pcapng";
      return this.pcapngBlock(buf, dv, off, avail);
    }
    let le: boolean;
    let units: number;
    switch (magic) {
      case 0xa1b2c3d4:
        [le, units] = [true, 1e6];
        break;
      case 0xd4c3b2a1:
        [le, units] = [false, 1e6];
        break;
      case 0xa1b23c4d:
        [le, units] = [true, 1e9];
        break;
      case 0x4d3cb2a1:
        [le, units] = [false, 1e9];
        break;
      default:
        throw this.notCapture();
    }
    if (avail < 24) return -24;
    const major = dv.getUint16(off + 4, le);
    if (major !== 2) throw new CaptureError(`capture file ${this.name} has unsupported pcap version ${major}`);
    this.format = "pcap";
    this.le = le;
    this.pcapUnits = units;
    // The upper bits of the link-type field carry FCS information; the type is the low 16 bits.
    this.pcapLinkType = dv.getUint32(off + 20, le) & 0xffff;
    return 24;
  }

  private pcapRecord(buf: Uint8Array, dv: DataView, off: number, avail: number): Step {
    if (avail < 16) return -16;
    const le = this.le;
    const capLen = dv.getUint32(off + 8, le);
    if (capLen > MAX_UNIT) throw this.corrupt(`a record claims ${capLen} captured bytes`);
    const size = 16 + capLen;
    if (avail < size) return -size;
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    this.packet = {
      frame: ++this.frame,
      time: sec + frac / this.pcapUnits,
      linkType: this.pcapLinkType,
      data: buf.subarray(off + 16, off + size),
      origLen: Math.max(dv.getUint32(off + 12, le), capLen),
    };
    return size;
  }

  private pcapngBlock(buf: Uint8Array, dv: DataView, off: number, avail: number): Step {
    if (avail < 12) return -12;
    const isShb = dv.getUint32(off, true) === PCAPNG_SHB;
    if (isShb) {
      // A new section may switch byte order; the byte-order magic tells which.
      const bom = dv.getUint32(off + 8, true);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else if (this.frame === 0 && this.ifaces.length === 0) throw this.notCapture();
      else throw this.corrupt("a section header has an invalid byte-order magic");
    }
    const le = this.le;
    const type = dv.getUint32(off, le);
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0 || len > MAX_UNIT) throw this.corrupt(`a block has invalid length ${len}`);
    if (avail < len) return -len;
    if (dv.getUint32(off + len - 4, le) !== len)
      throw this.corrupt("a block's trailing length does not match its header");
    const body = off + 8;
    const bodyLen = len - 12;
    if (isShb) {
      if (bodyLen < 16) throw this.corrupt("a section header block is too short");
      const major = dv.getUint16(body + 4, le);
      if (major !== 1) throw new CaptureError(`capture file ${this.name} has unsupported pcapng version ${major}`);
      this.ifaces = [];
    } else if (type === BLOCK_IDB) {
      if (bodyLen < 8) throw this.corrupt("an interface description block is too short");
      const iface: Interface = {
        linkType: dv.getUint16(body, le),
        snapLen: dv.getUint32(body + 4, le),
        units: 1e6,
        offset: 0,
      };
      forEachOption(dv, body + 8, body + bodyLen, le, (code, at, optLen) => {
        if (code === 9 && optLen >= 1) {
          const v = buf[at] ?? 6;
          iface.units = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
        } else if (code === 14 && optLen >= 8) {
          iface.offset = Number(dv.getBigInt64(at, le));
        }
      });
      this.ifaces.push(iface);
    } else if (type === BLOCK_EPB || type === BLOCK_PB) {
      if (bodyLen < 20) throw this.corrupt("a packet block is too short");
      const ifId = type === BLOCK_EPB ? dv.getUint32(body, le) : dv.getUint16(body, le);
      const iface = this.iface(ifId);
      const capLen = dv.getUint32(body + 12, le);
      if (capLen > bodyLen - 20) throw this.corrupt("a packet block's captured length exceeds the block");
      this.packet = {
        frame: ++this.frame,
        time: timestamp(dv.getUint32(body + 4, le), dv.getUint32(body + 8, le), iface),
        linkType: iface.linkType,
        data: buf.subarray(body + 20, body + 20 + capLen),
        origLen: Math.max(dv.getUint32(body + 16, le), capLen),
      };
    } else if (type === BLOCK_SPB) {
      if (bodyLen < 4) throw this.corrupt("a simple packet block is too short");
      const iface = this.iface(0);
      const origLen = dv.getUint32(body, le);
      let capLen = Math.min(origLen, bodyLen - 4);
      if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
      this.packet = {
        frame: ++this.frame,
        time: 0, // simple packet blocks carry no timestamp
        linkType: iface.linkType,
        data: buf.subarray(body + 4, body + 4 + capLen),
        origLen: Math.max(origLen, capLen),
      };
    }
    // Every other block type (name resolution, statistics, secrets, custom...) is skipped.
    return len;
  }

  private iface(id: number): Interface {
    const iface = this.ifaces[id];
    if (!iface) throw this.corrupt(`a packet refers to undescribed interface ${id}`);
    return iface;
  }
}

/** Calls `fn(code, valueOffset, valueLength)` for each pcapng option in [from, to). */
function forEachOption(
  dv: DataView,
  from: number,
  to: number,
  le: boolean,
  fn: (code: number, at: number, len: number) => void,
): void {
  let p = from;
  while (p + 4 <= to) {
    const code = dv.getUint16(p, le);
    const len = dv.getUint16(p + 2, le);
    if (code === 0 || p + 4 + len > to) return;
    fn(code, p + 4, len);
    p += 4 + ((len + 3) & ~3);
  }
}

/** Converts a 64-bit pcapng timestamp (two 32-bit halves) to seconds. */
function timestamp(high: number, low: number, iface: Interface): number {
  const { units } = iface;
  if (high < 0x200000) {
    // Fits in 53 bits: exact integer arithmetic with plain numbers.
    const ts = high * 0x100000000 + low;
    const sec = Math.floor(ts / units);
    return sec + iface.offset + (ts - sec * units) / units;
  }
  if (units < 0x2000000000) {
    // Nanoseconds and the like: long division of high, then low 16 bits at a time, every step
    // below 2^53 and so exact. The same seconds and remainder as BigInt's, without its four
    // allocations per packet.
    const q1 = Math.floor(high / units);
    const x = (high - q1 * units) * 0x10000 + (low >>> 16);
    const q2 = Math.floor(x / units);
    const y = (x - q2 * units) * 0x10000 + (low & 0xffff);
    const q3 = Math.floor(y / units);
    return q1 * 0x100000000 + q2 * 0x10000 + q3 + iface.offset + (y - q3 * units) / units;
  }
  const ts = (BigInt(high) << 32n) | BigInt(low);
  const u = BigInt(units);
  return Number(ts / u) + iface.offset + Number(ts % u) / units;
}

function fileError(path: string, err: unknown): CaptureError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return new CaptureError(`capture file ${path} does not exist`);
    case "EACCES":
    case "EPERM":
      return new CaptureError(`cannot read capture file ${path}: permission denied`);
    case "EISDIR":
      return new CaptureError(`${path} is a directory, not a capture file`);
    default:
      return new CaptureError(`cannot read capture file ${path}: ${(err as Error).message}`);
  }
}

/**
 * Streams the packets of a pcap or pcapng file in constant memory, one batch per read (about
 * 64 KiB of records). On a truncated file, every complete record is yielded before the
 * CaptureError is thrown. Packets' data are views of the read buffer: each read fills a new one,
 * so a packet's bytes stay as they are for as long as it is kept. The reads are synchronous: a
 * read from the thread pool left the decoder idle for each of them (7 % of an analysis's time),
 * and nothing else runs meanwhile.
 */
export async function* readCaptureBatches(path: string): AsyncGenerator<CapturePacket[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    throw fileError(path, err);
  }
  try {
    yield* parseCapture(path, async (buf, at, room) => {
      try {
        return readSync(fh.fd, buf, at, room, null);
      } catch (err) {
        throw fileError(path, err);
      }
    });
  } finally {
    await fh.close();
  }
}

/** The packets of a pcap or pcapng file one by one (readCaptureBatches, flattened). */
export async function* readCapture(path: string): AsyncGenerator<CapturePacket> {
  for await (const batch of readCaptureBatches(path)) yield* batch;
}

/**
 * Reads a pcap or pcapng stream as it arrives (dumpcap -w - through a pipe): packets come out
 * as soon as their bytes are in, in batches of what one chunk of the stream completed. `name`
 * names the stream in error messages.
 */
export async function* readCaptureStream(
  stream: AsyncIterable<Uint8Array>,
  name: string,
): AsyncGenerator<CapturePacket[]> {
  const it = stream[Symbol.asyncIterator]();
  let pending: Uint8Array | undefined;
  yield* parseCapture(name, async (buf, at, room) => {
    if (!pending || pending.length === 0) {
      const r = await it.next();
      if (r.done) return 0;
      pending = r.value;
    }
    const n = Math.min(room, pending.length);
    buf.set(pending.subarray(0, n), at);
    pending = pending.subarray(n);
    return n;
  });
}

/**
 * The parser over a byte source: read(buf, at, room) fills buf from at with up to room bytes, 0
 * at the end. Yields the packets of each read; the bytes they view are never written again (the
 * unparsed tail moves to a new buffer).
 */
async function* parseCapture(
  name: string,
  read: (buf: Uint8Array, at: number, room: number) => Promise<number>,
): AsyncGenerator<CapturePacket[]> {
  const parser = new CaptureParser(name);
  let buf = new Uint8Array(CHUNK);
  let start = 0;
  let end = 0;
  let total = 0;
  let eof = false;
  let batch: CapturePacket[] = [];
  for (;;) {
    const step = parser.next(buf, start, end);
    if (step > 0) {
      start += step;
      if (parser.packet) batch.push(parser.packet);
      continue;
    }
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
    if (eof) {
      parser.finish(end - start, total);
      return;
    }
    if (-step > buf.length - start) {
      // Not enough room after `start`: the unparsed tail goes to the front of a new buffer (packets
      // already out still view the old one), grown if one unit needs more.
      const next = new Uint8Array(Math.max(CHUNK, -step));
      next.set(buf.subarray(start, end));
      buf = next;
      end -= start;
      start = 0;
    }
    const bytesRead = await read(buf, end, buf.length - end);
    if (bytesRead === 0) eof = true;
    end += bytesRead;
    total += bytesRead;
  }
}

/** Parses a whole pcap or pcapng file held in memory (throws CaptureError like readCapture). */
export function parseCaptureBuffer(buf: Uint8Array, name = "(buffer)"): CapturePacket[] {
  const parser = new CaptureParser(name);
  const packets: CapturePacket[] = [];
  let off = 0;
  for (;;) {
    const step = parser.next(buf, off, buf.length);
    if (step <= 0) {
      parser.finish(buf.length - off, buf.length);
      return packets;
    }
    off += step;
    if (parser.packet) packets.push(parser.packet);
  }
}

// ---------------------------------------------------------------------------------------
// Writers (little-endian, in memory)

/** Builds a pcapng file: one section, one interface (microsecond timestamps). */
export class PcapngWriter {
  private readonly parts: Uint8Array[] = [];

  constructor(
    readonly linkType = 1,
    snapLen = 262144,
  ) {
    const shb = new DataView(new ArrayBuffer(28));
    shb.setUint32(0, PCAPNG_SHB, true);
    shb.setUint32(4, 28, true);
    shb.setUint32(8, PCAPNG_BOM, true);
    shb.setUint16(12, 1, true); // version 1.0
    shb.setUint16(14, 0, true);
    shb.setBigInt64(16, -1n, true); // section length unknown
    shb.setUint32(24, 28, true);
    const idb = new DataView(new ArrayBuffer(32));
    idb.setUint32(0, BLOCK_IDB, true);
    idb.setUint32(4, 32, true);
    idb.setUint16(8, linkType, true);
    idb.setUint32(12, snapLen, true);
    idb.setUint16(16, 9, true); // if_tsresol = 6 (microseconds)
    idb.setUint16(18, 1, true);
    idb.setUint8(20, 6);
    idb.setUint32(24, 0, true); // opt_endofopt
    idb.setUint32(28, 32, true);
    this.parts.push(new Uint8Array(shb.buffer), new Uint8Array(idb.buffer));
  }

  /** Adds one packet; `origLen` (default: data length) lets tests simulate a snap length. */
  addPacket(timeSeconds: number, data: Uint8Array, origLen = data.length): this {
    const padded = (data.length + 3) & ~3;
    const len = 32 + padded;
    const block = new Uint8Array(len);
    const dv = new DataView(block.buffer);
    const ts = BigInt(Math.round(timeSeconds * 1e6));
    dv.setUint32(0, BLOCK_EPB, true);
    dv.setUint32(4, len, true);
    dv.setUint32(8, 0, true); // interface 0
    dv.setUint32(12, Number(ts >> 32n), true);
    dv.setUint32(16, Number(ts & 0xffffffffn), true);
    dv.setUint32(20, data.length, true);
    dv.setUint32(24, origLen, true);
    block.set(data, 28);
    dv.setUint32(len - 4, len, true);
    this.parts.push(block);
    return this;
  }

  toBuffer(): Uint8Array {
    return concat(this.parts);
  }
}

/** Builds a classic pcap file (microsecond, or nanosecond with `nanosecond: true`). */
export class PcapWriter {
  private readonly parts: Uint8Array[] = [];
  private readonly units: number;

  constructor(
    readonly linkType = 1,
    opts: { snapLen?: number; nanosecond?: boolean } = {},
  ) {
    this.units = opts.nanosecond ? 1e9 : 1e6;
    const hdr = new DataView(new ArrayBuffer(24));
    hdr.setUint32(0, opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, true);
    hdr.setUint16(4, 2, true);
    hdr.setUint16(6, 4, true);
    hdr.setUint32(16, opts.snapLen ?? 262144, true);
    hdr.setUint32(20, linkType, true);
    this.parts.push(new Uint8Array(hdr.buffer));
  }

  addPacket(timeSeconds: number, data: Uint8Array, origLen = data.length): this {
    const rec = new Uint8Array(16 + data.length);
    const dv = new DataView(rec.buffer);
    let sec = Math.floor(timeSeconds);
    let frac = Math.round((timeSeconds - sec) * this.units);
    if (frac >= this.units) {
      sec += 1;
      frac -= this.units;
    }
    dv.setUint32(0, sec, true);
    dv.setUint32(4, frac, true);
    dv.setUint32(8, data.length, true);
    dv.setUint32(12, origLen, true);
    rec.set(data, 16);
    this.parts.push(rec);
    return this;
  }

  toBuffer(): Uint8Array {
    return concat(this.parts);
  }
}
