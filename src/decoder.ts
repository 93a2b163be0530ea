// The TypeScript reference decoder's runtime: framing, resynchronisation and connection state,
// mirroring the runtime part of generator/templates/pgwire.lua.ejs step for step, so that both
// produce the same messages and fields. The message layouts themselves are generated
// (dissector/pgwire.ts) from the spec.

import {
  DEFAULT_MAX_LENGTH,
  DERIVED_FIELDS,
  EXPERTS,
  F,
  GROUPS,
  MESSAGES,
  type MessageName,
  type MessageVars,
  OPENING,
  PAYLOADS,
  PHASE_TEXT,
} from "../dissector/pgwire.ts";
import type { EffectLists, EffectVars } from "../spec/dsl.ts";
import { concat } from "./capture/bytes.ts";
import { TlsDecryptor } from "./capture/tls.ts";
import {
  Body,
  type Condition,
  type DecodedField,
  type Effect,
  type FieldInfo,
  type Group,
  type InfoPart,
  keeps,
  type MessageMeta,
  type Opening,
  type Phase,
  type Relation,
  type Remembered,
  type Vars,
} from "./runtime/body.ts";
import { type CopyState, type CopyStatement, copyStart } from "./runtime/copy.ts";
import { cutUtf8, MAX_VALUE_BYTES } from "./runtime/text.ts";

export type { DecodedField, FieldValue } from "./runtime/body.ts";
export { DEFAULT_MAX_LENGTH, DERIVED_FIELDS, EXPERTS, F as FIELDS };

/**
 * Fields the runtime adds from connection context rather than from the message's bytes: links
 * between requests and responses (frame numbers, times, rows, command tags), the transaction
 * status, the SQL of statements and portals and Bind's parameters typed by them, cancel links, and
 * the findings of a response no request waits for and of a message out of its phase.
 */
export const CONTEXT_FIELDS: ReadonlySet<string> = new Set([
  ...[
    F.txStatus,
    F.responseIn,
    F.responseTo,
    F.time,
    F.rowCount,
    F.tags,
    F.tagRows,
    F.sql,
    F.paramType,
    F.paramValue,
    F.cancelBackend,
    F.cancelRequest,
  ].map((f) => `pgwire.${f.abbrev}`),
  `expert:pgwire.${EXPERTS.unexpectedResponse.abbrev}`,
  `expert:pgwire.${EXPERTS.unexpectedMessage.abbrev}`,
]);

/**
 * Experts raised by messages' findings (errors, notices, security), as opposed to the runtime's
 * framing experts (bad length, overrun, ...): "expert:pgwire.<abbrev>".
 */
export const FINDING_EXPERTS: ReadonlySet<string> = new Set(
  MESSAGES.flatMap((m) => (m.findings ?? []).map((f) => `expert:pgwire.${f.expert.abbrev}`)),
);

/**
 * One item pgwire puts in the tree, a message or bytes it could not decode: what every item has,
 * whatever message it is (DecodedMessage adds its name and variables).
 */
export interface DecodedItem {
  frame: number;
  frontend: boolean;
  /** The subtree label, as in Wireshark ("PostgreSQL: Query"). */
  label: string;
  /** Offset of the item in its direction's byte stream. */
  streamOffset: number;
  /** Bytes the item covers. */
  size: number;
  fields: DecodedField[];
  /**
   * This item's part of the Info column, or undefined when it adds none. Not rendered in the
   * selective mode (ConnectionOptions.select): messageInfo gives it there.
   */
  info?: string;
  /** The message carried inside it (a pgoutput message in an XLogData), by name; its variables are in vars too. */
  sub?: MessageName;
  /** The spec's description of the message and of the one carried inside it; none for undecoded data. */
  meta?: MessageMeta;
  subMeta?: MessageMeta;
  /** The time of the packet that completed it (seconds since the epoch), when the caller gave one. */
  time?: number;
  /**
   * A server message's request: the one it completes, or the oldest one still waiting that it
   * belongs to (rows, command tags, an error before ReadyForQuery). Not a field: for the commands
   * that tell what happened (explain, stats).
   */
  request?: DecodedMessage;
}

/**
 * A decoded message: its name (null for undecoded or partial data) and the variables bound while
 * it was read (query, tag, severity, ...), typed by name (dissector/pgwire.ts MessageVars), so that
 * a test of it.name narrows it.vars.
 */
export type DecodedMessage = DecodedItem &
  ({ [N in MessageName]: { name: N; vars: MessageVars[N] } }[MessageName] | { name: null; vars: Vars });

/** The decoded message of one name, its variables typed by it. */
export type MessageOf<N extends MessageName> = Extract<DecodedMessage, { name: N }>;

/** An item as the decoder builds it, before its name and variables are known to agree. */
type Item = DecodedItem & { name: string | null; vars: Vars };

/** Connection state; never mutated, so that a snapshot is a reference (as in the Lua runtime). */
export interface ConnState {
  /** How the client's next packet is framed: a startup packet (no type byte) or a typed message. */
  readonly clientFraming: "startup" | "typed";
  /** The StartupMessage was seen: the phase of each message is known (spec/dsl.ts Phase). */
  readonly startupSeen?: true;
  /** The request whose one-byte answer ('S', 'N', 'G') the server sends next. */
  readonly answerTo?: "SSLRequest" | "GSSENCRequest";
  /** The code of the last Authentication request (-1: none yet). */
  readonly auth: number;
  readonly tls: boolean;
  readonly gss: boolean;
  /** COPY in progress; "dropped": the server ended the client's COPY with an error. */
  readonly copy?: "in" | "out" | "both" | "dropped";
  /** The COPY is copy-both (streaming replication), until it ends on both sides. */
  readonly copyBoth?: true;
  /** Transaction status byte of the last ReadyForQuery. */
  readonly txStatus?: number;
  /** The last RowDescription's columns: name, type OID, format. */
  readonly columns?: readonly Remembered[];
  /** Result formats of the portal being executed, until the next RowDescription (which has its own). */
  readonly rformats?: readonly Remembered[];
  /** The payload set (spec/dsl.ts PayloadSet) the XLogData of this replication stream carry. */
  readonly payloadSet?: string;
  /** Between a Stream Start and a Stream Stop. */
  readonly stream?: true;
  /** The relations the stream described (Relation messages), by OID. */
  readonly relations?: ReadonlyMap<number, Relation>;
  /** The types the stream named (Type messages), by OID. */
  readonly types?: ReadonlyMap<number, string>;
  /** The kind of replication connection its StartupMessage opened (physical, logical). */
  readonly replication?: string;
  /** The COPY statements of the last query, for the COPY responses still to come. */
  readonly copyStatements?: readonly CopyStatement[];
  /** The COPY in progress whose statement was seen. */
  readonly copyState?: CopyState;
}

