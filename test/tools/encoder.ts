// A generic PostgreSQL message encoder driven by the spec: the inverse of the generated decoders.
// It walks a MessageDef's body element by element (no per-message code) and frames the result,
// so that tests and synthetic captures can build any message of the spec from plain values.
//
// How values are given (`values` is one object per message; repeated parts are arrays of objects):
//
// - int / intN / str / bytes: under the element's `bind` name when it has one (Query: `query`,
//   DataRow: `n`), otherwise under its field's abbrev (`"oid.type"`, `"val.data"`, `detail`).
//   An element bound as "$v" (a StartupMessage parameter value) is keyed by its field abbrev.
// - Integers are numbers (or bigints for 64-bit fields, booleans for bool fields); a
//   one-character string stands for its character code (`status: "I"`, `target: "S"`, `fc: "M"`).
// - Strings are JS strings (written as UTF-8 plus the NUL) or Uint8Array (written as is, plus NUL).
// - Bytes are Uint8Array or strings (UTF-8). Their length comes from the element: a fixed count
//   (must match), "rest" (whatever is given; missing = empty), or a variable ("$vlen"): then the
//   integer that binds that variable, when its value is not given, is computed from the bytes:
//   their length, or -1 when the bytes are null or missing (NULL).
// - repeat("$n", body): the items are an array of value objects under the key "$n" (the count as
//   the spec writes it). The integer bound to `n`, when not given, is the array's length; when it
//   is given, it is written as is (a count that disagrees with the items, for malformed tests).
// - untilZero(body): the items are an array of value objects under the key "*" (the terminating
//   0 byte is added). When the item body is a key element bound to v followed by one value element
//   (bound to "$v", or a switch on $v whose cases hold one element each), the items can also be
//   given as an object { key: value, ... } in order: StartupMessage `"*": { user: "alice" }`,
//   ErrorResponse `"*": { S: "ERROR", C: "42601", M: "syntax error" }`.
// - tree(label, body): transparent; its elements take their values from the same object.
// - switchOn("$v", ...): the case is chosen by v's value (bound earlier, or given in values). A
//   switch on a variable that no element binds (the runtime's $bodylen) takes the first branch,
//   cases before the fallback, whose required values are all given; the encoder then checks that
//   the body length agrees with that choice.
//
// Every key of every values object must be used: a misspelt key is an error, not a silent default.

import type { BytesElement, Direction, Element, IntElement, MessageDef, StringElement } from "../../spec/dsl.ts";
import { intSize } from "../../spec/dsl.ts";
import { messages } from "../../spec/index.ts";
import { concat } from "../../src/capture/bytes.ts";
import type { FieldValue } from "../../src/runtime/reader.ts";

export type Values = Record<string, unknown>;

/** A field the encoder wrote, as the decoder should report it (offset from the message start). */
export interface EncodedField {
  name: string;
  value: FieldValue;
  offset: number;
  length: number;
}

export interface Encoded {
  bytes: Uint8Array;
  /** The body's fields in wire order (not the framing fields msg/type/length/frontend). */
  fields: EncodedField[];
}

/** Framing overrides, for malformed test data. */
export interface EncodeOptions {
  /** The Int32 length to write instead of the real one (typed and untyped shapes). */
  length?: number;
  /** The type byte to write instead of the spec's (typed shape). */
  type?: string | number;
}

/** Key of the items of an untilZero list in a values object. */
export const UNTIL_ZERO_KEY = "*";

const utf8enc = new TextEncoder();
const utf8dec = new TextDecoder();

export class EncodeError extends Error {
  override name = "EncodeError";
}

/** The values key of an int, string or bytes element (see the file comment). */
export function valueKey(e: IntElement | StringElement | BytesElement): string {
  return e.bind !== undefined && !e.bind.startsWith("$") ? e.bind : e.field.abbrev;
}

// ---------------------------------------------------------------------------------------------

type Scope = { vars: Record<string, number | string>; parent?: Scope };

function lookup(s: Scope | undefined, name: string): number | string | undefined {
  for (let c = s; c; c = c.parent) if (name in c.vars) return c.vars[name];
  return undefined;
}

