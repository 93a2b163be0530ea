// The message-spec DSL: the vocabulary in which every PostgreSQL message is written once.
// The generator turns a spec written in it into the Lua plugin and the TypeScript decoder.
//
// A message is a list of elements read in order from its body. Every element that reads bytes
// names a filterable field (pgwire.<abbrev>) declared once in a field table, so that the same
// field can appear in many messages and keeps one meaning. Values read by an element can be
// bound to a variable ($name) that later elements use as a count, a length or a switch key, and
// that the message's Info-column summary shows.

import { PG_TYPES } from "./data/types.ts";

/** Wireshark field types that the spec uses. Sizes of integers follow from the type. */
export type FieldType =
  | "uint8"
  | "uint16"
  | "uint32"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint64"
  | "bool"
  | "string"
  | "stringz"
  | "bytes"
  | "framenum"
  | "reltime"
  | "none";

export type ValueTable = Readonly<Record<number, string>>;

/** One filterable field: pgwire.<abbrev>. */
export interface FieldDef {
  readonly abbrev: string;
  readonly label: string;
  readonly type: FieldType;
  readonly values?: ValueTable;
  readonly description: string;
  /** The built-in pgsql field with the same meaning and value, if there is one. */
  readonly builtin?: string;
}

export type IntType = "uint8" | "uint16" | "uint32" | "int8" | "int16" | "int32" | "int64" | "uint64";

export const intSize: Readonly<Record<IntType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  int64: 8,
  uint64: 8,
};

/** A variable reference: "$name". */
export type VarRef = `$${string}`;

/** Elements: what a message body is made of. */
export type Element =
  | IntElement
  | StringElement
  | BytesElement
  | RepeatElement
  | UntilZeroElement
  | SwitchElement
  | TreeElement
  | LookupElement
  | RememberElement
  | ColumnElement
  | ParamElement
  | AttributesElement
  | TextElement
  | PayloadElement
  | TupleColumnElement
  | RelationElement
  | OptionalElement
  | OptionsElement
  | CopyStatementElement
  | CopyRowsElement;

/**
 * The COPY statements in a variable's SQL text (those that stream over the connection: FROM STDIN,
 * TO STDOUT), each with its table's column list and its options (the parenthesised list or the
 * old keywords): a generated field per option, "name=value". The effect "copyStatement" keeps them
 * for the CopyInResponse / CopyOutResponse that start them, in order.
 */
export interface CopyStatementElement {
  readonly kind: "copyStatement";
  readonly field: FieldDef;
  readonly from: VarRef;
}

/**
 * The rest of the message, a CopyData's bytes; in a COPY whose statement was seen, the rows they
 * hold, as that statement's format says: text or CSV lines (its delimiter, quote, escape, NULL
 * string and header) or binary COPY tuples, across CopyData messages (a row that an earlier
 * message began ends in the one that completes it). Each row: its number, then per field the
 * column's name (from the statement's column list or the header line) and its value, or NULL. The
 * effect "copyData" keeps the COPY's state for the next CopyData.
 */
export interface CopyRowsElement {
  readonly kind: "copyRows";
  readonly field: FieldDef;
  readonly row: FieldDef;
  readonly column: FieldDef;
  readonly value: FieldDef;
  readonly isNull: FieldDef;
  /** Binary COPY: the header's flags and extension length, and the trailer. */
  readonly flags: FieldDef;
  readonly extension: FieldDef;
  readonly trailer: FieldDef;
}

/**
 * The rest of the message, as a bytes field; and when the connection carries messages of the
 * payload set `set` there (the replication stream a START_REPLICATION with its options started,
 * see PayloadSet), decoded as one of them: its type byte picks the message (shape "payload").
 * Its fields follow in the same message, its variables join the message's, its Info follows the
 * message's, and its effects apply after the message's. Inside it, the runtime binds `instream`
 * (1 between a Stream Start and a Stream Stop, else 0).
 */
export interface PayloadElement {
  readonly kind: "payload";
  readonly set: string;
  readonly field: FieldDef;
  /** The sub-message's type byte. */
  readonly type: FieldDef;
}

