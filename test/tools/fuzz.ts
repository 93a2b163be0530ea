// Fuzzing: captures with random bytes changed (editcap -E) or with their TCP data cut into other
// segments (resegment.ts), decoded by the plugin under tshark and by the TS decoder. Neither may
// fail (Lua error, decoder error item, TS exception), and they must agree on every connection that
// no changed byte touched. Used by test/decoder/robust.test.ts (a few seeds) and scripts/fuzz.ts
// (npm run fuzz: many).

import { writeFile } from "node:fs/promises";
import { execa } from "execa";
import { decodePacket } from "../../src/capture/packet.ts";
import { readCapture } from "../../src/capture/pcap.ts";
import type { CapturePacket } from "../../src/capture/types.ts";
import { type CmpFrame, compare, diffFrames, luaSide, tsSide, withoutMalformed } from "../../src/compare.ts";
import { type ResegmentOptions, resegmentCapture } from "./resegment.ts";

export interface FuzzOutcome {
  /** Frames whose bytes the mutation changed. */
  mutated: number;
  /** What went wrong: Lua errors, decoder errors, TS exceptions, disagreements on clean connections. */
  problems: string[];
}

async function packets(path: string): Promise<CapturePacket[]> {
  const out: CapturePacket[] = [];
  for await (const p of readCapture(path)) out.push(p);
  return out;
}

function connectionOf(p: CapturePacket): string | undefined {
  const d = decodePacket(p);
  if (!d) return undefined;
  return [`${d.src}:${d.srcPort}`, `${d.dst}:${d.dstPort}`].sort().join(" ");
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decoderErrors(frames: Map<number, CmpFrame>): string[] {
  const out: string[] = [];
  for (const fr of frames.values()) {
    for (const it of fr.items) {
      if (it.label === "PostgreSQL: decoder error") out.push(`frame ${fr.frame}: plugin ${it.fields[0]?.show ?? ""}`);
    }
  }
  return out;
}

/**
 * `src` with bytes changed at `rate` (editcap -E, seed `seed`) written to `out`, then decoded by
 * both. Differences count only on connections none of whose frames changed.
 */
export async function editcapFuzz(
  src: string,
  out: string,
  seed: number,
  rate: string,
  ports?: number[],
): Promise<FuzzOutcome> {
  await execa("editcap", ["--seed", String(seed), "-E", rate, src, out]);
  const before = await packets(src);
  const after = await packets(out);
  const dirty = new Set<string>();
  const connOfFrame = new Map<number, string | undefined>();
  let mutated = 0;
  before.forEach((p, i) => {
    const key = connectionOf(p);
    connOfFrame.set(p.frame, key);
    if (!after[i] || !sameBytes(p.data, after[i].data)) {
      mutated++;
      dirty.add(key ?? "?");
    }
  });
  const problems: string[] = [];
  let ts: Map<number, CmpFrame> | undefined;
  try {
    ts = await tsSide(out, { ports });
  } catch (e) {
    problems.push(`TS decoder threw: ${(e as Error).stack ?? e}`);
  }
  const lua = await luaSide(out, { ports });
  problems.push(...withoutMalformed(lua.problems), ...decoderErrors(lua.frames));
  if (ts) {
    for (const d of diffFrames(lua.frames, ts, 1000)) {
      // A CancelRequest's links point into another connection, which may be a changed one.
      if (/pgwire\.cancel\./.test(d)) continue;
      const n = Number(/^frame (\d+)/.exec(d)?.[1]);
      const key = connOfFrame.get(n);
      if (key !== undefined && !dirty.has(key)) problems.push(`clean connection ${key}: ${d}`);
    }
  }
  return { mutated, problems };
}

/** `src` re-segmented with `opts` into `out`, then compared: both decoders must agree everywhere. */
export async function resegmentFuzz(
  src: string,
  out: string,
  opts: ResegmentOptions,
  ports?: number[],
): Promise<FuzzOutcome> {
  await writeFile(out, await resegmentCapture(src, opts));
  const r = await compare(out, { ports });
  return {
    mutated: 0,
    problems: [...withoutMalformed(r.problems), ...r.differences.map((d) => `disagreement: ${d}`)],
  };
}
