// Tables the spec's lookup elements use, keyed by name. Generated into both decoders.

import { SQLSTATE_CLASSES, SQLSTATES } from "./data/sqlstate.ts";
import { PG_TYPES, typeName } from "./data/types.ts";

export const tables: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  /** SQLSTATE code → condition name (PostgreSQL's errcodes.txt). */
  sqlstate: Object.fromEntries(Object.entries(SQLSTATES).map(([code, s]) => [code, s.name])),
  /** SQLSTATE class (the code's first two characters) → class title. */
  sqlstateClass: SQLSTATE_CLASSES,
  /** Built-in type OID → type name as PostgreSQL writes it (pg_type.dat; arrays as `text[]`). */
  types: Object.fromEntries(Object.keys(PG_TYPES).map((oid) => [oid, typeName(Number(oid))])),
  /**
   * The StartupMessage's `replication` parameter → the kind of replication connection (the
   * walsender's replication option: a boolean, or "database" for logical replication).
   */
  replicationModes: {
    true: "physical",
    on: "physical",
    yes: "physical",
    "1": "physical",
    database: "logical",
  },
  /** The replication commands that are SQL commands too: named only on a replication connection. */
  replicationSqlCommands: { SHOW: "SHOW" },
  /** The replication commands (walsender's grammar, PostgreSQL 15-17), by their first word. */
  replicationCommands: Object.fromEntries(
    [
      "IDENTIFY_SYSTEM",
      "TIMELINE_HISTORY",
      "CREATE_REPLICATION_SLOT",
      "READ_REPLICATION_SLOT",
      "ALTER_REPLICATION_SLOT",
      "DROP_REPLICATION_SLOT",
      "START_REPLICATION",
      "BASE_BACKUP",
      "UPLOAD_MANIFEST",
    ].map((c) => [c, c]),
  ),
};
