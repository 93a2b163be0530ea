// COPY statements and the rows of their data (CopyStatementElement, CopyRowsElement in
// spec/dsl.ts), mirroring the plugin's copy runtime (src/runtime/copy.lua) step for step:
// the same tokens, the same states, the same positions (bytes, not characters).

import { cutUtf8, cutUtf8Bytes, MAX_VALUE_BYTES, utf8Text } from "./text.ts";
import { valueText } from "./values.ts";

export interface CopyStatement {
  /** The column list, when the statement names one. */
  readonly cols?: readonly string[];
  /** Its options as given ([name, value]; old-style keywords under their option names). */
  readonly opts: ReadonlyArray<readonly [string, string | undefined]>;
  readonly format?: string;
  readonly delimiter?: string;
  readonly null?: string;
  readonly quote?: string;
  readonly escape?: string;
  readonly header?: boolean;
}

interface Token {
  /** w: a word (ASCII letters in lower case), q: a quoted identifier, s: a string literal, p: any other character. */
  readonly k: "w" | "q" | "s" | "p";
  readonly t: string;
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0c, 0x0b]);
const isWordStart = (c: number) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c >= 0x80;
const isWord = (c: number) => isWordStart(c) || c === 0x24;

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const enc = new TextEncoder();
const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The tokens of SQL text (as bytes), at most max (the plugin's sql_tokens). */
function sqlTokens(sql: Uint8Array, max: number): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let p = 0;
  while (p < n && out.length < max) {
    const c = sql[p];
    if (SPACE.has(c)) p++;
    else if (c === 0x2d && sql[p + 1] === 0x2d) {
      const z = sql.indexOf(0x0a, p);
      p = z < 0 ? n : z + 1;
    } else if (c === 0x2f && sql[p + 1] === 0x2a) {
      let z = -1;
      for (let i = p + 2; i + 1 < n; i++) {
        if (sql[i] === 0x2a && sql[i + 1] === 0x2f) {
          z = i;
          break;
        }
      }
      p = z < 0 ? n : z + 2;
    } else if (c === 0x27 || c === 0x22 || ((c === 0x45 || c === 0x65) && sql[p + 1] === 0x27)) {
      const esc = c === 0x45 || c === 0x65;
      if (esc) p++;
      const qc = sql[p];
      const parts: number[] = [];
      let i = p + 1;
      for (;;) {
        let z = -1;
        for (let k = i; k < n; k++) {
          if (sql[k] === qc || (esc && sql[k] === 0x5c)) {
            z = k;
            break;
          }
        }
        if (z < 0) {
          for (let k = i; k < n; k++) parts.push(sql[k]);
          i = n;
          break;
        }
        for (let k = i; k < z; k++) parts.push(sql[k]);
        if (sql[z] === 0x5c) {
          const e = sql[z + 1];
          if (e !== undefined) parts.push(e === 0x6e ? 0x0a : e === 0x74 ? 0x09 : e === 0x72 ? 0x0d : e);
          i = z + 2;
        } else if (sql[z + 1] === qc) {
          parts.push(qc);
          i = z + 2;
        } else {
          i = z + 1;
          break;
        }
      }
      out.push({ k: qc === 0x22 ? "q" : "s", t: utf8.decode(Uint8Array.from(parts)) });
      p = i;
    } else if (isWordStart(c)) {
      let z = p + 1;
      while (z < n && isWord(sql[z])) z++;
      out.push({ k: "w", t: lower(utf8Text(sql, p, z)) });
      p = z;
    } else {
      out.push({ k: "p", t: String.fromCharCode(c) });
      p++;
    }
  }
  return out;
}

const COPY_MAX_TOKENS = 10000;

