// The reader that generated message decoders call: it walks one message body, records each field
// with its offset from the message start, binds variables, and turns every out-of-bounds read
// into an expert item instead of an exception; and the description of messages (MessageMeta and
// the rest) that the generated file fills in. Mirrors src/runtime/reader.lua.

import { PG_TYPES, typeName } from "../../spec/data/types.ts";
import type { Condition, Effect, Objects, Phase, Selector } from "../../spec/dsl.ts";
import { type CopySink, type CopyState, type CopyStatement, copyRows, copyStatements } from "./copy.ts";
import { cutUtf8, MAX_VALUE_BYTES, utf8Text } from "./text.ts";
import { valueText } from "./values.ts";

export type FieldValue = number | bigint | string | boolean | Uint8Array;

export interface FieldInfo {
  /** Its index in the generated F (0 to FIELD_COUNT - 1): a selection's flag (Selection). */
  readonly id: number;
  readonly abbrev: string;
  /** The full filter name, "pgwire." + abbrev. */
  readonly name: string;
  readonly type: string;
  readonly label: string;
  readonly values?: Readonly<Record<number, string>>;
}

export interface DecodedField {
  /** Full filter name, e.g. "pgwire.query"; experts are "expert:pgwire.<abbrev>". */
  name: string;
  value: FieldValue;
  /** Offset from the start of the message (its type byte, or its length on untyped packets). */
  offset: number;
  length: number;
}

export type Vars = Record<string, number | string>;

/** A record a message keeps for its connection (remember): the bound values, in the listed order. */
export type Remembered = ReadonlyArray<number | string | Uint8Array | undefined>;

// What the generated decoders (dissector/pgwire.ts) describe each message with, and what the
// decoder reads of them: the contract between the generated code and the code that runs it. The
// generated file imports these types; nothing in the runtime imports the generated file.

export type { Condition, Effect, Objects, Phase, Selector };

/** A piece of a message's Info column: literal text, or a variable's value (as a character, or quoted). */
export type InfoPart = { readonly lit: string } | { readonly v: string; readonly char?: true; readonly s?: true };

export interface MessageMeta {
  /** Its index in the generated MESSAGES. */
  readonly id: number;
  readonly name: string;
  readonly dir: "F" | "B";
  /** Its subtree label, as in Wireshark ("PostgreSQL: Query"). */
  readonly label: string;
  readonly type?: string;
  readonly shape: "typed" | "untyped" | "single" | "payload";
  readonly when?: Selector;
  readonly fixedLength?: number;
  readonly maxLength?: number;
  readonly info: readonly InfoPart[];
  /** What the message does to its connection's state, in order (src/decoder/state.ts applyEffects). */
  readonly effects: readonly Effect[];
  readonly parse: (b: Body) => void;
  /** Its body has no elements: parse reads nothing, and a body of no bytes is all it may have. */
  readonly empty?: boolean;
  /** Backend messages that complete this request. */
  readonly request?: readonly string[];
  readonly findings?: readonly Finding[];
  readonly async?: boolean;
  readonly row?: boolean;
  readonly cancelKey?: "register" | "cancel";
  /** An authentication request's method, as the analyses name it (spec/dsl.ts MessageDef.authMethod). */
  readonly authMethod?: string;
  /** Where the message may come (spec/dsl.ts Phase); absent for the untyped and one-byte ones. */
  readonly allowed?: readonly Phase[];
  /** CommandComplete's tag variable and the commands whose tags count rows. */
  readonly commandTag?: { readonly var: string; readonly counting: readonly string[] };
  /** Prepared statements and portals this message defines, refers to or closes (spec/dsl.ts Objects). */
  readonly objects?: Objects;
}

/** A message set carried inside other messages (spec/dsl.ts PayloadSet): its messages by type byte. */
export interface PayloadSetMeta {
  readonly name: string;
  /** The replication command and the options that all start it. */
  readonly command: string;
  readonly options: readonly string[];
  readonly types: Readonly<Record<number, MessageMeta>>;
}

