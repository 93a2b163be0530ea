// pgwire compare: the Lua plugin under tshark against the TypeScript decoder, field by field.
// Both sides reduce to the same shape: per frame, the pgwire items in order, each with its fields
// as (name, shown value, offset from the item start, length), and the Info column.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { CaptureError } from "./capture-types.ts";
import { type DecodedMessage, FIELDS, type FieldValue } from "./decoder.ts";
import { type DecodeOptions, decodeCapture } from "./pipeline.ts";

export const PLUGIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dissector", "pgwire.lua");

export interface CmpField {
  name: string;
  show: string;
  offset: number;
  length: number;
}

export interface CmpItem {
  label: string;
  fields: CmpField[];
}

export interface CmpFrame {
  frame: number;
  items: CmpItem[];
  info?: string;
}

export interface LuaRun {
  frames: Map<number, CmpFrame>;
  /** Lua errors on stderr, _ws.lua.error and _ws.malformed items, each with its frame. */
  problems: string[];
}

export interface TsharkOptions extends DecodeOptions {
  keylog?: string;
  /** Run tshark with -2 (the default); false for a single pass. */
  twoPass?: boolean;
  plugin?: string;
  /** Extra -o preferences. */
  prefs?: string[];
}

// ---------------------------------------------------------------------------------------------
// How tshark shows values in PDML's show attribute, for the TS side.

function showString(s: string): string {
  // Wireshark escapes control characters other than tab, newline and carriage return as \xN.
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

export function showValue(v: FieldValue): string {
  if (typeof v === "string") return showString(v);
  if (typeof v === "boolean") return v ? "1" : "0";
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join(":");
  return String(v);
}

/** Fields whose value the TS decoder keeps as seconds and tshark shows as a relative time. */
const RELTIME = new Set(
  Object.values(FIELDS)
    .filter((f) => f.type === "reltime")
    .map((f) => `pgwire.${f.abbrev}`),
);

export function tsItem(m: DecodedMessage): CmpItem {
  return {
    label: m.label,
    fields: m.fields.map((f) => ({
      name: f.name,
      show: f.name.startsWith("expert:")
        ? String(f.value)
        : RELTIME.has(f.name)
          ? (f.value as number).toFixed(9)
          : showValue(f.value),
      offset: f.name.startsWith("expert:") ? 0 : f.offset,
      length: f.name.startsWith("expert:") ? 0 : f.length,
    })),
  };
}

export async function tsSide(file: string, opts: DecodeOptions = {}): Promise<Map<number, CmpFrame>> {
  // Items are converted at the end: a request gets its pgwire.response_in when the response
  // arrives, after the request's frame was yielded.
  const frames = new Map<number, { items: DecodedMessage[]; info?: string }>();
  for await (const fr of decodeCapture(file, opts)) {
    const prev = frames.get(fr.frame);
    if (prev) prev.items.push(...fr.items);
    else frames.set(fr.frame, { items: [...fr.items], info: fr.info });
  }
  const out = new Map<number, CmpFrame>();
  for (const [n, fr] of frames) out.set(n, { frame: n, items: fr.items.map(tsItem), info: fr.info });
  return out;
}

// ---------------------------------------------------------------------------------------------
// PDML: a small reader for what tshark writes (one element per line, attributes in double quotes).

function unescapeXml(s: string): string {
  return s.replace(/&(quot|lt|gt|amp|apos|#x[0-9a-fA-F]+|#\d+);/g, (_m, e: string) => {
    if (e === "quot") return '"';
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "amp") return "&";
    if (e === "apos") return "'";
    return String.fromCodePoint(e[1] === "x" ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10));
  });
}

/** An attribute of one tag's text (`key` as ' name="'), unescaped; undefined when absent. */
function attr(tag: string, key: string): string | undefined {
  const k = tag.indexOf(key);
  if (k < 0) return undefined;
  const v = k + key.length;
  const raw = tag.slice(v, tag.indexOf('"', v));
  return raw.includes("&") ? unescapeXml(raw) : raw;
}

