// Logical replication with pgoutput: the messages inside XLogData once START_REPLICATION ...
// LOGICAL ... (proto_version 'N', publication_names '...') has started the stream (PostgreSQL's
// "Logical Streaming Replication Protocol" and "Logical Replication Message Formats" pages). Each
// XLogData of such a stream carries one of them after its header; the first byte picks it.
//
// Protocol versions: 1 has Begin, Message, Commit, Origin, Relation, Type, Insert, Update, Delete,
// Truncate; 2 (PostgreSQL 14) adds the streaming messages and the rule that the messages of a
// streamed transaction carry its xid between Stream Start and Stream Stop; 3 (15) adds two-phase
// commit; 4 (16) appends the abort LSN and time to Stream Abort under parallel streaming.

import {
  bytes,
  type Element,
  type FieldDef,
  int,
  type MessageDef,
  optional,
  type PayloadSet,
  pgText,
  relation,
  remember,
  repeat,
  str,
  switchOn,
  tupleColumn,
} from "../dsl.ts";
import { F } from "../fields.ts";

export const pgoutputSet: PayloadSet = {
  name: "pgoutput",
  command: "START_REPLICATION",
  options: ["proto_version", "publication_names"],
  description: "PostgreSQL's logical replication output plugin, as subscriptions use it.",
};

/** An Int64 LSN and its text. */
const lsn = (raw: FieldDef, text: FieldDef, bind?: string): Element[] => [int(raw), pgText(text, 8, "pg_lsn", bind)];

/** An Int64 time (µs since 2000-01-01) and its text as a timestamptz. */
const time = (raw: FieldDef, text: FieldDef): Element[] => [int(raw), pgText(text, 8, "timestamptz")];

/** The xid a message of a streamed transaction carries between Stream Start and Stream Stop. */
const streamedXid: Element = switchOn("$instream", [[1, [int(F.pgoXid, "xid")]]]);

/**
 * TupleData: a column count (bound to n: the old and new tuples of an Update count apart), then
 * each column, named and typed from the relation's columns.
 */
const tupleData = (n: string): Element[] => [
  int(F.pgoTupleColumns, n),
  repeat(`$${n}`, [
    tupleColumn(
      {
        marker: F.pgoColumnKind,
        length: F.valLength,
        data: F.valData,
        name: F.column,
        type: F.colType,
        value: F.colValue,
      },
      { t: 0, b: 1 },
      ["n", "u"],
    ),
  ]),
];

/** The relation a change names, with its OID bound as relid. */
const target: Element[] = [int(F.pgoRelid, "relid"), relation(F.pgoRelation, "$relid", "rel")];

/** The final fields of the two-phase messages: the transaction and its GID. */
const xidGid: Element[] = [int(F.pgoXid, "xid"), str(F.pgoGid, "gid")];

/** The flags, LSNs and time that Prepare and Stream Prepare share. */
const prepareBody: Element[] = [
  int(F.pgoFlags),
  ...lsn(F.pgoPrepareLsn, F.pgoPrepareLsnText, "lsn"),
  ...lsn(F.pgoEndLsn, F.pgoEndLsnText),
  ...time(F.pgoPrepareTime, F.pgoPrepareTimeText),
  ...xidGid,
];

function pgoutput(
  name: string,
  type: string,
  body: Element[],
  extra: Partial<MessageDef> & { description: string; since: string },
): MessageDef {
  return { name, dir: "B", type, shape: "payload", set: "pgoutput", body, ...extra };
}