/** A security or protocol finding a message raises when its condition holds. */
export interface Finding {
  /** Its expert info (one of the generated EXPERTS). */
  readonly expert: ExpertInfo;
  readonly when: Condition;
  readonly text: readonly InfoPart[];
}

/** The messages one type byte (or startup shape) of one direction may be, and their length bounds. */
export interface Group {
  readonly min: number;
  readonly max: number;
  readonly variants: readonly MessageMeta[];
}

/** The packets that open a connection: their codes (or protocol major version) and length bounds. */
export interface Opening {
  readonly name: string;
  readonly codes?: readonly number[];
  readonly major?: number;
  readonly min: number;
  readonly max: number;
  readonly contains?: string;
  readonly endsWithZero?: boolean;
}

/** An expert info the decoders raise: its abbreviation (after "pgwire."), group and severity. */
export interface ExpertInfo {
  readonly abbrev: string;
  readonly group: string;
  readonly severity: string;
}

/** What of the connection's state (src/decoder/state.ts ConnState) the message readers look at. */
export interface BodyContext {
  /** The payload set the connection's XLogData carry (PayloadElement), if any. */
  readonly payloadSet?: string;
  /** Between a Stream Start and a Stream Stop. */
  readonly stream?: true;
  /** The relations and types the replication stream described, by OID. */
  readonly relations?: ReadonlyMap<number, Relation>;
  readonly types?: ReadonlyMap<number, string>;
  /** The kind of replication connection, if it is one. */
  readonly replication?: string;
  /** The COPY in progress whose statement was seen (its rows can be split), if any. */
  readonly copyState?: CopyState;
}

const NO_CONTEXT: BodyContext = {};

/** A big-endian unsigned 32-bit integer at i. */
export function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** A field is decoded under a selection of fields (undefined: every field is). */
export function keeps(select: ReadonlySet<string> | undefined, f: FieldInfo): boolean {
  return select === undefined || select.has(f.name);
}

/** A selection of fields compiled for the readers: 1 at a kept field's id (FieldInfo.id), else 0. */
export type Selection = Uint8Array;

/** The selection's flags over every field (the generated F's values, FIELD_COUNT of them). */
export function selection(select: ReadonlySet<string>, fields: Iterable<FieldInfo>, count: number): Selection {
  const w = new Uint8Array(count);
  for (const f of fields) if (select.has(f.name)) w[f.id] = 1;
  return w;
}

const NO_LISTS: Record<string, Remembered[]> = Object.freeze({}) as Record<string, Remembered[]>;

/** A relation a logical replication stream described: schema.name, and [name, type OID] per column. */
export interface Relation {
  readonly name: string;
  readonly cols: readonly Remembered[];
}

const EMPTY_BYTES = new Uint8Array(0);

export class Body {
  pos: number;
  ok = true;
  readonly vars: Vars = {};
  /** Lists of records the message keeps for its connection (remember); NO_LISTS until one is. */
  lists: Record<string, Remembered[]> = NO_LISTS;
  /** The raw bytes of bound bytes elements (vars holds their text), once there is one. */
  private raw: Record<string, Uint8Array> | undefined = undefined;
  /** The connection's column list (the last RowDescription's name, type, format per column). */
  columns?: readonly Remembered[];
  /** Result formats of the last completed Bind (0 codes: all text, 1: for all, N: one each). */
  rformats?: readonly Remembered[];
  /** The parameter types of the statement the message refers to (ParamElement), when it is known. */
  paramTypes?: (v: Vars) => readonly Remembered[] | undefined;
  /** What paramTypes gave (null: nothing), once asked. */
  private ptypes: readonly Remembered[] | null | undefined = undefined;
  /** The connection's state the message is read in (one reference, set by the runtime). */
  st: BodyContext = NO_CONTEXT;
  /** The message comes from the client. */
  fe = false;
  /**
   * The fields to record, a flag per FieldInfo.id (selection), experts always; undefined: every
   * field. Values that no kept field shows and no variable binds are not computed.
   */
  want: Selection | undefined = undefined;
  // Set only by the few elements that find them; present in every body all the same, so that all
  // bodies have one shape (V8 hidden class) and the readers' reads of them stay monomorphic.
  /** The payload message decoded inside this one. */
  picked: MessageMeta | undefined = undefined;
  /** What a copyStatement element found (effect "copyStatement"). */
  copy: CopyStatement[] | undefined = undefined;
  /** The COPY's state after this CopyData's rows (effect "copyData"). */
  copyNext: CopyState | undefined = undefined;

