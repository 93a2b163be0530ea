// Synthetic captures: deterministic pcapng files built from the spec with the generic encoder
// (test/tools/encoder.ts) and the TCP session builder (test/tools/tcp-sessions.ts). Run `npx tsx captures/build.ts`
// to (re)write captures/synthetic/*.pcapng; the tests import the builders and EXAMPLES from here.
// Everything is fixed: timestamps, ports, sequence numbers, and the seed of the one PRNG.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Direction } from "../spec/dsl.ts";
import { PcapngWriter } from "../src/capture/pcap.ts";
import { concatBytes, type EncodeOptions, encodeByName, type Values } from "../test/tools/encoder.ts";
import { prng, sessionsToPcapng, TcpSessionBuilder } from "../test/tools/tcp-sessions.ts";

export const SYNTHETIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "synthetic");

const te = new TextEncoder();
const text = (s: string): Uint8Array => te.encode(s);

/** A frontend message. */
export function fe(name: string, values: Values = {}, opts?: EncodeOptions): Uint8Array {
  return encodeByName(name, "F", values, opts);
}

/** A backend message. */
export function be(name: string, values: Values = {}, opts?: EncodeOptions): Uint8Array {
  return encodeByName(name, "B", values, opts);
}

export function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

const int32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v);
  return b;
};

// ---------------------------------------------------------------------------------------------
// One example (or more) of every message of the spec, for the encoder round-trip tests.

export interface Example {
  name: string;
  dir: Direction;
  values: Values;
}

const ex = (name: string, dir: Direction, values: Values = {}): Example => ({ name, dir, values });

const KEY32 = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

/** RowDescription values of a table (id int4, name text), the name column in this format. */
function idNameColumns(nameFormat: number): { $n: Values[] } {
  const col = (cn: string, index: number, ct: number, len: number, cf: number) => ({
    cn,
    "oid.table": 16384,
    "col.index": index,
    ct,
    "val.length": len,
    "col.typemod": -1,
    cf,
  });
  return { $n: [col("id", 1, 23, 4, 0), col("name", 2, 25, -1, nameFormat)] };
}

/** A text column of no table, as RowDescription describes a computed value. */
const textColumn = (cn: string): Values => ({
  cn,
  "oid.table": 0,
  "col.index": 0,
  ct: 25,
  "val.length": -1,
  "col.typemod": -1,
  cf: 0,
});

/** LSNs and times of the synthetic pgoutput messages: 0/16B3748 and after, 2026-11-27 01:27:01.5+00 and after. */
const LSN0 = 23803720;
const TIME0 = 849058021500000;
/** The (id int4 key, name text, feel mood) relation 16400 "public"."items" of the synthetic stream. */
const ITEMS_RELATION: Values = {
  relid: 16400,
  nspname: "public",
  relname: "items",
  "pgoutput.replica_identity": "f",
  $n: [
    { "pgoutput.column_flags": 1, attname: "id", atttypid: 23, "col.typemod": -1 },
    { "pgoutput.column_flags": 0, attname: "name", atttypid: 25, "col.typemod": -1 },
    { "pgoutput.column_flags": 0, attname: "feel", atttypid: 16500, "col.typemod": -1 },
  ],
};
const tcol = (kind: string, data?: string | Uint8Array): Values =>
  data === undefined ? { "pgoutput.column_kind": kind } : { "pgoutput.column_kind": kind, "val.data": data };

/** One example of every pgoutput message, protocol version 4 (Stream Abort with its abort LSN and time). */
const PGOUTPUT_EXAMPLES: readonly Example[] = [
  ex("Begin", "B", {
    "pgoutput.final_lsn": LSN0 + 400,
    "pgoutput.commit_time": TIME0,
    xid: 800,
  }),
  ex("Origin", "B", { "pgoutput.origin_lsn": 4096, origin: "upstream" }),
  ex("Type", "B", { typid: 16500, "pgoutput.namespace": "public", typname: "mood" }),
  ex("Relation", "B", ITEMS_RELATION),
  ex("Insert", "B", {
    relid: 16400,
    "pgoutput.tuple": "N",
    $ncols: [tcol("t", "1"), tcol("t", "apple"), tcol("n")],
  }),
  ex("Update", "B", {
    relid: 16400,
    tuple: "O",
    $oldcols: [tcol("t", "1"), tcol("t", "apple"), tcol("n")],
    "pgoutput.tuple": "N",
    $ncols: [tcol("t", "1"), tcol("u"), tcol("t", "happy")],
  }),
  ex("Delete", "B", {
    relid: 16400,
    "pgoutput.tuple": "K",
    $oldcols: [tcol("b", Uint8Array.of(0, 0, 0, 1)), tcol("n"), tcol("n")],
  }),
  ex("Truncate", "B", { "pgoutput.truncate_options": 3, $n: [{ relid: 16400 }, { relid: 16401 }] }),
  ex("Message", "B", {
    "pgoutput.message_flags": 1,
    "pgoutput.message_lsn": LSN0 + 200,
    prefix: "pgwire",
    "pgoutput.content": "hello",
  }),
  ex("Commit", "B", {
    "pgoutput.flags": 0,
    "pgoutput.commit_lsn": LSN0 + 400,
    "pgoutput.end_lsn": LSN0 + 480,
    "pgoutput.commit_time": TIME0,
  }),
  ex("Stream Start", "B", { xid: 801, "pgoutput.first_segment": 1 }),
  ex("Stream Stop", "B"),
  ex("Stream Commit", "B", {
    xid: 803,
    "pgoutput.flags": 0,
    "pgoutput.commit_lsn": LSN0 + 1000,
    "pgoutput.end_lsn": LSN0 + 1080,
    "pgoutput.commit_time": TIME0 + 3000,
  }),
  ex("Stream Abort", "B", {
    xid: 801,
    "pgoutput.subxid": 802,
    "pgoutput.abort_lsn": LSN0 + 800,
    "pgoutput.abort_time": TIME0 + 2000,
  }),
  ex("Begin Prepare", "B", {
    "pgoutput.prepare_lsn": LSN0 + 1400,
    "pgoutput.end_lsn": LSN0 + 1480,
    "pgoutput.prepare_time": TIME0 + 4000,
    xid: 806,
    gid: "g1",
  }),
  ex("Prepare", "B", {
    "pgoutput.flags": 0,
    "pgoutput.prepare_lsn": LSN0 + 1400,
    "pgoutput.end_lsn": LSN0 + 1480,
    "pgoutput.prepare_time": TIME0 + 4000,
    xid: 806,
    gid: "g1",
  }),
  ex("Commit Prepared", "B", {
    "pgoutput.flags": 0,
    "pgoutput.commit_lsn": LSN0 + 1600,
    "pgoutput.end_lsn": LSN0 + 1680,
    "pgoutput.commit_time": TIME0 + 5000,
    xid: 806,
    gid: "g1",
  }),
  ex("Rollback Prepared", "B", {
    "pgoutput.flags": 0,
    "pgoutput.prepare_end_lsn": LSN0 + 1480,
    "pgoutput.rollback_end_lsn": LSN0 + 1800,
    "pgoutput.prepare_time": TIME0 + 4000,
    "pgoutput.rollback_time": TIME0 + 6000,
    xid: 807,
    gid: "g2",
  }),
  ex("Stream Prepare", "B", {
    "pgoutput.flags": 0,
    "pgoutput.prepare_lsn": LSN0 + 2000,
    "pgoutput.end_lsn": LSN0 + 2080,
    "pgoutput.prepare_time": TIME0 + 7000,
    xid: 808,
    gid: "g3",
  }),
];

