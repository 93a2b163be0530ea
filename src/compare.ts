// pgwire compare: the Lua plugin under tshark against the TypeScript decoder, field by field.
// Both sides reduce to the same shape: per frame, the pgwire items in order, each with its fields
// as (name, shown value, offset from the item start, length), and the Info column.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
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

interface Tag {
  name: string;
  attrs: Record<string, string>;
  close: boolean;
  selfClose: boolean;
}

function* tags(xml: string): Generator<Tag> {
  const re = /<(\/?)([a-zA-Z_]+)((?:\s+[a-zA-Z_]+="[^"]*")*)\s*(\/?)>/g;
  const attrRe = /([a-zA-Z_]+)="([^"]*)"/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attrs: Record<string, string> = {};
    for (let a = attrRe.exec(m[3]); a; a = attrRe.exec(m[3])) attrs[a[1]] = unescapeXml(a[2]);
    yield { name: m[2], attrs, close: m[1] === "/", selfClose: m[4] === "/" };
  }
}

/**
 * Reads tshark's PDML into pgwire items per frame, and notes Lua errors and malformed packets.
 * Fed chunk by chunk (push), so that a PDML larger than a string can hold is read as it comes.
 */
export class PdmlReader {
  readonly frames = new Map<number, CmpFrame>();
  readonly problems: string[] = [];
  private readonly prefix: string;
  private frame = 0;
  private item: { start: number; data: CmpItem } | null = null;
  private protoDepth = 0;
  // Elements open inside the current proto: "field", "expert" (an _ws.expert block), etc.
  private readonly stack: string[] = [];
  private expert: { name?: string; message?: string } | null = null;
  private rest = "";

  constructor(private readonly proto = "pgwire") {
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
    for (const t of tags(text.slice(0, cut + 1))) this.tag(t);
  }

  /** The frames read, once the PDML has ended. */
  end(): LuaRun {
    if (this.rest) for (const t of tags(this.rest)) this.tag(t);
    this.rest = "";
    return { frames: this.frames, problems: this.problems };
  }

  private addItem(data: CmpItem): void {
    const fr = this.frames.get(this.frame) ?? { frame: this.frame, items: [] };
    fr.items.push(data);
    this.frames.set(this.frame, fr);
  }

  private tag(t: Tag): void {
    const frame = this.frame;
    if (t.name === "packet" && !t.close) {
      this.frame++;
      return;
    }
    if (t.name === "proto") {
      if (t.close) {
        if (this.item && this.protoDepth === 1) {
          this.addItem(this.item.data);
          this.item = null;
        }
        this.protoDepth = Math.max(0, this.protoDepth - 1);
        return;
      }
      if (t.attrs.name === this.proto && !this.item) {
        this.item = { start: Number(t.attrs.pos ?? 0), data: { label: t.attrs.showname ?? "", fields: [] } };
        this.protoDepth = 1;
        this.stack.length = 0;
        if (t.selfClose) {
          this.addItem(this.item.data);
          this.item = null;
          this.protoDepth = 0;
        }
      } else if (this.item && !t.selfClose) this.protoDepth++;
      if (t.attrs.name === "_ws.malformed")
        this.problems.push(`frame ${frame}: malformed packet (${t.attrs.showname ?? ""})`);
      return;
    }
    if (t.name !== "field") return;
    const item = this.item;
    if (t.close) {
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
    const name = t.attrs.name ?? "";
    if (name === "_ws.lua.error")
      this.problems.push(`frame ${frame}: Lua error: ${t.attrs.showname ?? t.attrs.show ?? ""}`);
    if (name === "_ws.malformed") this.problems.push(`frame ${frame}: malformed packet`);
    if (!item) {
      if (!t.selfClose) this.stack.push("other");
      return;
    }
    if (name === "_ws.expert") {
      if (t.selfClose) return;
      this.expert = {};
      this.stack.push("expert");
      return;
    }
    if (this.expert) {
      if (name === "_ws.expert.message") this.expert.message = t.attrs.show ?? "";
      else if (name.startsWith(this.prefix)) this.expert.name = name;
    } else if (name.startsWith(this.prefix)) {
      item.data.fields.push({
        name,
        show: t.attrs.show ?? "",
        offset: Number(t.attrs.pos ?? 0) - item.start,
        length: Number(t.attrs.size ?? 0),
      });
    }
    if (!t.selfClose) this.stack.push("field");
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

export async function runTshark(
  args: string[],
  tshark: readonly string[] = ["tshark"],
): Promise<{ stdout: string; stderr: string }> {
  try {
    const r = await execa(tshark[0], [...tshark.slice(1), ...args], {
      maxBuffer: 1024 * 1024 * 1024,
      reject: false,
      stripFinalNewline: false,
    });
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
export async function streamTshark(
  args: string[],
  onChunk: (text: string) => void,
  tshark: readonly string[] = ["tshark"],
): Promise<{ stderr: string }> {
  let sub: ReturnType<typeof execa>;
  try {
    sub = execa(tshark[0], [...tshark.slice(1), ...args], {
      buffer: { stdout: false, stderr: true },
      reject: false,
      encoding: "utf8",
    });
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

export async function luaSide(file: string, opts: TsharkOptions = {}): Promise<LuaRun> {
  if (!existsSync(opts.plugin ?? PLUGIN)) throw new CaptureError(`plugin not found: ${opts.plugin ?? PLUGIN}`);
  const notLoaded = await pluginNotLoaded(opts);
  if (notLoaded) throw new CaptureError(notLoaded);
  const reader = new PdmlReader();
  const [pdml, cols] = await Promise.all([
    streamTshark(tsharkArgs(file, opts, ["-T", "pdml"]), (c) => reader.push(c), opts.tshark),
    runTshark(
      tsharkArgs(file, opts, ["-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"]),
      opts.tshark,
    ),
  ]);
  const run = reader.end();
  run.problems.push(...stderrProblems(pdml.stderr), ...stderrProblems(cols.stderr));
  for (const line of cols.stdout.split("\n")) {
    const [n, proto, info] = line.split("\t");
    const fr = run.frames.get(Number(n));
    // TCP's analysis notes ("[TCP Out-Of-Order] ") stand before what pgwire writes: not ours.
    if (fr && proto === "PGWIRE") fr.info = info.replace(/^(\[TCP [^\]]*\] )+/, "");
  }
  return run;
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
