// Re-segmentation: the same TCP byte streams as a capture's, sent again in other segments (random
// sizes from 1 byte on), some out of order and some twice. A decoder that reassembles right finds
// the same messages in both (test/robust, npm run fuzz).

import { readCapture } from "../../src/capture/pcap.ts";
import { TcpReassembler } from "../../src/capture/tcp.ts";
import type { TcpOutput } from "../../src/capture/types.ts";
import { prng, sessionsToPcapng, TcpSessionBuilder } from "./tcp-sessions.ts";

export interface ResegmentOptions {
  /** Seed of the pseudo-random choices: the same seed gives the same file. */
  seed: number;
  /** Largest segment (default 16 bytes); segments are 1 to this many bytes. */
  maxSegment?: number;
  /** Probability that a segment is sent after the one that follows it (default 0). */
  reorder?: number;
  /** Probability that a segment is sent twice (default 0). */
  duplicate?: number;
}

interface Stream {
  b: TcpSessionBuilder;
  client: string;
  /** Bytes sent so far by the client and by the server. */
  sent: { c: number; s: number };
}

/** The data of a capture's TCP connections, as TCP delivers it in order. */
async function streamData(path: string): Promise<TcpOutput[]> {
  const tcp = new TcpReassembler();
  const out: TcpOutput[] = [];
  for await (const pkt of readCapture(path)) out.push(...tcp.push(pkt));
  out.push(...tcp.end());
  return out.filter((o) => o.kind === "data" && !o.truncated);
}

/**
 * The capture at `path` with every connection's data sent again in new segments, as a pcapng
 * image. Each connection gets a handshake and a close; the client is the side that sent first.
 */
export async function resegmentCapture(path: string, opts: ResegmentOptions): Promise<Uint8Array> {
  const rnd = prng(opts.seed);
  const max = Math.max(1, opts.maxSegment ?? 16);
  const streams = new Map<number, Stream>();
  const step = 1e-6;
  let clock = 0;
  for (const o of await streamData(path)) {
    if (o.kind !== "data") continue;
    clock = Math.max(o.time, clock + step);
    let st = streams.get(o.stream);
    if (!st) {
      const b = new TcpSessionBuilder({
        client: { ip: o.src, port: o.srcPort },
        server: { ip: o.dst, port: o.dstPort },
        startTime: clock,
        timeStep: step,
      });
      b.handshake();
      st = { b, client: `${o.src}:${o.srcPort}`, sent: { c: 0, s: 0 } };
      streams.set(o.stream, st);
      clock += 3 * step;
    }
    const fromClient = `${o.src}:${o.srcPort}` === st.client;
    // Cut the data: mostly small segments, a few up to `max` bytes.
    const cuts: Array<[number, Uint8Array]> = [];
    const base = fromClient ? st.sent.c : st.sent.s;
    for (let off = 0; off < o.data.length; ) {
      const size = 1 + Math.floor((rnd() < 0.5 ? rnd() * rnd() : rnd()) * max);
      const seg = o.data.subarray(off, Math.min(o.data.length, off + size));
      cuts.push([base + off, seg]);
      off += seg.length;
    }
    // Swap some neighbours (out of order), repeat some (retransmissions).
    for (let i = 0; i + 1 < cuts.length; i++) {
      if (rnd() < (opts.reorder ?? 0)) {
        [cuts[i], cuts[i + 1]] = [cuts[i + 1], cuts[i]];
        i++;
      }
    }
    const sends: Array<[number, Uint8Array]> = [];
    for (const c of cuts) {
      sends.push(c);
      // A repeated 1-byte segment looks like a TCP keep-alive to Wireshark, which then leaves it
      // out of reassembly: repeat only longer ones.
      if (c[1].length > 1 && rnd() < (opts.duplicate ?? 0)) sends.push(c);
    }
    st.b.at(clock);
    for (const [seq, seg] of sends) st.b.raw(fromClient, seq, seg);
    st.b.ack(!fromClient);
    clock += (sends.length + 1) * step;
    if (fromClient) st.sent.c += o.data.length;
    else st.sent.s += o.data.length;
  }
  for (const st of streams.values()) {
    st.b.at(clock);
    st.b.close(true);
    clock += 4 * step;
  }
  return sessionsToPcapng([...streams.values()].map((s) => s.b));
}