  /**
   * @param buf bytes that hold the message
   * @param base offset of the message start in buf
   * @param start offset of the body in buf
   * @param end offset one past the message end in buf
   * @param fields where the fields go (after those already in it)
   */
  constructor(
    readonly buf: Uint8Array,
    readonly base: number,
    start: number,
    readonly end: number,
    readonly fields: DecodedField[] = [],
  ) {
    this.pos = start;
    this.anchor = base;
  }

  /**
   * Where generated fields that point at no bytes of their own are anchored: the message's start,
   * or inside a payload (PayloadElement) the payload message's (Wireshark shows them in its subtree).
   */
  anchor: number;

  /** The field is recorded (see want). */
  keep(f: FieldInfo): boolean {
    const w = this.want;
    return w === undefined || w[f.id] !== 0;
  }

  add(f: FieldInfo, value: FieldValue, at: number, length: number): void {
    const w = this.want;
    if (w !== undefined && w[f.id] === 0) return;
    this.fields.push({ name: f.name, value, offset: at - this.base, length });
  }

  expert(abbrev: string, text: string): void {
    // Experts point at no bytes (offset 0, length 0), as the plugin adds them.
    this.fields.push({ name: `expert:pgwire.${abbrev}`, value: text, offset: 0, length: 0 });
  }

  private need(n: number): boolean {
    if (this.pos + n <= this.end) return true;
    this.expert("overrun", "Field runs past the end of the message");
    this.ok = false;
    return false;
  }

  /**
   * An integer of `size` bytes: its field, and its value for the variable it binds (a 64-bit one
   * as decimal text); undefined when it could not be read. The generated readers store that value
   * under the variable's own name (b.vars.name = ...), a store V8 makes fast.
   */
  int(f: FieldInfo, size: number, signed: boolean): number | string | undefined {
    if (!this.ok || !this.need(size)) return undefined;
    const b = this.buf;
    const p = this.pos;
    let v: number | bigint;
    if (size === 1) v = signed ? (b[p] << 24) >> 24 : b[p];
    else if (size === 2) {
      const u = (b[p] << 8) | b[p + 1];
      v = signed ? (u << 16) >> 16 : u;
    } else if (size === 4) {
      const i = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
      v = signed ? i : i >>> 0;
    } else {
      const dv = new DataView(b.buffer, b.byteOffset + p, 8);
      v = signed ? dv.getBigInt64(0) : dv.getBigUint64(0);
    }
    this.add(f, f.type === "bool" ? v !== 0 : v, p, size);
    this.pos = p + size;
    return typeof v === "bigint" ? v.toString() : v;
  }

  /** The `size` bytes just read, as PostgreSQL prints a binary value of type `oid` (TextElement). */
  text(f: FieldInfo, size: number, oid: number, bind?: string): void {
    if (!this.ok || (bind === undefined && !this.keep(f))) return;
    const p = this.pos - size;
    const s = valueText(oid, 1, this.buf.subarray(p, this.pos));
    this.add(f, s, p, 0);
    if (bind !== undefined) this.vars[bind] = s;
  }

