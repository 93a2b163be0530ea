// The TS side of the benchmark, run by scripts/bench.ts in a child process from an esbuild bundle
// (as the decoder runs when shipped; under tsx every function is wrapped for its name, which costs
// about a third). Prints one JSON object.
//   node bench-ts.mjs decode FILE REPS [select]
//                                          the whole pipeline (pcap, TCP, decoder): seconds, messages;
//                                          with select, the analyses' selective mode
//   node bench-ts.mjs parsers FILE REPS    pg-protocol's Parser and the TS decoder on the server streams

//   node bench-ts.mjs memory FILE          one decode; peak resident memory

import { Parser } from "pg-protocol/dist/parser.js";
import { ANALYSIS_FIELDS } from "../src/analysis/analyzer.ts";
import { readCapture, readCaptureBatches } from "../src/capture/pcap.ts";
import { TcpReassembler } from "../src/capture/tcp.ts";
import { ConnectionDecoder } from "../src/decoder/index.ts";
import { type DecodeOptions, stepDecoder } from "../src/pipeline.ts";

const [mode, file, repsArg, variant] = process.argv.slice(2);
const reps = Number(repsArg ?? 1);

/** Every message of the file, as the command line decodes it (a StepDecoder over the batches). */
async function decodeOnce(opts: DecodeOptions): Promise<number> {
  const dec = await stepDecoder(opts);
  let n = 0;
  const count = (step: { frames: Array<{ items: unknown[] }> }) => {
    for (const fr of step.frames) n += fr.items.length;
  };
  for await (const batch of readCaptureBatches(file)) for (const p of batch) count(dec.push(p));
  for (const step of dec.end()) count(step);
  return n;
}

async function decode(): Promise<{ seconds: number[]; messages: number }> {
  const seconds: number[] = [];
  let messages = 0;
  const opts: DecodeOptions = variant === "select" ? { select: ANALYSIS_FIELDS } : {};
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    messages = await decodeOnce(opts);
    seconds.push((performance.now() - t0) / 1000);
  }
  return { seconds, messages };
}

/** The server's byte stream of every connection, as TCP delivers it (chunks in order). */
async function serverStreams(): Promise<Uint8Array[][]> {
  const tcp = new TcpReassembler();
  const byStream = new Map<number, Uint8Array[]>();
  const add = (outs: ReturnType<TcpReassembler["push"]>) => {
    for (const o of outs) {
      if (o.kind !== "data" || o.srcPort !== 5432) continue;
      const l = byStream.get(o.stream) ?? [];
      l.push(o.data);
      byStream.set(o.stream, l);
    }
  };
  for await (const p of readCapture(file)) add(tcp.push(p));
  add(tcp.end());
  return [...byStream.values()];
}

async function parsers() {
  const streams = await serverStreams();
  const bytes = streams.reduce((a, s) => a + s.reduce((b, c) => b + c.length, 0), 0);
  const bufs = streams.map((s) => s.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)));
  const pg: number[] = [];
  const ts: number[] = [];
  let pgMessages = 0;
  let tsMessages = 0;
  let fields = 0;
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    let n = 0;
    for (const s of bufs) {
      const p = new Parser();
      for (const c of s) p.parse(c, () => n++);
    }
    pg.push((performance.now() - t0) / 1000);
    pgMessages = n;
    t0 = performance.now();
    n = 0;
    let f = 0;
    for (const s of streams) {
      const d = new ConnectionDecoder();
      for (const c of s) {
        for (const m of d.feed(false, c, 1)) {
          n++;
          f += m.fields.length;
        }
      }
    }
    ts.push((performance.now() - t0) / 1000);
    tsMessages = n;
    fields = f;
  }
  return { pgProtocol: pg, ts, bytes, pgMessages, tsMessages, fields };
}

async function memory() {
  const t0 = performance.now();
  const n = await decodeOnce({});
  return { peakMB: process.resourceUsage().maxRSS / 1024, seconds: (performance.now() - t0) / 1000, messages: n };
}

const out = mode === "decode" ? await decode() : mode === "parsers" ? await parsers() : await memory();
process.stdout.write(`${JSON.stringify(out)}\n`);