export const EXAMPLES: readonly Example[] = [
  // startup
  ex("StartupMessage", "F", { major: 3, minor: 0, "*": { user: "alice", database: "shop" } }),
  ex("StartupMessage", "F", {
    major: 3,
    minor: 2,
    "*": [
      { pname: "user", parameter_value: "bob" },
      { pname: "_pq_.test_option", parameter_value: "on" },
    ],
  }),
  ex("CancelRequest", "F", { request_code: 80877102, pid: 4242, key: 0x1badcafe }),
  ex("CancelRequest", "F", { request_code: 80877102, pid: 4243, key: KEY32 }),
  ex("SSLRequest", "F", { request_code: 80877103 }),
  ex("GSSENCRequest", "F", { request_code: 80877104 }),
  ex("UnknownStartupPacket", "F", { code: 131072, undecoded: text("alice\0shop\0") }),
  ex("SSLResponse", "B", { answer: "N" }),
  ex("SSLResponse", "B", { answer: "S" }),
  ex("GSSENCResponse", "B", { answer: "N" }),
  // authentication
  ex("AuthenticationOk", "B", { authtype: 0 }),
  ex("AuthenticationKerberosV5", "B", { authtype: 2 }),
  ex("AuthenticationCleartextPassword", "B", { authtype: 3 }),
  ex("AuthenticationMD5Password", "B", { authtype: 5, salt: Uint8Array.of(1, 2, 3, 4) }),
  ex("AuthenticationGSS", "B", { authtype: 7 }),
  ex("AuthenticationGSSContinue", "B", { authtype: 8, "auth.gssapi_sspi.data": Uint8Array.of(0x60, 0x82, 1, 2) }),
  ex("AuthenticationSSPI", "B", { authtype: 9 }),
  ex("AuthenticationSASL", "B", { authtype: 10, "*": [{ mech: "SCRAM-SHA-256-PLUS" }, { mech: "SCRAM-SHA-256" }] }),
  ex("AuthenticationSASLContinue", "B", { authtype: 11, data: "r=abc,s=c2FsdA==,i=4096" }),
  ex("AuthenticationSASLFinal", "B", { authtype: 12, data: "v=c2lnbmF0dXJl" }),
  ex("AuthenticationRequest", "B", { authtype: 6 }),
  ex("AuthenticationRequest", "B", { authtype: 99, "auth.data": Uint8Array.of(9, 8, 7) }),
  ex("SASLInitialResponse", "F", { mech: "SCRAM-SHA-256", data: "n,,n=,r=abc" }),
  ex("SASLInitialResponse", "F", { mech: "SCRAM-SHA-256" }),
  ex("SASLResponse", "F", { data: "c=biws,r=abcdef,p=cHJvb2Y=" }),
  ex("GSSResponse", "F", { "auth.gssapi_sspi.data": Uint8Array.of(0x60, 0x81, 0x10) }),
  ex("PasswordMessage", "F", { password: "md5a3556571e93b0d20722ba62be61e8c2d" }),
  // queries
  ex("Query", "F", { query: "SELECT 1" }),
  ex("Query", "F", { query: "" }),
  ex("Parse", "F", { stmt: "s1", query: "SELECT $1::int + $2", $n: [{ pt: 23 }, { pt: 0 }] }),
  ex("Parse", "F", { stmt: "", query: "SELECT 1" }),
  ex("Bind", "F", {
    portal: "p1",
    stmt: "s1",
    $nf: [{ pf: 0 }, { pf: 1 }],
    $np: [{ pv: "42" }, { pv: null }, { pv: "" }],
    $nr: [{ rf: 1 }],
  }),
  ex("Bind", "F", { portal: "", stmt: "" }),
  ex("Describe", "F", { target: "S", name: "s1" }),
  ex("Describe", "F", { target: "P", name: "" }),
  ex("Describe", "F", { target: "X", name: "odd" }),
  ex("Execute", "F", { portal: "p1", rows: 10 }),
  ex("Close", "F", { target: "S", name: "s1" }),
  ex("Close", "F", { target: "P", name: "p1" }),
  ex("Sync", "F"),
  ex("Flush", "F"),
  ex("Terminate", "F"),
  ex("RowDescription", "B", idNameColumns(1)),
  ex("RowDescription", "B", {}),
  ex("DataRow", "B", { $n: [{ "val.data": "1" }, { "val.data": null }, { "val.data": "" }] }),
  ex("CommandComplete", "B", { tag: "SELECT 2" }),
  ex("ReadyForQuery", "B", { status: "I" }),
  ex("ReadyForQuery", "B", { status: "E" }),
  ex("ParameterDescription", "B", { $n: [{ pt: 23 }, { pt: 25 }] }),
  ex("EmptyQueryResponse", "B"),
  ex("NoData", "B"),
  ex("ParseComplete", "B"),
  ex("BindComplete", "B"),
  ex("CloseComplete", "B"),
  ex("PortalSuspended", "B"),
  ex("BackendKeyData", "B", { pid: 4242, key: 0x1badcafe }),
  ex("BackendKeyData", "B", { pid: 4243, key: KEY32 }),
  ex("NegotiateProtocolVersion", "B", { version: 196608, $n: [{ nonsupported_option: "_pq_.test_option" }] }),
  ex("FunctionCall", "F", {
    oid: 1598,
    $nf: [{ format: 1 }],
    $np: [{ "val.data": int32(7) }, { "val.data": null }],
    format: 1,
  }),
  ex("FunctionCallResponse", "B", { "val.data": int32(49) }),
  ex("FunctionCallResponse", "B", { "val.data": null }),
  // COPY
  ex("CopyInResponse", "B", { format: 0, $n: [{ format: 0 }, { format: 0 }] }),
  ex("CopyOutResponse", "B", { format: 1, $n: [{ format: 1 }] }),
  ex("CopyBothResponse", "B", { format: 0 }),
  // 0/16B3748 and 2026-11-27 01:27:01.5+00 (microseconds since 2000-01-01).
  ex("XLogData", "B", {
    "repl.type": "w",
    "repl.wal_start": 23803720,
    "repl.wal_end": 23803800,
    "repl.time": 849058021500000,
    "repl.wal_data": Uint8Array.of(1, 2, 3),
  }),
  ex("PrimaryKeepalive", "B", {
    "repl.type": "k",
    "repl.wal_end": 23803800,
    "repl.time": 849058021500000,
    reply: 0,
  }),
  ex("StandbyStatusUpdate", "F", {
    "repl.type": "r",
    "repl.written": 23803800,
    "repl.flushed": 23803800,
    "repl.applied": 0,
    "repl.time": 849058022000000,
    "repl.reply": 0,
  }),
  ex("HotStandbyFeedback", "F", {
    "repl.type": "h",
    "repl.time": 849058022000000,
    xmin: 735,
    "repl.xmin_epoch": 0,
    "repl.catalog_xmin": 0,
    "repl.catalog_xmin_epoch": 0,
  }),
  // pgoutput (inside XLogData of a logical replication stream): values of the carried message.
  ...PGOUTPUT_EXAMPLES,
  ex("CopyData", "F", { copydata: "1\tapple\n" }),
  ex("CopyData", "B", { copydata: "2\tpear\n" }),
  ex("CopyDone", "F"),
  ex("CopyDone", "B"),
  ex("CopyFail", "F", { reason: "aborted by user" }),
  // asynchronous
  ex("ErrorResponse", "B", {
    "*": { S: "ERROR", V: "ERROR", C: "22012", M: "division by zero", F: "int.c", L: "841", R: "int4div" },
  }),
  ex("NoticeResponse", "B", {
    "*": [
      { fc: "S", severity: "NOTICE" },
      { fc: "M", message: "hello" },
    ],
  }),
  ex("ParameterStatus", "B", { name: "TimeZone", value: "UTC" }),
  ex("NotificationResponse", "B", { pid: 4242, channel: "jobs", payload: "42" }),
];