/** The PDML elements the reader looks at; every other element is skipped. */
const OTHER = 0;
const PACKET = 1;
const PROTO = 2;
const FIELD = 3;

/** The kind of the element whose name starts at `p` in `text` and ends at `end`. */
function kindAt(text: string, p: number, end: number): number {
  const n = end - p;
  if (n === 5) {
    if (text.startsWith("field", p)) return FIELD;
    if (text.startsWith("proto", p)) return PROTO;
  } else if (n === 6 && text.startsWith("packet", p)) return PACKET;
  return OTHER;
}

/** Letters and '_', as element and attribute names are in PDML. */
function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/**
 * Reads tshark's PDML into pgwire items per frame, and notes Lua errors and malformed packets.
 * Fed chunk by chunk (push), so that a PDML larger than a string can hold is read as it comes.
 * With `onFrame`, each frame with items is handed over once its packet ends and not kept (the
 * frames map stays empty): memory then holds one packet, whatever the PDML's size.
 *
 * Most of a PDML is other protocols' fields: a tag is looked at no further than its name (and
 * its first attribute, the name of a field or proto) unless it is inside a pgwire item.
 */
export class PdmlReader {
  readonly frames = new Map<number, CmpFrame>();
  readonly problems: string[] = [];
  private readonly prefix: string;
  private frame = 0;
  /** With onFrame: the frame being read, once it has an item. */
  private current: CmpFrame | null = null;
  private item: { start: number; data: CmpItem } | null = null;
  private protoDepth = 0;
  // Elements open inside the current proto: "field", "expert" (an _ws.expert block), etc.
  private readonly stack: string[] = [];
  private expert: { name?: string; message?: string } | null = null;
  private rest = "";

  constructor(
    private readonly proto = "pgwire",
    private readonly onFrame?: (frame: CmpFrame) => void,
  ) {
    this.prefix = `${proto}.`;
  }

  /**
   * Takes the next chunk of PDML text; tags are read once complete (PDML escapes '>' inside
   * values, so a '>' ends a tag; values may hold raw newlines).
   */
  push(chunk: string): void {
    const text = this.rest + chunk;
    const cut = text.lastIndexOf(">");
    if (cut < 0) {
      this.rest = text;
      return;
    }
    this.rest = text.slice(cut + 1);
    this.scan(text, cut + 1);
  }

  /** The frames read, once the PDML has ended (with onFrame: the last one is handed over). */
  end(): LuaRun {
    if (this.rest) this.scan(this.rest, this.rest.length);
    this.rest = "";
    this.packetEnd();
    return { frames: this.frames, problems: this.problems };
  }

  /** Reads the complete tags of text[0, end). */
  private scan(text: string, end: number): void {
    for (let lt = text.indexOf("<"); lt >= 0 && lt < end; lt = text.indexOf("<", lt + 1)) {
      const gt = text.indexOf(">", lt + 1);
      if (gt < 0 || gt >= end) return;
      let p = lt + 1;
      const close = text.charCodeAt(p) === 47; // '/'
      if (close) p++;
      const start = p;
      while (isNameChar(text.charCodeAt(p))) p++;
      // <?xml ...?> and <!-- ... -->: no name.
      if (p > start) {
        const kind = kindAt(text, start, p);
        if (kind !== OTHER) this.tag(kind, close, text.charCodeAt(gt - 1) === 47, text, p, gt);
      }
      lt = gt;
    }
  }

  /** The first attribute of the tag whose attributes start at `p`, when it is `name` (as PDML writes it). */
  private static firstName(text: string, p: number, gt: number): string | undefined {
    if (text.startsWith(' name="', p)) {
      const q = text.indexOf('"', p + 7);
      const raw = text.slice(p + 7, q);
      return raw.includes("&") ? unescapeXml(raw) : raw;
    }
    return attr(text.slice(p, gt), ' name="');
  }

  private addItem(data: CmpItem): void {
    if (this.onFrame) {
      this.current ??= { frame: this.frame, items: [] };
      this.current.items.push(data);
      return;
    }
    const fr = this.frames.get(this.frame) ?? { frame: this.frame, items: [] };
    fr.items.push(data);
    this.frames.set(this.frame, fr);
  }

