// Streaming replication: the messages inside CopyData once START_REPLICATION has switched the
// connection to copy-both (PostgreSQL's "Streaming Replication Protocol" page). They are CopyData
// ('d') variants picked by the first body byte, and only in copy-both: ordinary COPY data that
// happens to start with 'w' or 'k' stays CopyData.

import { int, type MessageDef, payload, pgText } from "../dsl.ts";
import { F } from "../fields.ts";

type FieldOf = (typeof F)[keyof typeof F];

/** An Int64 LSN: the number, and its text as PostgreSQL writes it (0/16B3748). */
const lsn = (raw: FieldOf, text: FieldOf, bind?: string) => [int(raw), pgText(text, 8, "pg_lsn", bind)];

/** An Int64 time in microseconds since 2000-01-01, and its text as a timestamptz. */
const time = [int(F.replTime), pgText(F.replTimeText, 8, "timestamptz")];

function replication(
  name: string,
  dir: "F" | "B",
  type: string,
  body: MessageDef["body"],
  extra: Partial<MessageDef> & { description: string },
) {
  const m: MessageDef = {
    name,
    dir,
    type: "d",
    shape: "typed",
    when: { copyBoth: type },
    body: [int(F.replType), ...body],
    phases: dir === "F" ? ["copyIn", "copyDropped"] : ["copyOut"],
    since: "PostgreSQL 9.0",
    ...extra,
  };
  return m;
}

export const streaming: MessageDef[] = [
  replication(
    "XLogData",
    "B",
    "w",
    [
      ...lsn(F.walStart, F.walStartLsn, "start"),
      ...lsn(F.walEnd, F.walEndLsn),
      ...time,
      payload("pgoutput", F.walData, F.pgoType),
    ],
    {
      info: " {start}",
      description: "WAL data from the server: where it starts, the server's end of WAL, its clock, the bytes.",
    },
  ),
  replication(
    "PrimaryKeepalive",
    "B",
    "k",
    [...lsn(F.walEnd, F.walEndLsn, "end"), ...time, int(F.replyRequested, "reply")],
    {
      fixedLength: 4 + 18,
      info: " {end} reply={reply}",
      description: "The server's keepalive: its end of WAL, its clock, and whether it wants a reply now.",
    },
  ),
  replication(
    "StandbyStatusUpdate",
    "F",
    "r",
    [
      ...lsn(F.written, F.writtenLsn, "written"),
      ...lsn(F.flushed, F.flushedLsn),
      ...lsn(F.applied, F.appliedLsn),
      ...time,
      int(F.replyRequested),
    ],
    {
      fixedLength: 4 + 34,
      info: " written={written}",
      description: "The standby's progress: WAL written, flushed and applied, its clock, reply wanted.",
    },
  ),
  replication(
    "HotStandbyFeedback",
    "F",
    "h",
    [...time, int(F.xmin, "xmin"), int(F.xminEpoch), int(F.catalogXmin), int(F.catalogXminEpoch)],
    {
      fixedLength: 4 + 25,
      since: "PostgreSQL 9.1 (the catalog xmin fields since 10)",
      info: " xmin={xmin}",
      description: "The standby's oldest running transaction, so that the primary keeps the rows it still needs.",
    },
  ),
];