// ---------------------------------------------------------------------------------------------
// Session helpers

const T0 = 1700000000;
const LOCAL = "127.0.0.1";

/** A client → 127.0.0.1:port session with a handshake, at a fixed start time. */
function session(clientPort: number, start: number, opts: { serverPort?: number; v6?: boolean } = {}) {
  const ip = opts.v6 ? "::1" : LOCAL;
  return new TcpSessionBuilder({
    client: { ip, port: clientPort },
    server: { ip, port: opts.serverPort ?? 5432 },
    startTime: start,
  }).handshake();
}

/** Sends a flight of messages from one side as one write (segments of up to 1460 bytes). */
function c(b: TcpSessionBuilder, ...msgs: Uint8Array[]): TcpSessionBuilder {
  return b.send(true, concatBytes(...msgs));
}
function s(b: TcpSessionBuilder, ...msgs: Uint8Array[]): TcpSessionBuilder {
  return b.send(false, concatBytes(...msgs));
}

const ALL_ERROR_FIELDS: Values = {
  "*": [
    { fc: "S", severity: "ERROR" },
    { fc: "V", severity_v: "ERROR" },
    { fc: "C", code: "23505" },
    { fc: "M", message: 'duplicate key value violates unique constraint "items_pkey"' },
    { fc: "D", detail: "Key (id)=(1) already exists." },
    { fc: "H", hint: "Pick another id." },
    { fc: "P", position: "13" },
    { fc: "p", internal_position: "7" },
    { fc: "q", internal_query: "INSERT INTO items VALUES ($1)" },
    { fc: "W", where: 'SQL function "add_item" statement 1' },
    { fc: "s", schema_name: "public" },
    { fc: "t", table_name: "items" },
    { fc: "c", column_name: "id" },
    { fc: "d", type_name: "integer" },
    { fc: "n", constraint_name: "items_pkey" },
    { fc: "F", file: "nbtinsert.c" },
    { fc: "L", line: "666" },
    { fc: "R", routine: "_bt_check_unique" },
    { fc: "Z", unknown_field: "a field code this spec does not know" },
  ],
};

const COLS_ID_NAME = idNameColumns(0);

const row = (...vals: (string | null | Uint8Array)[]): Uint8Array =>
  be("DataRow", { $n: vals.map((v) => ({ "val.data": v })) });
const rfq = (status: string): Uint8Array => be("ReadyForQuery", { status });
const done = (tag: string): Uint8Array => be("CommandComplete", { tag });
const query = (q: string): Uint8Array => fe("Query", { query: q });
const ps = (name: string, value: string): Uint8Array => be("ParameterStatus", { name, value });

/** The server's usual flight after authentication succeeded. */
function welcome(pid: number, key: Values): Uint8Array {
  return concatBytes(
    be("AuthenticationOk", { authtype: 0 }),
    ps("server_version", "18.0"),
    ps("client_encoding", "UTF8"),
    ps("TimeZone", "UTC"),
    be("BackendKeyData", { pid, ...key }),
    rfq("I"),
  );
}

// ---------------------------------------------------------------------------------------------
// all-messages.pcapng: every message of the spec at least once, in plausible sessions.

