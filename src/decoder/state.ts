// Connection state: what a connection is doing (startup, authentication, COPY, replication) as its
// messages change it (spec/dsl.ts Effect), where a message comes (Phase), which variant of a type
// byte applies (Selector) and whether a finding holds (Condition). Mirrors src/decoder/state.lua.

import { PAYLOADS } from "../../dissector/pgwire.ts";
import type { EffectLists, EffectVars } from "../../spec/dsl.ts";
import { type CopyState, type CopyStatement, copyStart } from "../runtime/copy.ts";
import {
  type Body,
  type Condition,
  type Effect,
  type MessageMeta,
  type Phase,
  type Relation,
  type Remembered,
  u32,
  type Vars,
} from "../runtime/reader.ts";

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
  /**
   * Bytes of a message cut short in the capture (its segment captured short, its length running
   * past the segment) still to come from the client (restF) or the server (restB): the next
   * segments start with them, not with a message.
   */
  readonly restF?: number;
  readonly restB?: number;
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
export type EveryKey<T> = { -readonly [K in keyof Required<T>]: T[K] };

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
  restF: undefined,
  restB: undefined,
};

/**
 * S with some of its fields changed: a copy made field by field, as V8 copies an object of this
 * size far faster than with a spread ({ ...S, x }), which took half a microsecond here.
 */
export function change(S: ConnState, c: Partial<ConnState>): ConnState {
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
    restF: S.restF,
    restB: S.restB,
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
export function applyEffects(S: ConnState, effects: readonly Effect[], b: Body): ConnState {
  // What each effect reads comes through effectVars and effectLists, typed by spec/dsl.ts
  // EFFECT_READS: a variable read here that the spec does not list for the effect fails to compile
  // (and the generator checks that every message with the effect binds what it lists).
  // Most messages have none: they leave the state as it is (the clean-up below follows effects).
  if (effects.length === 0) return S;
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
export interface Obj {
  readonly sql: string;
  types?: readonly Remembered[];
  columns?: readonly Remembered[];
  readonly formats?: readonly Remembered[];
  readonly stmt?: Obj;
}

/** Where a message comes (spec/dsl.ts Phase), or undefined before the StartupMessage was seen. */
export function phaseOf(S: ConnState, fe: boolean): Phase | undefined {
  if (!S.startupSeen) return undefined;
  if (S.auth !== 0) return "auth";
  if (fe) return S.copy === "in" || S.copy === "both" ? "copyIn" : S.copy === "dropped" ? "copyDropped" : "ready";
  return S.copy === "out" || S.copy === "both" ? "copyOut" : "ready";
}

export function selects(m: MessageMeta, S: ConnState, buf: Uint8Array, body: number): boolean {
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

/** SQL that sets a role's password with a literal: ALTER/CREATE ROLE/USER ... PASSWORD '...'. */
// Without the u flag, i folds ASCII letters only (as the plugin's string.upper does).
const ROLE_SQL = /^[ \t\n\v\f\r]*(?:ALTER|CREATE)[ \t\n\v\f\r]+(?:ROLE|USER)(?![A-Za-z])/i;
const PASSWORD_LITERAL = /PASSWORD[ \t\n\v\f\r]*'/i;

export function setsPasswordLiteral(sql: string): boolean {
  // Every Parse and Query asks: a regular expression costs some hundreds of instructions even
  // when it fails at once, so first the one letter that ALTER or CREATE can start with.
  // (White space as ROLE_SQL skips it: space, and tab to CR.)
  let i = 0;
  let c = sql.charCodeAt(0);
  while (c === 0x20 || (c >= 0x09 && c <= 0x0d)) c = sql.charCodeAt(++i);
  // a or c in either case (past the end, NaN | 0x20 is a space).
  if ((c | 0x20) !== 0x61 && (c | 0x20) !== 0x63) return false;
  return ROLE_SQL.test(sql) && PASSWORD_LITERAL.test(sql);
}

export function holds(w: Condition, S: ConnState, v: Vars, inTls: boolean): boolean {
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
