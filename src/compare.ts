// pgwire compare: the Lua plugin under tshark against the TypeScript decoder, field by field.
// Both sides reduce to the same shape: per frame, the pgwire items in order, each with its fields
// as (name, shown value, offset from the item start, length), and the Info column.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { execa } from "execa";
import { MESSAGES } from "../dissector/pgwire.ts";
import { readCaptureBatches } from "./capture/pcap.ts";
import { CaptureError } from "./capture/types.ts";
import { type DecodedField, type DecodedMessage, FIELDS, type FieldValue } from "./decoder/index.ts";
import { type DecodeOptions, decodeCapture, decodeSteps } from "./pipeline.ts";

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
  /**
   * The command that runs tshark, tshark's arguments appended (default ["tshark"]): e.g. the
   * tshark of another Wireshark release in a chroot (test/helpers/releases.ts).
   */
  tshark?: readonly string[];
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

/** Decoder fields as tshark shows them (expert items carry their message as the value). */
export function tsFields(fields: readonly DecodedField[]): CmpField[] {
  return fields.map((f) => ({
    name: f.name,
    show: f.name.startsWith("expert:")
      ? String(f.value)
      : RELTIME.has(f.name)
        ? (f.value as number).toFixed(9)
        : showValue(f.value),
    offset: f.name.startsWith("expert:") ? 0 : f.offset,
    length: f.name.startsWith("expert:") ? 0 : f.length,
  }));
}