  /** With onFrame: hands the frame just read over. */
  private packetEnd(): void {
    if (this.current && this.onFrame) this.onFrame(this.current);
    this.current = null;
  }

  /**
   * One tag: its kind, whether it closes an element or closes itself, and where its attributes
   * are in `text` (from `p` to the '>' at `gt`).
   */
  private tag(kind: number, close: boolean, selfClose: boolean, text: string, p: number, gt: number): void {
    const frame = this.frame;
    if (kind === PACKET) {
      this.packetEnd();
      if (!close) this.frame++;
      return;
    }
    if (kind === PROTO) {
      if (close) {
        if (this.item && this.protoDepth === 1) {
          this.addItem(this.item.data);
          this.item = null;
        }
        this.protoDepth = Math.max(0, this.protoDepth - 1);
        return;
      }
      const name = PdmlReader.firstName(text, p, gt);
      if (name === this.proto && !this.item) {
        const tag = text.slice(p, gt);
        this.item = {
          start: Number(attr(tag, ' pos="') ?? 0),
          data: { label: attr(tag, ' showname="') ?? "", fields: [] },
        };
        this.protoDepth = 1;
        this.stack.length = 0;
        if (selfClose) {
          this.addItem(this.item.data);
          this.item = null;
          this.protoDepth = 0;
        }
      } else if (this.item && !selfClose) this.protoDepth++;
      if (name === "_ws.malformed")
        this.problems.push(`frame ${frame}: malformed packet (${attr(text.slice(p, gt), ' showname="') ?? ""})`);
      return;
    }
    const item = this.item;
    if (close) {
      const top = this.stack.pop();
      if (top === "expert" && this.expert && item) {
        item.data.fields.push({
          name: `expert:${this.expert.name ?? "?"}`,
          show: this.expert.message ?? "",
          offset: 0,
          length: 0,
        });
        this.expert = null;
      }
      return;
    }
    const name = PdmlReader.firstName(text, p, gt) ?? "";
    // Outside an item only Wireshark's own error items count (their names start with '_').
    if (name.charCodeAt(0) === 95) {
      if (name === "_ws.lua.error") {
        const tag = text.slice(p, gt);
        this.problems.push(`frame ${frame}: Lua error: ${attr(tag, ' showname="') ?? attr(tag, ' show="') ?? ""}`);
      }
      if (name === "_ws.malformed") this.problems.push(`frame ${frame}: malformed packet`);
    }
    if (!item) {
      if (!selfClose) this.stack.push("other");
      return;
    }
    if (name === "_ws.expert") {
      if (selfClose) return;
      this.expert = {};
      this.stack.push("expert");
      return;
    }
    if (this.expert) {
      if (name === "_ws.expert.message") this.expert.message = attr(text.slice(p, gt), ' show="') ?? "";
      else if (name.startsWith(this.prefix)) this.expert.name = name;
    } else if (name.startsWith(this.prefix)) {
      const tag = text.slice(p, gt);
      item.data.fields.push({
        name,
        show: attr(tag, ' show="') ?? "",
        offset: Number(attr(tag, ' pos="') ?? 0) - item.start,
        length: Number(attr(tag, ' size="') ?? 0),
      });
    }
    if (!selfClose) this.stack.push("field");
  }
}

/**
 * Wireshark keeps at most COL_MAX_INFO_LEN (4096) bytes of a frame's Info column, less where it
 * was appended to in several steps: a column at least this long may have been cut.
 */
const INFO_CUT_BYTES = 4000;

/** The plugin's Info equals the decoder's, or is its start where Wireshark cut the column. */
function sameInfo(lua: string, ts: string): boolean {
  if (lua === ts) return true;
  return Buffer.byteLength(lua) >= INFO_CUT_BYTES && ts.startsWith(lua);
}

