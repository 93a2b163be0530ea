// Capture file → TCP streams → PostgreSQL items, frame by frame, streaming in constant memory
// (only each connection's state and partial message are kept).

import type { TcpOutput } from "./capture-types.ts";
import { ConnectionDecoder, type DecodedMessage, frameInfo } from "./decoder.ts";
import { readCapture } from "./pcap.ts";
import { TcpReassembler } from "./tcp.ts";

export interface DecodeOptions {
  /** Server ports to decode (default 5432), as the plugin's port preference. */
  ports?: readonly number[];
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
  constructor(opts: DecodeOptions = {}) {
    this.ports = new Set(opts.ports ?? [5432]);
  }

  /** Items for the outputs of one packet, grouped as one frame (or null when there are none). */
  frame(outputs: readonly TcpOutput[], frame: number, time: number): FrameResult | null {
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
        c = this.ports.has(serverPort)
          ? { decoder: new ConnectionDecoder(), serverPort, serverAddr: serverPort === o.dstPort ? o.dst : o.src }
          : null;
        this.conns.set(o.stream, c);
      }
      if (!c) continue;
      const fe = o.srcPort === o.dstPort ? o.dst === c.serverAddr : o.dstPort === c.serverPort;
      stream = o.stream;
      items.push(...c.decoder.feed(fe, o.data, o.frame, { truncated: o.truncated }));
    }
    if (items.length === 0) return null;
    return { frame, time, stream, items, info: frameInfo(items) };
  }
}

export async function* decodeCapture(path: string, opts: DecodeOptions = {}): AsyncGenerator<FrameResult> {
  const tcp = new TcpReassembler();
  const dec = new CaptureDecoder(opts);
  for await (const pkt of readCapture(path)) {
    const r = dec.frame(tcp.push(pkt), pkt.frame, pkt.time);
    if (r) yield r;
  }
  const rest = tcp.end();
  // Data flushed past a gap at the end: attribute each chunk to its own frame.
  const byFrame = new Map<number, TcpOutput[]>();
  for (const o of rest) {
    const list = byFrame.get(o.frame) ?? [];
    list.push(o);
    byFrame.set(o.frame, list);
  }
  for (const [frame, outs] of byFrame) {
    const r = dec.frame(outs, frame, outs[0].time);
    if (r) yield r;
  }
}