  /** Where the string at pos ends (its NUL); -1, after an expert, when it has none. */
  private nul(): number {
    const b = this.buf;
    const end = this.end;
    let z = this.pos;
    while (z < end && b[z] !== 0) z++;
    if (z < end) return z;
    this.expert("unterminated", "String has no terminating NUL");
    this.ok = false;
    return -1;
  }

  /** A NUL-terminated string that binds a variable: its field, and its text (undefined when it could not be read). */
  strv(f: FieldInfo): string | undefined {
    if (!this.ok) return undefined;
    const z = this.nul();
    if (z < 0) return undefined;
    const s = utf8Text(this.buf, this.pos, z);
    this.add(f, s, this.pos, z + 1 - this.pos);
    this.pos = z + 1;
    return s;
  }

  /** A NUL-terminated string: its field (its text not made when it is not kept). */
  str(f: FieldInfo): void {
    if (!this.ok) return;
    const z = this.nul();
    if (z < 0) return;
    if (this.keep(f)) this.add(f, utf8Text(this.buf, this.pos, z), this.pos, z + 1 - this.pos);
    this.pos = z + 1;
  }

  bytes(f: FieldInfo, length: number | "rest", bind?: string): void {
    if (!this.ok) return;
    const n = length === "rest" ? this.end - this.pos : length;
    if (n <= 0) return;
    if (!this.need(n)) return;
    if (bind === undefined && !this.keep(f)) {
      this.pos += n;
      return;
    }
    const v = this.buf.slice(this.pos, this.pos + n);
    this.add(f, f.type === "string" ? utf8Text(v, 0, n) : v, this.pos, n);
    if (bind !== undefined) {
      this.vars[bind] = utf8Text(v, 0, n);
      this.raw ??= {};
      this.raw[bind] = v;
    }
    this.pos += n;
  }

  /** Generated fields from a text of one-letter attributes (AttributesElement in spec/dsl.ts). */
  attributes(
    from: string,
    gs2: boolean,
    keys: Readonly<Record<string, FieldInfo>>,
    cbind: FieldInfo,
    authzid: FieldInfo,
    other: FieldInfo,
  ): void {
    if (!this.ok) return;
    const text = this.vars[from];
    if (typeof text !== "string") return;
    const items = text.split(",");
    const rest = gs2 ? items.slice(2) : items;
    if ((gs2 && items.length < 2) || rest.length === 0 || !rest.every((i) => /^[A-Za-z]=/.test(i))) return;
    if (gs2) {
      this.add(cbind, items[0], this.anchor, 0);
      if (items[1] !== "") this.add(authzid, items[1], this.anchor, 0);
    }
    for (const item of rest) {
      const f = Object.hasOwn(keys, item[0]) ? keys[item[0]] : undefined;
      this.add(f ?? other, f ? item.slice(2) : item, this.anchor, 0);
    }
  }

  remember(list: string, vars: readonly string[]): void {
    if (!this.ok) return;
    if (this.lists === NO_LISTS) this.lists = {};
    const rec: Array<number | string | Uint8Array | undefined> = [];
    const raw = this.raw;
    for (let i = 0; i < vars.length; i++) {
      const v = vars[i];
      rec.push(raw?.[v] ?? this.vars[v]);
    }
    const l = this.lists[list];
    if (l === undefined) this.lists[list] = [rec];
    else l.push(rec);
  }

  /**
   * An Int32 length (-1: NULL) and that many bytes at pos, as column and parameter values are
   * sent: their start, length and bytes; undefined (after an expert, with the length shown when
   * the bytes run past the message) when they do not fit.
   */
  private value(len: FieldInfo): { start: number; n: number; bytes: Uint8Array } | undefined {
    const start = this.pos;
    if (!this.skipValue(len)) return undefined;
    const b = this.buf;
    const n = (b[start] << 24) | (b[start + 1] << 16) | (b[start + 2] << 8) | b[start + 3];
    // A view: valueLine copies the bytes when it keeps them.
    return { start, n, bytes: n > 0 ? b.subarray(start + 4, start + 4 + n) : EMPTY_BYTES };
  }