/** Parses a whole PDML text (see PdmlReader). */
export function parsePdml(xml: string, proto = "pgwire"): LuaRun {
  const r = new PdmlReader(proto);
  r.push(xml);
  return r.end();
}

export function tsharkArgs(file: string, opts: TsharkOptions, output: string[]): string[] {
  // Wireshark 4.0 hands out-of-order segments over as they come unless told to reorder them;
  // the TS decoder reorders, so the comparison asks tshark to do the same.
  const args = [
    "-n",
    "-X",
    `lua_script:${opts.plugin ?? PLUGIN}`,
    "-o",
    "tcp.reassemble_out_of_order:TRUE",
    "-r",
    file,
    ...output,
  ];
  if (opts.keylog) args.push("-o", `tls.keylog_file:${opts.keylog}`);
  if (opts.ports) args.push("-o", `pgwire.ports:${opts.ports.join(",")}`);
  if (opts.heuristic === false) args.push("-o", "pgwire.heuristic:FALSE");
  for (const p of opts.prefs ?? []) args.push("-o", p);
  // Two passes by default: links to later frames (pgwire.response_in) are known only then, as
  // in the GUI; the TS decoder adds them when the response arrives.
  if (opts.twoPass !== false) args.push("-2");
  return args;
}

export async function runTshark(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    const r = await execa("tshark", args, { maxBuffer: 1024 * 1024 * 1024, reject: false, stripFinalNewline: false });
    // With reject: false, execa returns a failure to start tshark instead of throwing it.
    if ((r as { code?: string }).code === "ENOENT" || /ENOENT/.test(String((r as { message?: string }).message))) {
      throw new CaptureError("tshark not found: install it (Debian: apt-get install tshark)");
    }
    if (r.exitCode !== 0)
      throw new CaptureError(
        `tshark failed: ${r.stderr.split("\n").find((l) => l.trim() && !l.startsWith("Running as user")) ?? `exit ${r.exitCode}`}`,
      );
    return { stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    const err = e as { code?: string };
    if (err.code === "ENOENT") throw new CaptureError("tshark not found: install it (Debian: apt-get install tshark)");
    throw e;
  }
}

/**
 * tshark with its standard output handed over chunk by chunk as it comes (PDML of a big capture
 * can outgrow a string); the standard error is kept.
 */
export async function streamTshark(args: string[], onChunk: (text: string) => void): Promise<{ stderr: string }> {
  let sub: ReturnType<typeof execa>;
  try {
    sub = execa("tshark", args, { buffer: { stdout: false, stderr: true }, reject: false, encoding: "utf8" });
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT")
      throw new CaptureError("tshark not found: install it (Debian: apt-get install tshark)");
    throw e;
  }
  sub.stdout?.setEncoding("utf8");
  sub.stdout?.on("data", (c: string) => onChunk(c));
  const r = await sub;
  if ((r as { code?: string }).code === "ENOENT" || /ENOENT/.test(String((r as { message?: string }).message))) {
    throw new CaptureError("tshark not found: install it (Debian: apt-get install tshark)");
  }
  const stderr = String(r.stderr ?? "");
  if (r.exitCode !== 0)
    throw new CaptureError(
      `tshark failed: ${stderr.split("\n").find((l) => l.trim() && !l.startsWith("Running as user")) ?? `exit ${r.exitCode}`}`,
    );
  return { stderr };
}

/**
 * The problems other than malformed-packet items (which captures of bad data are expected to
 * raise): Lua errors on stderr and in the tree.
 */
export function withoutMalformed(problems: readonly string[]): string[] {
  return problems.filter((p) => !/malformed packet/.test(p));
}

/** Lua errors that tshark reports on stderr (it still exits 0). */
export function stderrProblems(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => /lua|error/i.test(l) && !l.startsWith("Running as user"))
    .map((l) => `tshark: ${l}`);
}

