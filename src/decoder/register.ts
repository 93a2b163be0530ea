// Which TCP connections are PostgreSQL, and which side is the server: the configured ports (the
// plugin's port preference) and, on other ports, detection from the first segment (its heuristic
// dissector); then each connection's bytes to its ConnectionDecoder. Mirrors
// src/decoder/register.lua.

import type { TlsSession } from "../capture/tls.ts";
import type { TcpOutput } from "../capture/types.ts";
import { u32 } from "../runtime/reader.ts";
import { ConnectionDecoder, frameInfo } from "./connection.ts";
import { type DecodedMessage, headerOk, opening } from "./framing.ts";
import type { CancelKeys } from "./links.ts";

const enc = new TextEncoder();

function typedRun(buf: Uint8Array, dir: "F" | "B"): boolean {
  let p = 0;
  let n = 0;
  while (p < buf.length) {
    const nxt = headerOk(buf, p, dir);
    if (nxt === null || nxt > buf.length) return false;
    p = nxt;
    n++;
  }
  return n >= 2;
}

/**
 * Detection on other ports (register.lua heuristic_side): a segment that is one whole startup
 * packet is the client's; two or more whole typed messages valid in one direction only are that
 * direction's. Returns the direction of the segment's sender, or null.
 */
export function heuristicSide(buf: Uint8Array): "F" | "B" | null {
  const n = buf.length;
  if (n >= 8 && buf[0] === 0) {
    const o = opening(buf);
    if (!o || u32(buf, 0) !== n) return null;
    if (o.endsWithZero && buf[n - 1] !== 0) return null;
    if (o.contains !== undefined && indexOf(buf, enc.encode(o.contains), 8) < 0) return null;
    return "F";
  }
  const f = typedRun(buf, "F");
  const b = typedRun(buf, "B");
  if (f && !b) return "F";
  if (b && !f) return "B";
  return null;
}

function indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= buf.length - needle.length; i++) {
    for (let k = 0; k < needle.length; k++) if (buf[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** Which connections are decoded, and how much of them (the plugin's preferences). */
export interface RegisterOptions {
  /** Server ports to decode (default 5432), as the plugin's port preference. */
  ports?: readonly number[];
  /** Recognise PostgreSQL on other ports (the plugin's pgwire.heuristic preference; default on). */
  heuristic?: boolean;
  /**
   * Decode only these fields (full names, "pgwire.query") and the experts: what an analysis
   * reads, at a fraction of the cost. Frames then carry no Info column (their items still have
   * theirs). Default: every field, as the plugin's tree shows them.
   */
  select?: ReadonlySet<string>;
}

export interface FrameResult {
  frame: number;
  time: number;
  stream: number;
  items: DecodedMessage[];
  /** The Info column as the plugin shows it. */
  info?: string;
  /** The connection's client and server (address and port). */
  client?: { addr: string; port: number };
  server?: { addr: string; port: number };
}

interface Conn {
  decoder: ConnectionDecoder;
  serverPort: number;
  serverAddr: string;
  /** The server, as frames name it (one object for all of them). */
  server: { addr: string; port: number };
  client?: { addr: string; port: number };
}

/** Decodes every TCP chunk the reassembler produced for one packet. */
export class CaptureDecoder {
  private readonly conns = new Map<number, Conn | null>();
  private readonly ports: ReadonlySet<number>;
  private readonly heuristic: boolean;
  private readonly select?: ReadonlySet<string>;
  private readonly cancelKeys: CancelKeys = new Map();
  constructor(
    opts: RegisterOptions = {},
    private readonly keylog?: ReadonlyMap<string, string>,
  ) {
    this.ports = new Set(opts.ports ?? [5432]);
    this.heuristic = opts.heuristic ?? true;
    this.select = opts.select;
  }

  private conn(stream: number, serverPort: number, serverAddr: string): Conn {
    const c = {
      decoder: new ConnectionDecoder({ keylog: this.keylog, cancelKeys: this.cancelKeys, select: this.select }),
      serverPort,
      serverAddr,
      server: { addr: serverAddr, port: serverPort },
    };
    this.conns.set(stream, c);
    return c;
  }

  /** A connection's later messages decoded with a narrower selection (ConnectionDecoder.narrow). */
  narrow(stream: number, select: ReadonlySet<string>): void {
    this.conns.get(stream)?.decoder.narrow(select);
  }

  /**
   * Items for the outputs of one packet, grouped by the frame each belongs to (inside TLS a
   * record may complete an item of an earlier frame's data): usually one group, the packet's.
   */
  frame(outputs: readonly TcpOutput[], time: number): FrameResult[] {
    const items: DecodedMessage[] = [];
    let stream = -1;
    let conn: Conn | undefined;
    for (const o of outputs) {
      if (o.kind !== "data") continue;
      let c = this.conns.get(o.stream);
      if (c === undefined) {
        // The server is the side on a configured port, as Wireshark's port table decides.
        const lo = Math.min(o.srcPort, o.dstPort);
        const serverPort =
          this.ports.has(o.dstPort) && (!this.ports.has(o.srcPort) || o.dstPort === lo) ? o.dstPort : o.srcPort;
        if (this.ports.has(serverPort)) c = this.conn(o.stream, serverPort, serverPort === o.dstPort ? o.dst : o.src);
        else if (!this.heuristic) this.conns.set(o.stream, null);
        else if (!o.truncated) {
          // Not on a configured port: decode from the first segment that looks like PostgreSQL on.
          const side = heuristicSide(o.data);
          if (side === "F") c = this.conn(o.stream, o.dstPort, o.dst);
          else if (side === "B") c = this.conn(o.stream, o.srcPort, o.src);
        }
      }
      if (!c) continue;
      const fe = o.srcPort === o.dstPort ? o.dst === c.serverAddr : o.dstPort === c.serverPort;
      c.client ??= fe ? { addr: o.src, port: o.srcPort } : { addr: o.dst, port: o.dstPort };
      stream = o.stream;
      conn = c;
      c.decoder.feed(fe, o.data, o.frame, o, items);
    }
    if (items.length === 0) return [];
    // Usually every item is the packet's own frame's; inside TLS one may complete an earlier one.
    const f0 = items[0].frame;
    let one = true;
    for (const it of items) if (it.frame !== f0) one = false;
    if (one) return [this.result(f0, time, stream, items, conn)];
    const groups = new Map<number, DecodedMessage[]>();
    for (const it of items) {
      const g = groups.get(it.frame) ?? [];
      g.push(it);
      groups.set(it.frame, g);
    }
    return [...groups].map(([n, g]) => this.result(n, time, stream, g, conn));
  }

  /** The TLS session of a stream's connection, when its key log opened it. */
  tlsOf(stream: number): TlsSession | undefined {
    return this.conns.get(stream)?.decoder.tlsSession;
  }

  /** A frame's result; selective decoding gives it no Info column (RegisterOptions.select). */
  private result(frame: number, time: number, stream: number, items: DecodedMessage[], conn?: Conn): FrameResult {
    return {
      frame,
      time,
      stream,
      items,
      info: this.select === undefined ? frameInfo(items) : undefined,
      client: conn?.client,
      server: conn?.server,
    };
  }
}