  /** Reads past an Int32 length and its value; false (after value's expert) when it does not fit. */
  private skipValue(len: FieldInfo): boolean {
    if (!this.ok || !this.need(4)) return false;
    const b = this.buf;
    const start = this.pos;
    const n = (b[start] << 24) | (b[start + 1] << 16) | (b[start + 2] << 8) | b[start + 3];
    this.pos = start + 4;
    if (n > 0 && this.pos + n > this.end) {
      this.add(len, n, start, 4);
      this.need(n);
      return false;
    }
    if (n > 0) this.pos += n;
    return true;
  }

  /**
   * One value's line (ColumnElement, ParamElement): the value when it could be decoded (it covers
   * the length and the bytes), else the length; under it the name, the type, the length (when the
   * line is the value) and the bytes.
   */
  private valueLine(
    x: { start: number; n: number; bytes: Uint8Array },
    text: string | undefined,
    f: { len: FieldInfo; data: FieldInfo; value: FieldInfo; name?: FieldInfo; type: FieldInfo },
    name: string | undefined,
    type: string | undefined,
  ): void {
    const { start, n, bytes } = x;
    if (text !== undefined) this.add(f.value, text, start, 4 + Math.max(n, 0));
    else this.add(f.len, n, start, 4);
    if (name !== undefined && f.name) this.add(f.name, name, start, 0);
    if (type !== undefined) this.add(f.type, type, start, 0);
    if (text !== undefined) this.add(f.len, n, start, 4);
    if (n > 0 && this.keep(f.data)) this.add(f.data, bytes.slice(), start + 4, n);
  }

  /** A column value, typed by the connection's column list (see ColumnElement in spec/dsl.ts). */
  column(len: FieldInfo, data: FieldInfo, name: FieldInfo, type: FieldInfo, value: FieldInfo, i: number): void {
    const w = this.want;
    if (w !== undefined && (w[value.id] | w[len.id] | w[data.id] | w[name.id] | w[type.id]) === 0) {
      this.skipValue(len);
      return;
    }
    const x = this.value(len);
    if (!x) return;
    const c = this.columns?.[i];
    const [cn, ct, rowFormat] = c ?? [];
    const rf = this.rformats;
    const cf = rf === undefined ? rowFormat : rf.length === 0 ? 0 : rf.length === 1 ? rf[0][0] : rf[i]?.[0];
    const tn = typeof ct === "number" && Object.hasOwn(PG_TYPES, ct) ? typeName(ct) : undefined;
    const text =
      c && x.n >= 0 && typeof ct === "number" && typeof cf === "number"
        ? cutUtf8(valueText(ct, cf, x.bytes), MAX_VALUE_BYTES)
        : undefined;
    this.valueLine(x, text, { len, data, value, name, type }, typeof cn === "string" ? cn : undefined, tn);
  }

  /**
   * A parameter value, typed by the statement the message refers to and the message's format
   * codes (see ParamElement in spec/dsl.ts).
   */
  param(len: FieldInfo, data: FieldInfo, type: FieldInfo, value: FieldInfo, formats: string, i: number): void {
    const w = this.want;
    if (w !== undefined && (w[value.id] | w[len.id] | w[data.id] | w[type.id]) === 0) {
      this.skipValue(len);
      return;
    }
    const x = this.value(len);
    if (!x) return;
    const fmts = this.lists[formats] ?? [];
    const f = fmts.length === 0 ? 0 : fmts.length === 1 ? fmts[0][0] : fmts[i]?.[0];
    // The statement's types, looked up once per message (its name is bound before its values).
    if (this.ptypes === undefined) this.ptypes = this.paramTypes?.(this.vars) ?? null;
    const t = this.ptypes?.[i]?.[0];
    const oid = typeof t === "number" ? t : 0;
    const tn = oid !== 0 && Object.hasOwn(PG_TYPES, oid) ? typeName(oid) : undefined;
    const text = x.n >= 0 && typeof f === "number" ? cutUtf8(valueText(oid, f, x.bytes), MAX_VALUE_BYTES) : undefined;
    this.valueLine(x, text, { len, data, value, type }, undefined, tn);
  }

