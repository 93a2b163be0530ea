// Logical replication with pgoutput, as a subscriber's walsender connection speaks it, written with
// node `pg`'s own connection once it has logged in (replication=database): three sessions, one per
// pgoutput protocol version PostgreSQL 15 has, each with its own slot and the changes made for it
// on an ordinary connection (app) after the slot exists and before START_REPLICATION:
//   v1 (messages, binary): Relation, Type (an enum column), Insert with NULLs and a TOASTed value,
//       Update with and without a key change, with the TOASTed value unchanged ('u'), Delete,
//       REPLICA IDENTITY FULL (old rows 'O'), logical decoding messages, Truncate with options,
//       Origin (a transaction replicated from another origin);
//   v2 (streaming, logical_decoding_work_mem is 64 kB): a large transaction streamed in blocks then
//       committed (Stream Start/Stop/Commit), one rolled back (Stream Abort), one with a savepoint
//       rolled back inside a streamed transaction (Stream Abort of a subtransaction);
//   v3 (two_phase, streaming): PREPARE TRANSACTION then COMMIT PREPARED and ROLLBACK PREPARED, and
//       a large prepared transaction (Stream Prepare).
// The subscriber answers keepalives with a standby status update and ends each stream with
// CopyDone, then drops its slot.
// Usage: node captures/clients/pgoutput.mjs PASSWORD   (or APP_PASSWORD=...)
import pg from "pg";
import { appClient } from "./app.mjs";
import { rawConnection } from "./raw.mjs";

const host = process.env.PGHOST_CAPTURE ?? "127.0.0.1";
const port = Number(process.env.PGPORT_CAPTURE ?? 5432);

const dml = appClient("pgoutput.mjs", "APP_PASSWORD");
dml.on("error", (e) => console.error("app connection:", e.message));
await dml.connect();
await dml.query(`
  SELECT pg_replication_origin_drop('upstream') FROM pg_replication_origin WHERE roname = 'upstream';
  SELECT pg_replication_origin_create('upstream');
  DROP PUBLICATION IF EXISTS pub_demo;
  DROP TABLE IF EXISTS lr_items, lr_full;
  DROP TYPE IF EXISTS mood;
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE lr_items (id int PRIMARY KEY, name text, note text, feel mood, big text, n numeric);
  ALTER TABLE lr_items ALTER COLUMN big SET STORAGE EXTERNAL;
  CREATE TABLE lr_full (k int, v text);
  ALTER TABLE lr_full REPLICA IDENTITY FULL;
  CREATE PUBLICATION pub_demo FOR TABLE lr_items, lr_full`);

const PG_EPOCH_US = 946684800000000n;

/** A standby status update ('r'): written, flushed and applied up to lsn, the client's clock. */
function statusUpdate(lsn) {
  const b = Buffer.alloc(34);
  b.write("r", 0);
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(lsn, 9);
  b.writeBigUInt64BE(lsn, 17);
  b.writeBigInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
  b.writeUInt8(0, 33);
  return b;
}

