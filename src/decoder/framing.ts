// Framing: the message loop of one call of the dissector. Where each message starts and ends (the
// startup phase, one-byte answers, a length and type byte), resynchronisation after bad bytes,
// reassembly across TCP segments (Desegmenter: the calls Wireshark makes), each message's item,
// reader, findings, links and effects, and its Info piece. Mirrors src/decoder/framing.lua; the
// message layouts themselves are generated (dissector/pgwire.ts) from the spec.

import {
  EXPERTS,
  F,
  GROUPS,
  MESSAGES,
  type MessageName,
  type MessageVars,
  OPENING,
  PHASE_TEXT,
} from "../../dissector/pgwire.ts";
import { concat } from "../capture/bytes.ts";
import {
  Body,
  type DecodedField,
  type FieldInfo,
  type Group,
  type InfoPart,
  keeps,
  type MessageMeta,
  type Opening,
  type Phase,
  type Remembered,
  type Selection,
  u32,
  type Vars,
} from "../runtime/reader.ts";
import { charOf, infoText } from "../runtime/text.ts";
import { applyEffects, type ConnState, change, holds, INITIAL_STATE, type Obj, phaseOf, selects } from "./state.ts";

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
  /**
   * For the server message that completes its request: the seconds since the request was sent
   * (pgwire.time's value, whether or not the selection decodes that field). Not a field either.
   */
  responseTime?: number;
  /**
   * The SQL of the statement or portal the message refers to (pgwire.sql's value, whether or not
   * the selection decodes that field). Not a field either.
   */
  sql?: string;
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

/** The typed groups by direction and type byte (GROUPS' "F:81" as TYPED.F[81]). */
const TYPED: Record<"F" | "B", Array<Group | undefined>> = { F: new Array(256), B: new Array(256) };
for (const [k, g] of Object.entries(GROUPS)) {
  const [d, t] = k.split(":");
  if (/^\d+$/.test(t)) TYPED[d as "F" | "B"][Number(t)] = g;
}

export function headerOk(buf: Uint8Array, p: number, dir: "F" | "B"): number | null {
  if (p + 5 > buf.length) return null;
  const g = (dir === "F" ? TYPED.F : TYPED.B)[buf[p]];
  if (!g) return null;
  const len = u32(buf, p + 1);
  if (len < g.min || len > g.max) return null;
  return p + 1 + len;
}

/** Where a message plausibly starts again after bad bytes (framing.lua resync_point). */
function resyncPoint(buf: Uint8Array, from: number, dir: "F" | "B", total: number): number {
  for (let p = from; p <= buf.length - 5; p++) {
    const nxt = headerOk(buf, p, dir);
    if (nxt !== null && (nxt === total || headerOk(buf, nxt, dir) !== null)) return p;
  }
  return buf.length;
}

/** The packet that opens a connection (spec: MessageDef.opens) that buf starts with, by code and length. */
export function opening(buf: Uint8Array): Opening | undefined {
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

export function field(f: FieldInfo, value: DecodedField["value"], offset: number, length: number): DecodedField {
  return { name: f.name, value, offset, length };
}

export function expertField(abbrev: string, text: string): DecodedField {
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
    responseTime: undefined,
    sql: undefined,
  };
  // Its name is the generated MESSAGES' (MessageName) and its variables are its reader's, which
  // MessageVars describes: the item is the DecodedMessage of that name.
  items.push(it as DecodedMessage);
  return it;
}

const EMPTY_VARS: Vars = Object.freeze({}) as Vars;

/** What one call of the dissector over a buffer left: the state, and where it wants more bytes. */
export interface CallResult {
  S: ConnState;
  /** Offset where undecoded bytes start and how many more are needed ("one" = one more segment). */
  desegment?: { offset: number; need: number | "one" };
  /** The rest from this offset on belongs to TLS. */
  tlsFrom?: number;
}