/** The COPY statements in SQL text that stream over the connection, in order (the plugin's copy_statements). */
export function copyStatements(sqlText: string): CopyStatement[] | undefined {
  if (!/[Cc][Oo][Pp][Yy]/.test(sqlText)) return undefined;
  const t = sqlTokens(enc.encode(sqlText), COPY_MAX_TOKENS);
  const out: CopyStatement[] = [];
  const w = (k: number) => (t[k]?.k === "w" ? t[k].t : undefined);
  const p = (k: number) => (t[k]?.k === "p" ? t[k].t : undefined);
  const name = (k: number) => (t[k] && (t[k].k === "w" || t[k].k === "q") ? t[k].t : undefined);
  /** A parenthesised list from t[k] = "(": its names, and the index after its ")". */
  const list = (k: number): [string[], number] => {
    const names: string[] = [];
    let depth = 0;
    while (t[k]) {
      const x = p(k);
      if (x === "(") depth++;
      else if (x === ")") {
        depth--;
        if (depth === 0) return [names, k + 1];
      } else if (depth === 1 && name(k) !== undefined) names.push(name(k) as string);
      k++;
    }
    return [names, k];
  };
  let i = 0;
  while (t[i]) {
    const start = i;
    if (w(i) === "copy") {
      const st: {
        cols?: string[];
        opts: Array<[string, string | undefined]>;
        format?: string;
        delimiter?: string;
        null?: string;
        quote?: string;
        escape?: string;
        header?: boolean;
      } = { opts: [] };
      i++;
      let ok = true;
      if (p(i) === "(") i = list(i)[1];
      else {
        if (w(i) === "binary") {
          st.format = "binary";
          st.opts.push(["format", "binary"]);
          i++;
        }
        ok = name(i) !== undefined;
        i++;
        while (p(i) === "." && name(i + 1) !== undefined) i += 2;
        if (p(i) === "(") [st.cols, i] = list(i);
      }
      const dir = w(i);
      ok = ok && (dir === "from" || dir === "to") && (w(i + 1) === "stdin" || w(i + 1) === "stdout");
      i += 2;
      if (ok) {
        const opt = (n: string, v: string | undefined) => {
          st.opts.push([n, v]);
          if (n === "format" && v !== undefined) st.format = v;
          else if (n === "delimiter" || n === "null" || n === "quote" || n === "escape") st[n] = v;
          else if (n === "header") st.header = v === undefined || ["true", "on", "1", "match"].includes(v);
        };
        if (w(i) === "using") i++;
        if (w(i) === "delimiters" && t[i + 1]?.k === "s") {
          opt("delimiter", t[i + 1].t);
          i += 2;
        }
        if (w(i) === "with") i++;
        if (p(i) === "(") {
          i++;
          while (name(i) !== undefined) {
            const n = name(i) as string;
            i++;
            let v: string | undefined;
            const x = t[i];
            if (x && (x.k === "s" || x.k === "w" || x.k === "q")) {
              v = x.t;
              i++;
            } else if (p(i) === "*") {
              v = "*";
              i++;
            } else if (p(i) === "(") {
              const [names, next] = list(i);
              v = names.join(",");
              i = next;
            }
            opt(n, v);
            if (p(i) !== ",") break;
            i++;
          }
        } else {
          while (t[i] && p(i) !== ";") {
            const k = w(i);
            if (k === "binary" || k === "csv") {
              opt("format", k);
              i++;
            } else if (k === "header") {
              opt("header", "true");
              i++;
            } else if (k === "delimiter" || k === "null" || k === "quote" || k === "escape" || k === "encoding") {
              i++;
              if (w(i) === "as") i++;
              if (t[i]?.k === "s") {
                opt(k, t[i].t);
                i++;
              }
            } else if (k === "force" || k === "not" || k === "freeze" || k === "oids") i++;
            else if (name(i) !== undefined || p(i) === "," || p(i) === "*") {
              // The columns of FORCE QUOTE / FORCE NOT NULL / FORCE NULL.
              i++;
            } else break;
          }
        }
        out.push(st);
      }
    }
    // On to the next statement.
    let depth = 0;
    while (t[i] && !(depth === 0 && p(i) === ";")) {
      const x = p(i);
      if (x === "(") depth++;
      else if (x === ")") depth--;
      i++;
    }
    i = Math.max(i + 1, start + 1);
  }
  return out.length === 0 ? undefined : out;
}

// ---------------------------------------------------------------------------------------------
// COPY data

export const MAX_COPY_ROW = 65536;
const COPY_SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];

/** A COPY's settings: its statement's options (PostgreSQL's defaults for the rest), its format. */
export interface CopyConfig {
  readonly fmt: "text" | "csv" | "binary";
  /** "in": COPY FROM STDIN (the client's CopyData), "out": TO STDOUT (the server's). */
  readonly dir: "in" | "out";
  /** The statement's column list. */
  readonly names?: readonly string[];
  /** The data starts with a header line (HEADER). */
  readonly header: boolean;
  readonly delim: number;
  readonly null: Uint8Array;
  readonly quote: number;
  readonly escape: number;
}

/**
 * A COPY's state between its CopyData messages: its settings and how far its data has got (never
 * mutated: each message makes a new one, of the same small shape).
 */