/**
 * One column of a logical replication tuple: a kind byte, then for the kinds in `formats` an
 * Int32 length and the value in that format (0 text, 1 binary); the kinds in `empty` have nothing
 * after them (NULL, an unchanged TOASTed value). The column's name and type come from the record
 * of the same index in the columns a relation element picked; the value is shown typed.
 */
export interface TupleColumnElement {
  readonly kind: "tupleColumn";
  readonly marker: FieldDef;
  readonly formats: Readonly<Record<number, number>>;
  readonly empty: readonly number[];
  readonly length: FieldDef;
  readonly data: FieldDef;
  readonly name: FieldDef;
  readonly type: FieldDef;
  readonly value: FieldDef;
}

/**
 * The relation a variable holds the OID of, as a Relation message of the stream described it
 * (effect "relation"): its qualified name as a generated field (bound to `bind`), and its columns
 * for the tuple columns that follow.
 */
export interface RelationElement {
  readonly kind: "relation";
  readonly field: FieldDef;
  readonly from: VarRef;
  readonly bind?: string;
}

/** Elements decoded only when bytes remain in the message (fields a later version appends). */
export interface OptionalElement {
  readonly kind: "optional";
  readonly body: readonly Element[];
}

/**
 * The options of a replication command, the list in parentheses of its text (`(name 'value',
 * name value, name)`), only when variable `when` is bound: each a generated field "name=value",
 * and each value bound as variable "opt:name" (the start of a payload set looks at them).
 */
export interface OptionsElement {
  readonly kind: "options";
  readonly field: FieldDef;
  readonly from: VarRef;
  readonly when: string;
}

/**
 * Generated fields from a bound text of comma-separated one-letter attributes, as SCRAM writes its
 * messages (RFC 5802): "r=...,s=...,i=4096". With gs2, the first two items are the GS2 header
 * (channel-binding flag, authzid). Applied only when every item has the k=v form.
 */
export interface AttributesElement {
  readonly kind: "attributes";
  readonly from: VarRef;
  readonly gs2: boolean;
  readonly keys: ReadonlyArray<readonly [string, FieldDef]>;
  readonly cbind: FieldDef;
  readonly authzid: FieldDef;
  readonly other: FieldDef;
}

/** Keeps the listed variables as one record of a list the message hands to its connection (effect "rowDescription"). */
export interface RememberElement {
  readonly kind: "remember";
  readonly list: string;
  readonly vars: readonly string[];
}

/**
 * A column value (Int32 length, -1 for NULL, then the bytes) shown typed: the record of the same
 * index in the connection's list (the last RowDescription's columns: name, type, format) gives its
 * name, type and how to decode it, as PostgreSQL would print it. One line per column, covering its
 * bytes: the value (`name (type): Ada`), or for NULL or a column the capture never described the
 * length (`name (type): NULL`); under it the name, the type, the length and the bytes.
 */
export interface ColumnElement {
  readonly kind: "column";
  readonly length: FieldDef;
  readonly data: FieldDef;
  readonly name: FieldDef;
  readonly type: FieldDef;
  readonly value: FieldDef;
}

/**
 * A parameter value (Int32 length, -1 for NULL, then the bytes) of a message that refers to a
 * prepared statement (objects.refer, with `params`): typed by the statement's parameter types (its
 * Parse, or the server's ParameterDescription) and decoded by the message's list of format codes
 * `formats` (0 codes: all text, 1: one for all, N: one each). One line per parameter, as for a
 * column: the value (`$1 (int4): 42`), or the length for NULL; under it the type, the length and
 * the bytes.
 */
export interface ParamElement {
  readonly kind: "param";
  readonly length: FieldDef;
  readonly data: FieldDef;
  readonly type: FieldDef;
  readonly value: FieldDef;
  readonly formats: string;
}

/**
 * A generated field: the value of a variable looked up in one of the spec's tables (spec/tables.ts),
 * e.g. an SQLSTATE's condition name. `prefix` looks up only the first characters (the class).
 */