const lsnOf = (text) => {
  const [hi, lo] = text.split("/");
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

async function session(slot, slotOptions, startOptions, changes) {
  const repl = new pg.Client({ host, port, user: "repl", database: "company", replication: "database" });
  repl.on("error", (e) => console.error("replication connection:", e.message));
  await repl.connect();
  await repl.query(`CREATE_REPLICATION_SLOT ${slot} LOGICAL pgoutput ${slotOptions}`);
  for (const sql of changes) await dml.query(sql);
  const target = lsnOf((await dml.query("SELECT pg_current_wal_lsn() AS l")).rows[0].l);

  // From here on this script reads the server's messages itself: pg.Client must not see them.
  const { con, until } = rawConnection(repl);
  const next = async (names, ms = 15000) => (await until(names, ms)).at(-1);
  con.query(`START_REPLICATION SLOT ${slot} LOGICAL 0/0 (${startOptions})`);
  // The server may send a keepalive past the changes' LSN before it has sent them all: the stream
  // is complete once such a keepalive came and no XLogData followed for half a second.
  let seen = 0;
  let reached = 0n;
  for (;;) {
    const m = await next(["copyData", "error"], reached > 0n ? 500 : 15000).catch((e) => {
      if (reached > 0n) return null;
      throw e;
    });
    if (m === null) break;
    if (m.name === "error") throw new Error(`${slot}: ${m.message}`);
    const kind = String.fromCharCode(m.chunk[0]);
    if (kind === "w") seen++;
    if (kind === "k" && m.chunk.readBigUInt64BE(1) >= target) reached = m.chunk.readBigUInt64BE(1);
  }
  con.sendCopyFromChunk(statusUpdate(reached));
  con.endCopyFrom();
  await next(["readyForQuery"]);
  con.query(`DROP_REPLICATION_SLOT ${slot}`);
  await next(["readyForQuery"]);
  await repl.end();
  console.log(`${slot}: ${seen} XLogData messages`);
}

// A value TOAST keeps out of line: longer than 2 kB, stored EXTERNAL (not compressed).
const big = "x".repeat(3000);

await session("slot_v1", "", `proto_version '1', publication_names '"pub_demo"', messages 'true', binary 'true'`, [
  `INSERT INTO lr_items VALUES (1, 'one', NULL, 'happy', '${big}', 1.5), (2, 'two', 'second', NULL, NULL, NULL),
     (3, 'three', NULL, 'sad', NULL, -7)`,
  "UPDATE lr_items SET name = 'ONE' WHERE id = 1",
  "UPDATE lr_items SET id = 20 WHERE id = 2",
  "DELETE FROM lr_items WHERE id = 3",
  "INSERT INTO lr_full VALUES (1, 'a'), (2, NULL)",
  "UPDATE lr_full SET v = 'b' WHERE k = 1",
  "DELETE FROM lr_full WHERE k = 2",
  "BEGIN; SELECT pg_logical_emit_message(true, 'pgwire', 'in a transaction'); INSERT INTO lr_full VALUES (3, 'c'); COMMIT",
  "SELECT pg_logical_emit_message(false, 'pgwire', 'outside any transaction')",
  "TRUNCATE lr_full RESTART IDENTITY",
  // A transaction replicated from another origin: Begin, then Origin (its name and commit LSN there).
  `BEGIN; SELECT pg_replication_origin_session_setup('upstream');
     SELECT pg_replication_origin_xact_setup('0/1234ABC', '2026-01-01 00:00:00+00');
     INSERT INTO lr_full VALUES (4, 'from upstream'); COMMIT; SELECT pg_replication_origin_session_reset()`,
]);

await session("slot_v2", "", `proto_version '2', publication_names '"pub_demo"', streaming 'on'`, [
  "INSERT INTO lr_full SELECT g, repeat('s', 40) FROM generate_series(1, 700) g",
  "BEGIN; INSERT INTO lr_full SELECT g, repeat('r', 40) FROM generate_series(1, 700) g; ROLLBACK",
  `BEGIN; INSERT INTO lr_full SELECT g, 'kept' FROM generate_series(1, 700) g; SAVEPOINT sp;
     INSERT INTO lr_full SELECT g, 'undone' FROM generate_series(1, 700) g; ROLLBACK TO SAVEPOINT sp;
     INSERT INTO lr_full VALUES (0, 'after'); COMMIT`,
  "TRUNCATE lr_full",
]);

await session(
  "slot_v3",
  "(TWO_PHASE)",
  `proto_version '3', publication_names '"pub_demo"', two_phase 'on', streaming 'on'`,
  [
    "BEGIN; INSERT INTO lr_items VALUES (4, 'four', NULL, 'ok', NULL, 4); PREPARE TRANSACTION 'pgwire_commit'",
    "COMMIT PREPARED 'pgwire_commit'",
    "BEGIN; DELETE FROM lr_items WHERE id = 4; PREPARE TRANSACTION 'pgwire_rollback'",
    "ROLLBACK PREPARED 'pgwire_rollback'",
    "BEGIN; INSERT INTO lr_full SELECT g, repeat('p', 40) FROM generate_series(1, 700) g; PREPARE TRANSACTION 'pgwire_big'",
    "COMMIT PREPARED 'pgwire_big'",
  ],
);

await dml.query(
  "DROP PUBLICATION pub_demo; DROP TABLE lr_items, lr_full; DROP TYPE mood; SELECT pg_replication_origin_drop('upstream')",
);
await dml.end();