export function allMessagesSessions(): TcpSessionBuilder[] {
  const out: TcpSessionBuilder[] = [];

  // 1. Protocol 3.0, GSSENCRequest and SSLRequest refused, MD5 password, simple and extended
  //    queries, every ErrorResponse field, notices and notifications, COPY in/out/fail, FunctionCall.
  {
    const b = session(40001, T0);
    c(b, fe("GSSENCRequest", { request_code: 80877104 }));
    s(b, be("GSSENCResponse", { answer: "N" }));
    c(b, fe("SSLRequest", { request_code: 80877103 }));
    s(b, be("SSLResponse", { answer: "N" }));
    c(
      b,
      fe("StartupMessage", {
        major: 3,
        minor: 0,
        "*": { user: "alice", database: "shop", application_name: "synth", client_encoding: "UTF8" },
      }),
    );
    s(b, be("AuthenticationMD5Password", { authtype: 5, salt: Uint8Array.of(0x5a, 0x17, 0x3c, 0x99) }));
    c(b, fe("PasswordMessage", { password: "md54bd2cf0d2a8d4b1c5e5b1c8e2b4f6a7d" }));
    s(b, welcome(31001, { key: 0x1badcafe }));
    // Simple query with a NULL.
    c(b, query("SELECT id, name FROM items ORDER BY id"));
    s(b, be("RowDescription", COLS_ID_NAME), row("1", "apple"), row("2", null), done("SELECT 2"), rfq("I"));
    // Empty query.
    c(b, query(""));
    s(b, be("EmptyQueryResponse"), rfq("I"));
    // An error with every field code, and one the spec does not know ('Z').
    c(b, query("INSERT INTO items VALUES (1, 'again')"));
    s(b, be("ErrorResponse", ALL_ERROR_FIELDS), rfq("I"));
    // LISTEN, a notice, a notification.
    c(b, query("LISTEN jobs; NOTIFY jobs, 'hello'"));
    s(
      b,
      done("LISTEN"),
      be("NoticeResponse", { "*": { S: "NOTICE", V: "NOTICE", C: "00000", M: "listening on jobs" } }),
      done("NOTIFY"),
      be("NotificationResponse", { pid: 31001, channel: "jobs", payload: "hello" }),
      rfq("I"),
    );
    // Extended query inside a transaction: Parse/Describe/Flush, Bind/Execute(1)/Sync (PortalSuspended).
    c(b, query("BEGIN"));
    s(b, done("BEGIN"), rfq("T"));
    c(
      b,
      fe("Parse", { stmt: "s1", query: "SELECT id, name FROM items WHERE id >= $1", $n: [{ pt: 23 }] }),
      fe("Describe", { target: "S", name: "s1" }),
      fe("Flush"),
    );
    s(b, be("ParseComplete"), be("ParameterDescription", { $n: [{ pt: 23 }] }), be("RowDescription", COLS_ID_NAME));
    c(
      b,
      fe("Bind", {
        portal: "p1",
        stmt: "s1",
        $nf: [{ pf: 0 }],
        $np: [{ pv: "1" }],
        $nr: [{ rf: 0 }],
      }),
      fe("Execute", { portal: "p1", rows: 1 }),
      fe("Sync"),
    );
    s(b, be("BindComplete"), row("1", "apple"), be("PortalSuspended"), rfq("T"));
    c(
      b,
      fe("Describe", { target: "P", name: "p1" }),
      fe("Execute", { portal: "p1", rows: 0 }),
      fe("Close", { target: "P", name: "p1" }),
      fe("Close", { target: "S", name: "s1" }),
      fe("Sync"),
    );
    s(
      b,
      be("RowDescription", COLS_ID_NAME),
      row("2", null),
      done("SELECT 1"),
      be("CloseComplete"),
      be("CloseComplete"),
      rfq("T"),
    );
    // An unnamed statement that returns no rows: NoData.
    c(
      b,
      fe("Parse", { stmt: "", query: "UPDATE items SET name = name" }),
      fe("Bind", { portal: "", stmt: "" }),
      fe("Describe", { target: "P", name: "" }),
      fe("Execute", { portal: "", rows: 0 }),
      fe("Sync"),
    );
    s(b, be("ParseComplete"), be("BindComplete"), be("NoData"), done("UPDATE 2"), rfq("T"));
    c(b, query("COMMIT"));
    s(b, done("COMMIT"), rfq("I"));
    // COPY FROM STDIN.
    c(b, query("COPY items FROM STDIN"));
    s(b, be("CopyInResponse", { format: 0, $n: [{ format: 0 }, { format: 0 }] }));
    c(b, fe("CopyData", { copydata: "3\tpear\n" }), fe("CopyData", { copydata: "4\tplum\n" }), fe("CopyDone"));
    s(b, done("COPY 2"), rfq("I"));
    // COPY FROM STDIN aborted by the client.
    c(b, query("COPY items FROM STDIN"));
    s(b, be("CopyInResponse", { format: 0, $n: [{ format: 0 }, { format: 0 }] }));
    c(b, fe("CopyData", { copydata: "5\tfig\n" }), fe("CopyFail", { reason: "aborted by user" }));
    s(
      b,
      be("ErrorResponse", {
        "*": { S: "ERROR", V: "ERROR", C: "57014", M: "COPY from stdin failed: aborted by user" },
      }),
      rfq("I"),
    );
    // COPY TO STDOUT.
    c(b, query("COPY items TO STDOUT"));
    s(
      b,
      be("CopyOutResponse", { format: 0, $n: [{ format: 0 }, { format: 0 }] }),
      be("CopyData", { copydata: "1\tapple\n" }),
      be("CopyData", { copydata: "2\t\\N\n" }),
      be("CopyDone"),
      done("COPY 2"),
      rfq("I"),
    );
    // Fast-path function calls: int4 argument in binary, then a NULL argument and a NULL result.
    c(b, fe("FunctionCall", { oid: 1598, $nf: [{ format: 1 }], $np: [{ "val.data": int32(7) }], format: 1 }));
    s(b, be("FunctionCallResponse", { "val.data": int32(49) }), rfq("I"));
    c(b, fe("FunctionCall", { oid: 1598, $nf: [{ format: 1 }], $np: [{ "val.data": null }], format: 1 }));
    s(b, be("FunctionCallResponse", { "val.data": null }), rfq("I"));
    // A long query, canceled by session 7's CancelRequest (4-byte key) at T0 + 5.
    c(b, query("SELECT pg_sleep(60)"));
    b.at(T0 + 5.5);
    s(
      b,
      be("ErrorResponse", {
        "*": { S: "ERROR", V: "ERROR", C: "57014", M: "canceling statement due to user request" },
      }),
      rfq("I"),
    );
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }

  // 2. Protocol 3.2 with an unknown protocol option: NegotiateProtocolVersion, SCRAM, a 32-byte key.
  {
    const b = session(40002, T0 + 10);
    c(
      b,
      fe("StartupMessage", {
        major: 3,
        minor: 2,
        "*": { user: "bob", database: "shop", "_pq_.test_option": "on" },
      }),
    );
    s(
      b,
      be("NegotiateProtocolVersion", { version: 196610, $n: [{ nonsupported_option: "_pq_.test_option" }] }),
      be("AuthenticationSASL", { authtype: 10, "*": [{ mech: "SCRAM-SHA-256-PLUS" }, { mech: "SCRAM-SHA-256" }] }),
    );
    c(b, fe("SASLInitialResponse", { mech: "SCRAM-SHA-256", data: "n,,n=,r=rOprNGfwEbeRWgbNEkqO" }));
    s(
      b,
      be("AuthenticationSASLContinue", {
        authtype: 11,
        data: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      }),
    );
    c(
      b,
      fe("SASLResponse", {
        data: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      }),
    );
    s(
      b,
      be("AuthenticationSASLFinal", {
        authtype: 12,
        data: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
      }),
      welcome(31002, { key: KEY32 }),
    );
    c(b, query("SELECT pg_sleep(10)"));
    // Canceled by session 6's CancelRequest (32-byte key) at T0 + 12.
    b.at(T0 + 12.5);
    s(
      b,
      be("ErrorResponse", {
        "*": { S: "ERROR", V: "ERROR", C: "57014", M: "canceling statement due to user request" },
      }),
      rfq("I"),
    );
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }

  // 3. A logical replication connection: cleartext password, CopyBoth, CopyData both ways, CopyDone both ways.
  {
    const b = session(40003, T0 + 20);
    c(
      b,
      fe("StartupMessage", { major: 3, minor: 0, "*": { user: "repl", database: "shop", replication: "database" } }),
    );
    s(b, be("AuthenticationCleartextPassword", { authtype: 3 }));
    c(b, fe("PasswordMessage", { password: "repl-secret" }));
    s(b, welcome(31003, { key: 0x0badf00d }));
    c(
      b,
      query(
        "START_REPLICATION SLOT sub LOGICAL 0/0 (proto_version '4', publication_names '\"pub\"', streaming 'parallel', two_phase 'on', messages 'true')",
      ),
    );
    // The replication messages inside copy-both; the XLogData carry pgoutput (protocol 4) messages.
    const t = 849058021500000; // 2026-11-27 01:27:01.5+00, in microseconds since 2000-01-01
    s(
      b,
      be("CopyBothResponse", { format: 0 }),
      be("PrimaryKeepalive", { "repl.type": "k", "repl.wal_end": 23803720, "repl.time": t, reply: 1 }),
    );
    c(
      b,
      fe("StandbyStatusUpdate", {
        "repl.type": "r",
        "repl.written": 23803720,
        "repl.flushed": 23803720,
        "repl.applied": 23803720,
        "repl.time": t + 100,
        "repl.reply": 0,
      }),
    );
    // Every pgoutput message once as its example has it, in an order a stream has them, and the
    // messages of streamed transactions with their xid between Stream Start and Stream Stop.
    const pg = Object.fromEntries(PGOUTPUT_EXAMPLES.map((e) => [e.name, e.values]));
    const insert = (xid: number | undefined, id: string): [string, Values] => [
      "Insert",
      { ...(xid === undefined ? {} : { xid }), ...pg.Insert, $ncols: [tcol("t", id), tcol("t", "pear"), tcol("n")] },
    ];
    const stream: Array<[string, Values]> = [
      ["Begin", pg.Begin],
      ["Origin", pg.Origin],
      ["Type", pg.Type],
      ["Relation", pg.Relation],
      ["Insert", pg.Insert],
      ["Update", pg.Update],
      ["Delete", pg.Delete],
      ["Truncate", pg.Truncate],
      ["Message", pg.Message],
      ["Commit", pg.Commit],
      ["Stream Start", pg["Stream Start"]],
      ["Relation", { xid: 801, ...ITEMS_RELATION }],
      insert(801, "2"),
      ["Stream Stop", {}],
      ["Stream Abort", pg["Stream Abort"]],
      ["Stream Start", { xid: 803, "pgoutput.first_segment": 1 }],
      insert(803, "3"),
      ["Message", { xid: 803, ...pg.Message }],
      ["Stream Stop", {}],
      ["Stream Commit", pg["Stream Commit"]],
      ["Begin Prepare", pg["Begin Prepare"]],
      insert(undefined, "4"),
      ["Prepare", pg.Prepare],
      ["Commit Prepared", pg["Commit Prepared"]],
      ["Rollback Prepared", pg["Rollback Prepared"]],
      ["Stream Start", { xid: 808, "pgoutput.first_segment": 1 }],
      insert(808, "5"),
      ["Stream Stop", {}],
      ["Stream Prepare", pg["Stream Prepare"]],
      // Protocol 2 to 4 without parallel streaming: Stream Abort without the abort LSN and time.
      ["Stream Abort", { xid: 809, "pgoutput.subxid": 809 }],
    ];
    s(
      b,
      ...stream.map(([name, values], i) =>
        be("XLogData", {
          "repl.type": "w",
          "repl.wal_start": LSN0 + 100 * i,
          "repl.wal_end": LSN0 + 100 * i + 80,
          "repl.time": t + 200 + i,
          "repl.wal_data": be(name, values),
        }),
      ),
    );
    c(
      b,
      fe("HotStandbyFeedback", {
        "repl.type": "h",
        "repl.time": t + 300,
        xmin: 735,
        "repl.xmin_epoch": 0,
        "repl.catalog_xmin": 0,
        "repl.catalog_xmin_epoch": 0,
      }),
    );
    c(b, fe("CopyDone"));
    s(b, be("CopyDone"), done("START_REPLICATION"), rfq("I"));
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }

  // 4. GSSAPI authentication: AuthenticationGSS, GSSResponse, AuthenticationGSSContinue, GSSResponse.
  {
    const b = session(40004, T0 + 30);
    c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "carol@EXAMPLE.COM", database: "shop" } }));
    s(b, be("AuthenticationGSS", { authtype: 7 }));
    c(b, fe("GSSResponse", { "auth.gssapi_sspi.data": randomBytes(48, 4) }));
    s(b, be("AuthenticationGSSContinue", { authtype: 8, "auth.gssapi_sspi.data": randomBytes(32, 5) }));
    c(b, fe("GSSResponse", { "auth.gssapi_sspi.data": randomBytes(16, 6) }));
    s(b, welcome(31004, { key: 0x12345678 }));
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }

  // 5. SSPI authentication (the answers are GSSResponse too).
  {
    const b = session(40005, T0 + 40);
    c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "dave", database: "shop" } }));
    s(b, be("AuthenticationSSPI", { authtype: 9 }));
    c(b, fe("GSSResponse", { "auth.gssapi_sspi.data": randomBytes(40, 7) }));
    s(b, welcome(31005, { key: 0x0000beef }));
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }

  // 6. CancelRequest with a 32-byte key (3.2, for session 2) and 7. with a 4-byte key (3.0, session 1).
  {
    const b = session(40006, T0 + 12);
    c(b, fe("CancelRequest", { request_code: 80877102, pid: 31002, key: KEY32 }));
    b.close(false);
    out.push(b);
  }
  {
    const b = session(40007, T0 + 5);
    c(b, fe("CancelRequest", { request_code: 80877102, pid: 31001, key: 0x1badcafe }));
    b.close(false);
    out.push(b);
  }

  // 8. Kerberos V5 (no longer supported by clients), 9. an unknown authentication code (6).
  {
    const b = session(40008, T0 + 60);
    c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "erin", database: "shop" } }));
    s(b, be("AuthenticationKerberosV5", { authtype: 2 }));
    b.close(true);
    out.push(b);
  }
  {
    const b = session(40009, T0 + 70);
    c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "frank", database: "shop" } }));
    s(b, be("AuthenticationRequest", { authtype: 6 }));
    b.close(true);
    out.push(b);
  }

  // 10. A protocol 2.0 startup packet, refused by the server.
  {
    const b = session(40010, T0 + 80);
    const v2 = new Uint8Array(292); // database[64] user[32] options[64] unused[64] tty[64]
    v2.set(text("shop"), 0);
    v2.set(text("grace"), 64);
    c(b, fe("UnknownStartupPacket", { code: 131072, undecoded: v2 }));
    s(
      b,
      be("ErrorResponse", {
        "*": {
          S: "FATAL",
          V: "FATAL",
          C: "0A000",
          M: "unsupported frontend protocol 2.0: server supports 3.0 to 3.2",
          F: "backend_startup.c",
          L: "814",
          R: "ProcessStartupPacket",
        },
      }),
    );
    b.close(false);
    out.push(b);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// segmentation.pcapng: the same kind of traffic cut into TCP segments in awkward places.

/**
 * Segment-boundary sessions. With `split` false the same byte streams are sent as whole flights
 * (one send per flight, 1460-byte segments, in order, no duplicates): the test checks that both
 * versions decode to the same messages.
 */
export function segmentationSessions(split = true): TcpSessionBuilder[] {
  const out: TcpSessionBuilder[] = [];
  const send = (b: TcpSessionBuilder, client: boolean, data: Uint8Array, sizes: number[]) =>
    split ? b.send(client, data, { segmentSizes: sizes }) : b.send(client, data);

  // 1. Several messages per segment; a 20000-byte DataRow over many segments; header splits.
  {
    const b = session(41001, T0);
    c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "alice", database: "shop" } }));
    s(b, welcome(32001, { key: 0x01020304 })); // six messages in one segment
    c(b, query("SELECT id, repeat('x', 20000) FROM items WHERE id = 1"));
    const big = concatBytes(
      be("RowDescription", COLS_ID_NAME),
      row("1", "x".repeat(20000)),
      done("SELECT 1"),
      rfq("I"),
    );
    send(b, false, big, [1460]);
    // Extended-query batch: boundaries after a type byte, and after 3 bytes of a header.
    const parse = fe("Parse", { stmt: "", query: "SELECT $1::text", $n: [{ pt: 25 }] });
    const bind = fe("Bind", { portal: "", stmt: "", $np: [{ pv: "hello" }] });
    const batch = concatBytes(
      parse,
      bind,
      fe("Describe", { target: "P", name: "" }),
      fe("Execute", { portal: "", rows: 0 }),
      fe("Sync"),
    );
    send(b, true, batch, [parse.length + 1, bind.length + 2, 7, 3]);
    const answer = concatBytes(
      be("ParseComplete"),
      be("BindComplete"),
      be("RowDescription", {
        $n: [textColumn("text")],
      }),
      row("hello"),
      done("SELECT 1"),
      rfq("I"),
    );
    send(b, false, answer, [8, 3, 4, 2, 60]);
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }

  // 2. A whole startup + query exchange in 1-byte segments.
  {
    const b = session(41002, T0 + 10);
    const one = [1];
    send(b, true, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "bob", database: "shop" } }), one);
    send(b, false, welcome(32002, { key: 0x05060708 }), one);
    send(b, true, query("SELECT 1 AS one"), one);
    send(
      b,
      false,
      concatBytes(
        be("RowDescription", {
          $n: [
            {
              cn: "one",
              "oid.table": 0,
              "col.index": 0,
              ct: 23,
              "val.length": 4,
              "col.typemod": -1,
              cf: 0,
            },
          ],
        }),
        row("1"),
        done("SELECT 1"),
        rfq("I"),
      ),
      one,
    );
    send(b, true, fe("Terminate"), one);
    b.close(true);
    out.push(b);
  }

  // 3. An out-of-order pair (server) and a retransmitted segment (client, then server).
  {
    const b = session(41003, T0 + 20);
    const startup = fe("StartupMessage", { major: 3, minor: 0, "*": { user: "carol", database: "shop" } });
    const hello = welcome(32003, { key: 0x090a0b0c });
    c(b, startup);
    s(b, hello);
    const q = query("SELECT id, name FROM items");
    const answer = concatBytes(
      be("RowDescription", COLS_ID_NAME),
      row("1", "apple"),
      row("2", "pear"),
      done("SELECT 2"),
      rfq("I"),
    );
    if (split) {
      // The query, then the same segment again (a retransmission).
      b.raw(true, startup.length, q);
      b.raw(true, startup.length, q);
      b.ack(false);
      // The answer in two segments, the second one first (cut inside the first DataRow).
      const cut = be("RowDescription", COLS_ID_NAME).length + 9;
      b.raw(false, hello.length + cut, answer.subarray(cut));
      b.raw(false, hello.length, answer.subarray(0, cut));
      b.ack(true);
      // A retransmission of the last server segment.
      b.raw(false, hello.length + cut, answer.subarray(cut));
      b.ack(true);
    } else {
      c(b, q);
      s(b, answer);
    }
    c(b, fe("Terminate"));
    b.close(true);
    out.push(b);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// bad-lengths.pcapng: framing and body errors, each followed by valid messages (resync).

/** The valid messages sent after each piece of garbage; the test checks they are decoded. */
export const RESYNC_QUERIES = ["SELECT 'after length 3'", "SELECT 'after length 0x7fffffff'", "SELECT 'after type Y'"];

export function badLengthSessions(): TcpSessionBuilder[] {
  const b = session(42001, T0);
  c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "alice", database: "shop" } }));
  s(b, welcome(33001, { key: 0x11223344 }));
  // 1. A typed message with length 3 (below the minimum 4), then valid messages.
  c(b, fe("Query", { query: "SELECT 1" }, { length: 3 }).subarray(0, 5), query(RESYNC_QUERIES[0]), fe("Sync"));
  s(b, be("RowDescription", { $n: [] }), done("SELECT 1"), rfq("I"));
  // 2. A typed message with length 0x7fffffff, then valid messages.
  c(b, fe("Query", { query: "SELECT 2" }, { length: 0x7fffffff }), query(RESYNC_QUERIES[1]), fe("Sync"));
  // 3. ReadyForQuery with length 6 (fixed at 5; 7 bytes on the wire), then valid messages.
  s(
    b,
    done("SELECT 1"),
    be("ReadyForQuery", { status: "I" }, { length: 6 }),
    Uint8Array.of(0x49),
    rfq("I"),
    ps("DateStyle", "ISO, MDY"),
  );
  // 4. An unknown frontend type byte with junk, then valid messages.
  c(b, Uint8Array.of(0x59), text("garbage!"), query(RESYNC_QUERIES[2]), fe("Sync"));
  // 5. RowDescription claiming 5 columns with data for 1; a DataRow whose value runs past its end.
  const oneCol = COLS_ID_NAME.$n.slice(0, 1);
  s(
    b,
    be("RowDescription", { n: 5, $n: oneCol }),
    be("DataRow", { $n: [{ vlen: 100, "val.data": "short" }] }),
    done("SELECT 1"),
    rfq("I"),
  );
  // 6. Bytes after the last field (CommandComplete with 3 extra bytes), and a fixed-length message
  //    with another length its group allows (AuthenticationOk with length 12).
  const tagged = done("SELECT 0");
  s(
    b,
    concatBytes(Uint8Array.of(0x43), int32(tagged.length - 1 + 3), tagged.subarray(5), text("xyz")),
    be("AuthenticationOk", { authtype: 0 }, { length: 12 }),
    Uint8Array.of(0, 0, 0, 0),
    rfq("I"),
  );
  // 7. A Query whose string lacks the terminating NUL (its length covers only the text): the server
  //    reports a protocol violation and closes.
  const noNul = text("SELECT 'no terminator'");
  c(b, concatBytes(Uint8Array.of(0x51), int32(4 + noNul.length), noNul), fe("Sync"));
  s(b, be("ErrorResponse", { "*": { S: "FATAL", V: "FATAL", C: "08P01", M: "invalid string in message" } }));
  b.close(false);
  return [b];
}