  /** The rest of the message as bytes; inside the connection's payload set, one of its messages. */
  payload(set: PayloadSetMeta, f: FieldInfo, type: FieldInfo): void {
    if (!this.ok) return;
    const n = this.end - this.pos;
    if (n <= 0) return;
    if (this.keep(f)) this.add(f, this.buf.slice(this.pos, this.end), this.pos, n);
    if (this.st.payloadSet !== set.name) {
      this.pos = this.end;
      return;
    }
    const t = this.buf[this.pos];
    const m = Object.hasOwn(set.types, t) ? set.types[t] : undefined;
    if (!m) {
      this.expert("unknown_payload", `Unknown ${set.name} message type ${t}`);
      this.pos = this.end;
      return;
    }
    this.anchor = this.pos;
    this.int(type, 1, false);
    this.vars.instream = this.st.stream ? 1 : 0;
    this.picked = m;
    m.parse(this);
  }

  /** The relation whose OID variable `from` holds, as the stream's Relation message described it. */
  relation(f: FieldInfo, from: string, bind?: string): void {
    if (!this.ok) return;
    const id = this.vars[from];
    const r = typeof id === "number" ? this.st.relations?.get(id) : undefined;
    this.columns = r?.cols;
    if (!r) return;
    this.add(f, r.name, this.anchor, 0);
    if (bind !== undefined) this.vars[bind] = r.name;
  }

  /**
   * A column of a logical replication tuple (TupleColumnElement in spec/dsl.ts): one line, the
   * value when it could be decoded (covering the kind, the length and the bytes), else the kind
   * (NULL, an unchanged TOASTed value); under it the name, the type, the kind, the length and the
   * bytes.
   */
  tupleColumn(
    kind: FieldInfo,
    formats: Readonly<Record<number, number>>,
    empty: readonly number[],
    len: FieldInfo,
    data: FieldInfo,
    name: FieldInfo,
    type: FieldInfo,
    value: FieldInfo,
    i: number,
  ): void {
    if (!this.ok || !this.need(1)) return;
    const b = this.buf;
    const start = this.pos;
    const k = b[start];
    this.pos = start + 1;
    const c = this.columns?.[i];
    const cn = c?.[0];
    const ct = c?.[1];
    // A built-in type, or one the stream's Type message named.
    const tn = typeof ct !== "number" ? undefined : Object.hasOwn(PG_TYPES, ct) ? typeName(ct) : this.st.types?.get(ct);
    const named = () => {
      if (typeof cn === "string") this.add(name, cn, start, 0);
      if (tn !== undefined) this.add(type, tn, start, 0);
    };
    if (Object.hasOwn(formats, k)) {
      if (this.pos + 4 > this.end) {
        this.add(kind, k, start, 1);
        this.need(4);
        return;
      }
      const n = (b[start + 1] << 24) | (b[start + 2] << 16) | (b[start + 3] << 8) | b[start + 4];
      this.pos = start + 5;
      if (n > 0 && this.pos + n > this.end) {
        this.add(kind, k, start, 1);
        this.add(len, n, start + 1, 4);
        this.need(n);
        return;
      }
      const bytes = n > 0 ? b.subarray(this.pos, this.pos + n) : EMPTY_BYTES;
      if (n > 0) this.pos += n;
      const text =
        n >= 0 && typeof ct === "number" && this.keep(value)
          ? cutUtf8(valueText(ct, formats[k], bytes), MAX_VALUE_BYTES)
          : undefined;
      if (text !== undefined) this.add(value, text, start, 5 + Math.max(n, 0));
      else this.add(kind, k, start, 1);
      named();
      if (text !== undefined) this.add(kind, k, start, 1);
      this.add(len, n, start + 1, 4);
      if (n > 0 && this.keep(data)) this.add(data, bytes.slice(), start + 5, n);
    } else if (empty.includes(k)) {
      this.add(kind, k, start, 1);
      named();
    } else {
      this.add(kind, k, start, 1);
      this.expert("unknown_payload", `Unknown kind of column data ${k}`);
      this.ok = false;
    }
  }