/**
 * The payload set a replication command starts: the first of that command whose options were all
 * given; null when the command starts sets but its options match none; undefined when it starts none.
 */
function payloadSetOf(v: Vars): string | null | undefined {
  let starts: null | undefined;
  for (const set of Object.values(PAYLOADS)) {
    if (set.command !== v.replcmd) continue;
    if (set.options.every((o) => v[`opt:${o}`] !== undefined)) return set.name;
    starts = null;
  }
  return starts;
}

/** T with every key present (the optional ones possibly undefined), writable. */
type EveryKey<T> = { -readonly [K in keyof Required<T>]: T[K] };

// Every key present from the start, as in every state change() makes: one shape for all.
export const INITIAL_STATE: EveryKey<ConnState> = {
  clientFraming: "startup",
  startupSeen: undefined,
  answerTo: undefined,
  auth: -1,
  tls: false,
  gss: false,
  copy: undefined,
  copyBoth: undefined,
  txStatus: undefined,
  columns: undefined,
  rformats: undefined,
  payloadSet: undefined,
  stream: undefined,
  relations: undefined,
  types: undefined,
  replication: undefined,
  copyStatements: undefined,
  copyState: undefined,
};

/**
 * S with some of its fields changed: a copy made field by field, as V8 copies an object of this
 * size far faster than with a spread ({ ...S, x }), which took half a microsecond here.
 */
function change(S: ConnState, c: Partial<ConnState>): ConnState {
  const n: EveryKey<ConnState> = {
    clientFraming: S.clientFraming,
    startupSeen: S.startupSeen,
    answerTo: S.answerTo,
    auth: S.auth,
    tls: S.tls,
    gss: S.gss,
    copy: S.copy,
    copyBoth: S.copyBoth,
    txStatus: S.txStatus,
    columns: S.columns,
    rformats: S.rformats,
    payloadSet: S.payloadSet,
    stream: S.stream,
    relations: S.relations,
    types: S.types,
    replication: S.replication,
    copyStatements: S.copyStatements,
    copyState: S.copyState,
  };
  return Object.assign(n, c);
}

/** The variables effect e reads of the message just read (EFFECT_READS). */
function effectVars<E extends Effect>(b: Body, _e: E): EffectVars<E> {
  return b.vars as EffectVars<E>;
}

/** The lists effect e reads of the message just read (EFFECT_READS). */
function effectLists<E extends Effect>(b: Body, _e: E): Partial<Record<EffectLists<E>, Remembered[]>> {
  return b.lists;
}

/** The state after the effects; b: the message just decoded (its variables, lists, and what its elements found). */
function applyEffects(S: ConnState, effects: readonly Effect[], b: Body): ConnState {
  // What each effect reads comes through effectVars and effectLists, typed by spec/dsl.ts
  // EFFECT_READS: a variable read here that the spec does not list for the effect fails to compile
  // (and the generator checks that every message with the effect binds what it lists).
  for (const e of effects) {
    switch (e) {
      case "startup": {
        const v = effectVars(b, e);
        S = change(S, {
          clientFraming: "typed",
          startupSeen: true,
          replication: typeof v.replmode === "string" ? v.replmode : undefined,
        });
        break;
      }
      case "sslRequest":
        S = change(S, { answerTo: "SSLRequest" });
        break;
      case "gssRequest":
        S = change(S, { answerTo: "GSSENCRequest" });
        break;
      case "encryptionAnswer": {
        const v = effectVars(b, e);
        S = change(S, { answerTo: undefined });
        if (v.answer === 83) S = change(S, { tls: true });
        else if (v.answer === 71) S = change(S, { gss: true });
        break;
      }
      case "authRequest": {
        const v = effectVars(b, e);
        S = change(S, { auth: typeof v.authtype === "number" ? v.authtype : -1 });
        break;
      }
      case "copyIn":
      case "copyOut": {
        // The COPY statement it answers, if the query was seen: its rows can be split.
        const dir = e === "copyIn" ? "in" : "out";
        S = change(S, { copy: dir });
        const pending = S.copyStatements;
        if (pending) {
          const v = effectVars(b, e);
          const format = typeof v.format === "number" ? v.format : 0;
          S = change(S, {
            copyState: copyStart(pending[0], format, dir),
            copyStatements: pending.length > 1 ? pending.slice(1) : undefined,
          });
        } else S = change(S, { copyState: undefined });
        break;
      }
      case "copyBoth":
        S = change(S, { copy: "both", copyBoth: true, copyState: undefined });
        break;
      case "copyStatement":
        if (S.copyStatements !== b.copy) S = change(S, { copyStatements: b.copy });
        break;
      case "copyData":
        if (b.copyNext) S = change(S, { copyState: b.copyNext });
        break;
      case "copyInDone":
        S = change(S, { copy: S.copy === "both" ? "out" : S.copy === "out" ? "out" : undefined });
        break;
      case "copyOutDone":
        S = change(S, { copy: S.copy === "both" ? "in" : S.copy === "out" ? undefined : S.copy });
        break;
      case "copyError":
        if (S.copy !== undefined) S = change(S, { copy: S.copy === "in" ? "dropped" : undefined });
        break;
      case "rowDescription":
        S = change(S, { columns: effectLists(b, e).columns ?? [], rformats: undefined });
        break;
      case "txStatus": {
        const status = effectVars(b, e).status;
        if (S.txStatus !== status && typeof status === "number") S = change(S, { txStatus: status });
        break;
      }
      case "startReplication": {
        // Its options too: the opt:* variables, named by the payload sets.
        const set = payloadSetOf(b.vars);
        if (set !== undefined) S = change(S, { payloadSet: set ?? undefined, stream: undefined });
        break;
      }
      case "relation": {
        const v = effectVars(b, e);
        if (typeof v.relid === "number" && typeof v.nspname === "string" && typeof v.relname === "string") {
          const rels = new Map(S.relations);
          rels.set(v.relid, {
            name: `${v.nspname === "" ? "pg_catalog" : v.nspname}.${v.relname}`,
            cols: effectLists(b, e).relcols ?? [],
          });
          S = change(S, { relations: rels });
        }
        break;
      }
      case "dataType": {
        const v = effectVars(b, e);
        if (typeof v.typid === "number" && typeof v.typname === "string") {
          S = change(S, { types: new Map(S.types).set(v.typid, v.typname) });
        }
        break;
      }
      case "streamStart":
        S = change(S, { stream: true });
        break;
      case "streamStop":
        S = change(S, { stream: undefined });
        break;
      default: {
        // Every effect the spec names has its case above: a new one fails to compile here.
        const unhandled: never = e;
        void unhandled;
      }
    }
  }
  if (S.copyBoth && S.copy === undefined) S = change(S, { copyBoth: undefined });
  if (S.copyState && S.copy === undefined) S = change(S, { copyState: undefined });
  return S;
}