/** What a connection lends the dissector for its calls (one per layer: TCP, and inside TLS). */
export interface CallContext {
  /** Where the decoded messages go (appended). */
  out: DecodedMessage[];
  links?: LinkHook;
  /** Called when a client starts a new connection on the same address pair. */
  onRestart?: () => void;
  /** The portal whose rows answer the oldest waiting request (its columns, result formats), if it says. */
  answering?: () => Obj | undefined;
  /** The parameter types of the statement a message refers to (ParamElement). */
  paramTypes?: (m: MessageMeta, v: Vars) => readonly Remembered[] | undefined;
  /** The fields to decode; undefined: all. */
  select?: ReadonlySet<string>;
  /** The same compiled for the readers (Body.want); undefined: all. */
  want?: Selection;
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

export function headerKeeps(select: ReadonlySet<string> | undefined): HeaderKeeps | undefined {
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
  /** The state whose phase (phaseOf, in the call's direction) phase holds; undefined: none yet. */
  phaseOf: ConnState | undefined;
  phase: Phase | undefined;
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
    phaseOf: undefined,
    phase: undefined,
  };
  if (fe && !inTls && (S.clientFraming === "typed" || S.tls) && newConnection(buf)) {
    // A client reusing the address and port pair of an earlier connection starts over.
    c.S = INITIAL_STATE;
    cx.onRestart?.();
  }
  let off = 0;
  // (After a start over the state is the initial one, with no rest.)
  const rest = inTls ? undefined : fe ? c.S.restF : c.S.restB;
  if (rest !== undefined) off = restOfCut(c, rest);
  while (off < total && off < c.caplen) {
    const g = frameAt(c, off);
    if (g === undefined) return c.end ?? { S: c.S };
    if (typeof g === "number") off = g;
    else if (decodeMessage(c, off, g)) off += c.size;
    else break;
  }
  return { S: c.S };
}

/**
 * The call starts with the rest of a message an earlier segment cut short: rest bytes, or all of
 * this segment when it has fewer. Returns where the next message starts.
 */
function restOfCut(c: CallState, rest: number): number {
  const n = Math.min(rest, c.total);
  const it = callItem(c, null, "PostgreSQL: rest of a message cut short", 0, Math.min(n, c.caplen), [
    expertField(EXPERTS.truncated.abbrev, `The rest of a message cut short in the capture (${n} bytes)`),
  ]);
  it.info = "Rest of a cut message";
  const left = rest > n ? rest - n : undefined;
  c.S = change(c.S, c.fe ? { restF: left } : { restB: left });
  return n;
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
  // TYPED.F or TYPED.B by name: TYPED[dir], one load site for two names, is a megamorphic look-up.
  const g = shape === "typed" ? (fe ? TYPED.F : TYPED.B)[first] : GROUPS[`${dir}:untyped`];
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
  // A group of one message is that message, whatever its selector says (it is the fallback too).
  // (Here and below, calls that most messages need not make are tested for before they are
  // made: decodeMessage is too large for V8 to inline them, and a call costs more than the test.)
  const m = g.variants.length === 1 ? g.variants[0] : variantOf(g, S, buf, off + hdr + 4);
  const fields = headerFields(c, m, off);
  const it = callItem(c, m.name, m.label, off, Math.min(size, caplen - off), fields);
  it.info = m.name;
  it.meta = m;
  if (off + size > caplen) {
    fields.push(
      expertField(EXPERTS.truncated.abbrev, `Message cut short in the capture (${caplen - off} of ${size} bytes)`),
    );
    // It runs past its segment too: the next segments start with its rest.
    if (!c.inTls && off + size > c.total)
      c.S = change(c.S, fe ? { restF: off + size - c.total } : { restB: off + size - c.total });
    return false;
  }
  // A message with no body elements and no body bytes: its reader would read nothing and find
  // nothing wrong (the length is one it may have).
  const b = m.empty && size === c.hdr + 4 && m.fixedLength === 4 ? EMPTY_BODY : readBody(c, m, off, fields);
  const allowed = m.allowed;
  // The phase of this state, worked out once per state the call sees (a call has one direction).
  if (allowed !== undefined && c.phaseOf !== S) {
    c.phaseOf = S;
    c.phase = phaseOf(S, fe);
  }
  const phase = allowed ? c.phase : undefined;
  if (allowed !== undefined && phase !== undefined && !isIn(phase, allowed)) {
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
  if (m.effects.length > 0) next = applyEffects(next, m.effects, b);
  if (sub && sub.effects.length > 0) next = applyEffects(next, sub.effects, b);
  c.S = next;
  return true;
}

/**
 * x is one of list's strings. A loop that V8 compiles to pointer comparisons of interned strings,
 * where Array.prototype.includes calls a builtin that compares each element generically.
 */
export function isIn(x: string, list: readonly string[]): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === x) return true;
  return false;
}