// ---------------------------------------------------------------------------------------------
// truncated.pcapng: a session captured with a 200-byte snap length.

export const SNAP_LEN = 200;

export function truncatedSessions(): TcpSessionBuilder[] {
  const b = session(43001, T0);
  c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "alice", database: "shop" } }));
  s(b, welcome(34001, { key: 0x55667788 }));
  c(b, query("SELECT id, payload FROM blobs"));
  // A 3000-byte DataRow over three segments, each cut at the snap length.
  s(b, be("RowDescription", COLS_ID_NAME), row("1", "y".repeat(3000)), done("SELECT 1"), rfq("I"));
  // Short messages afterwards fit in the snap length again.
  c(b, query("SELECT 1"));
  s(b, be("RowDescription", { $n: [] }), done("SELECT 1"), rfq("I"));
  // A flight whose last message is cut: many ParameterStatus messages in one segment.
  c(b, query("SHOW ALL"));
  const many = Array.from({ length: 12 }, (_, i) => ps(`setting_${i}`, `value number ${i}`));
  s(b, ...many, rfq("I"));
  c(b, fe("Terminate"));
  b.close(true);
  return [b];
}

/** Writes the sessions with every frame cut to `snapLen` bytes (original length kept). */
export function snapPcapng(builders: TcpSessionBuilder[], snapLen: number): Uint8Array {
  const w = new PcapngWriter(builders[0].linkType, snapLen);
  const all = builders.flatMap((b) => b.packets()).sort((a, b) => a.time - b.time);
  for (const p of all) w.addPacket(p.time, p.data.subarray(0, Math.min(snapLen, p.data.length)), p.data.length);
  return w.toBuffer();
}

