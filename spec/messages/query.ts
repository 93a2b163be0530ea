// Simple and extended query: the requests and the answers that carry results.

import {
  bytes,
  column,
  copyStatement,
  int,
  intN,
  lookup,
  type MessageDef,
  options,
  param,
  remember,
  repeat,
  str,
  switchOn,
} from "../dsl.ts";
import { F } from "../fields.ts";

/** Int32 length + bytes, the value encoding of Bind, DataRow and FunctionCall (-1: NULL). */
const value = [int(F.valLength, "vlen"), bytes(F.valData, "$vlen")];

/** A Describe or Close target: 'S' with a statement name, 'P' with a portal name. */
const target = [
  int(F.target, "target"),
  switchOn(
    "$target",
    [
      ["S", [str(F.statement, "name")]],
      ["P", [str(F.portal, "name")]],
    ],
    [str(F.targetName, "name")],
  ),
];

function empty(
  name: string,
  dir: "F" | "B",
  type: string,
  description: string,
  extra: Partial<MessageDef> = {},
): MessageDef {
  return { name, dir, type, shape: "typed", fixedLength: 4, body: [], description, ...extra };
}

export const query: MessageDef[] = [
  {
    name: "Query",
    request: ["ReadyForQuery"],
    dir: "F",
    type: "Q",
    shape: "typed",
    // Replication commands are not SQL: their first word names them on any connection.
    body: [
      str(F.query, "query"),
      lookup(F.replCommand, "$query", "replicationCommands", { firstWord: true, bind: "replcmd" }),
      // SHOW is also SQL: a replication command only on a replication connection.
      lookup(F.replCommand, "$query", "replicationSqlCommands", {
        firstWord: true,
        bind: "replcmd",
        replication: true,
      }),
      options(F.replOption, "$query", "replcmd"),
      copyStatement(F.copyOption, "$query"),
    ],
    effects: ["startReplication", "copyStatement"],
    info: ": {query}",
    findings: [
      {
        expert: "passwordLiteral",
        when: { passwordLiteral: "query" },
        text: "The query sets a password in plain text: it is visible here and may reach the server's logs",
      },
    ],
    description: "A simple query: one or more SQL statements separated by semicolons.",
  },
  {
    name: "Parse",
    objects: { define: { map: "S", name: "stmt", sql: "query", types: "ptypes" } },
    request: ["ParseComplete", "ErrorResponse"],
    dir: "F",
    type: "P",
    shape: "typed",
    body: [
      str(F.statement, "stmt"),
      str(F.query, "query"),
      int(F.paramTypeCount, "n"),
      repeat("$n", [int(F.typeOid, "pt"), remember("ptypes", ["pt"])]),
      copyStatement(F.copyOption, "$query"),
    ],
    // A COPY over the extended protocol: its CopyInResponse / CopyOutResponse answers the Execute.
    effects: ["copyStatement"],
    info: ' "{stmt}": {query}',
    findings: [
      {
        expert: "passwordLiteral",
        when: { passwordLiteral: "query" },
        text: "The query sets a password in plain text: it is visible here and may reach the server's logs",
      },
    ],
    description: "Creates a prepared statement from one SQL statement, with optional parameter types.",
  },
  {
    name: "Bind",
    objects: {
      refer: { map: "S", name: "stmt" },
      define: { map: "P", name: "portal", formats: "rformats" },
      params: true,
    },
    request: ["BindComplete", "ErrorResponse"],
    dir: "F",
    type: "B",
    shape: "typed",
    body: [
      str(F.portal, "portal"),
      str(F.statement, "stmt"),
      int(F.paramFormatCount, "nf"),
      repeat("$nf", [int(F.format, "pf"), remember("pformats", ["pf"])]),
      int(F.paramCount, "np"),
      repeat("$np", [
        param({ length: F.valLength, data: F.valData, type: F.paramType, value: F.paramValue }, "pformats"),
      ]),
      int(F.resultFormatCount, "nr"),
      repeat("$nr", [int(F.format, "rf"), remember("rformats", ["rf"])]),
    ],
    info: ' "{portal}" "{stmt}"',
    description: "Creates a portal from a prepared statement and parameter values.",
  },
  {
    name: "Describe",
    objects: { refer: { mapVar: "target", name: "name" } },
    request: ["RowDescription", "NoData", "ErrorResponse"],
    dir: "F",
    type: "D",
    shape: "typed",
    maxLength: 10000,
    body: target,
    info: ' {target:char} "{name}"',
    description: "Asks for the description of a prepared statement ('S') or portal ('P').",
  },
  {
    name: "Execute",
    objects: { refer: { map: "P", name: "portal" }, rows: true },
    request: ["CommandComplete", "EmptyQueryResponse", "PortalSuspended", "ErrorResponse"],
    dir: "F",
    type: "E",
    shape: "typed",
    maxLength: 10000,
    body: [str(F.portal, "portal"), int(F.returns, "rows")],
    info: ' "{portal}" rows={rows}',
    description: "Runs a portal, returning at most the given number of rows (0: all).",
  },
  {
    name: "Close",
    objects: { refer: { mapVar: "target", name: "name", drop: true } },
    request: ["CloseComplete", "ErrorResponse"],
    dir: "F",
    type: "C",
    shape: "typed",
    maxLength: 10000,
    body: target,
    info: ' {target:char} "{name}"',
    description: "Closes a prepared statement ('S') or portal ('P').",
  },
  // The server ignores Sync and Flush in COPY FROM STDIN; Terminate may come at any time.
  empty("Sync", "F", "S", "Ends an extended-query batch: commit or roll back, then ReadyForQuery.", {
    request: ["ReadyForQuery"],
    phases: ["ready", "copyIn", "copyDropped"],
  }),
  empty("Flush", "F", "H", "Asks the server to send what it has produced.", {
    phases: ["ready", "copyIn", "copyDropped"],
  }),
  empty("Terminate", "F", "X", "The client closes the session.", {
    phases: ["auth", "ready", "copyIn", "copyDropped"],
  }),

  // --- answers ---
  {
    name: "RowDescription",
    dir: "B",
    type: "T",
    shape: "typed",
    body: [
      int(F.fieldCount, "n"),
      // No subtree per column: Wireshark 4.0 misplaces generated items inside Lua subtrees (PDML).
      repeat("$n", [
        str(F.colName, "cn"),
        int(F.tableOid),
        intN(F.colIndex, 2),
        int(F.typeOid, "ct"),
        lookup(F.colType, "$ct", "types"),
        intN(F.valLength, 2),
        int(F.typemod),
        int(F.format, "cf"),
        remember("columns", ["cn", "ct", "cf"]),
      ]),
    ],
    info: " ({n} column{n:s})",
    effects: ["rowDescription"],
    objects: { answerColumns: "columns" },
    description: "Describes the columns of the rows that follow.",
  },
  {
    name: "DataRow",
    row: true,
    dir: "B",
    type: "D",
    shape: "typed",
    body: [
      int(F.fieldCount, "n"),
      repeat("$n", [
        column({ length: F.valLength, data: F.valData, name: F.column, type: F.colType, value: F.colValue }),
      ]),
    ],
    description: "One row of a result.",
  },
  {
    name: "CommandComplete",
    dir: "B",
    type: "C",
    shape: "typed",
    body: [str(F.tag, "tag")],
    info: ": {tag}",
    // The tags that end in a row count (src/backend/tcop/cmdtaglist.h: rowcount true).
    commandTag: { var: "tag", counting: ["INSERT", "DELETE", "UPDATE", "MERGE", "SELECT", "MOVE", "FETCH", "COPY"] },
    description: "A command finished; the tag names it and counts its rows.",
  },
  {
    name: "ReadyForQuery",
    dir: "B",
    type: "Z",
    shape: "typed",
    fixedLength: 5,
    body: [int(F.status, "status")],
    info: " {status:char}",
    effects: ["txStatus"],
    description: "The server is ready for a new query; the transaction status follows.",
  },
  {
    name: "ParameterDescription",
    dir: "B",
    type: "t",
    shape: "typed",
    body: [
      int(F.paramCount, "n"),
      repeat("$n", [int(F.typeOid, "pt"), lookup(F.paramType, "$pt", "types"), remember("ptypes", ["pt"])]),
    ],
    objects: { answerTypes: "ptypes" },
    info: " ({n} parameter{n:s})",
    description: "The parameter types of a prepared statement.",
  },
  empty("EmptyQueryResponse", "B", "I", "The query string was empty."),
  empty("NoData", "B", "n", "The statement or portal returns no rows."),
  empty("ParseComplete", "B", "1", "Parse succeeded."),
  empty("BindComplete", "B", "2", "Bind succeeded."),
  empty("CloseComplete", "B", "3", "Close succeeded."),
  empty("PortalSuspended", "B", "s", "Execute reached its row limit; the portal can be executed again."),
  {
    name: "BackendKeyData",
    dir: "B",
    type: "K",
    shape: "typed",
    maxLength: 264,
    body: [int(F.pid, "pid"), switchOn("$bodylen", [[8, [int(F.key, "key")]]], [bytes(F.keyData, "rest", "key")])],
    info: " pid={pid}",
    cancelKey: "register",
    description: "The process ID and secret key that a CancelRequest needs (key: 4 bytes in 3.0, up to 256 in 3.2).",
  },
  {
    name: "NegotiateProtocolVersion",
    dir: "B",
    phases: ["auth"],
    type: "v",
    shape: "typed",
    body: [
      int(F.versionSupported, "version"),
      int(F.nonsupportedCount, "n"),
      repeat("$n", [str(F.nonsupportedOption)]),
    ],
    description: "The server does not support the requested minor version or protocol options.",
  },
];

export const functionCall: MessageDef[] = [
  {
    name: "FunctionCall",
    request: ["ReadyForQuery"],
    dir: "F",
    type: "F",
    shape: "typed",
    body: [
      int(F.oid, "oid"),
      int(F.paramFormatCount, "nf"),
      repeat("$nf", [int(F.format)]),
      int(F.paramCount, "np"),
      repeat("$np", value, "Argument"),
      int(F.format),
    ],
    info: " oid={oid}",
    description: "Calls a function by OID (the legacy fast-path interface).",
  },
  {
    name: "FunctionCallResponse",
    dir: "B",
    type: "V",
    shape: "typed",
    body: value,
    description: "The result of a FunctionCall.",
  },
];