export interface LookupElement {
  readonly kind: "lookup";
  readonly field: FieldDef;
  readonly from: VarRef;
  readonly table: string;
  readonly prefix?: number;
  readonly bind?: string;
  /** The key is the text's first word (ASCII letters and _), upper-cased: a command's name. */
  readonly firstWord?: boolean;
  /** Only on a replication connection (its StartupMessage had replication=...). */
  readonly replication?: boolean;
}

export interface IntElement {
  readonly kind: "int";
  readonly field: FieldDef;
  readonly bind?: string;
  /** Bytes on the wire when they are fewer than the field type's size (a uint32 field over an Int16). */
  readonly size?: number;
}

/**
 * A NUL-terminated string (the terminator is part of the field's bytes, as in Wireshark).
 * `bind` names the variable to bind it to; a bind of the form "$v" binds it under the name that
 * variable v holds (a parameter value under its parameter's name).
 */
export interface StringElement {
  readonly kind: "string";
  readonly field: FieldDef;
  readonly bind?: string;
}

/**
 * Raw bytes: a fixed count, the rest of the message, or a count held in a variable.
 * A count below 1 adds nothing (an Int32 length of -1 means NULL, 0 an empty value).
 */
export interface BytesElement {
  readonly kind: "bytes";
  readonly field: FieldDef;
  readonly length: number | "rest" | VarRef;
  /** Bind the bytes, decoded as UTF-8 text, to a variable (for the Info column). */
  readonly bind?: string;
}

/**
 * A generated string field: the `size` bytes just read (by the element before it) as PostgreSQL
 * prints a value of type `oid` in binary format (an LSN as 0/16B3748, a timestamp as text). Reads
 * nothing itself; `bind` binds the text for the Info column.
 */
export interface TextElement {
  readonly kind: "text";
  readonly field: FieldDef;
  readonly size: number;
  readonly oid: number;
  readonly bind?: string;
}

/** Elements repeated as many times as a variable says, each in a subtree labelled label + index. */
export interface RepeatElement {
  readonly kind: "repeat";
  readonly count: VarRef;
  readonly label?: string;
  readonly body: readonly Element[];
}

/** Elements repeated until the next byte is 0x00; the terminator is consumed. */
export interface UntilZeroElement {
  readonly kind: "untilZero";
  readonly body: readonly Element[];
}

/** A switch on a bound variable, with a fallback. */
export interface SwitchElement {
  readonly kind: "switch";
  readonly on: VarRef;
  readonly cases: ReadonlyArray<readonly [number, readonly Element[]]>;
  readonly otherwise: readonly Element[];
}

/** A subtree that groups elements under a label (not a field of its own). */
export interface TreeElement {
  readonly kind: "tree";
  readonly label: string;
  readonly body: readonly Element[];
}

/**
 * When a finding applies: all the given conditions hold. Variables are the message's bound ones;
 * `lastAuth` is the code of the last Authentication request before this message (-1: none);
 * `clear` means not inside TLS; `passwordLiteral` holds when the variable's SQL text sets a
 * role's password with a literal (ALTER/CREATE ROLE/USER ... PASSWORD '...').
 */
export interface Condition {
  readonly var?: string;
  readonly equals?: number | string;
  readonly oneOf?: ReadonlyArray<number | string>;
  readonly noneOf?: ReadonlyArray<number | string>;
  readonly present?: boolean;
  readonly lastAuth?: readonly number[];
  readonly clear?: boolean;
  readonly passwordLiteral?: string;
}

/** An expert info a message raises when its condition holds; text has {var} placeholders. */
export interface Finding {
  readonly expert: string;
  readonly text: string;
  readonly when?: Condition;
}