export const pgoutputMessages: MessageDef[] = [
  pgoutput(
    "Begin",
    "B",
    [...lsn(F.pgoFinalLsn, F.pgoFinalLsnText), ...time(F.pgoCommitTime, F.pgoCommitTimeText), int(F.pgoXid, "xid")],
    { info: " xid={xid}", since: "protocol 1", description: "A transaction begins: its final LSN, commit time, xid." },
  ),
  pgoutput(
    "Message",
    "M",
    [
      streamedXid,
      int(F.pgoMessageFlags),
      ...lsn(F.pgoMessageLsn, F.pgoMessageLsnText),
      str(F.pgoPrefix, "prefix"),
      int(F.pgoContentLength, "n"),
      bytes(F.pgoContent, "$n"),
    ],
    {
      info: " {prefix}",
      since: "protocol 1 (with the messages option)",
      description: "A logical decoding message (pg_logical_emit_message): flags, LSN, prefix, content.",
    },
  ),
  pgoutput(
    "Commit",
    "C",
    [
      int(F.pgoFlags),
      ...lsn(F.pgoCommitLsn, F.pgoCommitLsnText, "lsn"),
      ...lsn(F.pgoEndLsn, F.pgoEndLsnText),
      ...time(F.pgoCommitTime, F.pgoCommitTimeText),
    ],
    { info: " {lsn}", since: "protocol 1", description: "The transaction commits: its commit LSN, end LSN, time." },
  ),
  pgoutput("Origin", "O", [...lsn(F.pgoOriginLsn, F.pgoOriginLsnText), str(F.pgoOrigin, "origin")], {
    info: " {origin}",
    since: "protocol 1",
    description: "The transaction comes from another origin: its commit LSN there, the origin's name.",
  }),
  pgoutput(
    "Relation",
    "R",
    [
      streamedXid,
      int(F.pgoRelid, "relid"),
      str(F.pgoNamespace, "nspname"),
      str(F.pgoRelname, "relname"),
      int(F.pgoReplicaIdentity),
      int(F.pgoColumnCount, "n"),
      repeat(
        "$n",
        [
          int(F.pgoColumnFlags),
          str(F.colName, "attname"),
          int(F.typeOid, "atttypid"),
          int(F.typemod),
          remember("relcols", ["attname", "atttypid"]),
        ],
        "Column",
      ),
    ],
    {
      info: " {nspname}.{relname}",
      effects: ["relation"],
      since: "protocol 1",
      description: "Describes a relation before its first change (and again when it changed): name, identity, columns.",
    },
  ),
  pgoutput("Type", "Y", [streamedXid, int(F.typeOid, "typid"), str(F.pgoNamespace), str(F.pgoTypeName, "typname")], {
    info: " {typname}",
    effects: ["dataType"],
    since: "protocol 1",
    description: "Describes a data type that is not built in, before a relation that uses it.",
  }),
  pgoutput("Insert", "I", [streamedXid, ...target, int(F.pgoTuple), ...tupleData("ncols")], {
    info: " {rel}",
    since: "protocol 1",
    description: "A row inserted: the relation, then the new tuple ('N').",
  }),
  pgoutput(
    "Update",
    "U",
    [
      streamedXid,
      ...target,
      int(F.pgoTuple, "tuple"),
      // The old key ('K') or old row ('O') comes first when the replica identity has it.
      switchOn(
        "$tuple",
        [
          ["K", [...tupleData("oldcols"), int(F.pgoTuple), ...tupleData("ncols")]],
          ["O", [...tupleData("oldcols"), int(F.pgoTuple), ...tupleData("ncols")]],
        ],
        tupleData("ncols"),
      ),
    ],
    {
      info: " {rel}",
      since: "protocol 1",
      description: "A row updated: the relation, the old key ('K') or old row ('O') if sent, then the new tuple ('N').",
    },
  ),
  pgoutput("Delete", "D", [streamedXid, ...target, int(F.pgoTuple), ...tupleData("oldcols")], {
    info: " {rel}",
    since: "protocol 1",
    description: "A row deleted: the relation, then its old key ('K') or old row ('O').",
  }),
  pgoutput(
    "Truncate",
    "T",
    [
      streamedXid,
      int(F.pgoRelationCount, "n"),
      int(F.pgoTruncateOptions),
      repeat("$n", [int(F.pgoRelid, "relid"), relation(F.pgoRelation, "$relid")]),
    ],
    {
      info: " {n} relation{n:s}",
      since: "protocol 1",
      description: "Relations truncated: how many, the options (CASCADE, RESTART IDENTITY), their OIDs.",
    },
  ),
  pgoutput("Stream Start", "S", [int(F.pgoXid, "xid"), int(F.pgoFirstSegment)], {
    info: " xid={xid}",
    effects: ["streamStart"],
    since: "protocol 2",
    description: "A block of a streamed (still running) transaction begins; its changes carry its xid.",
  }),
  pgoutput("Stream Stop", "E", [], {
    effects: ["streamStop"],
    since: "protocol 2",
    description: "The block of the streamed transaction ends.",
  }),
  pgoutput(
    "Stream Commit",
    "c",
    [
      int(F.pgoXid, "xid"),
      int(F.pgoFlags),
      ...lsn(F.pgoCommitLsn, F.pgoCommitLsnText),
      ...lsn(F.pgoEndLsn, F.pgoEndLsnText),
      ...time(F.pgoCommitTime, F.pgoCommitTimeText),
    ],
    { info: " xid={xid}", since: "protocol 2", description: "The streamed transaction commits." },
  ),
  pgoutput(
    "Stream Abort",
    "A",
    [
      int(F.pgoXid, "xid"),
      int(F.pgoSubxid),
      optional([...lsn(F.pgoAbortLsn, F.pgoAbortLsnText), ...time(F.pgoAbortTime, F.pgoAbortTimeText)]),
    ],
    {
      info: " xid={xid}",
      since: "protocol 2 (the abort LSN and time: protocol 4 with parallel streaming)",
      description: "The streamed transaction, or one of its subtransactions, aborts.",
    },
  ),
  pgoutput(
    "Begin Prepare",
    "b",
    [
      ...lsn(F.pgoPrepareLsn, F.pgoPrepareLsnText),
      ...lsn(F.pgoEndLsn, F.pgoEndLsnText),
      ...time(F.pgoPrepareTime, F.pgoPrepareTimeText),
      ...xidGid,
    ],
    { info: " {gid}", since: "protocol 3", description: "A transaction to be prepared (two-phase) begins." },
  ),
  pgoutput("Prepare", "P", prepareBody, {
    info: " {gid}",
    since: "protocol 3",
    description: "The transaction is prepared (PREPARE TRANSACTION).",
  }),
  pgoutput(
    "Commit Prepared",
    "K",
    [
      int(F.pgoFlags),
      ...lsn(F.pgoCommitLsn, F.pgoCommitLsnText),
      ...lsn(F.pgoEndLsn, F.pgoEndLsnText),
      ...time(F.pgoCommitTime, F.pgoCommitTimeText),
      ...xidGid,
    ],
    { info: " {gid}", since: "protocol 3", description: "The prepared transaction commits (COMMIT PREPARED)." },
  ),
  pgoutput(
    "Rollback Prepared",
    "r",
    [
      int(F.pgoFlags),
      ...lsn(F.pgoPrepareEndLsn, F.pgoPrepareEndLsnText),
      ...lsn(F.pgoRollbackEndLsn, F.pgoRollbackEndLsnText),
      ...time(F.pgoPrepareTime, F.pgoPrepareTimeText),
      ...time(F.pgoRollbackTime, F.pgoRollbackTimeText),
      ...xidGid,
    ],
    { info: " {gid}", since: "protocol 3", description: "The prepared transaction rolls back (ROLLBACK PREPARED)." },
  ),
  pgoutput("Stream Prepare", "p", prepareBody, {
    info: " {gid}",
    since: "protocol 3",
    description: "The streamed transaction is prepared.",
  }),
];