// ---------------------------------------------------------------------------------------------
// not-postgres.pcapng: other protocols on port 5432.

function tlsClientHello(): Uint8Array {
  const u16 = (v: number) => Uint8Array.of(v >> 8, v & 0xff);
  const u24 = (v: number) => Uint8Array.of(v >> 16, (v >> 8) & 0xff, v & 0xff);
  const vec16 = (b: Uint8Array) => concatBytes(u16(b.length), b);
  const vec8 = (b: Uint8Array) => concatBytes(Uint8Array.of(b.length), b);
  const ext = (type: number, body: Uint8Array) => concatBytes(u16(type), vec16(body));
  const host = text("db.example.com");
  const extensions = concatBytes(
    ext(0x0000, vec16(concatBytes(Uint8Array.of(0), vec16(host)))), // server_name
    ext(0x000a, vec16(concatBytes(u16(0x001d), u16(0x0017)))), // supported_groups
    ext(0x000d, vec16(concatBytes(u16(0x0403), u16(0x0804)))), // signature_algorithms
    ext(0x0010, vec16(vec8(text("postgresql")))), // ALPN
    ext(0x002b, vec8(u16(0x0304))), // supported_versions: TLS 1.3
    ext(0x0033, vec16(concatBytes(u16(0x001d), vec16(randomBytes(32, 11))))), // key_share x25519
  );
  const hello = concatBytes(
    u16(0x0303),
    randomBytes(32, 12),
    vec8(randomBytes(32, 13)),
    vec16(concatBytes(u16(0x1301), u16(0x1302), u16(0x1303))),
    vec8(Uint8Array.of(0)),
    vec16(extensions),
  );
  const handshake = concatBytes(Uint8Array.of(1), u24(hello.length), hello);
  return concatBytes(Uint8Array.of(0x16, 0x03, 0x01), u16(handshake.length), handshake);
}