/** State changes a message makes on its connection, carried out by the runtime in both languages. */
export type Effect =
  /**
   * StartupMessage: the client's packets are typed from now on, and the connection is seen from its
   * start; $replmode: the kind of replication connection it opens, if any.
   */
  | "startup"
  /** SSLRequest / GSSENCRequest: the server answers with one byte. */
  | "sslRequest"
  | "gssRequest"
  /** The server's one-byte answer: 'S' = TLS follows, 'G' = GSSAPI encryption follows, 'N' = no. */
  | "encryptionAnswer"
  /** An Authentication request: its code ($authtype) selects the next 'p' message's variant. */
  | "authRequest"
  /**
   * COPY sub-protocol starts (CopyInResponse, CopyOutResponse, CopyBothResponse); copy-both also
   * marks the COPY as replication's, until it ends on both sides.
   */
  | "copyIn"
  | "copyOut"
  | "copyBoth"
  /** The client's side of COPY ends (its CopyDone or CopyFail); in copy-both the server's goes on. */
  | "copyInDone"
  /** The server's side of COPY ends (its CopyDone); in copy-both the client's goes on. */
  | "copyOutDone"
  /**
   * ErrorResponse: the server leaves COPY. The client's CopyData, CopyDone and CopyFail still in
   * flight are dropped by the server, so they stay allowed until the client's CopyDone or CopyFail.
   */
  | "copyError"
  /** ReadyForQuery: the transaction status ($status) every later message shows. */
  | "txStatus"
  /** RowDescription: its list "columns" types the DataRows that follow. */
  | "rowDescription"
  /**
   * A replication command ($replcmd, its options bound by an options element): the command of a
   * payload set, given every option the set names, starts that set's messages in the XLogData
   * that follow (the same command without them stops them).
   */
  | "startReplication"
  /**
   * A logical replication Relation: the relation $relid, named $nspname.$relname ("" is
   * pg_catalog), with the columns of its list "relcols" ([name, type OID] records), for the tuples
   * that name it later.
   */
  | "relation"
  /** A logical replication Type: the type $typid is named $typname (tuple columns of that type show it). */
  | "dataType"
  /** Stream Start / Stream Stop: messages of a streamed transaction carry its xid in between. */
  | "streamStart"
  | "streamStop"
  /** A query: the COPY statements its copyStatement element found (none: forget earlier ones). */
  | "copyStatement"
  /** CopyData: the COPY's state after its rows (copyRows element). */
  | "copyData";

/**
 * What each effect reads of the message: variables, lists (remember), and the elements whose
 * results it uses (options: the opt:* variables; copyStatement, copyRows: what they found). The
 * generator checks that a message binds what its effects read, and the plugin's reader for a
 * message without a tree decodes only what its Info column, findings, objects, links and effects
 * read (plus what the layout itself needs: counts, lengths, switches).
 */
export const EFFECT_READS = {
  startup: { vars: ["replmode"] },
  sslRequest: {},
  gssRequest: {},
  encryptionAnswer: { vars: ["answer"] },
  authRequest: { vars: ["authtype"] },
  copyIn: { vars: ["format"] },
  copyOut: { vars: ["format"] },
  copyBoth: {},
  copyInDone: {},
  copyOutDone: {},
  copyError: {},
  txStatus: { vars: ["status"] },
  rowDescription: { lists: ["columns"] },
  startReplication: { vars: ["replcmd"], options: true },
  relation: { vars: ["relid", "nspname", "relname"], lists: ["relcols"] },
  dataType: { vars: ["typid", "typname"] },
  streamStart: {},
  streamStop: {},
  copyStatement: { copyStatement: true },
  copyData: { copyRows: true },
} as const satisfies Readonly<Record<Effect, EffectReads>>;

/** What one effect reads of its message (EFFECT_READS). */
export interface EffectReads {
  readonly vars?: readonly string[];
  readonly lists?: readonly string[];
  readonly options?: true;
  readonly copyStatement?: true;
  readonly copyRows?: true;
}

/** The variables an effect reads (EFFECT_READS), as the runtimes find them bound. */
export type EffectVars<E extends Effect> = {
  readonly [V in (typeof EFFECT_READS)[E] extends { readonly vars: readonly (infer N)[] } ? N & string : never]?:
    | number
    | string;
};

/** The lists (remember) an effect reads. */
export type EffectLists<E extends Effect> = (typeof EFFECT_READS)[E] extends { readonly lists: readonly (infer N)[] }
  ? N & string
  : never;