/** tshark's failure, or a missing tshark, as one clean error; its standard error otherwise. */
function tsharkOutcome(r: { exitCode?: number; stderr?: unknown; code?: string; message?: string }): string {
  if (r.code === "ENOENT" || /ENOENT/.test(String(r.message))) {
    throw new CaptureError("tshark not found: install it (Debian: apt-get install tshark)");
  }
  const stderr = String(r.stderr ?? "");
  if (r.exitCode !== 0)
    throw new CaptureError(
      `tshark failed: ${stderr.split("\n").find((l) => l.trim() && !l.startsWith("Running as user")) ?? `exit ${r.exitCode}`}`,
    );
  return stderr;
}

/**
 * tshark whose standard output is read as the reader asks for it (tshark waits while its pipe is
 * full), its standard error kept; `finish` gives the standard error once it has exited.
 */
function pullTshark(args: string[]): {
  chunks: AsyncIterable<string>;
  finish: () => Promise<string>;
  stop: () => void;
} {
  let sub: ReturnType<typeof execa>;
  try {
    sub = execa("tshark", args, { buffer: { stdout: false, stderr: true }, reject: false, encoding: "utf8" });
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT")
      throw new CaptureError("tshark not found: install it (Debian: apt-get install tshark)");
    throw e;
  }
  const out = sub.stdout;
  out?.setEncoding("utf8");
  // Node drains a child's output that nobody listens to when the child exits (and execa does
  // with buffer false): a listener keeps it for the reader, who may start later.
  out?.on("readable", () => {});
  return {
    chunks: (out ?? []) as AsyncIterable<string>,
    finish: async () => tsharkOutcome(await sub),
    stop: () => {
      if (sub.exitCode === null) sub.kill();
    },
  };
}

/** The Info column as the -T fields run writes it: one line per frame, in order, read as far as needed. */
class InfoLines {
  private lines: string[] = [];
  private i = 0;
  private rest = "";
  private ended = false;
  private readonly it: AsyncIterator<string>;

  constructor(chunks: AsyncIterable<string>) {
    this.it = chunks[Symbol.asyncIterator]();
  }

  /** Sets the frame's Info from its line (lines of frames without pgwire items are passed over). */
  async set(fr: CmpFrame): Promise<void> {
    for (;;) {
      while (this.i < this.lines.length) {
        const line = this.lines[this.i];
        const tab = line.indexOf("\t");
        const n = Number(tab < 0 ? line : line.slice(0, tab));
        if (n > fr.frame) return;
        this.i++;
        if (n !== fr.frame) continue;
        const [, proto, info] = line.split("\t");
        // TCP's analysis notes ("[TCP Out-Of-Order] ") stand before what pgwire writes: not ours.
        if (proto === "PGWIRE") fr.info = info.replace(/^(\[TCP [^\]]*\] )+/, "");
      }
      if (!(await this.more())) return;
    }
  }

  /** Reads the rest, so that tshark can finish. */
  async drain(): Promise<void> {
    while (await this.more());
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    this.i = 0;
    if (r.done) {
      this.ended = true;
      this.lines = [this.rest];
      this.rest = "";
      return true;
    }
    this.lines = (this.rest + r.value).split("\n");
    this.rest = this.lines.pop() ?? "";
    return true;
  }
}

/**
 * The Lua side as it comes: tshark's PDML and Info column (two tshark runs, read in step), one
 * frame with pgwire items at a time, in frame order. Lua errors and malformed packets are added
 * to `problems` once both runs have ended. Stopping early (return) stops tshark.
 */
export async function* luaFrames(
  file: string,
  opts: TsharkOptions = {},
  problems: string[] = [],
): AsyncGenerator<CmpFrame> {
  if (!existsSync(opts.plugin ?? PLUGIN)) throw new CaptureError(`plugin not found: ${opts.plugin ?? PLUGIN}`);
  const pdml = pullTshark(tsharkArgs(file, opts, ["-T", "pdml"]));
  const cols = pullTshark(
    tsharkArgs(file, opts, ["-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"]),
  );
  try {
    const ready: CmpFrame[] = [];
    const reader = new PdmlReader("pgwire", (fr) => ready.push(fr));
    const info = new InfoLines(cols.chunks);
    for await (const chunk of pdml.chunks) {
      reader.push(chunk);
      for (const fr of ready) {
        await info.set(fr);
        yield fr;
      }
      ready.length = 0;
    }
    reader.end();
    for (const fr of ready) {
      await info.set(fr);
      yield fr;
    }
    await info.drain();
    const stderr = [await pdml.finish(), await cols.finish()];
    problems.push(...reader.problems, ...stderrProblems(stderr[0]), ...stderrProblems(stderr[1]));
  } finally {
    pdml.stop();
    cols.stop();
  }
}