export function notPostgresSessions(): TcpSessionBuilder[] {
  const http = session(44001, T0);
  http.send(true, text("GET / HTTP/1.1\r\nHost: db.example.com:5432\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"));
  http.send(
    false,
    text("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello world\n"),
  );
  http.close(false);
  const tls = session(44002, T0 + 10);
  tls.send(true, tlsClientHello());
  tls.close(false);
  const noise = session(44003, T0 + 20);
  const rnd = randomBytes(2048, 0x5eed);
  if (rnd[0] === 0 || rnd[0] === 0x16) rnd[0] = 0x42; // keep the first byte a non-startup, non-TLS one
  noise.send(true, rnd);
  noise.send(false, randomBytes(300, 0x5eee));
  noise.close(true);
  return [http, tls, noise];
}

// ---------------------------------------------------------------------------------------------
// ipv6-and-ports.pcapng: a session over ::1, and one with the server on port 5433.

function smallSession(b: TcpSessionBuilder, pid: number): TcpSessionBuilder {
  c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "alice", database: "shop" } }));
  s(b, welcome(pid, { key: pid * 3 }));
  c(b, query("SELECT 1 AS one"));
  s(
    b,
    be("RowDescription", {
      $n: [
        {
          cn: "one",
          "oid.table": 0,
          "col.index": 0,
          ct: 23,
          "val.length": 4,
          "col.typemod": -1,
          cf: 0,
        },
      ],
    }),
    row("1"),
    done("SELECT 1"),
    rfq("I"),
  );
  c(b, fe("Terminate"));
  return b.close(true);
}