  /** A replication command's options (OptionsElement): generated "name=value" fields, bound as opt:name. */
  options(f: FieldInfo, from: string, when: string): void {
    const text = this.vars[from];
    if (!this.ok || this.vars[when] === undefined || typeof text !== "string") return;
    for (const [n, v] of replOptions(text)) {
      this.add(f, v === undefined ? n : `${n}=${v}`, this.anchor, 0);
      this.vars[`opt:${n}`] = v ?? "";
    }
  }

  /** The COPY statements in a variable's SQL text (CopyStatementElement): one field per option. */
  copyStatement(f: FieldInfo, from: string): void {
    if (!this.ok) return;
    const sql = this.vars[from];
    const copy = typeof sql === "string" ? copyStatements(sql) : undefined;
    this.copy = copy;
    if (copy === undefined) return;
    for (const st of copy) {
      for (const [n, v] of st.opts) this.add(f, v === undefined ? n : `${n}=${v}`, this.anchor, 0);
    }
  }

  /** A CopyData's bytes and, in a COPY whose statement was seen, its rows (CopyRowsElement). */
  copyRows(data: FieldInfo, f: CopyFields): void {
    if (!this.ok) return;
    const n = this.end - this.pos;
    if (n > 0 && this.keep(data)) this.add(data, this.buf.slice(this.pos, this.end), this.pos, n);
    const cs = this.st.copyState;
    if (cs && n > 0 && (cs.cfg.dir === "in") === this.fe) {
      this.copySink ??= new CopyFieldSink(this);
      this.copySink.fields = f;
      const w = this.want;
      this.copySink.tree = w === undefined || Object.values(f).some((x: FieldInfo) => w[x.id] !== 0);
      this.copyNext = copyRows(this.buf, this.pos, this.end, cs, this.copySink);
    }
    this.pos = this.end;
  }

  /** What a CopyData's rows add to the message (an object with methods, not closures per message). */
  private copySink: CopyFieldSink | undefined = undefined;

  /** A generated field: a variable's value looked up in a spec table (anchored at the message start). */
  lookup(
    f: FieldInfo,
    from: string,
    table: Readonly<Record<string, string>>,
    prefix: number,
    bind?: string,
    firstWord?: boolean,
    replication?: boolean,
  ): void {
    if (!this.ok || (replication && this.st.replication === undefined) || (bind === undefined && !this.keep(f))) return;
    const raw = this.vars[from];
    if (raw === undefined) return;
    let key = String(raw);
    if (firstWord) {
      const w = /^[ \t\n\v\f\r]*([A-Za-z_]+)/.exec(key);
      if (!w) return;
      key = w[1].replace(/[a-z]/g, (c) => c.toUpperCase());
    }
    const k = prefix > 0 ? key.slice(0, prefix) : key;
    if (!Object.hasOwn(table, k)) return;
    const v = table[k];
    this.add(f, v, this.anchor, 0);
    if (bind !== undefined) this.vars[bind] = v;
  }

  /** A bound variable as a count or length; anything unbound or not a number counts as 0. */
  num(name: string): number {
    const v = this.vars[name];
    return typeof v === "number" ? v : 0;
  }

  /** True while an until-zero list goes on: more bytes, and the next one is not 0. */
  more(): boolean {
    return this.ok && this.pos < this.end && this.buf[this.pos] !== 0;
  }

  /** Consumes the 0 that ends an until-zero list. */
  zero(): void {
    if (!this.ok) return;
    if (this.pos < this.end) this.pos++;
    else {
      this.expert("overrun", "Field runs past the end of the message");
      this.ok = false;
    }
  }

