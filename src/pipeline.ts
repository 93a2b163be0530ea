// Capture file → TCP streams → PostgreSQL items, frame by frame, streaming in constant memory
// (only each connection's state and partial message are kept).

import { readFile } from "node:fs/promises";
import { CaptureError, type TcpOutput } from "./capture-types.ts";
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
}

interface Conn {
  decoder: ConnectionDecoder;
  serverPort: number;
  serverAddr: string;
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
      stream = o.stream;
      items.push(...c.decoder.feed(fe, o.data, o.frame, { truncated: o.truncated, time: o.time }));
    }
    const groups = new Map<number, DecodedMessage[]>();
    for (const it of items) {
      const g = groups.get(it.frame) ?? [];
      g.push(it);
      groups.set(it.frame, g);
    }
    return [...groups].map(([n, g]) => ({ frame: n, time, stream, items: g, info: frameInfo(g) }));
  }
}

export async function* decodeCapture(path: string, opts: DecodeOptions = {}): AsyncGenerator<FrameResult> {
  const tcp = new TcpReassembler();
  const dec = new CaptureDecoder(opts, opts.keylog ? parseKeylog(await readKeylog(opts.keylog)) : undefined);
  for await (const pkt of readCapture(path)) {
    yield* dec.frame(tcp.push(pkt), pkt.time);
  }
  const rest = tcp.end();
  // Data flushed past a gap at the end: attribute each chunk to its own frame.
  const byFrame = new Map<number, TcpOutput[]>();
  for (const o of rest) {
    const list = byFrame.get(o.frame) ?? [];
    list.push(o);
    byFrame.set(o.frame, list);
  }
  for (const outs of byFrame.values()) yield* dec.frame(outs, outs[0].time);
}