/**
 * Where a message may come, as the runtime tracks the connection (only once it saw the
 * StartupMessage; a capture that starts mid-connection is not checked):
 * - "auth": after the StartupMessage, before AuthenticationOk;
 * - "ready": after AuthenticationOk, outside COPY (for the client: not copying in; for the
 *   server: not copying out);
 * - "copyIn": the client is in COPY FROM STDIN or copy-both (client's messages only);
 * - "copyDropped": the server left COPY FROM STDIN with an error and drops what the client still
 *   sends until its CopyDone or CopyFail (client's messages only);
 * - "copyOut": the server is in COPY TO STDOUT or copy-both (server's messages only).
 * A message in a phase it does not list raises pgwire.unexpected_message.
 */
export type Phase = "auth" | "ready" | "copyIn" | "copyDropped" | "copyOut";

/** Where each phase is, as the finding says it: "<message> is not allowed <where>". */
export const PHASE_TEXT: Readonly<Record<Phase, string>> = {
  auth: "before authentication has completed",
  ready: "once the session is ready (no authentication or COPY in progress)",
  copyIn: "while the client sends COPY data",
  copyDropped: "after the server ended the client's COPY with an error",
  copyOut: "while the server sends COPY data",
};

/** The phases a typed message may come in when its definition does not say. */
export function defaultPhases(dir: Direction): readonly Phase[] {
  return dir === "F" ? ["ready", "copyDropped"] : ["ready"];
}

/** How a message variant is picked among those that share a type byte and direction. */
export type Selector =
  /** The Int32 at the start of the body (Authentication code, startup packet code). */
  | { readonly peekInt32: readonly number[] }
  /** The code of the last Authentication request on the connection. */
  | { readonly lastAuth: readonly number[] }
  /** The protocol version major number from the StartupMessage code (Int32 >> 16). */
  | { readonly peekMajor: number }
  /** Which request the server's one-byte answer answers. */
  | { readonly answerTo: "SSLRequest" | "GSSENCRequest" }
  /**
   * Inside copy-both (streaming replication, after CopyBothResponse) and only there: the first
   * byte of the body, a replication message's own type ('w' XLogData, 'k' keepalive, ...).
   */
  | { readonly copyBoth: string };

export type Direction = "F" | "B";

/**
 * A message. `type` is its type byte; `untyped` marks the startup-phase packets that have no
 * type byte (Int32 length first); `single` marks the one-byte answers to SSLRequest and
 * GSSENCRequest (no length at all).
 */
export interface MessageDef {
  readonly name: string;
  readonly dir: Direction;
  readonly type?: string;
  readonly shape: "typed" | "untyped" | "single" | "payload";
  /** For shape "payload": the payload set it belongs to (see PayloadElement). */
  readonly set?: string;
  readonly when?: Selector;
  readonly body: readonly Element[];
  /** Fixed length value (the Int32 length field) when the message has only one size. */
  readonly fixedLength?: number;
  /** The largest length the server accepts for it; anything longer is a framing error. */
  readonly maxLength?: number;
  /** The smallest length it can have, where that is more than its shape's minimum. */
  readonly minLength?: number;
  /**
   * An untyped packet with a selector starts a connection: the runtime recognises a new
   * connection on a reused address pair by it, and the heuristic a PostgreSQL client on any port.
   * `contains`: bytes a well-formed one always holds; `endsWithZero`: its last byte is 0.
   */
  readonly opens?: { readonly contains?: string; readonly endsWithZero?: boolean };
  /**
   * Info column summary: text with {var} placeholders, appended after the name. {var:char}
   * shows a number as the character with that code; {var:s} is "s" unless the variable is 1
   * ("{n} column{n:s}"). A variable that is not bound shows as "".
   */
  readonly info?: string;
  readonly effects?: readonly Effect[];
  readonly description: string;
  /** PostgreSQL version or protocol minor that introduced it, where that matters. */
  readonly since?: string;
  /**
   * A request (frontend): the backend messages that complete it. The runtime links each request
   * to the response that completes it (pgwire.response_in / response_to, pgwire.time); a response
   * that completes a later request completes the ones before it without an answer (what the
   * server skips after an error until Sync).
   */
  readonly request?: readonly string[];
  /** A backend message that answers no request (sent whenever the server likes). */
  readonly async?: boolean;
  /** A result row: counted into pgwire.row_count of the request it answers. */
  readonly row?: boolean;
  /** Expert infos: errors, notices, and what the message exposes (security findings). */
  readonly findings?: readonly Finding[];
  /** Prepared statements and portals: what the message defines, refers to or closes. */
  readonly objects?: Objects;
  /**
   * Cancel keys ($pid and $key): BackendKeyData registers a backend's, CancelRequest looks it up
   * across connections and links to it and to the request that backend was running.
   */
  readonly cancelKey?: "register" | "cancel";
  /**
   * An authentication request: the method it asks for, as the analyses name it in a login's
   * methods (pgwire explain and stats, the plugin's -z pgwire,conns): "MD5", "SSPI", ...
   * AuthenticationSASL's is followed by the mechanisms it offers ("SASL (SCRAM-SHA-256)").
   */
  readonly authMethod?: string;
  /**
   * Where a typed message may come (see Phase); the default is defaultPhases(dir). Untyped and
   * one-byte messages are framed by the startup state itself and are not checked.
   */
  readonly phases?: readonly Phase[];
  /**
   * CommandComplete: `var` holds its command tag. Tags that come before the response that
   * completes a request are listed on that response (pgwire.tags) with the sum of their row
   * counts (pgwire.tag_rows): the last number of a tag whose first word is in `counting`.
   */
  readonly commandTag?: { readonly var: string; readonly counting: readonly string[] };
  /**
   * What the plugin's statistics (`tshark -z pgwire,...`, src/analysis/stats.lua) read of the
   * message besides what its Info, findings, effects and objects read: variables, and lists
   * (remember) it keeps for them. The readers bind these even without a tree.
   */
  readonly statistics?: { readonly vars?: readonly string[]; readonly lists?: readonly string[] };
}