export interface CopyState {
  readonly cfg: CopyConfig;
  readonly row: number;
  /** The column names: the statement's, or the header line's. */
  readonly names?: readonly string[];
  /** A header line is still to come. */
  readonly header: boolean;
  /** Text and CSV: the start of a line that an earlier message began. */
  readonly carry: Uint8Array;
  /** A line too long to split is being skipped (and, CSV, whether the skip is inside quotes). */
  readonly skip: boolean;
  readonly inq: boolean;
  /** Binary: the part being read, how many bytes it still needs, the bytes kept of it. */
  readonly stage: "sig" | "ext" | "count" | "len" | "data" | "end" | "dead";
  readonly need: number;
  readonly acc: Uint8Array;
  readonly nf: number;
  readonly fi: number;
}

const NO_BYTES = new Uint8Array(0);

const first = (s: string | undefined, dflt: number) => {
  if (s === undefined) return dflt;
  const b = enc.encode(s);
  return b.length > 0 ? b[0] : dflt;
};

/** The state a COPY starts with (the plugin's copy_start and copy_fresh). */
export function copyStart(st: CopyStatement, format: number, dir: "in" | "out"): CopyState {
  const fmt: CopyConfig["fmt"] = format === 1 ? "binary" : st.format === "csv" ? "csv" : "text";
  const quote = first(st.quote, 0x22);
  const cfg: CopyConfig = {
    fmt,
    dir,
    names: st.cols,
    header: !!st.header && fmt !== "binary",
    delim: first(st.delimiter, fmt === "csv" ? 0x2c : 0x09),
    null: enc.encode(st.null ?? (fmt === "csv" ? "" : "\\N")),
    quote,
    escape: first(st.escape, quote),
  };
  return {
    cfg,
    row: 0,
    names: cfg.names,
    header: cfg.header,
    carry: NO_BYTES,
    skip: false,
    inq: false,
    stage: "sig",
    need: 19,
    acc: NO_BYTES,
    nf: 0,
    fi: 0,
  };
}

/** What the COPY data of one message adds to its message: generated fields, findings. */
export interface CopySink {
  /** The message has a tree (the plugin fills none without one). */
  readonly tree: boolean;
  row(at: number, n: number): void;
  /** Binary COPY's header: its flags and extension length. */
  header(at: number, flags: number, extension: number): void;
  trailer(at: number): void;
  field(at: number, name: string | undefined, value: string | undefined): void;
  expert(key: "copyFormat" | "copyLongRow", text: string): void;
}

const TEXT_ESCAPES: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9, 118: 11 };
const isOct = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x37;
const hexVal = (c: number | undefined) =>
  c === undefined
    ? -1
    : c >= 0x30 && c <= 0x39
      ? c - 0x30
      : c >= 0x41 && c <= 0x46
        ? c - 55
        : c >= 0x61 && c <= 0x66
          ? c - 87
          : -1;