export function tsItem(m: DecodedMessage): CmpItem {
  return { label: m.label, fields: tsFields(m.fields) };
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

/** execa, loaded when tshark first runs: the commands that never run it start without it. */
let execaModule: Promise<typeof import("execa")> | undefined;
function loadExeca(): Promise<typeof import("execa")> {
  execaModule ??= import("execa");
  return execaModule;
}

const TSHARK_MISSING = "tshark not found: install it (Debian: apt-get install tshark)";

/** tshark's failure, or a missing tshark, as one clean error; its standard error otherwise. */
function tsharkOutcome(r: { exitCode?: number; stderr?: unknown; code?: string; message?: string }): string {
  if (r.code === "ENOENT" || /ENOENT/.test(String(r.message))) {
    throw new CaptureError(TSHARK_MISSING);
  }
  const stderr = String(r.stderr ?? "");
  if (r.exitCode !== 0)
    throw new CaptureError(
      `tshark failed: ${stderr.split("\n").find((l) => l.trim() && !l.startsWith("Running as user")) ?? `exit ${r.exitCode}`}`,
    );
  return stderr;
}

export async function runTshark(
  args: string[],
  tshark: readonly string[] = ["tshark"],
): Promise<{ stdout: string; stderr: string }> {
  const { execa } = await loadExeca();
  try {
    const r = await execa(tshark[0], [...tshark.slice(1), ...args], {
      maxBuffer: 1024 * 1024 * 1024,
      reject: false,
      stripFinalNewline: false,
    });
    // With reject: false, execa returns a failure to start tshark instead of throwing it.
    return { stdout: r.stdout, stderr: tsharkOutcome(r) };
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    if ((e as { code?: string }).code === "ENOENT") throw new CaptureError(TSHARK_MISSING);
    throw e;
  }
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

const pluginChecks = new Map<string, Promise<string | null>>();

/**
 * Why tshark (opts.tshark) does not load the plugin, or null when it does. tshark says nothing
 * when it skips Lua plugins (Wireshark 4.4 and later do as root) and exits 0 after a Lua syntax
 * error, so its protocol list is asked: `-G protocols` (first, as 3.4 and 4.0 want it) lists
 * pgwire only when the plugin was loaded. Remembered per tshark command and plugin content.
 */
export function pluginNotLoaded(opts: TsharkOptions = {}): Promise<string | null> {
  const plugin = opts.plugin ?? PLUGIN;
  const tshark = opts.tshark ?? ["tshark"];
  const key = JSON.stringify([tshark, plugin, createHash("sha1").update(readFileSync(plugin)).digest("hex")]);
  let check = pluginChecks.get(key);
  if (!check) {
    check = runTshark(["-G", "protocols", "-X", `lua_script:${plugin}`], tshark).then(async ({ stdout, stderr }) => {
      if (/^[^\t\n]*\t[^\t\n]*\tpgwire(\t|$)/m.test(stdout)) return null;
      const why = `tshark did not load the plugin ${plugin}`;
      const lua = stderr.split("\n").find((l) => /lua/i.test(l));
      if (lua) return `${why}: ${lua.trim()}`;
      const version = /\(Wireshark\) (\d+)\.(\d+)/.exec((await runTshark(["-v"], tshark)).stdout);
      const release = version ? Number(version[1]) * 100 + Number(version[2]) : 0;
      if (/Running as user "root"/.test(stderr) && release >= 404)
        return `${why}: it runs as root, and Wireshark 4.4 and later ignore Lua plugins as root (run it as a normal user)`;
      return `${why}: tshark's protocol list has no pgwire`;
    });
    pluginChecks.set(key, check);
    check.catch(() => pluginChecks.delete(key));
  }
  return check;
}

/**
 * tshark whose standard output is read as the reader asks for it (tshark waits while its pipe is
 * full), its standard error kept; `finish` gives the standard error once it has exited.
 */
function pullTshark(
  run: typeof execa,
  args: string[],
  tshark: readonly string[] = ["tshark"],
): {
  chunks: AsyncIterable<string>;
  finish: () => Promise<string>;
  stop: () => void;
} {
  let sub: ReturnType<typeof execa>;
  try {
    sub = run(tshark[0], [...tshark.slice(1), ...args], {
      buffer: { stdout: false, stderr: true },
      reject: false,
      encoding: "utf8",
    });
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") throw new CaptureError(TSHARK_MISSING);
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
  const notLoaded = await pluginNotLoaded(opts);
  if (notLoaded) throw new CaptureError(notLoaded);
  const { execa } = await loadExeca();
  const pdml = pullTshark(execa, tsharkArgs(file, opts, ["-T", "pdml"]), opts.tshark);
  const cols = pullTshark(
    execa,
    tsharkArgs(file, opts, ["-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"]),
    opts.tshark,
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

function sameField(a: CmpField | undefined, b: CmpField | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.name === b.name &&
    a.show === b.show &&
    a.offset === b.offset &&
    a.length === b.length
  );
}

function fieldDiff(n: number, item: number, label: string, k: number, a?: CmpField, b?: CmpField): string {
  return `frame ${n} item ${item + 1} (${label}) field ${k + 1}:\n  lua: ${fmtField(a)}\n  ts:  ${fmtField(b)}`;
}

/**
 * The message of a request's item compared while it still waited for its response: the fields
 * up to `field` agreed, and pgwire.response_in may still come after them on the TS side.
 */
export interface Hole {
  frame: number;
  item: number;
  label: string;
  /** Where pgwire.response_in goes in the TS item's fields. */
  field: number;
  /** The Lua item's fields from there (two at most decide: the TS side adds one field at most). */
  lua: CmpField[];
  /** The message once the request's fate is known; null when there is none. */
  text?: string | null;
}

/** The Hole's message, given what the TS item's fields turned out to be from its `field` on. */
function holeText(h: Hole, tail: readonly CmpField[]): string | null {
  const len = Math.max(h.lua.length, tail.length);
  for (let k = 0; k < len; k++) {
    if (!sameField(h.lua[k], tail[k])) return fieldDiff(h.frame, h.item, h.label, h.field + k, h.lua[k], tail[k]);
  }
  return null;
}

/**
 * One frame's differences, as diffFrames lists them. `pending` marks the TS items that may still
 * get pgwire.response_in: their message, if they have one after the fields they have now, is a
 * Hole to fill in later.
 */
export function diffFrame(
  n: number,
  a: CmpFrame | undefined,
  b: CmpFrame | undefined,
  pending?: readonly boolean[],
): (string | Hole)[] {
  const out: (string | Hole)[] = [];
  if (!a && !b) return out;
  if (!a || !b) {
    out.push(
      `frame ${n}: ${a ? "only the Lua plugin" : "only the TS decoder"} shows pgwire items: ${(a ?? b)?.items.map((i) => i.label).join(", ")}`,
    );
    return out;
  }
  if (!sameInfo(a.info ?? "", b.info ?? "")) out.push(`frame ${n}: Info differs\n  lua: ${a.info}\n  ts:  ${b.info}`);
  if (a.items.length !== b.items.length) {
    out.push(
      `frame ${n}: ${a.items.length} items in Lua, ${b.items.length} in TS\n  lua: ${a.items.map((i) => i.label).join(", ")}\n  ts:  ${b.items.map((i) => i.label).join(", ")}`,
    );
    return out;
  }
  a.items.forEach((ia, i) => {
    const ib = b.items[i];
    if (ia.label !== ib.label)
      out.push(`frame ${n} item ${i + 1}: label ${JSON.stringify(ia.label)} vs ${JSON.stringify(ib.label)}`);
    const waits = pending?.[i] === true;
    const len = waits ? ib.fields.length : Math.max(ia.fields.length, ib.fields.length);
    for (let k = 0; k < len; k++) {
      if (sameField(ia.fields[k], ib.fields[k])) continue;
      out.push(fieldDiff(n, i, ia.label, k, ia.fields[k], ib.fields[k]));
      return;
    }
    if (waits) out.push({ frame: n, item: i, label: ia.label, field: len, lua: ia.fields.slice(len, len + 2) });
  });
  return out;
}

/** Every difference between the two sides, readably; empty when they agree. */
export function diffFrames(lua: Map<number, CmpFrame>, ts: Map<number, CmpFrame>, limit = 50): string[] {
  const out: string[] = [];
  const frames = [...new Set([...lua.keys(), ...ts.keys()])].sort((a, b) => a - b);
  for (const n of frames) {
    if (out.length >= limit) break;
    for (const d of diffFrame(n, lua.get(n), ts.get(n))) if (typeof d === "string") out.push(d);
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

// ---------------------------------------------------------------------------------------------
// Comparing as both sides come, in bounded memory.
//
// Both sides give their frames in order: a frame is compared as soon as both have passed it, and
// then forgotten. What is kept:
// - a request's item compared before its response came: a Hole (its frame's message may change
//   when pgwire.response_in is added), and a Waiting record per request the decoder may still
//   answer, as long as it may (answered, or dropped by the decoder because a later request of its
//   connection was answered, or the end of the capture). That is the decoder's own queue of
//   unanswered requests, plus requests a connection restart dropped until the connection answers
//   another one.
// - the messages of the frames after the first one still waiting, as long as they may be among
//   the first `limit`: at most `limit` frames with a message, plus the frames still waiting.
// - frames held back to the end (opts.hold) whole.
//
// The TS decoder may, rarely, give items for a frame after later frames: data behind a TCP gap
// flushed at the end of the capture or when a connection's ports are reused, TLS records that
// came before the ServerHello. The comparison then reports those frames as `late` and compare()
// runs again with them held back to the end.

/** A frame's messages, some possibly still waiting (Holes), or all unknown until the end (held). */
interface Slot {
  frame: number;
  parts: (string | Hole)[];
  /** Holes not filled yet; 1 for a frame held back until it is compared. */
  open: number;
  /** Messages known so far. */
  known: number;
  dropped?: boolean;
}

/** diffFrames' list, built frame by frame as the frames' messages become known. */
class Messages {
  readonly out: string[] = [];
  private slots: Slot[] = [];
  private head = 0;
  /** out.length plus the messages known in the slots. */
  private known = 0;
  private readonly slotOf = new Map<Hole, Slot>();
  /** The limit falls before any frame still to come: frames need not be compared any more. */
  full = false;

  constructor(private readonly limit: number) {}

  /** A frame's messages, in frame order; a held frame's are given later (fill). */
  add(frame: number, parts: (string | Hole)[], held = false): Slot | undefined {
    if (this.full) return undefined;
    const slot: Slot = { frame, parts, open: held ? 1 : 0, known: 0 };
    for (const p of parts) {
      if (typeof p === "string") slot.known++;
      else {
        slot.open++;
        this.slotOf.set(p, slot);
      }
    }
    this.slots.push(slot);
    this.known += slot.known;
    this.settle();
    return slot;
  }

  /** A Hole's message is known (null: none). */
  resolve(h: Hole, text: string | null, settle = true): void {
    const slot = this.slotOf.get(h);
    if (!slot) return;
    this.slotOf.delete(h);
    h.text = text;
    slot.open--;
    if (text !== null) {
      slot.known++;
      this.known++;
    }
    if (settle) this.settle();
  }

  /** A held frame's messages, compared at the end. */
  fill(slot: Slot, parts: string[]): void {
    slot.parts = parts;
    slot.open--;
    if (slot.dropped) return;
    slot.known += parts.length;
    this.known += parts.length;
    this.settle();
  }

  /** The list, once every Hole's request is known to stay unanswered if it was not answered. */
  end(): string[] {
    for (const h of [...this.slotOf.keys()]) this.resolve(h, holeText(h, []), false);
    this.settle();
    return this.out;
  }

  /** Hands the leading frames whose messages are all known over; drops what the limit cuts off. */
  private settle(): void {
    while (this.head < this.slots.length && this.slots[this.head].open === 0) {
      if (this.out.length >= this.limit) {
        this.drop(this.head);
        break;
      }
      for (const p of this.slots[this.head++].parts) {
        const t = typeof p === "string" ? p : p.text;
        if (t) this.out.push(t);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    // diffFrames stops before the first frame that finds `limit` messages before it: the
    // messages known so far may show where that is.
    if (this.known < this.limit) return;
    let before = this.out.length;
    for (let j = this.head; j < this.slots.length; j++) {
      if (before >= this.limit) {
        this.drop(j);
        return;
      }
      before += this.slots[j].known;
    }
  }

  private drop(from: number): void {
    for (let j = from; j < this.slots.length; j++) {
      const slot = this.slots[j];
      slot.dropped = true;
      this.known -= slot.known;
      for (const p of slot.parts) if (typeof p !== "string") this.slotOf.delete(p);
    }
    this.slots.length = from;
    this.full = true;
  }
}

/** Frontend messages that wait for a response (the decoder links them: pgwire.response_in). */
const REQUESTS: ReadonlySet<string> = new Set(MESSAGES.filter((m) => m.dir === "F" && m.request).map((m) => m.name));
const RESPONSE_IN = `pgwire.${FIELDS.responseIn.abbrev}`;

/** The request has its pgwire.response_in: the decoder added it last, when the response came. */
function answered(m: DecodedMessage): boolean {
  return m.fields[m.fields.length - 1]?.name === RESPONSE_IN;
}

/** A request the TS decoder may still answer. */
interface Waiting {
  /** Order of arrival: a connection's requests are answered in this order or dropped. */
  seq: number;
  stream: number;
  /** Its frame's message, when the frame was compared before the request's fate was known. */
  hole?: Hole;
  /** Answered, or dropped by the decoder. */
  done: boolean;
}

/** A TS frame's parts so far. */
interface TsFrame {
  items: DecodedMessage[];
  info?: string;
}

/** What the TS decoder gave for one packet (pipeline.ts Step): frames, or parts of frames. */
export interface TsStep {
  /** The packet's frame number: frames before it have all their parts (but see `late`). */
  frame: number;
  frames: readonly { frame: number; stream: number; items: readonly DecodedMessage[]; info?: string }[];
}

export interface StreamOptions {
  /** false: tshark ran one pass, and the TS side's pgwire.response_in is not compared. */
  twoPass?: boolean;
  /** diffFrames' limit (50). */
  limit?: number;
  /** Frames compared only at the end, with all their parts (the `late` ones of an earlier run). */
  hold?: ReadonlySet<number>;
}

export interface StreamResult {
  frames: number;
  items: number;
  fields: number;
  differences: string[];
  /**
   * Frames the TS side gave items for after they had been compared: when not empty, the rest
   * is not valid, and a run holding these frames back gives the result.
   */
  late: number[];
}

/**
 * diffFrames over the two sides as they come, with the counts of compare(): the Lua side's
 * frames (PDML order) and the TS decoder's steps (pipeline.ts decodeSteps). The result equals
 * diffFrames on the whole maps (the TS side's pgwire.response_in removed when twoPass is false)
 * unless `late` is not empty.
 */
export async function compareStreams(
  lua: AsyncIterable<CmpFrame>,
  ts: AsyncIterable<TsStep>,
  opts: StreamOptions = {},
): Promise<StreamResult> {
  const twoPass = opts.twoPass !== false;
  const hold = opts.hold ?? new Set<number>();
  const holdList = [...hold].sort((x, y) => x - y);
  let nextHeld = 0;
  const messages = new Messages(opts.limit ?? 50);
  const counts = { frames: 0, items: 0, fields: 0 };
  // TS frames not compared yet: the current packet's, and the held ones.
  const tsFrames = new Map<number, TsFrame>();
  const heldLua = new Map<number, CmpFrame>();
  const heldSlots = new Map<number, Slot>();
  const late = new Set<number>();
  // Requests the decoder may still answer; per TCP stream, in order of arrival.
  const waiting = new WeakMap<DecodedMessage, Waiting>();
  const queues = new Map<number, Waiting[]>();
  let seq = 0;

  const toCmp = (n: number, fr: TsFrame): CmpFrame => ({
    frame: n,
    items: fr.items.map((m) => {
      const it = tsItem(m);
      // One pass: the plugin cannot know links to later frames yet; the TS decoder adds them.
      if (!twoPass) it.fields = it.fields.filter((f) => f.name !== RESPONSE_IN);
      return it;
    }),
    info: fr.info,
  });

  /** The decoder answered request `r`: its fate and that of its connection's requests before it are known. */
  const answer = (r: DecodedMessage, w: Waiting): void => {
    const q = queues.get(w.stream) ?? [];
    let k = 0;
    while (k < q.length && q[k].seq <= w.seq) {
      const e = q[k++];
      e.done = true;
      if (e.hole) messages.resolve(e.hole, holeText(e.hole, e === w ? tsFields(r.fields.slice(e.hole.field)) : []));
    }
    q.splice(0, k);
    if (q.length === 0) queues.delete(w.stream);
  };

  /** Notes the requests a part brings, and the responses that answer earlier ones. */
  const links = (fr: TsStep["frames"][number]): void => {
    for (const m of fr.items) {
      if (m.frontend) {
        if (m.name === null || !REQUESTS.has(m.name) || answered(m)) continue;
        const w: Waiting = { seq: seq++, stream: fr.stream, done: false };
        waiting.set(m, w);
        const q = queues.get(fr.stream);
        if (q) q.push(w);
        else queues.set(fr.stream, [w]);
      } else if (m.request) {
        const w = waiting.get(m.request);
        if (w && !w.done && answered(m.request)) answer(m.request, w);
      }
    }
  };

  const compareFrame = (n: number, a: CmpFrame | undefined, b: TsFrame | undefined): void => {
    if (messages.full) return;
    const pending = twoPass && b ? b.items.map((m) => waiting.get(m)?.done === false) : undefined;
    const parts = diffFrame(n, a, b && toCmp(n, b), pending);
    if (parts.length === 0) return;
    messages.add(n, parts);
    if (!b) return;
    for (const p of parts) {
      if (typeof p === "string") continue;
      const w = waiting.get(b.items[p.item]);
      if (w) w.hole = p;
    }
  };

  const luaIt = lua[Symbol.asyncIterator]();
  let luaNext: CmpFrame | undefined;
  let luaDone = false;
  const peekLua = async (): Promise<CmpFrame | undefined> => {
    if (luaNext === undefined && !luaDone) {
      const r = await luaIt.next();
      if (r.done) luaDone = true;
      else luaNext = r.value;
    }
    return luaNext;
  };

  /** Compares every frame before `p` (the held ones get their place in the list). */
  const compareBefore = async (p: number): Promise<void> => {
    const tsNums = [...tsFrames.keys()].filter((n) => n < p && !hold.has(n)).sort((x, y) => x - y);
    let t = 0;
    for (;;) {
      const l = await peekLua();
      const ln = l && l.frame < p ? l.frame : Number.POSITIVE_INFINITY;
      const tn = t < tsNums.length ? tsNums[t] : Number.POSITIVE_INFINITY;
      const hn = nextHeld < holdList.length && holdList[nextHeld] < p ? holdList[nextHeld] : Number.POSITIVE_INFINITY;
      const n = Math.min(ln, tn, hn);
      if (n === Number.POSITIVE_INFINITY) return;
      const a = ln === n ? l : undefined;
      if (a) {
        luaNext = undefined;
        counts.frames++;
        counts.items += a.items.length;
        for (const it of a.items) counts.fields += it.fields.length;
      }
      if (hn === n) {
        nextHeld++;
        if (a) heldLua.set(n, a);
        const slot = messages.add(n, [], true);
        if (slot) heldSlots.set(n, slot);
        continue;
      }
      let b: TsFrame | undefined;
      if (tn === n) {
        t++;
        b = tsFrames.get(n);
        tsFrames.delete(n);
      }
      compareFrame(n, a, b);
    }
  };

  let passed = 0;
  try {
    for await (const step of ts) {
      for (const fr of step.frames) {
        if (fr.frame < passed && !hold.has(fr.frame)) {
          // The frame was compared without these items: this run's result is void. Stop tshark
          // and only read the TS side on, to find the other late frames.
          if (late.size === 0) await luaIt.return?.();
          late.add(fr.frame);
          continue;
        }
        if (late.size > 0) continue;
        const prev = tsFrames.get(fr.frame);
        if (prev) for (const m of fr.items) prev.items.push(m);
        else tsFrames.set(fr.frame, { items: [...fr.items], info: fr.info });
        if (twoPass) links(fr);
      }
      if (step.frame <= passed) continue;
      if (late.size === 0) await compareBefore(step.frame);
      passed = step.frame;
    }
    if (late.size > 0) return { ...counts, differences: [], late: [...late].sort((x, y) => x - y) };
    await compareBefore(Number.POSITIVE_INFINITY);
    for (const [n, slot] of heldSlots) {
      const b = tsFrames.get(n);
      const parts = diffFrame(n, heldLua.get(n), b && toCmp(n, b));
      messages.fill(
        slot,
        parts.filter((d): d is string => typeof d === "string"),
      );
    }
    return { ...counts, differences: messages.end(), late: [] };
  } finally {
    await luaIt.return?.();
  }
}

export async function compare(file: string, opts: TsharkOptions = {}): Promise<CompareResult> {
  let hold: ReadonlySet<number> = new Set();
  for (;;) {
    const problems: string[] = [];
    const r = await compareStreams(luaFrames(file, opts, problems), decodeSteps(readCaptureBatches(file), opts), {
      twoPass: opts.twoPass,
      hold,
    });
    const { frames, items, fields, differences } = r;
    if (r.late.length === 0) return { frames, items, fields, differences, problems };
    // Frames the decoder completes late (rare): compare again, holding them back to the end.
    if (hold.size > 0) throw new Error(`compare: the TS decoder gave frames ${r.late.join(", ")} late unexpectedly`);
    hold = new Set(r.late);
  }
}
