// Capture file → TCP streams → PostgreSQL items, frame by frame, streaming in constant memory
// (only each connection's state and partial message are kept).

import { readFile } from "node:fs/promises";
import { readCaptureBatches } from "./capture/pcap.ts";
import { TcpReassembler } from "./capture/tcp.ts";
import { parseKeylog } from "./capture/tls.ts";
import { CaptureError, type CapturePacket, type TcpEvent, type TcpOutput } from "./capture/types.ts";
import { ConnectionDecoder, type DecodedMessage, frameInfo, heuristicSide } from "./decoder.ts";

async function readKeylog(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new CaptureError(`cannot read key log file ${path}`);
  }
}

export interface DecodeOptions {
  /** Server ports to decode (default 5432), as the plugin's port preference. */
  ports?: readonly number[];
  /** A TLS key log file (SSLKEYLOGFILE format): TLS sessions are decrypted and decoded. */
  keylog?: string;
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
  private readonly cancelKeys = new Map<string, { frame: number; conn: ConnectionDecoder }>();
  constructor(
    opts: DecodeOptions = {},
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
      for (const it of c.decoder.feed(fe, o.data, o.frame, o)) items.push(it);
    }
    if (items.length === 0) return [];
    // Selective decoding: the frames get no Info column (DecodeOptions.select).
    const result = (frame: number, its: DecodedMessage[]): FrameResult => ({
      frame,
      time,
      stream,
      items: its,
      info: this.select === undefined ? frameInfo(its) : undefined,
      client: conn?.client,
      server: conn?.server,
    });
    // Usually every item is the packet's own frame's; inside TLS one may complete an earlier one.
    const f0 = items[0].frame;
    if (items.every((it) => it.frame === f0)) return [result(f0, items)];
    const groups = new Map<number, DecodedMessage[]>();
    for (const it of items) {
      const g = groups.get(it.frame) ?? [];
      g.push(it);
      groups.set(it.frame, g);
    }
    return [...groups].map(([n, g]) => result(n, g));
  }
}

export async function* decodeCapture(path: string, opts: DecodeOptions = {}): AsyncGenerator<FrameResult> {
  for await (const step of decodeSteps(readCaptureBatches(path), opts)) yield* step.frames;
}

/** What one packet of a capture brought: decoded frames, and TCP events (SYN, FIN, RST). */
export interface Step {
  /** The packet's frame number and time. */
  frame: number;
  time: number;
  frames: FrameResult[];
  events: TcpEvent[];
}

/**
 * Decodes packets one at a time, synchronously: a step per packet, and at the end the steps of
 * the data that waited behind gaps.
 */
export class StepDecoder {
  private readonly tcp = new TcpReassembler();
  private readonly dec: CaptureDecoder;
  private last = { frame: 0, time: 0 };

  constructor(opts: DecodeOptions = {}, keylog?: ReadonlyMap<string, string>) {
    this.dec = new CaptureDecoder(opts, keylog);
  }

  push(pkt: CapturePacket): Step {
    this.last = pkt;
    const outs = this.tcp.push(pkt);
    return { frame: pkt.frame, time: pkt.time, frames: this.dec.frame(outs, pkt.time), events: eventsOf(outs) };
  }

  end(): Step[] {
    const rest = this.tcp.end();
    // Data flushed past a gap at the end: attribute each chunk to its own frame.
    const byFrame = new Map<number, TcpOutput[]>();
    for (const o of rest) {
      const list = byFrame.get(o.frame) ?? [];
      list.push(o);
      byFrame.set(o.frame, list);
    }
    const last = this.last;
    return [...byFrame.values()].map((outs) => ({
      frame: last.frame,
      time: last.time,
      frames: this.dec.frame(outs, outs[0].time),
      events: eventsOf(outs),
    }));
  }
}

/** A StepDecoder for these options (the key log file read). */
export async function stepDecoder(opts: DecodeOptions = {}): Promise<StepDecoder> {
  return new StepDecoder(opts, opts.keylog ? parseKeylog(await readKeylog(opts.keylog)) : undefined);
}

/**
 * Decodes packets as they come (a file, or a live capture; capture/pcap.ts readCaptureBatches,
 * readCaptureStream): one step per packet, with the TCP events of every connection (the commands
 * that tell a connection's story need its handshake and how it ended). The fastest way is a
 * StepDecoder over the batches, each step used before the next is made; this is the convenient
 * one.
 */
export async function* decodeSteps(
  packets: AsyncIterable<readonly CapturePacket[]>,
  opts: DecodeOptions = {},
): AsyncGenerator<Step> {
  const dec = await stepDecoder(opts);
  for await (const batch of packets) for (const p of batch) yield dec.push(p);
  yield* dec.end();
}

const NO_EVENTS = Object.freeze([]) as unknown as TcpEvent[];

function eventsOf(outs: readonly TcpOutput[]): TcpEvent[] {
  for (const o of outs) if (o.kind !== "data") return outs.filter((x): x is TcpEvent => x.kind !== "data");
  return NO_EVENTS;
}