/** The variant of the group whose selector holds; the last one (the group's fallback) when none does. */
function variantOf(g: Group, S: ConnState, buf: Uint8Array, body: number): MessageMeta {
  const vs = g.variants;
  for (const v of vs) if (selects(v, S, buf, body)) return v;
  return vs[vs.length - 1];
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

/**
 * What a message with no body elements reads from a body of no bytes (MessageMeta.empty): no
 * field, no list, only bodylen 0. One for all of them: ParseComplete, BindComplete, NoData and
 * Sync are a third of an extended-protocol session's messages.
 */
const EMPTY_BODY = new Body(new Uint8Array(0), 0, 0, 0, Object.freeze([]) as unknown as DecodedField[]);
EMPTY_BODY.vars.bodylen = 0;
// Its variables and fields frozen; the body itself not, so that it keeps the hidden class of
// every other body (nothing writes to a body after its reader).
Object.freeze(EMPTY_BODY.vars);

/** Reads the message's body with its generated reader, its fields appended to fields. */
function readBody(c: CallState, m: MessageMeta, off: number, fields: DecodedField[]): Body {
  const { S, hdr, size, cx } = c;
  const bodylen = size - hdr - (c.shape === "single" ? 0 : 4);
  const b = new Body(c.buf, off, off + size - bodylen, off + size, fields);
  b.columns = S.columns;
  b.rformats = S.rformats;
  b.st = S;
  b.fe = c.fe;
  b.want = cx.want;
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
export type Call = (buf: Uint8Array, base: number) => CallResult["desegment"];

/**
 * Hands a byte stream to the dissector in the calls Wireshark would make for a dissector that
 * asks for more bytes: a message that completes is decoded on its own, then the rest of the
 * segment. One per layer (TCP, and the plaintext inside TLS).
 */
export class Desegmenter {
  // Each direction's pending bytes and offset under its own name: pending[d] and offsets[d], with
  // d "F" or "B", were keyed loads of two names at one site, which V8 makes megamorphic.
  private pendingF: Pending | undefined = undefined;
  private pendingB: Pending | undefined = undefined;
  private offsetF = 0;
  private offsetB = 0;

  push(frontend: boolean, data: Uint8Array, call: Call): void {
    let base: number;
    let p: Pending | undefined;
    if (frontend) {
      base = this.offsetF;
      this.offsetF += data.length;
      p = this.pendingF;
      this.pendingF = undefined;
    } else {
      base = this.offsetB;
      this.offsetB += data.length;
      p = this.pendingB;
      this.pendingB = undefined;
    }
    if (!p) this.run(frontend, data, base, call);
    else if (p.need === "one") this.run(frontend, concat([p.buf, data]), p.base, call);
    else if (data.length < p.need)
      this.setPending(frontend, { buf: concat([p.buf, data]), need: p.need - data.length, base: p.base });
    else {
      this.run(frontend, concat([p.buf, data.subarray(0, p.need)]), p.base, call);
      // The completed message ends the reassembled buffer exactly; the rest is a new call.
      if (data.length > p.need) this.run(frontend, data.subarray(p.need), base + p.need, call);
    }
  }

  private setPending(frontend: boolean, p: Pending): void {
    if (frontend) this.pendingF = p;
    else this.pendingB = p;
  }

  private run(frontend: boolean, buf: Uint8Array, bufBase: number, call: Call): void {
    const want = call(buf, bufBase);
    if (want) this.setPending(frontend, { buf: buf.slice(want.offset), need: want.need, base: bufBase + want.offset });
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