export async function luaSide(file: string, opts: TsharkOptions = {}): Promise<LuaRun> {
  const frames = new Map<number, CmpFrame>();
  const problems: string[] = [];
  for await (const fr of luaFrames(file, opts, problems)) frames.set(fr.frame, fr);
  return { frames, problems };
}

// ---------------------------------------------------------------------------------------------

function fmtField(f: CmpField | undefined): string {
  if (!f) return "(none)";
  return `${f.name} = ${JSON.stringify(f.show)} @${f.offset}+${f.length}`;
}

/** Every difference between the two sides, readably; empty when they agree. */
export function diffFrames(lua: Map<number, CmpFrame>, ts: Map<number, CmpFrame>, limit = 50): string[] {
  const out: string[] = [];
  const frames = [...new Set([...lua.keys(), ...ts.keys()])].sort((a, b) => a - b);
  for (const n of frames) {
    if (out.length >= limit) break;
    const a = lua.get(n);
    const b = ts.get(n);
    if (!a || !b) {
      out.push(
        `frame ${n}: ${a ? "only the Lua plugin" : "only the TS decoder"} shows pgwire items: ${(a ?? b)?.items.map((i) => i.label).join(", ")}`,
      );
      continue;
    }
    if (!sameInfo(a.info ?? "", b.info ?? "")) out.push(`frame ${n}: Info differs\n  lua: ${a.info}\n  ts:  ${b.info}`);
    if (a.items.length !== b.items.length) {
      out.push(
        `frame ${n}: ${a.items.length} items in Lua, ${b.items.length} in TS\n  lua: ${a.items.map((i) => i.label).join(", ")}\n  ts:  ${b.items.map((i) => i.label).join(", ")}`,
      );
      continue;
    }
    a.items.forEach((ia, i) => {
      const ib = b.items[i];
      if (ia.label !== ib.label)
        out.push(`frame ${n} item ${i + 1}: label ${JSON.stringify(ia.label)} vs ${JSON.stringify(ib.label)}`);
      const len = Math.max(ia.fields.length, ib.fields.length);
      for (let k = 0; k < len; k++) {
        const fa = ia.fields[k];
        const fb = ib.fields[k];
        if (
          fa &&
          fb &&
          fa.name === fb.name &&
          fa.show === fb.show &&
          fa.offset === fb.offset &&
          fa.length === fb.length
        )
          continue;
        out.push(
          `frame ${n} item ${i + 1} (${ia.label}) field ${k + 1}:\n  lua: ${fmtField(fa)}\n  ts:  ${fmtField(fb)}`,
        );
        break;
      }
    });
  }
  return out;
}

export interface CompareResult {
  frames: number;
  items: number;
  fields: number;
  differences: string[];
  problems: string[];
}

export async function compare(file: string, opts: TsharkOptions = {}): Promise<CompareResult> {
  const [lua, ts] = await Promise.all([luaSide(file, opts), tsSide(file, opts)]);
  if (opts.twoPass === false) {
    // One pass: the plugin cannot know links to later frames yet; the TS decoder adds them.
    for (const fr of ts.values()) {
      for (const it of fr.items) it.fields = it.fields.filter((f) => f.name !== "pgwire.response_in");
    }
  }
  const differences = diffFrames(lua.frames, ts);
  let items = 0;
  let fields = 0;
  for (const f of lua.frames.values()) {
    items += f.items.length;
    for (const i of f.items) fields += i.fields.length;
  }
  return { frames: lua.frames.size, items, fields, differences, problems: lua.problems };
}