function isPlainObject(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function toBytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return utf8enc.encode(v);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256)) return Uint8Array.from(v);
  throw new EncodeError(`${what}: expected bytes (Uint8Array or string), got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

function toInt(v: unknown, what: string): bigint {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "string" && v.length === 1) return BigInt(v.charCodeAt(0));
  throw new EncodeError(`${what}: expected an integer (or a one-character string), got ${describe(v)}`);
}

/** The elements of a switch branch for value v. */
function branch(e: Extract<Element, { kind: "switch" }>, v: unknown): readonly Element[] {
  const n = typeof v === "number" ? v : typeof v === "string" && v.length === 1 ? v.charCodeAt(0) : undefined;
  for (const [k, b] of e.cases) if (k === n) return b;
  return e.otherwise;
}

/**
 * A column or parameter element on the wire is an Int32 length (-1: NULL) and that many bytes:
 * the encoder writes it as that pair (a parameter's bytes are its value "pv"; what the decoder
 * adds from the RowDescription or the statement is not written).
 */
export function expandColumns(els: readonly Element[]): readonly Element[] {
  if (!els.some((e) => e.kind === "column" || e.kind === "param")) return els;
  return els.flatMap((e): Element[] =>
    e.kind === "column"
      ? [
          { kind: "int", field: e.length, bind: "vlen" },
          { kind: "bytes", field: e.data, length: "$vlen" },
        ]
      : e.kind === "param"
        ? [
            { kind: "int", field: e.length, bind: "vlen" },
            { kind: "bytes", field: e.data, length: "$vlen", bind: "pv" },
          ]
        : [e],
  );
}

/** Names of the variables that elements of this list bind (to tell them from runtime variables). */
function bindsIn(els: readonly Element[], out = new Set<string>()): Set<string> {
  for (const e of els) {
    if ((e.kind === "int" || e.kind === "string" || e.kind === "bytes") && e.bind) out.add(e.bind);
    if (e.kind === "repeat" || e.kind === "untilZero" || e.kind === "tree") bindsIn(e.body, out);
    if (e.kind === "switch") {
      for (const [, b] of e.cases) bindsIn(b, out);
      bindsIn(e.otherwise, out);
    }
  }
  return out;
}

/** True when every value these elements need without a default is present in `values`. */
function hasRequired(listed: readonly Element[], values: Values): boolean {
  const els = expandColumns(listed);
  for (let i = 0; i < els.length; i++) {
    const e = els[i];
    if (e.kind === "tree") {
      if (!hasRequired(e.body, values)) return false;
    } else if (e.kind === "int") {
      if (!(valueKey(e) in values) && !derivable(els, i)) return false;
      // Bytes given under the same name belong to a bytes branch (a 3.2 key vs a 3.0 Int32 key).
      if (values[valueKey(e)] instanceof Uint8Array) return false;
    } else if (e.kind === "string") {
      if (!(valueKey(e) in values)) return false;
    } else if (e.kind === "bytes") {
      if (typeof e.length === "number" && !(valueKey(e) in values)) return false;
    }
  }
  return true;
}

/** Whether the int at els[i] binds a count or length that later elements of the list determine. */
function derivable(els: readonly Element[], i: number): boolean {
  const e = els[i];
  if (e.kind !== "int" || !e.bind) return false;
  const ref = `$${e.bind}`;
  return els
    .slice(i + 1)
    .some((x) => (x.kind === "repeat" && x.count === ref) || (x.kind === "bytes" && x.length === ref));
}

class Writer {
  private readonly chunks: number[] = [];
  readonly fields: EncodedField[] = [];
  /** Every values object seen, with the keys used from it. */
  readonly used = new Map<Values, Set<string>>();
  /** $bodylen switches resolved by trial: the case key chosen (undefined: the fallback). */
  readonly bodylenChoices: { cases: number[]; chosen: number | undefined }[] = [];

  constructor(
    readonly m: MessageDef,
    /** Bytes before the body (type byte and length), for field offsets. */
    readonly header: number,
    readonly declared: Set<string>,
  ) {}

  get pos(): number {
    return this.chunks.length;
  }

  push(b: Uint8Array | readonly number[]): void {
    for (const x of b) this.chunks.push(x);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  take(values: Values, key: string): unknown {
    let u = this.used.get(values);
    if (!u) {
      u = new Set();
      this.used.set(values, u);
    }
    u.add(key);
    return values[key];
  }

  touch(values: Values): void {
    if (!this.used.has(values)) this.used.set(values, new Set());
  }

  where(key: string): string {
    return `${this.m.name} (${this.m.dir}): ${key}`;
  }

  list(listed: readonly Element[], values: Values, scope: Scope): void {
    const els = expandColumns(listed);
    this.touch(values);
    for (let i = 0; i < els.length; i++) {
      const e = els[i];
      switch (e.kind) {
        case "int":
          this.int(e, els, i, values, scope);
          break;
        case "string":
          this.str(e, values, scope);
          break;
        case "bytes":
          this.bytesEl(e, values, scope);
          break;
        case "tree":
          this.list(e.body, values, scope);
          break;
        case "lookup":
        case "text":
        case "remember":
        case "column":
        case "param":
        case "relation":
        case "options":
        case "copyStatement":
          // Generated or kept by the decoder: nothing on the wire (columns are expanded above).
          break;
        case "payload":
          // The carried message as bytes (encode it with encodeMessage: type byte and body).
          this.bytesEl({ kind: "bytes", field: e.field, length: "rest" }, values, scope);
          break;
        case "copyRows":
          // The COPY data as bytes; its rows are the decoder's reading of them.
          this.bytesEl({ kind: "bytes", field: e.field, length: "rest" }, values, scope);
          break;
        case "tupleColumn":
          this.tupleColumn(e, values, scope);
          break;
        case "optional":
          if (hasRequired(e.body, values)) this.list(e.body, values, scope);
          break;
        case "repeat": {
          const items = this.items(values, e.count, e.body);
          const n = lookup(scope, e.count.slice(1));
          if (typeof n !== "number") throw new EncodeError(this.where(`${e.count} is not bound before its repeat`));
          for (const it of items) this.list(e.body, it, { vars: {}, parent: scope });
          break;
        }
        case "untilZero": {
          const items = this.items(values, UNTIL_ZERO_KEY, e.body);
          items.forEach((it, k) => {
            const start = this.pos;
            this.list(e.body, it, { vars: {}, parent: scope });
            if (this.pos === start || this.chunks[start] === 0) {
              throw new EncodeError(
                this.where(`item ${k} of the until-zero list starts with a 0 byte (ends the list)`),
              );
            }
          });
          this.push([0]);
          break;
        }
        case "switch": {
          const name = e.on.slice(1);
          let v: unknown = lookup(scope, name);
          if (v === undefined && name in values) v = this.take(values, name);
          if (v === undefined && !this.declared.has(name)) {
            // A runtime variable ($bodylen, $instream): the first branch whose values are given.
            const pick = e.cases.find(([, b]) => hasRequired(b, values));
            if (name === "bodylen") this.bodylenChoices.push({ cases: e.cases.map(([k]) => k), chosen: pick?.[0] });
            this.list(pick ? pick[1] : e.otherwise, values, scope);
            break;
          }
          if (v === undefined) throw new EncodeError(this.where(`switch variable ${e.on} is not bound`));
          this.list(branch(e, v), values, scope);
          break;
        }
      }
    }
  }

  /** The items of a repeat or untilZero, from an array or from the { key: value } form. */
  private items(values: Values, key: string, body: readonly Element[]): Values[] {
    const raw = this.take(values, key);
    if (raw === undefined || raw === null) return [];
    if (Array.isArray(raw)) {
      raw.forEach((it, k) => {
        if (!isPlainObject(it)) throw new EncodeError(this.where(`${key}[${k}] is not a values object`));
      });
      return raw as Values[];
    }
    if (!isPlainObject(raw)) throw new EncodeError(this.where(`${key} must be an array of values objects`));
    // { key: value } form: a key element bound to v, then one element bound to $v or a switch on $v.
    const [k, val] = body;
    const keyBind = k && (k.kind === "int" || k.kind === "string") ? k.bind : undefined;
    if (!keyBind || body.length !== 2) {
      throw new EncodeError(this.where(`${key}: the { key: value } form needs a key/value item body`));
    }
    let valueKeyOf: (name: string) => string;
    if ((val.kind === "string" || val.kind === "bytes" || val.kind === "int") && val.bind === `$${keyBind}`) {
      const vk = valueKey(val);
      valueKeyOf = () => vk;
    } else if (val.kind === "switch" && val.on === `$${keyBind}`) {
      valueKeyOf = (name) => {
        // Lookups are generated by the decoder, not written: only the elements with bytes count.
        const b = branch(val, k.kind === "int" ? Number(toInt(name, this.where(key))) : name).filter(
          (x) => x.kind !== "lookup" && x.kind !== "text",
        );
        const only = b[0];
        if (b.length !== 1 || !(only.kind === "int" || only.kind === "string" || only.kind === "bytes")) {
          throw new EncodeError(this.where(`${key}: the { key: value } form needs one element per case`));
        }
        return valueKey(only);
      };
    } else throw new EncodeError(this.where(`${key}: the { key: value } form needs a key/value item body`));
    return Object.entries(raw).map(([name, v]) => ({ [keyBind]: name, [valueKeyOf(name)]: v }));
  }

  private int(e: IntElement, els: readonly Element[], i: number, values: Values, scope: Scope): void {
    const key = valueKey(e);
    let raw = this.take(values, key);
    if (raw === undefined && e.bind && derivable(els, i)) raw = this.derive(e.bind, els.slice(i + 1), values);
    if (raw === undefined) throw new EncodeError(this.where(`missing value for ${key}`));
    const size = e.size ?? (e.field.type === "bool" ? 1 : intSize[e.field.type as keyof typeof intSize]);
    const bits = BigInt(size * 8);
    let x = toInt(raw, this.where(key));
    if (x < -(1n << (bits - 1n)) || x >= 1n << bits) {
      throw new EncodeError(this.where(`${key} = ${x} does not fit in ${size} bytes`));
    }
    if (x < 0n) x += 1n << bits;
    const out: number[] = [];
    for (let k = size - 1; k >= 0; k--) out.push(Number((x >> BigInt(k * 8)) & 0xffn));
    // The value as the decoder reads it back: signed per the field type, bigint for 8 bytes.
    const signed = e.field.type.startsWith("int");
    let back = x;
    if (signed && back >= 1n << (bits - 1n)) back -= 1n << bits;
    const value: FieldValue = e.field.type === "bool" ? back !== 0n : size === 8 ? back : Number(back);
    this.fields.push({ name: `pgwire.${e.field.abbrev}`, value, offset: this.header + this.pos, length: size });
    this.push(out);
    if (e.bind) scope.vars[e.bind] = typeof value === "bigint" ? value.toString() : Number(back);
  }

  /**
   * A logical replication tuple column: its kind (values key: the marker's abbrev, a character),
   * then for the kinds with a value an Int32 length (from the bytes under the data's abbrev, or
   * given under the length's abbrev) and the bytes.
   */
  private tupleColumn(e: Extract<Element, { kind: "tupleColumn" }>, values: Values, scope: Scope): void {
    const kindKey = e.marker.abbrev;
    const marker: IntElement = { kind: "int", field: e.marker };
    this.int(marker, [marker], 0, values, scope);
    const kind = Number(toInt(values[kindKey], this.where(kindKey)));
    if (!Object.hasOwn(e.formats, kind)) return;
    const data = this.take(values, e.data.abbrev);
    const given = this.take(values, e.length.abbrev);
    const n = given ?? (data === undefined || data === null ? -1 : toBytes(data, this.where(e.data.abbrev)).length);
    const inner: Scope = { vars: {}, parent: scope };
    const length: IntElement = { kind: "int", field: e.length, bind: "vlen" };
    this.int(length, [length], 0, { vlen: n }, inner);
    this.bytesEl({ kind: "bytes", field: e.data, length: "$vlen" }, { [e.data.abbrev]: data }, inner);
  }

  /** A count or length that the elements after the int determine. */
  private derive(bind: string, rest: readonly Element[], values: Values): number {
    const ref = `$${bind}`;
    for (const x of rest) {
      if (x.kind === "repeat" && x.count === ref) {
        const items = values[ref];
        return Array.isArray(items) ? items.length : 0;
      }
      if (x.kind === "bytes" && x.length === ref) {
        const data = values[valueKey(x)];
        return data === undefined || data === null ? -1 : toBytes(data, this.where(valueKey(x))).length;
      }
    }
    throw new EncodeError(this.where(`cannot derive ${bind}`));
  }

  private str(e: StringElement, values: Values, scope: Scope): void {
    const key = valueKey(e);
    const raw = this.take(values, key);
    if (raw === undefined || raw === null) throw new EncodeError(this.where(`missing value for ${key}`));
    let b: Uint8Array;
    if (typeof raw === "string") b = utf8enc.encode(raw);
    else if (raw instanceof Uint8Array) b = raw;
    else throw new EncodeError(this.where(`${key}: expected a string, got ${describe(raw)}`));
    const s = utf8dec.decode(b);
    this.fields.push({
      name: `pgwire.${e.field.abbrev}`,
      value: s,
      offset: this.header + this.pos,
      length: b.length + 1,
    });
    this.push(b);
    this.push([0]);
    if (e.bind?.startsWith("$")) {
      const name = lookup(scope, e.bind.slice(1));
      if (typeof name === "string") scope.vars[name] = s;
    } else if (e.bind) scope.vars[e.bind] = s;
  }

  private bytesEl(e: BytesElement, values: Values, scope: Scope): void {
    const key = valueKey(e);
    const raw = this.take(values, key);
    let n: number | undefined;
    if (typeof e.length === "number") n = e.length;
    else if (e.length !== "rest") {
      const v = lookup(scope, e.length.slice(1));
      if (typeof v !== "number") throw new EncodeError(this.where(`length ${e.length} is not bound`));
      n = v;
    }
    let b: Uint8Array;
    if (raw === undefined || raw === null) {
      if (n !== undefined && n > 0) throw new EncodeError(this.where(`missing value for ${key} (${n} bytes)`));
      b = new Uint8Array(0);
    } else b = toBytes(raw, this.where(key));
    if (typeof e.length === "number" && b.length !== e.length) {
      throw new EncodeError(this.where(`${key} must be ${e.length} bytes, got ${b.length}`));
    }
    if (b.length > 0) {
      const value: FieldValue = e.field.type === "string" ? utf8dec.decode(b) : b;
      this.fields.push({ name: `pgwire.${e.field.abbrev}`, value, offset: this.header + this.pos, length: b.length });
    }
    this.push(b);
    if (e.bind) scope.vars[e.bind] = utf8dec.decode(b);
  }
}

/** Encodes one message and reports the fields it wrote, with their offsets from the message start. */
export function encodeMessageTraced(m: MessageDef, values: Values = {}, opts: EncodeOptions = {}): Encoded {
  // A payload message (shape "payload") is its type byte and its body, as it sits inside the
  // message that carries it.
  const header = m.shape === "typed" ? 5 : m.shape === "untyped" ? 4 : m.shape === "payload" ? 1 : 0;
  const w = new Writer(m, header, new Set(bindsIn(m.body)));
  w.list(m.body, values, { vars: {} });
  for (const [obj, keys] of w.used) {
    const extra = Object.keys(obj).filter((k) => !keys.has(k));
    if (extra.length > 0) {
      throw new EncodeError(
        `${m.name} (${m.dir}): unknown value key(s) ${extra.map((k) => JSON.stringify(k)).join(", ")}`,
      );
    }
  }
  const body = w.bytes();
  for (const c of w.bodylenChoices) {
    const matches = c.cases.includes(body.length) ? body.length : undefined;
    if (matches !== c.chosen) {
      throw new EncodeError(
        `${m.name} (${m.dir}): a body of ${body.length} bytes decodes as the ${matches ?? "fallback"} branch, not the ${c.chosen ?? "fallback"} branch the values chose`,
      );
    }
  }
  let out: Uint8Array;
  if (m.shape === "payload") {
    out = concat([Uint8Array.of((m.type as string).charCodeAt(0)), body]);
  } else if (m.shape === "single") {
    if (body.length !== 1) throw new EncodeError(`${m.name} (${m.dir}): a single-byte message must have a 1-byte body`);
    out = body;
  } else {
    out = new Uint8Array(header + body.length);
    const dv = new DataView(out.buffer);
    if (m.shape === "typed") {
      const t = opts.type ?? m.type;
      if (t === undefined) throw new EncodeError(`${m.name} (${m.dir}): typed message without a type byte`);
      out[0] = typeof t === "number" ? t : t.charCodeAt(0);
    }
    dv.setUint32(header - 4, (opts.length ?? 4 + body.length) >>> 0);
    out.set(body, header);
  }
  return { bytes: out, fields: w.fields };
}

/** Encodes one message of the spec from its values (see the file comment for the convention). */
export function encodeMessage(m: MessageDef, values: Values = {}, opts: EncodeOptions = {}): Uint8Array {
  return encodeMessageTraced(m, values, opts).bytes;
}

/** The spec's message with this name (and direction: needed for CopyData and CopyDone). */
export function findMessage(name: string, dir?: Direction): MessageDef {
  const found = messages.filter((m) => m.name === name && (dir === undefined || m.dir === dir));
  if (found.length === 0) throw new EncodeError(`no message ${name}${dir ? ` (${dir})` : ""} in the spec`);
  if (found.length > 1) throw new EncodeError(`message ${name} exists in both directions: give the direction`);
  return found[0];
}

export function encodeByName(
  name: string,
  dir: Direction | undefined,
  values: Values = {},
  opts?: EncodeOptions,
): Uint8Array {
  return encodeMessage(findMessage(name, dir), values, opts);
}

/** Concatenates encoded messages (several messages in one segment). */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concat(parts);
}