/**
 * Messages carried inside another message's bytes (PayloadElement), started by a replication
 * command (its $replcmd) given all of `options` (pgoutput: START_REPLICATION with proto_version
 * and publication_names).
 */
export interface PayloadSet {
  readonly name: string;
  readonly command: string;
  readonly options: readonly string[];
  readonly description: string;
}

/**
 * Statements ("S") and portals ("P") per connection, by name, each with its SQL text. `refer`
 * looks an object up (pgwire.sql shows its SQL; `drop` closes it); `define` creates one, with the
 * SQL of a variable or, without `sql`, the SQL of the object `refer` found. Variables hold names;
 * `mapVar` names a variable that holds 'S' or 'P'.
 */
export interface Objects {
  readonly refer?: {
    readonly map?: "S" | "P";
    readonly mapVar?: string;
    readonly name: string;
    readonly drop?: boolean;
  };
  /**
   * `types` names the message's list of parameter type OIDs (remember) the object keeps;
   * `formats` its list of result format codes (Bind: the portal's result formats).
   */
  readonly define?: {
    readonly map: "S" | "P";
    readonly name: string;
    readonly sql?: string;
    readonly types?: string;
    readonly formats?: string;
  };
  /**
   * The message's parameter values (param elements) are typed by the object it refers to: the
   * plugin keeps that object's types for later passes.
   */
  readonly params?: true;
  /**
   * A request whose answer's rows are those of the object it refers to (Execute: its portal),
   * whatever was bound or described in between: they take the portal's result formats (from its
   * Bind) and its columns (from a Describe of the portal or of its statement).
   */
  readonly rows?: boolean;
  /**
   * An answer that gives the parameter types (a list of [OID] records) of the statement that the
   * request it answers refers to (ParameterDescription to Describe 'S'): later Binds use them.
   */
  readonly answerTypes?: string;
  /**
   * An answer that gives the columns (a list of [name, type OID, format] records) of the
   * statement or portal the request it answers refers to (RowDescription to Describe).
   */
  readonly answerColumns?: string;
}

// ---------------------------------------------------------------------------------------------
// Builders: small functions that keep the spec files readable.

export function field(
  abbrev: string,
  label: string,
  type: FieldType,
  description: string,
  opts: { values?: ValueTable; builtin?: string } = {},
): FieldDef {
  return { abbrev, label, type, description, ...opts };
}