/**
 * A prepared statement or portal: its SQL, its parameter types (one [OID] record each), its
 * columns once described, and for a portal its result formats and its statement. Answers to a
 * request that refers to it (ParameterDescription, RowDescription) fill it in later.
 */
interface Obj {
  readonly sql: string;
  types?: readonly Remembered[];
  columns?: readonly Remembered[];
  readonly formats?: readonly Remembered[];
  readonly stmt?: Obj;
}

/** Where a message comes (spec/dsl.ts Phase), or undefined before the StartupMessage was seen. */
function phaseOf(S: ConnState, fe: boolean): Phase | undefined {
  if (!S.startupSeen) return undefined;
  if (S.auth !== 0) return "auth";
  if (fe) return S.copy === "in" || S.copy === "both" ? "copyIn" : S.copy === "dropped" ? "copyDropped" : "ready";
  return S.copy === "out" || S.copy === "both" ? "copyOut" : "ready";
}

/** The rows a command tag counts: its last number when its first word counts rows, else 0. */
function tagRows(tag: string, counting: readonly string[]): number {
  const m = /^([A-Z]+)(?: .*)? ([0-9]+)$/.exec(tag);
  return m && counting.includes(m[1]) ? Number(m[2]) : 0;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function selects(m: MessageMeta, S: ConnState, buf: Uint8Array, body: number): boolean {
  const w = m.when;
  if (!w) return true;
  if ("lastAuth" in w) return w.lastAuth.includes(S.auth);
  if ("answerTo" in w) return S.answerTo === w.answerTo;
  if ("copyBoth" in w) return S.copyBoth === true && buf.length > body && buf[body] === w.copyBoth.charCodeAt(0);
  if (buf.length < body + 4) return false;
  const code = u32(buf, body);
  if ("peekInt32" in w) return w.peekInt32.includes(code);
  return Math.floor(code / 65536) === w.peekMajor;
}

const enc = new TextEncoder();

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Info column values: control characters as spaces, cut at 80 bytes on a UTF-8 boundary. */
export function infoText(v: number | string): string {
  if (typeof v === "number") return String(v);
  // Printable ASCII, most SQL: a character is a byte, so the cut needs no encoding.
  if (PRINTABLE_ASCII.test(v)) return v.length <= 80 ? v : `${v.slice(0, 80)}...`;
  return cutUtf8(v.replace(/[\x00-\x1f\x7f]/g, " "), 80);
}

function charOf(v: number | string): string {
  return typeof v === "number" && v >= 32 && v < 127 ? String.fromCharCode(v) : String(v);
}

function render(parts: readonly InfoPart[], v: Vars): string {
  let out = "";
  for (const p of parts) {
    if ("lit" in p) out += p.lit;
    else if (p.s) out += v[p.v] === 1 ? "" : "s";
    else if (v[p.v] !== undefined) out += p.char ? charOf(v[p.v]) : infoText(v[p.v]);
  }
  return out;
}

function infoOf(m: MessageMeta, v: Vars): string {
  return m.info.length === 0 ? m.name : m.name + render(m.info, v);
}

/** SQL that sets a role's password with a literal: ALTER/CREATE ROLE/USER ... PASSWORD '...'. */
// Without the u flag, i folds ASCII letters only (as the plugin's string.upper does).
const ROLE_SQL = /^[ \t\n\v\f\r]*(?:ALTER|CREATE)[ \t\n\v\f\r]+(?:ROLE|USER)(?![A-Za-z])/i;
const PASSWORD_LITERAL = /PASSWORD[ \t\n\v\f\r]*'/i;

export function setsPasswordLiteral(sql: string): boolean {
  return ROLE_SQL.test(sql) && PASSWORD_LITERAL.test(sql);
}

function holds(w: Condition, S: ConnState, v: Vars, inTls: boolean): boolean {
  if (w.var !== undefined) {
    const x = v[w.var];
    if (w.present !== undefined && (x !== undefined) !== w.present) return false;
    if (w.equals !== undefined && x !== w.equals) return false;
    if (w.oneOf && (x === undefined || !w.oneOf.includes(x))) return false;
    if (w.noneOf && x !== undefined && w.noneOf.includes(x)) return false;
  }
  if (w.lastAuth && !w.lastAuth.includes(S.auth)) return false;
  if (w.clear && inTls) return false;
  if (w.passwordLiteral !== undefined) {
    const sql = v[w.passwordLiteral];
    if (typeof sql !== "string" || !setsPasswordLiteral(sql)) return false;
  }
  return true;
}

/** The typed groups by direction and type byte (GROUPS' "F:81" as TYPED.F[81]). */
const TYPED: Record<"F" | "B", Array<Group | undefined>> = { F: new Array(256), B: new Array(256) };
for (const [k, g] of Object.entries(GROUPS)) {
  const [d, t] = k.split(":");
  if (/^\d+$/.test(t)) TYPED[d as "F" | "B"][Number(t)] = g;
}

function headerOk(buf: Uint8Array, p: number, dir: "F" | "B"): number | null {
  if (p + 5 > buf.length) return null;
  const g = TYPED[dir][buf[p]];
  if (!g) return null;
  const len = u32(buf, p + 1);
  if (len < g.min || len > g.max) return null;
  return p + 1 + len;
}

function typedRun(buf: Uint8Array, dir: "F" | "B"): boolean {
  let p = 0;
  let n = 0;
  while (p < buf.length) {
    const nxt = headerOk(buf, p, dir);
    if (nxt === null || nxt > buf.length) return false;
    p = nxt;
    n++;
  }
  return n >= 2;
}

/**
 * Detection on other ports (the Lua runtime's heuristic_side): a segment that is one whole startup
 * packet is the client's; two or more whole typed messages valid in one direction only are that
 * direction's. Returns the direction of the segment's sender, or null.
 */
export function heuristicSide(buf: Uint8Array): "F" | "B" | null {
  const n = buf.length;
  if (n >= 8 && buf[0] === 0) {
    const o = opening(buf);
    if (!o || u32(buf, 0) !== n) return null;
    if (o.endsWithZero && buf[n - 1] !== 0) return null;
    if (o.contains !== undefined && indexOf(buf, enc.encode(o.contains), 8) < 0) return null;
    return "F";
  }
  const f = typedRun(buf, "F");
  const b = typedRun(buf, "B");
  if (f && !b) return "F";
  if (b && !f) return "B";
  return null;
}

function indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= buf.length - needle.length; i++) {
    for (let k = 0; k < needle.length; k++) if (buf[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** Where a message plausibly starts again after bad bytes (see the Lua runtime's resync_point). */
function resyncPoint(buf: Uint8Array, from: number, dir: "F" | "B", total: number): number {
  for (let p = from; p <= buf.length - 5; p++) {
    const nxt = headerOk(buf, p, dir);
    if (nxt !== null && (nxt === total || headerOk(buf, nxt, dir) !== null)) return p;
  }
  return buf.length;
}

/** The packet that opens a connection (spec: MessageDef.opens) that buf starts with, by code and length. */
function opening(buf: Uint8Array): Opening | undefined {
  if (buf.length < 8 || buf[0] !== 0) return undefined;
  const len = u32(buf, 0);
  const code = u32(buf, 4);
  return OPENING.find(
    (o) => (o.codes ? o.codes.includes(code) : Math.floor(code / 65536) === o.major) && len >= o.min && len <= o.max,
  );
}

/** What a new connection's client sends first. */
function newConnection(buf: Uint8Array): boolean {
  return opening(buf) !== undefined;
}

function field(f: FieldInfo, value: DecodedField["value"], offset: number, length: number): DecodedField {
  return { name: f.name, value, offset, length };
}

function expertField(abbrev: string, text: string): DecodedField {
  return { name: `expert:pgwire.${abbrev}`, value: text, offset: 0, length: 0 };
}

/** Called for every decoded message, in order: appends the link fields to its fields (out). */
export type LinkHook = (
  m: MessageMeta,
  fe: boolean,
  item: DecodedMessage,
  v: Vars,
  lists: Body["lists"],
  out: DecodedField[],
) => void;

function newItem(
  items: DecodedMessage[],
  frame: number,
  frontend: boolean,
  name: string | null,
  label: string,
  streamOffset: number,
  size: number,
  fields: DecodedField[],
): Item {
  const it: Item = {
    frame,
    frontend,
    name,
    label,
    streamOffset,
    size,
    fields,
    vars: EMPTY_VARS,
    info: undefined,
    sub: undefined,
    meta: undefined,
    subMeta: undefined,
    // Set later (feed, link): present from the start, so that every item has one shape.
    time: undefined,
    request: undefined,
  };
  // Its name is the generated MESSAGES' (MessageName) and its variables are its reader's, which
  // MessageVars describes: the item is the DecodedMessage of that name.
  items.push(it as DecodedMessage);
  return it;
}

const EMPTY_VARS: Vars = Object.freeze({}) as Vars;

/** What one call of the dissector over a buffer left: the state, and where it wants more bytes. */
interface CallResult {
  S: ConnState;
  /** Offset where undecoded bytes start and how many more are needed ("one" = one more segment). */
  desegment?: { offset: number; need: number | "one" };
  /** The rest from this offset on belongs to TLS. */
  tlsFrom?: number;
}

/** What a connection lends the dissector for its calls (one per layer: TCP, and inside TLS). */
interface CallContext {
  /** Where the decoded messages go (appended). */
  out: DecodedMessage[];
  links?: LinkHook;
  /** Called when a client starts a new connection on the same address pair. */
  onRestart?: () => void;
  /** The portal whose rows answer the oldest waiting request (its columns, result formats), if it says. */
  answering?: () => Obj | undefined;
  /** The parameter types of the statement a message refers to (ParamElement). */
  paramTypes?: (m: MessageMeta, v: Vars) => readonly Remembered[] | undefined;
  /** The fields to decode (Body.want); undefined: all. */
  select?: ReadonlySet<string>;
  /** The header fields the selection keeps (headerKeeps); undefined: none. */
  header?: HeaderKeeps;
}

/** Which of the header fields that every message has are decoded. */
interface HeaderKeeps {
  readonly msg: boolean;
  readonly type: boolean;
  readonly length: boolean;
  readonly frontend: boolean;
  readonly txStatus: boolean;
}

function headerKeeps(select: ReadonlySet<string> | undefined): HeaderKeeps | undefined {
  const k = {
    msg: keeps(select, F.msg),
    type: keeps(select, F.type),
    length: keeps(select, F.length),
    frontend: keeps(select, F.frontend),
    txStatus: keeps(select, F.txStatus),
  };
  return Object.values(k).some(Boolean) ? k : undefined;
}

/** How a message is framed: a type byte and a length, a length only (startup), or one byte. */
type Shape = "typed" | "untyped" | "single";

/**
 * One call of dissectCall: what its steps read, the state they move on, and the message framed at
 * the current offset (shape, hdr: the header bytes before the length, size: the whole message).
 */
interface CallState {
  readonly buf: Uint8Array;
  /** The bytes captured; total (below) counts those the capture cut off too. */
  readonly caplen: number;
  readonly total: number;
  readonly frame: number;
  readonly streamBase: number;
  readonly fe: boolean;
  readonly canDesegment: boolean;
  /** Decrypted data handed back by TLS: the TLS hand-over and new-connection checks do not apply. */
  readonly inTls: boolean;
  readonly cx: CallContext;
  S: ConnState;
  /** How the call ends when a step stops it early (more bytes wanted, TLS from here on). */
  end?: CallResult;
  shape: Shape;
  hdr: number;
  size: number;
}

/**
 * Decodes the messages in one buffer, as the Lua dissector does for one call: the buffer starts
 * at a message boundary; a message that runs past its end asks for more bytes.
 */
export function dissectCall(
  buf: Uint8Array,
  frame: number,
  streamBase: number,
  S: ConnState,
  fe: boolean,
  canDesegment: boolean,
  total: number,
  inTls: boolean,
  cx: CallContext,
): CallResult {
  const c: CallState = {
    buf,
    caplen: buf.length,
    total,
    frame,
    streamBase,
    fe,
    canDesegment,
    inTls,
    cx,
    S,
    end: undefined,
    shape: "typed",
    hdr: 0,
    size: 0,
  };
  let off = 0;
  while (off < total && off < c.caplen) {
    const g = frameAt(c, off);
    if (g === undefined) return c.end ?? { S: c.S };
    if (typeof g === "number") off = g;
    else if (decodeMessage(c, off, g)) off += c.size;
    else break;
  }
  return { S: c.S };
}

/** Adds an item to the call's output. */
function callItem(c: CallState, name: string | null, label: string, off: number, size: number, fields: DecodedField[]) {
  return newItem(c.cx.out, c.frame, c.fe, name, label, c.streamBase + off, size, fields);
}

/**
 * Frames the message at off: its group (c.shape, c.hdr, c.size set); or the offset to go on from
 * when there is none there (bytes skipped to resynchronise, or a state change at the same
 * offset); or undefined when the call ends (c.end says how, when it asks for something).
 */
function frameAt(c: CallState, off: number): Group | number | undefined {
  const { buf, fe, inTls, caplen, total } = c;
  if (fe && off === 0 && !inTls && (c.S.clientFraming === "typed" || c.S.tls) && newConnection(buf)) {
    // A client reusing the address and port pair of an earlier connection starts over.
    c.S = INITIAL_STATE;
    c.cx.onRestart?.();
  }
  if (c.S.tls && !inTls) {
    c.end = { S: c.S, tlsFrom: off };
    return undefined;
  }
  if (c.S.gss) {
    callItem(c, null, "PostgreSQL: GSSAPI-encrypted data", off, caplen - off, [
      field(F.undecoded, buf.slice(off, caplen), 0, caplen - off),
    ]);
    return undefined;
  }
  const first = buf[off];
  let shape: Shape = "typed";
  if (fe && c.S.clientFraming === "startup") {
    if (first === 22 && !inTls) {
      // A TLS ClientHello without an SSLRequest (direct TLS): TLS from here on.
      c.S = change(c.S, { tls: true });
      return off;
    }
    if (first === 0) shape = "untyped";
    else c.S = change(c.S, { clientFraming: "typed" });
  } else if (!fe && c.S.answerTo && (first === 83 || first === 78 || first === 71)) shape = "single";
  c.shape = shape;
  if (shape === "single") {
    c.hdr = 0;
    c.size = 1;
    return GROUPS["B:single"];
  }
  const hdr = shape === "typed" ? 1 : 0;
  if (off + hdr + 4 > total || off + hdr + 4 > caplen) {
    if (off + hdr + 4 > total && c.canDesegment) {
      c.end = { S: c.S, desegment: { offset: off, need: "one" } };
      return undefined;
    }
    // No Info piece (newItem leaves info undefined).
    callItem(c, null, "PostgreSQL: partial message", off, caplen - off, [
      expertField(EXPERTS.truncated.abbrev, "Message cut short in the capture"),
    ]);
    return undefined;
  }
  const len = u32(buf, off + hdr);
  const dir = fe ? "F" : "B";
  const g = shape === "typed" ? TYPED[dir][first] : GROUPS[`${dir}:untyped`];
  if (!g || len < g.min || len > g.max) return skipUndecoded(c, off, g, len);
  c.hdr = hdr;
  c.size = hdr + len;
  if (off + c.size > total && c.canDesegment) {
    c.end = { S: c.S, desegment: { offset: off, need: off + c.size - total } };
    return undefined;
  }
  return g;
}

/** Bad bytes at off (an unknown type, or a length its type cannot have): skipped to where a message plausibly starts. */
function skipUndecoded(c: CallState, off: number, g: Group | undefined, len: number): number {
  const { buf, fe } = c;
  const stop = resyncPoint(buf, off + 1, fe ? "F" : "B", c.total);
  const fields: DecodedField[] = [
    g
      ? expertField(EXPERTS.badLength.abbrev, `Invalid message length ${len}`)
      : expertField(EXPERTS.unknownType.abbrev, `Unknown ${fe ? "frontend" : "backend"} message type ${buf[off]}`),
  ];
  if (stop > off) fields.push(field(F.undecoded, buf.slice(off, stop), 0, stop - off));
  fields.push(expertField(EXPERTS.resync.abbrev, `Skipped ${stop - off} bytes to find the next message`));
  callItem(c, null, "PostgreSQL: undecoded data", off, stop - off, fields).info = g ? "Bad length" : "Unknown message";
  return stop;
}

/**
 * Decodes the message framed at off (frameAt) into an item, links it, and applies its effects.
 * False when the capture cut it short: nothing after it in the buffer is decoded.
 */
function decodeMessage(c: CallState, off: number, g: Group): boolean {
  const { buf, fe, caplen, cx } = c;
  const { shape, hdr, size } = c;
  if (!fe) {
    // Execute's rows are its portal's (columns, result formats), whatever came in between.
    const a = cx.answering?.();
    if (a !== undefined) {
      const columns = a.columns ?? a.stmt?.columns;
      if (columns !== undefined && columns !== c.S.columns) c.S = change(c.S, { columns });
      if (a.formats !== undefined && a.formats !== c.S.rformats) c.S = change(c.S, { rformats: a.formats });
    }
  }
  const S = c.S;
  const m = variantOf(g, S, buf, off + hdr + 4);
  const fields = headerFields(c, m, off);
  const it = callItem(c, m.name, labelOf(m.name), off, Math.min(size, caplen - off), fields);
  it.info = m.name;
  it.meta = m;
  if (off + size > caplen) {
    fields.push(
      expertField(EXPERTS.truncated.abbrev, `Message cut short in the capture (${caplen - off} of ${size} bytes)`),
    );
    return false;
  }
  const b = readBody(c, m, off, fields);
  const phase = m.allowed ? phaseOf(S, fe) : undefined;
  if (phase !== undefined && !m.allowed?.includes(phase)) {
    fields.push(expertField(EXPERTS.unexpectedMessage.abbrev, `${m.name} is not allowed ${PHASE_TEXT[phase]}`));
  }
  cx.links?.(m, fe, it as DecodedMessage, b.vars, b.lists, fields);
  const findings = m.findings;
  if (findings !== undefined) {
    for (const f of findings) {
      if (holds(f.when, S, b.vars, c.inTls)) fields.push(expertField(f.expert.abbrev, render(f.text, b.vars)));
    }
  }
  it.vars = b.vars;
  const sub = b.picked;
  if (sub) {
    it.sub = sub.name as MessageName;
    it.subMeta = sub;
  }
  // Selective: rendered when asked (messageInfo), as only some messages' are.
  it.info = cx.select === undefined ? renderInfo(m, sub, b.vars) : undefined;
  let next = S;
  if (!fe && next.answerTo && shape === "typed") next = change(next, { answerTo: undefined });
  next = applyEffects(next, m.effects, b);
  if (sub) next = applyEffects(next, sub.effects, b);
  c.S = next;
  return true;
}

/** The variant of the group whose selector holds; the last one (the group's fallback) when none does. */
function variantOf(g: Group, S: ConnState, buf: Uint8Array, body: number): MessageMeta {
  for (const v of g.variants) if (selects(v, S, buf, body)) return v;
  return g.variants[g.variants.length - 1];
}

/** The fields every message has (its name, type byte, length, direction, transaction status), as the selection keeps them. */
function headerFields(c: CallState, m: MessageMeta, off: number): DecodedField[] {
  const fields: DecodedField[] = [];
  const k = c.cx.header;
  if (k === undefined) return fields;
  const { buf, shape } = c;
  if (k.msg) fields.push(field(F.msg, m.name, 0, 0));
  if (shape === "typed") {
    if (k.type) fields.push(field(F.type, String.fromCharCode(buf[off]), 0, 1));
    if (k.length) fields.push(field(F.length, u32(buf, off + 1), 1, 4));
  } else if (shape === "untyped" && k.length) fields.push(field(F.length, u32(buf, off), 0, 4));
  if (k.frontend) fields.push(field(F.frontend, c.fe, 0, 0));
  if (c.S.txStatus !== undefined && k.txStatus) fields.push(field(F.txStatus, c.S.txStatus, 0, 0));
  return fields;
}

/** Reads the message's body with its generated reader, its fields appended to fields. */
function readBody(c: CallState, m: MessageMeta, off: number, fields: DecodedField[]): Body {
  const { S, hdr, size, cx } = c;
  const bodylen = size - hdr - (c.shape === "single" ? 0 : 4);
  const b = new Body(c.buf, off, off + size - bodylen, off + size, fields);
  b.columns = S.columns;
  b.rformats = S.rformats;
  b.st = S;
  b.fe = c.fe;
  b.want = cx.select;
  const paramTypes = cx.paramTypes;
  if (m.objects?.params && paramTypes) b.paramTypes = (v) => paramTypes(m, v);
  b.vars.bodylen = bodylen;
  if (
    (m.fixedLength !== undefined && m.fixedLength !== size - hdr) ||
    (m.maxLength !== undefined && size - hdr > m.maxLength)
  ) {
    b.expert(EXPERTS.badLength.abbrev, `Invalid message length ${size - hdr}`);
  }
  m.parse(b);
  b.finish();
  return b;
}

interface Pending {
  buf: Uint8Array;
  need: number | "one";
  /** Offset of buf[0] in the direction's byte stream. */
  base: number;
}

/** What a call over a buffer asks for: nothing, or more bytes from an offset on. */
type Call = (buf: Uint8Array, base: number) => CallResult["desegment"];

/**
 * Hands a byte stream to the dissector in the calls Wireshark would make for a dissector that
 * asks for more bytes: a message that completes is decoded on its own, then the rest of the
 * segment. One per layer (TCP, and the plaintext inside TLS).
 */
class Desegmenter {
  private pending: { F?: Pending; B?: Pending } = {};
  private offsets = { F: 0, B: 0 };

  push(frontend: boolean, data: Uint8Array, call: Call): void {
    const d = frontend ? "F" : "B";
    const base = this.offsets[d];
    this.offsets[d] += data.length;
    const p = this.pending[d];
    this.pending[d] = undefined;
    if (!p) this.run(d, data, base, call);
    else if (p.need === "one") this.run(d, concat([p.buf, data]), p.base, call);
    else if (data.length < p.need)
      this.pending[d] = { buf: concat([p.buf, data]), need: p.need - data.length, base: p.base };
    else {
      this.run(d, concat([p.buf, data.subarray(0, p.need)]), p.base, call);
      // The completed message ends the reassembled buffer exactly; the rest is a new call.
      if (data.length > p.need) this.run(d, data.subarray(p.need), base + p.need, call);
    }
  }

  private run(d: "F" | "B", buf: Uint8Array, bufBase: number, call: Call): void {
    const want = call(buf, bufBase);
    if (want) this.pending[d] = { buf: buf.slice(want.offset), need: want.need, base: bufBase + want.offset };
  }
}

/** A request waiting for the response that completes it (the plugin's queue records). */
interface Request {
  item: DecodedMessage;
  time: number;
  rows: number;
  ends: readonly string[];
  /** The statement or portal it refers to. */
  obj?: Obj;
  /** Its answer's rows are obj's (Execute). */
  rowsOfObj: boolean;
  /** Command tags that came before the response that completes it (if any), and their row counts. */
  tags: string[] | undefined;
  tagRows: number;
}

export interface ConnectionOptions {
  /** TLS secrets (parseKeylog): with them the decoder reads what TLS carries, as Wireshark does. */
  keylog?: ReadonlyMap<string, string>;
  /** Cancel keys shared by the connections of a capture: "pid key" -> BackendKeyData's frame and connection. */
  cancelKeys?: Map<string, { frame: number; conn: ConnectionDecoder }>;
  /** Decode only these fields and the experts (pipeline.ts DecodeOptions.select). */
  select?: ReadonlySet<string>;
}

/**
 * One TCP connection: feed it each direction's bytes as they become contiguous, with the frame
 * that delivered them; it returns the items they complete. Each item carries its own frame: the
 * one whose bytes completed it (inside TLS, the one that completed the TLS record).
 */
export class ConnectionDecoder {
  state: ConnState = INITIAL_STATE;
  private readonly tcp = new Desegmenter();
  private readonly inner = new Desegmenter();
  private tls?: TlsDecryptor;
  /** Requests waiting for the response that completes them, oldest first. */
  queue: Request[] = [];
  private readonly answering = (): Obj | undefined => {
    const h = this.queue[0];
    return h?.rowsOfObj ? h.obj : undefined;
  };
  private now = 0;

  constructor(private readonly opts: ConnectionOptions = {}) {
    // After the fields: the hooks are arrow functions among them.
    const { links, restart, answering, paramTypes } = this;
    const header = headerKeeps(opts.select);
    this.tcpCall = { out: [], links, onRestart: restart, answering, paramTypes, select: opts.select, header };
    this.tlsCall = { ...this.tcpCall, onRestart: undefined };
  }

  /** Prepared statements and portals by name: their SQL and parameter types (the plugin's conn.objs). */
  private objs: { S: Map<string, Obj>; P: Map<string, Obj> } = { S: new Map(), P: new Map() };

  /** Links requests and responses, and names statements and portals, as the plugin's message_first_pass does. */
  private readonly links: LinkHook = (m, fe, item, v, lists, out) => {
    // Seen from its start, a connection answers only what was asked.
    if (fe && m.shape === "untyped") this.started = true;
    const unexpected = !fe && !m.async && this.queue.length === 0 && this.started;
    const obj = this.objects(m, v, lists);
    this.link(m, fe, item, v, lists, obj, out);
    if (obj?.sql !== undefined && this.keep(F.sql)) out.push(field(F.sql, obj.sql, 0, 0));
    const cancel = this.cancel(m, v, item.frame);
    if (cancel) {
      if (this.keep(F.cancelBackend)) out.push(field(F.cancelBackend, cancel.frame, 0, 0));
      if (cancel.request !== undefined && this.keep(F.cancelRequest))
        out.push(field(F.cancelRequest, cancel.request, 0, 0));
    }
    if (unexpected)
      out.push(expertField(EXPERTS.unexpectedResponse.abbrev, "A response with no request waiting for it"));
  };

  /** The field is decoded (ConnectionOptions.select). */
  private keep(f: FieldInfo): boolean {
    return keeps(this.opts.select, f);
  }

  /** Cancel keys across connections (the plugin's cancel_first_pass). */
  private cancel(m: MessageMeta, v: Vars, frame: number): { frame: number; request?: number } | undefined {
    const keys = this.opts.cancelKeys;
    if (!keys || !m.cancelKey || v.pid === undefined || v.key === undefined) return undefined;
    const k = `${v.pid} ${v.key}`;
    if (m.cancelKey === "register") {
      keys.set(k, { frame, conn: this });
      return undefined;
    }
    const owner = keys.get(k);
    if (!owner) return undefined;
    return { frame: owner.frame, request: owner.conn.queue[0]?.item.frame };
  }

  /** The object (statement or portal) the message refers to, as it is now (nothing defined or dropped). */
  private referred(m: MessageMeta, v: Vars): Obj | undefined {
    const r = m.objects?.refer;
    if (!r) return undefined;
    const t = r.mapVar !== undefined ? v[r.mapVar] : undefined;
    const map = r.map ?? (t === 83 ? "S" : t === 80 ? "P" : undefined);
    const key = v[r.name];
    return map && typeof key === "string" ? this.objs[map].get(key) : undefined;
  }

  private readonly paramTypes = (m: MessageMeta, v: Vars) => this.referred(m, v)?.types;

  /** The object (statement or portal) the message refers to; defines and drops as the spec says. */
  private objects(m: MessageMeta, v: Vars, lists: Body["lists"]): Obj | undefined {
    const o = m.objects;
    if (!o) return undefined;
    let found: Obj | undefined;
    if (o.refer) {
      const t = o.refer.mapVar !== undefined ? v[o.refer.mapVar] : undefined;
      const map = o.refer.map ?? (t === 83 ? "S" : t === 80 ? "P" : undefined);
      const key = v[o.refer.name];
      if (map && typeof key === "string") {
        found = this.objs[map].get(key);
        if (o.refer.drop) this.objs[map].delete(key);
      }
    }
    if (o.define) {
      const key = v[o.define.name];
      const sql = o.define.sql !== undefined ? v[o.define.sql] : found?.sql;
      const types = o.define.types !== undefined ? (lists[o.define.types] ?? []) : found?.types;
      const formats = o.define.formats !== undefined ? (lists[o.define.formats] ?? []) : undefined;
      if (typeof key === "string" && typeof sql === "string")
        this.objs[o.define.map].set(key, { sql, types, formats, stmt: found });
    }
    return found;
  }

  private link(
    m: MessageMeta,
    fe: boolean,
    item: DecodedMessage,
    v: Vars,
    lists: Body["lists"],
    obj: Obj | undefined,
    out: DecodedField[],
  ): void {
    const q = this.queue;
    if (fe) {
      if (m.request) {
        const rowsOfObj = m.objects?.rows === true;
        q.push({ item, time: this.now, rows: 0, ends: m.request, obj, rowsOfObj, tags: undefined, tagRows: 0 });
      }
      return;
    }
    if (m.async || q.length === 0) return;
    let i = 0;
    while (i < q.length && !q[i].ends.includes(m.name)) i++;
    if (i < q.length) {
      // This completes request i; the ones before it got no answer (skipped after an error).
      const r = q[i];
      if (i === 0) q.shift();
      else q.splice(0, i + 1);
      item.request = r.item;
      this.answer(m, r, lists);
      if (this.keep(F.responseIn)) r.item.fields.push(field(F.responseIn, item.frame, 0, 0));
      const us = Math.floor((this.now - r.time) * 1000000 + 0.5);
      if (this.keep(F.responseTo)) out.push(field(F.responseTo, r.item.frame, 0, 0));
      if (this.keep(F.time)) out.push(field(F.time, us / 1000000, 0, 0));
      if (r.rows > 0 && this.keep(F.rowCount)) out.push(field(F.rowCount, r.rows, 0, 0));
      if (r.tags !== undefined) {
        if (this.keep(F.tags)) out.push(field(F.tags, cutUtf8(r.tags.join("; "), MAX_VALUE_BYTES), 0, 0));
        if (r.tagRows > 0 && this.keep(F.tagRows)) out.push(field(F.tagRows, r.tagRows, 0, 0));
      }
      return;
    }
    const head = q[0];
    item.request = head.item;
    if (m.row) head.rows++;
    const tag = m.commandTag ? v[m.commandTag.var] : undefined;
    if (typeof tag === "string" && m.commandTag) {
      head.tags ??= [];
      head.tags.push(tag);
      head.tagRows = Math.min(head.tagRows + tagRows(tag, m.commandTag.counting), 4294967295);
    }
    this.answer(m, head, lists);
  }

  /** What an answer tells of the object its request refers to (spec/dsl.ts answerTypes, answerColumns). */
  private answer(m: MessageMeta, head: Request, lists: Body["lists"]): void {
    const o = m.objects;
    if (!o || !head.obj) return;
    // The parameter types as the server resolved them: later Binds of the statement use them.
    if (o.answerTypes !== undefined) head.obj.types = lists[o.answerTypes] ?? [];
    if (o.answerColumns !== undefined) head.obj.columns = lists[o.answerColumns] ?? [];
  }

  private started = false;

  private readonly restart = () => {
    this.started = false;
    this.queue = [];
    this.objs = { S: new Map(), P: new Map() };
  };

  /** The dissector's calls over TCP's bytes and over what TLS carries (out: set by each feed). */
  private readonly tcpCall: CallContext;
  private readonly tlsCall: CallContext;

  /** True once the connection is TLS. */
  get encrypted(): boolean {
    return this.state.tls;
  }

  feed(
    frontend: boolean,
    data: Uint8Array,
    frame: number,
    opts: { truncated?: boolean; time?: number } = {},
  ): DecodedMessage[] {
    const out: DecodedMessage[] = [];
    this.now = opts.time ?? 0;
    if (this.state.tls) this.feedTls(frontend, data, frame, out);
    else {
      const c = this.call;
      c.frontend = frontend;
      c.frame = frame;
      c.truncated = opts.truncated === true;
      this.tcpCall.out = out;
      this.tcp.push(frontend, data, this.onTcp);
    }
    if (opts.time !== undefined) for (const it of out) it.time = opts.time;
    return out;
  }

  /** The feed in progress, for onTcp (one closure for all calls, not one per feed); its output is tcpCall.out. */
  private readonly call = { frontend: false, frame: 0, truncated: false };

  private readonly onTcp: Call = (buf, base) => {
    const { frontend, frame, truncated } = this.call;
    const out = this.tcpCall.out;
    if (this.state.tls) {
      this.feedTls(frontend, buf, frame, out);
      return undefined;
    }
    const total = truncated ? Number.MAX_SAFE_INTEGER : buf.length;
    const r = dissectCall(buf, frame, base, this.state, frontend, !truncated, total, false, this.tcpCall);
    this.state = r.S;
    if (r.tlsFrom !== undefined) this.feedTls(frontend, buf.subarray(r.tlsFrom), frame, out);
    return r.desegment;
  };

  /** TLS bytes: decrypted with the key log when there is one, then decoded like the Lua plugin does. */
  private feedTls(frontend: boolean, data: Uint8Array, frame: number, out: DecodedMessage[]): void {
    if (!this.opts.keylog || data.length === 0) return;
    this.tls ??= new TlsDecryptor(this.opts.keylog);
    const cx = this.tlsCall;
    cx.out = out;
    for (const chunk of this.tls.feed(frontend, data, frame)) {
      this.inner.push(chunk.fromClient, chunk.data, (buf, base) => {
        const r = dissectCall(buf, chunk.frame, base, this.state, chunk.fromClient, true, buf.length, true, cx);
        this.state = r.S;
        return r.desegment;
      });
    }
  }
}

/** An item's part of the Info column, rendered now when the selective mode left it for later. */
export function messageInfo(it: DecodedMessage): string | undefined {
  if (it.info !== undefined || it.meta === undefined) return it.info;
  return renderInfo(it.meta, it.subMeta, it.vars as Vars);
}

/** A decoded message's part of the Info column: its own, then the one's it carries. */
function renderInfo(m: MessageMeta, sub: MessageMeta | undefined, v: Vars): string {
  return sub ? `${infoOf(m, v)} ${infoOf(sub, v)}` : infoOf(m, v);
}

/** "PostgreSQL: <name>", the subtree label of each message, made once per name. */
const LABELS = new Map<string, string>();

function labelOf(name: string): string {
  let l = LABELS.get(name);
  if (l === undefined) {
    l = `PostgreSQL: ${name}`;
    LABELS.set(name, l);
  }
  return l;
}

/** Builds the Info column of a frame from its items, as the Lua plugin sets and appends it. */
export function frameInfo(items: readonly DecodedMessage[]): string | undefined {
  let out: string | undefined;
  for (const it of items) {
    if (it.info === undefined) continue;
    out = out === undefined ? `${items[0].frontend ? ">" : "<"} ${it.info}` : `${out}, ${it.info}`;
  }
  return out;
}