export function ipv6AndPortsSessions(): TcpSessionBuilder[] {
  return [
    smallSession(session(45001, T0, { v6: true }), 35001),
    smallSession(session(45002, T0 + 10, { serverPort: 5433 }), 35002),
  ];
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// copy-edges.pcapng: COPY data at the limits of its decoding, and COPY statements in other places.

/** The length of the over-long text COPY row (more than the 65536 bytes a row is split up to). */
export const LONG_COPY_ROW = 140000;

export function copyEdgeSessions(): TcpSessionBuilder[] {
  const b = session(46001, T0);
  c(b, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "alice", database: "shop" } }));
  s(b, welcome(35001, { key: 0x10203040 }));
  const copyIn = (n: number, format = 0) =>
    be("CopyInResponse", { format, $n: Array.from({ length: n }, () => ({ format })) });
  const copyOut = (n: number, format = 0) =>
    be("CopyOutResponse", { format, $n: Array.from({ length: n }, () => ({ format })) });
  const data = (d: string | Uint8Array) => fe("CopyData", { copydata: d });
  // 1. Text: a row longer than the decoder splits, over three CopyData, then an ordinary row.
  c(b, query("COPY t (id, body) FROM STDIN"));
  s(b, copyIn(2));
  const long = `1\t${"x".repeat(LONG_COPY_ROW)}\n`;
  const third = Math.ceil(long.length / 3);
  c(b, data(long.slice(0, third)), data(long.slice(third, 2 * third)), data(`${long.slice(2 * third)}2\tshort\n`));
  c(b, fe("CopyDone"));
  s(b, done("COPY 2"), rfq("I"));
  // 2. A multi-statement Query with two COPYs: each response takes its own statement.
  c(b, query("CREATE TEMP TABLE u (a int, b text); COPY u (a, b) FROM STDIN; COPY u TO STDOUT (FORMAT csv)"));
  s(b, done("CREATE TABLE"), copyIn(2));
  c(b, data("1\tone\n"), fe("CopyDone"));
  s(b, done("COPY 1"), copyOut(2), be("CopyData", { copydata: '1,"one, two"\n' }), be("CopyDone"), done("COPY 1"));
  s(b, rfq("I"));
  // 3. COPY over the extended protocol: the Parse's statement; CSV with a header and a NULL string.
  c(
    b,
    fe("Parse", { stmt: "", query: "COPY u FROM STDIN (FORMAT csv, HEADER, NULL '?')" }),
    fe("Bind", { portal: "", stmt: "" }),
    fe("Execute", { portal: "", rows: 0 }),
    fe("Sync"),
  );
  s(b, be("ParseComplete"), be("BindComplete"), copyIn(2));
  c(b, data('a,b\n2,?\n3,""\n'), fe("CopyDone"));
  s(b, done("COPY 2"), rfq("I"));
  // 4. Binary COPY that breaks its format: no signature; a field length of -5; bytes after the trailer.
  c(b, query("COPY u FROM STDIN (FORMAT binary)"));
  s(b, copyIn(2, 1));
  c(b, data("not a PGCOPY header"), fe("CopyDone"));
  s(
    b,
    be("ErrorResponse", { "*": { S: "ERROR", V: "ERROR", C: "22P04", M: "COPY file signature not recognized" } }),
    rfq("I"),
  );
  const header = concatBytes(text("PGCOPY\n"), Uint8Array.of(0xff, 0x0d, 0x0a, 0), int32(0), int32(0));
  c(b, query("COPY u TO STDOUT (FORMAT binary)"));
  s(
    b,
    copyOut(2, 1),
    be("CopyData", { copydata: concatBytes(header, Uint8Array.of(0, 2), int32(1), Uint8Array.of(7), int32(-5)) }),
    be("CopyDone"),
    done("COPY 1"),
    rfq("I"),
  );
  c(b, query("COPY u TO STDOUT (FORMAT binary)"));
  s(
    b,
    copyOut(2, 1),
    be("CopyData", { copydata: concatBytes(header, Uint8Array.of(0, 1), int32(-1), Uint8Array.of(0xff, 0xff, 1, 2)) }),
    be("CopyDone"),
    done("COPY 1"),
    rfq("I"),
  );
  c(b, fe("Terminate"));
  b.close(true);
  // 5. BASE_BACKUP on a replication connection: its COPY data is a tar stream in sub-messages
  //    (new archive 'n', data 'd', progress 'p'), no COPY statement: not split into rows.
  const r = session(46002, T0 + 10);
  c(
    r,
    fe("StartupMessage", { major: 3, minor: 0, "*": { user: "repl", database: "replication", replication: "true" } }),
  );
  s(r, welcome(35002, { key: 0x50607080 }));
  c(r, query("BASE_BACKUP (LABEL 'pgwire', PROGRESS, CHECKPOINT 'fast', MANIFEST 'no')"));
  s(
    r,
    be("RowDescription", { $n: [textColumn("recptr"), textColumn("tli")] }),
    row("0/2000028", "1"),
    copyOut(0),
    be("CopyData", { copydata: concatBytes(text("nbase.tar"), Uint8Array.of(0), Uint8Array.of(0)) }),
    be("CopyData", { copydata: concatBytes(text("d"), text("PG_VERSION\t15\n"), new Uint8Array(16)) }),
    be("CopyData", { copydata: concatBytes(text("p"), Uint8Array.of(0, 0, 0, 0, 0, 0, 0x20, 0)) }),
    be("CopyDone"),
    be("RowDescription", { $n: [textColumn("recptr"), textColumn("tli")] }),
    row("0/2000100", "1"),
    done("BASE_BACKUP"),
    rfq("I"),
  );
  c(r, fe("Terminate"));
  r.close(true);
  return [b, r];
}

export const FILES: Record<string, () => Uint8Array> = {
  "copy-edges.pcapng": () => sessionsToPcapng(copyEdgeSessions()),
  "all-messages.pcapng": () => sessionsToPcapng(allMessagesSessions()),
  "segmentation.pcapng": () => sessionsToPcapng(segmentationSessions(true)),
  "bad-lengths.pcapng": () => sessionsToPcapng(badLengthSessions()),
  "truncated.pcapng": () => snapPcapng(truncatedSessions(), SNAP_LEN),
  "not-postgres.pcapng": () => sessionsToPcapng(notPostgresSessions()),
  "ipv6-and-ports.pcapng": () => sessionsToPcapng(ipv6AndPortsSessions()),
};

export function writeAll(dir = SYNTHETIC_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(FILES).map(([name, build]) => {
    const path = join(dir, name);
    writeFileSync(path, build());
    return path;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const p of writeAll()) console.log(`wrote ${p}`);
}