export function int(f: FieldDef, bind?: string): IntElement {
  if (!(f.type in intSize) && f.type !== "bool") throw new Error(`${f.abbrev} is not an integer field`);
  return bind === undefined ? { kind: "int", field: f } : { kind: "int", field: f, bind };
}

/** An integer of `size` bytes on the wire shown in a wider field (as the built-in dissector does). */
export function intN(f: FieldDef, size: 1 | 2 | 4, bind?: string): IntElement {
  return { ...int(f, bind), size };
}

export function str(f: FieldDef, bind?: string): StringElement {
  if (f.type !== "stringz") throw new Error(`${f.abbrev} is not a stringz field`);
  return bind === undefined ? { kind: "string", field: f } : { kind: "string", field: f, bind };
}

export function bytes(f: FieldDef, length: number | "rest" | VarRef, bind?: string): BytesElement {
  if (f.type !== "bytes" && f.type !== "string") throw new Error(`${f.abbrev} is not a bytes or string field`);
  return bind === undefined ? { kind: "bytes", field: f, length } : { kind: "bytes", field: f, length, bind };
}

export function repeat(count: VarRef, body: readonly Element[], label?: string): RepeatElement {
  return label === undefined ? { kind: "repeat", count, body } : { kind: "repeat", count, body, label };
}

export function untilZero(body: readonly Element[]): UntilZeroElement {
  return { kind: "untilZero", body };
}

export function switchOn(
  on: VarRef,
  cases: ReadonlyArray<readonly [number | string, readonly Element[]]>,
  otherwise: readonly Element[] = [],
): SwitchElement {
  return {
    kind: "switch",
    on,
    cases: cases.map(([k, v]) => [typeof k === "string" ? k.charCodeAt(0) : k, v] as const),
    otherwise,
  };
}

export function tree(label: string, body: readonly Element[]): TreeElement {
  return { kind: "tree", label, body };
}

export function remember(list: string, vars: readonly string[]): RememberElement {
  return { kind: "remember", list, vars };
}

export function column(f: {
  length: FieldDef;
  data: FieldDef;
  name: FieldDef;
  type: FieldDef;
  value: FieldDef;
}): ColumnElement {
  return { kind: "column", ...f };
}

export function param(
  f: { length: FieldDef; data: FieldDef; type: FieldDef; value: FieldDef },
  formats: string,
): ParamElement {
  return { kind: "param", ...f, formats };
}

export function attributes(
  from: VarRef,
  keys: Readonly<Record<string, FieldDef>>,
  fields: { cbind: FieldDef; authzid: FieldDef; other: FieldDef },
  gs2 = false,
): AttributesElement {
  return { kind: "attributes", from, gs2, keys: Object.entries(keys), ...fields };
}

export function lookup(
  f: FieldDef,
  from: VarRef,
  table: string,
  opts: { prefix?: number; bind?: string; firstWord?: boolean; replication?: boolean } = {},
): LookupElement {
  if (f.type !== "string") throw new Error(`${f.abbrev}: a lookup's field is a string field`);
  return { kind: "lookup", field: f, from, table, ...opts };
}

/** The text of the `size` bytes just read, as PostgreSQL prints a binary value of type `typeName`. */
export function pgText(f: FieldDef, size: number, typeName: string, bind?: string): TextElement {
  if (f.type !== "string") throw new Error(`${f.abbrev}: a text element's field is a string field`);
  const oid = Number(Object.entries(PG_TYPES).find(([, t]) => t.name === typeName)?.[0]);
  if (!oid) throw new Error(`${f.abbrev}: no PostgreSQL type ${typeName} in spec/data/types.ts`);
  return bind === undefined ? { kind: "text", field: f, size, oid } : { kind: "text", field: f, size, oid, bind };
}

export function payload(set: string, f: FieldDef, type: FieldDef): PayloadElement {
  return { kind: "payload", set, field: f, type };
}

