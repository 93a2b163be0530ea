// Message sequences that node `pg`'s query API never sends, written with its own connection and
// serializer (pg-protocol) once pg.Client has logged in: a statement typed by the server
// (Describe 'S' -> ParameterDescription) then bound with binary parameters; two portals of one
// statement bound with different result formats and executed after both Binds; a multi-statement
// Query; COPY data the server drops after an error; COPY TO STDOUT; COPY rows that start with the
// replication messages' type bytes (they stay COPY data); and on a second connection,
// COPY FROM STDIN interrupted by a Query (the server rejects it and closes the connection).
// Usage: node captures/clients/protocol.mjs PASSWORD   (or APP_PASSWORD=...)
import { appClient } from "./app.mjs";
import { rawConnection } from "./raw.mjs";

const client = appClient("protocol.mjs", "APP_PASSWORD");
await client.connect();

// From here on this script reads the server's messages itself: pg.Client must not see them.
const { con, until, show } = rawConnection(client);

const int4 = (n) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int8 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};

// 1. One Query, four statements: four CommandComplete tags before ReadyForQuery.
con.query(
  "CREATE TEMP TABLE items (id int PRIMARY KEY, name text); " +
    "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three'); " +
    "UPDATE items SET name = upper(name) WHERE id < 3; " +
    "SELECT * FROM items ORDER BY id",
);
show("multi-statement query", await until("readyForQuery"));

// 2. A statement without parameter types: the server names them in ParameterDescription.
con.parse({ name: "typed", text: "SELECT $1::int4 + $2::int8 AS sum, upper($3) AS up", types: [] });
con.describe({ type: "S", name: "typed" });
con.sync();
show("parse and describe statement", await until("readyForQuery"));
// Binary parameters (Buffers are sent with format 1): int4 40, int8 2, text.
con.bind({ portal: "", statement: "typed", values: [int4(40), int8(2), Buffer.from("binary text")] });
con.describe({ type: "P", name: "" });
con.execute({ portal: "", rows: 0 });
con.sync();
show("bind binary parameters", await until("readyForQuery"));

// 3. Two portals of one statement, binary and text results, executed after both Binds.
con.parse({ name: "pair", text: "SELECT $1::int4 AS n, ($1::int4 / 2.0)::numeric(10, 2) AS half", types: [23] });
con.describe({ type: "S", name: "pair" });
con.bind({ portal: "a", statement: "pair", values: ["7"], binary: true });
con.bind({ portal: "b", statement: "pair", values: ["8"], binary: false });
con.execute({ portal: "a", rows: 0 });
con.execute({ portal: "b", rows: 0 });
con.sync();
show("two portals", await until("readyForQuery"));

// 4. A bad row: the server leaves COPY with an error and drops the data the client still sends.
con.query("COPY items FROM STDIN");
show("copy in", await until("copyInResponse"));
con.sendCopyFromChunk(Buffer.from("5\tfive\nsix\t6\n"));
show("bad row", await until("readyForQuery"));
con.sendCopyFromChunk(Buffer.from("7\tseven\n"));
con.endCopyFrom();
con.query("SELECT count(*) AS items FROM items");
show("after the dropped copy", await until("readyForQuery"));

// 5. COPY TO STDOUT.
con.query("COPY items TO STDOUT");
show("copy out", await until("readyForQuery"));

// 6. COPY data that starts with 'w', 'k', 'r' and 'h' (the replication messages' type bytes): in
// ordinary COPY it stays COPY data. In, then out.
con.query("COPY items (name, id) FROM STDIN");
show("copy in", await until("copyInResponse"));
con.sendCopyFromChunk(Buffer.from("walrus\t9\n"));
con.sendCopyFromChunk(Buffer.from("kiwi\t10\n"));
con.endCopyFrom();
show("copy in w/k rows", await until("readyForQuery"));
con.query(
  "COPY (SELECT name FROM items WHERE id >= 9 UNION ALL SELECT 'rhubarb' UNION ALL SELECT 'hops' ORDER BY 1 DESC) TO STDOUT",
);
show("copy out w/k/r/h rows", await until("readyForQuery"));

await client.end();

// 7. On a second connection: a Query in the middle of COPY FROM STDIN. The server answers with an
// ErrorResponse, then a FATAL one ("protocol synchronization was lost"), and closes.
const second = appClient("protocol.mjs", "APP_PASSWORD");
await second.connect();
const con2 = second.connection;
for (const ev of ["readyForQuery", "copyInResponse", "commandComplete", "errorMessage", "notice"]) {
  con2.removeAllListeners(ev);
}
second.on("error", () => {});
const errors = [];
con2.on("errorMessage", (m) => errors.push(`${m.severity} ${m.code} ${m.message}`));
const closed = new Promise((resolve) => con2.once("end", resolve));
const copying = new Promise((resolve) => con2.once("copyInResponse", resolve));
con2.query("CREATE TEMP TABLE items (id int, name text); COPY items FROM STDIN");
await copying;
con2.sendCopyFromChunk(Buffer.from("4\tfour\n"));
con2.query("SELECT 1");
await closed;
console.log(`query during copy: ${errors.join("; ")}`);
