// Capture file → TCP streams → PostgreSQL items, frame by frame, streaming in constant memory
// (only each connection's state and partial message are kept).

import { readFile } from "node:fs/promises";
import { readCaptureBatches } from "./capture/pcap.ts";
import { TcpReassembler } from "./capture/tcp.ts";
import { parseKeylog, type TlsSession } from "./capture/tls.ts";
import { CaptureError, type CapturePacket, type TcpEvent, type TcpOutput } from "./capture/types.ts";
import { CaptureDecoder, type FrameResult, type RegisterOptions } from "./decoder/register.ts";

export type { FrameResult };

async function readKeylog(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new CaptureError(`cannot read key log file ${path}`);
  }
}

export interface DecodeOptions extends RegisterOptions {
  /** A TLS key log file (SSLKEYLOGFILE format): TLS sessions are decrypted and decoded. */
  keylog?: string;
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

  /**
   * The stream's later messages decoded with a narrower selection, one whose fields the decoder's
   * selection (DecodeOptions.select) has too: the analyses drop what they no longer tell.
   */
  narrow(stream: number, select: ReadonlySet<string>): void {
    this.dec.narrow(stream, select);
  }

  /** The TLS session of a stream's connection, when its key log opened it. */
  tlsOf(stream: number): TlsSession | undefined {
    return this.dec.tlsOf(stream);
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