/** A text-format field with its backslash escapes resolved (the plugin's text_unescape). */
function textUnescape(s: Uint8Array): Uint8Array {
  if (!s.includes(0x5c)) return s;
  const out: number[] = [];
  let p = 0;
  while (p < s.length) {
    const c = s[p];
    if (c !== 0x5c) {
      out.push(c);
      p++;
      continue;
    }
    const d = s[p + 1];
    if (isOct(d)) {
      let v = 0;
      let k = p + 1;
      while (k < p + 4 && isOct(s[k])) v = v * 8 + (s[k++] - 0x30);
      out.push(v % 256);
      p = k;
    } else if (d === 0x78 && hexVal(s[p + 2]) >= 0) {
      let v = hexVal(s[p + 2]);
      let k = p + 3;
      if (hexVal(s[k]) >= 0) v = v * 16 + hexVal(s[k++]);
      out.push(v);
      p = k;
    } else if (d === undefined) p++;
    else {
      out.push(TEXT_ESCAPES[d] ?? d);
      p += 2;
    }
  }
  return Uint8Array.from(out);
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The fields of a text-format line: [start, value or undefined for NULL], start 0-based in line. */
function textFields(line: Uint8Array, cs: CopyConfig): Array<[number, Uint8Array | undefined]> {
  const out: Array<[number, Uint8Array | undefined]> = [];
  let p = 0;
  for (;;) {
    const z = line.indexOf(cs.delim, p);
    const raw = line.subarray(p, z < 0 ? line.length : z);
    out.push([p, equal(raw, cs.null) ? undefined : textUnescape(raw)]);
    if (z < 0) break;
    p = z + 1;
  }
  return out;
}

/** The fields of a CSV line (the plugin's csv_fields). */
function csvFields(line: Uint8Array, cs: CopyConfig): Array<[number, Uint8Array | undefined]> {
  const out: Array<[number, Uint8Array | undefined]> = [];
  const n = line.length;
  const q = cs.quote;
  const e = cs.escape;
  const d = cs.delim;
  let p = 0;
  for (;;) {
    const start = p;
    const parts: number[] = [];
    let quoted = false;
    while (p < n) {
      const c = line[p];
      if (c === d) break;
      if (c === q) {
        quoted = true;
        p++;
        while (p < n) {
          const c2 = line[p];
          const nx = line[p + 1];
          if (c2 === e && (nx === q || nx === e)) {
            parts.push(nx);
            p += 2;
          } else if (c2 === q) {
            p++;
            break;
          } else {
            parts.push(c2);
            p++;
          }
        }
      } else {
        parts.push(c);
        p++;
      }
    }
    const v = Uint8Array.from(parts);
    out.push([start, quoted || !equal(v, cs.null) ? v : undefined]);
    if (p >= n) break;
    p++;
  }
  return out;
}

/** Where the line that starts at p ends in a CSV stream: its newline's index, or -1, and the quote state. */
function csvNewline(buf: Uint8Array, p: number, cs: CopyConfig, inq: boolean): [number, boolean] {
  const q = cs.quote;
  const e = cs.escape;
  const n = buf.length;
  while (p < n) {
    if (inq) {
      const zq = buf.indexOf(q, p);
      const ze = e !== q ? buf.indexOf(e, p) : -1;
      if (zq < 0) return [-1, true];
      if (ze >= 0 && ze < zq) {
        const nx = buf[ze + 1];
        p = nx === q || nx === e ? ze + 2 : ze + 1;
      } else {
        inq = false;
        p = zq + 1;
      }
    } else {
      const zn = buf.indexOf(0x0a, p);
      const zq = buf.indexOf(q, p);
      if (zn >= 0 && (zq < 0 || zn < zq)) return [zn, false];
      if (zq < 0) return [-1, false];
      inq = true;
      p = zq + 1;
    }
  }
  return [-1, inq];
}

/**
 * The rows of one CopyData's data (data = buf[base, end)) for a COPY in state cs: calls the sink
 * for what the message shows, returns the state for the next CopyData.
 */
export function copyRows(buf: Uint8Array, base: number, end: number, cs: CopyState, sink: CopySink): CopyState {
  return cs.cfg.fmt === "binary" ? copyBinary(buf, base, end, cs, sink) : copyText(buf, base, end, cs, sink);
}

function copyText(b: Uint8Array, base: number, end: number, st: CopyState, sink: CopySink): CopyState {
  const cs = st.cfg;
  const data = b.subarray(base, end);
  const carried = st.carry.length;
  let buf = data;
  if (carried > 0) {
    buf = new Uint8Array(carried + data.length);
    buf.set(st.carry);
    buf.set(data, carried);
  }
  const csv = cs.fmt === "csv";
  // Position q of buf in the message: this message's bytes where they are, earlier ones at its start.
  const at = (q: number) => (q >= carried ? base + q - carried : base);
  let p = 0;
  let row = st.row;
  let header = st.header;
  let names = st.names;
  let skip = st.skip;
  let inq = st.inq;
  for (;;) {
    let nl: number;
    if (csv) [nl, inq] = csvNewline(buf, p, cs, skip && inq);
    else nl = buf.indexOf(0x0a, p);
    if (nl < 0) break;
    let line = buf.subarray(p, nl);
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (skip) {
      skip = false;
      inq = false;
      row++;
    } else if (header) {
      header = false;
      if (!names) names = (csv ? csvFields(line, cs) : textFields(line, cs)).map(([, v]) => (v ? utf8.decode(v) : ""));
    } else if (csv || !(line.length === 2 && line[0] === 0x5c && line[1] === 0x2e)) {
      // (A text line "\." is the end-of-data marker of COPY FROM STDIN, not a row.)
      row++;
      if (sink.tree) {
        sink.row(at(p), row);
        const fields = csv ? csvFields(line, cs) : textFields(line, cs);
        fields.forEach(([start, v], k) => {
          sink.field(at(p + start), names?.[k], v === undefined ? undefined : cutUtf8Bytes(v, MAX_VALUE_BYTES));
        });
      }
    }
    p = nl + 1;
  }
  let rest = p >= buf.length || skip ? NO_BYTES : buf.slice(p);
  if (rest.length > MAX_COPY_ROW) {
    sink.expert("copyLongRow", `A COPY row longer than ${MAX_COPY_ROW} bytes: not split into fields`);
    if (csv) inq = csvNewline(rest, 0, cs, false)[1];
    skip = true;
    rest = NO_BYTES;
  }
  return { ...st, carry: rest, row, header, names, skip, inq: skip && inq };
}

function copyBinary(b: Uint8Array, base: number, end: number, st: CopyState, sink: CopySink): CopyState {
  let stage = st.stage;
  let need = st.need;
  let acc: number[] = Array.from(st.acc);
  let row = st.row;
  let nf = st.nf;
  let fi = st.fi;
  let rowAt: number | undefined;
  let fieldAt: number | undefined;
  let fields: Array<{ i: number; at?: number; v?: string }> = [];
  const flush = () => {
    if (sink.tree) {
      for (const f of fields) sink.field(f.at ?? base, st.names?.[f.i - 1], f.v);
    }
    fields = [];
  };
  const nextField = () => {
    if (fi < nf) {
      stage = "len";
      need = 4;
    } else {
      stage = "count";
      need = 2;
    }
    acc = [];
  };
  let p = base;
  let sigAt: number | undefined;
  while (p < end && stage !== "end" && stage !== "dead") {
    const take = Math.min(need, end - p);
    if (stage === "sig" && need === 19) sigAt = p;
    if (stage === "data") {
      const keep = Math.min(take, MAX_VALUE_BYTES - acc.length);
      for (let k = 0; k < keep; k++) acc.push(b[p + k]);
    } else if (stage !== "ext") {
      if (stage === "count" && need === 2) rowAt = p;
      if (stage === "len" && need === 4) fieldAt = p;
      for (let k = 0; k < take; k++) acc.push(b[p + k]);
    }
    need -= take;
    p += take;
    if (need !== 0) continue;
    if (stage === "sig") {
      if (!COPY_SIGNATURE.every((x, k) => acc[k] === x)) {
        sink.expert("copyFormat", "Binary COPY data without the PGCOPY signature");
        stage = "dead";
      } else {
        const ext = ((acc[15] << 24) | (acc[16] << 16) | (acc[17] << 8) | acc[18]) >>> 0;
        const flags = ((acc[11] << 24) | (acc[12] << 16) | (acc[13] << 8) | acc[14]) >>> 0;
        if (sink.tree) sink.header(sigAt ?? base, flags, ext);
        acc = [];
        if (ext > 0) {
          stage = "ext";
          need = ext;
        } else {
          stage = "count";
          need = 2;
        }
      }
    } else if (stage === "ext") {
      stage = "count";
      need = 2;
    } else if (stage === "count") {
      flush();
      const c = acc[0] * 256 + acc[1];
      if (c === 65535) {
        stage = "end";
        if (sink.tree) sink.trailer(rowAt ?? base);
      } else {
        row++;
        nf = c;
        fi = 0;
        if (sink.tree) sink.row(rowAt ?? base, row);
        rowAt = undefined;
        nextField();
      }
    } else if (stage === "len") {
      const len = ((acc[0] << 24) | (acc[1] << 16) | (acc[2] << 8) | acc[3]) >>> 0;
      fi++;
      if (len === 4294967295) {
        fields.push({ i: fi, at: fieldAt });
        fieldAt = undefined;
        nextField();
      } else if (len >= 2147483648) {
        // The row's fields read so far come first (the plugin shows them under their row).
        flush();
        sink.expert("copyFormat", `Binary COPY field with length ${len - 4294967296}`);
        stage = "dead";
      } else if (len === 0) {
        fields.push({ i: fi, at: fieldAt, v: "" });
        fieldAt = undefined;
        nextField();
      } else {
        stage = "data";
        need = len;
        acc = [];
      }
    } else if (stage === "data") {
      fields.push({ i: fi, at: fieldAt, v: cutUtf8(valueText(17, 1, Uint8Array.from(acc)), MAX_VALUE_BYTES) });
      fieldAt = undefined;
      nextField();
    }
  }
  flush();
  if (stage === "end" && p < end) sink.expert("copyFormat", `${end - p} bytes after the binary COPY trailer`);
  return { ...st, stage, need, acc: Uint8Array.from(acc), row, nf, fi };
}