  /** After the body: bytes the spec did not account for. */
  finish(): void {
    if (this.ok && this.pos < this.end) {
      this.expert("trailing", `${this.end - this.pos} bytes after the last field`);
    }
  }
}

const SPACE = /[^ \t\n\r\f\v]/g;

/**
 * The options of a replication command: the list in parentheses of its text, outside quotes, as
 * [name, value] pairs (value undefined for an option without one). Bare names fold to lower case
 * (ASCII only, as the plugin's string.lower). Stops at the first thing that is not an option.
 */
export function replOptions(text: string): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  const n = text.length;
  let p = 0;
  let q: string | undefined;
  for (; p < n; p++) {
    const c = text[p];
    if (q) {
      if (c === q) q = undefined;
    } else if (c === "'" || c === '"') q = c;
    else if (c === "(") break;
  }
  if (p >= n) return out;
  p++;
  const skip = () => {
    SPACE.lastIndex = p;
    const m = SPACE.exec(text);
    p = m ? m.index : n;
  };
  // A quoted token at p (its quote doubled inside): its text, p moved past it; undefined if unclosed.
  const quoted = (qc: string): string | undefined => {
    let out = "";
    let i = p + 1;
    for (;;) {
      const z = text.indexOf(qc, i);
      if (z < 0) return undefined;
      out += text.slice(i, z);
      if (text[z + 1] === qc) {
        out += qc;
        i = z + 2;
      } else {
        p = z + 1;
        return out;
      }
    }
  };
  for (;;) {
    skip();
    let name: string | undefined;
    let value: string | undefined;
    if (text[p] === '"') {
      name = quoted('"');
      if (name === undefined) return out;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(text.slice(p));
      if (!m) return out;
      p += m[0].length;
      name = m[0].replace(/[A-Z]/g, (c) => c.toLowerCase());
    }
    skip();
    const c = text[p];
    if (c === "'" || c === '"') {
      value = quoted(c);
      if (value === undefined) return out;
    } else if (c !== undefined && c !== "," && c !== ")") {
      const m = /^[^ \t\n\r\f\v,)]+/.exec(text.slice(p)) as RegExpExecArray;
      value = m[0];
      p += value.length;
    }
    out.push([name, value]);
    skip();
    if (text[p] !== ",") return out;
    p++;
  }
}

/** The fields a CopyData's rows are shown in (CopyRowsElement). */
export interface CopyFields {
  row: FieldInfo;
  column: FieldInfo;
  value: FieldInfo;
  null: FieldInfo;
  flags: FieldInfo;
  extension: FieldInfo;
  trailer: FieldInfo;
}

/** Adds what the COPY data of a message holds to its body's fields. */
class CopyFieldSink implements CopySink {
  /** Rows, columns and values are recorded (see Body.want). */
  tree = true;
  fields?: CopyFields;
  constructor(private readonly body: Body) {}
  private get f(): CopyFields {
    return this.fields as CopyFields;
  }
  row(at: number, row: number): void {
    this.body.add(this.f.row, row, at, 0);
  }
  header(at: number, flags: number, extension: number): void {
    this.body.add(this.f.flags, flags, at, 0);
    this.body.add(this.f.extension, extension, at, 0);
  }
  trailer(at: number): void {
    this.body.add(this.f.trailer, true, at, 0);
  }
  field(at: number, name: string | undefined, value: string | undefined): void {
    // One line per field (the value, or NULL), its column's name under it.
    if (value !== undefined) this.body.add(this.f.value, value, at, 0);
    else this.body.add(this.f.null, true, at, 0);
    if (name !== undefined) this.body.add(this.f.column, name, at, 0);
  }
  expert(key: "copyFormat" | "copyLongRow", text: string): void {
    this.body.expert(key === "copyFormat" ? "copy_format" : "copy_long_row", text);
  }
}
