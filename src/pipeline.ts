// Capture file → TCP streams → PostgreSQL items, frame by frame, streaming in constant memory
// (only each connection's state and partial message are kept).

import { readFile } from "node:fs/promises";
import { CaptureError, type CapturePacket, type TcpEvent, type TcpOutput } from "./capture-types.ts";
import { ConnectionDecoder, type DecodedMessage, frameInfo, heuristicSide } from "./decoder.ts";
import { readCapture } from "./pcap.ts";
import { TcpReassembler } from "./tcp.ts";
import { parseKeylog } from "./tls.ts";

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
  client?: { addr: string; port: number };
}

/** Decodes every TCP chunk the reassembler produced for one packet. */
export class CaptureDecoder {
  private readonly conns = new Map<number, Conn | null>();
  private readonly ports: ReadonlySet<number>;
  private readonly heuristic: boolean;
  private readonly cancelKeys = new Map<string, { frame: number; conn: ConnectionDecoder }>();
  constructor(
    opts: DecodeOptions = {},
    private readonly keylog?: ReadonlyMap<string, string>,
  ) {
    this.ports = new Set(opts.ports ?? [5432]);
    this.heuristic = opts.heuristic ?? true;
  }

  private conn(stream: number, serverPort: number, serverAddr: string): Conn {
    const c = {
      decoder: new ConnectionDecoder({ keylog: this.keylog, cancelKeys: this.cancelKeys }),
      serverPort,
      serverAddr,
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
      items.push(...c.decoder.feed(fe, o.data, o.frame, { truncated: o.truncated, time: o.time }));
    }
    const groups = new Map<number, DecodedMessage[]>();
    for (const it of items) {
      const g = groups.get(it.frame) ?? [];
      g.push(it);
      groups.set(it.frame, g);
    }
    const client = conn?.client;
    const server = conn && { addr: conn.serverAddr, port: conn.serverPort };
    return [...groups].map(([n, g]) => ({ frame: n, time, stream, items: g, info: frameInfo(g), client, server }));
  }
}

export async function* decodeCapture(path: string, opts: DecodeOptions = {}): AsyncGenerator<FrameResult> {
  for await (const step of decodeSteps(readCapture(path), opts)) yield* step.frames;
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
 * Decodes packets as they come (a file, or a live capture), one step per packet, with the TCP
 * events of every connection: the commands that tell a connection's story need its handshake
 * and how it ended.
 */
export async function* decodeSteps(
  packets: AsyncIterable<CapturePacket>,
  opts: DecodeOptions = {},
): AsyncGenerator<Step> {
  const tcp = new TcpReassembler();
  const dec = new CaptureDecoder(opts, opts.keylog ? parseKeylog(await readKeylog(opts.keylog)) : undefined);
  let last = { frame: 0, time: 0 };
  for await (const pkt of packets) {
    last = pkt;
    const outs = tcp.push(pkt);
    yield { frame: pkt.frame, time: pkt.time, frames: dec.frame(outs, pkt.time), events: eventsOf(outs) };
  }
  const rest = tcp.end();
  // Data flushed past a gap at the end: attribute each chunk to its own frame.
  const byFrame = new Map<number, TcpOutput[]>();
  for (const o of rest) {
    const list = byFrame.get(o.frame) ?? [];
    list.push(o);
    byFrame.set(o.frame, list);
  }
  for (const outs of byFrame.values()) {
    yield { frame: last.frame, time: last.time, frames: dec.frame(outs, outs[0].time), events: eventsOf(outs) };
  }
}

function eventsOf(outs: readonly TcpOutput[]): TcpEvent[] {
  return outs.filter((o): o is TcpEvent => o.kind !== "data");
}