export function tupleColumn(
  f: { marker: FieldDef; length: FieldDef; data: FieldDef; name: FieldDef; type: FieldDef; value: FieldDef },
  formats: Readonly<Record<string, number>>,
  empty: readonly string[],
): TupleColumnElement {
  const code = (c: string) => c.charCodeAt(0);
  return {
    kind: "tupleColumn",
    ...f,
    formats: Object.fromEntries(Object.entries(formats).map(([k, v]) => [code(k), v])),
    empty: empty.map(code),
  };
}

export function relation(f: FieldDef, from: VarRef, bind?: string): RelationElement {
  if (f.type !== "string") throw new Error(`${f.abbrev}: a relation's field is a string field`);
  return bind === undefined ? { kind: "relation", field: f, from } : { kind: "relation", field: f, from, bind };
}

export function optional(body: readonly Element[]): OptionalElement {
  return { kind: "optional", body };
}

export function options(f: FieldDef, from: VarRef, when: string): OptionsElement {
  if (f.type !== "string") throw new Error(`${f.abbrev}: an options element's field is a string field`);
  return { kind: "options", field: f, from, when };
}

export function copyStatement(f: FieldDef, from: VarRef): CopyStatementElement {
  if (f.type !== "string") throw new Error(`${f.abbrev}: a copyStatement's field is a string field`);
  return { kind: "copyStatement", field: f, from };
}

export function copyRows(f: {
  field: FieldDef;
  row: FieldDef;
  column: FieldDef;
  value: FieldDef;
  isNull: FieldDef;
  flags: FieldDef;
  extension: FieldDef;
  trailer: FieldDef;
}): CopyRowsElement {
  return { kind: "copyRows", ...f };
}

/** Value table keyed by ASCII letters: { I: "Idle" } → { 73: "Idle" }. */
export function charTable(t: Readonly<Record<string, string>>): ValueTable {
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(t)) out[k.charCodeAt(0)] = v;
  return out;
}

/** The variable an element binds, if it binds one ("$v" binds under the name v holds). */
export function bindOf(e: Element): string | undefined {
  return e.kind === "int" ||
    e.kind === "string" ||
    e.kind === "bytes" ||
    e.kind === "lookup" ||
    e.kind === "text" ||
    e.kind === "relation"
    ? e.bind
    : undefined;
}

/** Every variable that an element list binds, in order (for checks in the generator). */
export function boundVars(body: readonly Element[]): string[] {
  const out: string[] = [];
  const walk = (els: readonly Element[]) => {
    for (const e of els) {
      const bind = bindOf(e);
      if (bind) out.push(bind);
      if (e.kind === "repeat" || e.kind === "untilZero" || e.kind === "tree" || e.kind === "optional") walk(e.body);
      if (e.kind === "switch") {
        for (const [, b] of e.cases) walk(b);
        walk(e.otherwise);
      }
    }
  };
  walk(body);
  return out;
}

/** Every field an element list uses. */
export function usedFields(body: readonly Element[]): FieldDef[] {
  const out: FieldDef[] = [];
  const walk = (els: readonly Element[]) => {
    for (const e of els) {
      if (
        e.kind === "int" ||
        e.kind === "string" ||
        e.kind === "bytes" ||
        e.kind === "lookup" ||
        e.kind === "text" ||
        e.kind === "relation" ||
        e.kind === "options" ||
        e.kind === "copyStatement"
      )
        out.push(e.field);
      else if (e.kind === "copyRows")
        out.push(e.field, e.row, e.column, e.value, e.isNull, e.flags, e.extension, e.trailer);
      else if (e.kind === "payload") out.push(e.field, e.type);
      else if (e.kind === "column") out.push(e.length, e.data, e.name, e.type, e.value);
      else if (e.kind === "param") out.push(e.length, e.data, e.type, e.value);
      else if (e.kind === "tupleColumn") out.push(e.marker, e.length, e.data, e.name, e.type, e.value);
      else if (e.kind === "attributes") out.push(...e.keys.map(([, f]) => f), e.cbind, e.authzid, e.other);
      else if (e.kind === "remember") continue;
      else if (e.kind === "switch") {
        for (const [, b] of e.cases) walk(b);
        walk(e.otherwise);
      } else walk(e.body);
    }
  };
  walk(body);
  return out;
}
