// Requests that do not end well, for what `pgwire explain` and `stats` say of them
// (node-failures.pcapng), on two connections as `app`:
// 1. One pipeline step of two statements and one Sync: the first statement's Bind fails (22P02,
//    'abc' is no integer) and its error comes back before the client sends that statement's
//    Execute (the script waits for it, so that the capture always shows this order); the server
//    skips the rest of the step until the Sync; a second step after that Sync runs normally.
// 2. Errors with more fields, as simple Queries: a duplicate key (DETAIL, schema, table,
//    constraint) and an unknown function (HINT, position).
// 3. `SELECT pg_sleep(10)` as a simple Query, ended 1.5 s later by pg_terminate_backend() from a
//    second connection: the first one gets FATAL 57P01 and the server closes it.
// Usage: node captures/clients/failures.mjs PASSWORD   (or APP_PASSWORD=...)
import { appClient } from "./app.mjs";
import { rawConnection } from "./raw.mjs";

const a = appClient("failures.mjs", "APP_PASSWORD");
a.on("error", () => {}); // the server ends this connection on purpose (step 2)
await a.connect();
const pid = (await a.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;

// From here on this script reads the server's messages itself: pg.Client must not see them.
const { con, until, show } = rawConnection(a);

// 1. The failing step and the one after it.
con.parse({ text: "SELECT $1::int AS n", types: [] });
con.bind({ values: ["abc"] });
show("Parse and a Bind that fails", await until("error", 5000));
con.describe({ type: "P", name: "" });
con.execute({ portal: "", rows: 0 });
con.parse({ text: "SELECT 2 AS two", types: [] });
con.bind({ values: [] });
con.describe({ type: "P", name: "" });
con.execute({ portal: "", rows: 0 });
con.sync();
con.parse({ text: "SELECT 3 AS three", types: [] });
con.bind({ values: [] });
con.describe({ type: "P", name: "" });
con.execute({ portal: "", rows: 0 });
con.sync();
show("the rest of the step, skipped until Sync", await until("readyForQuery", 5000));
show("the step after its Sync", await until("readyForQuery", 5000));

// 2. Errors that say more.
con.query("INSERT INTO employees (id, name) VALUES (1, 'Duplicate')");
show("duplicate key", await until("readyForQuery", 5000));
con.query("SELECT no_such_function(1)");
show("unknown function", await until("readyForQuery", 5000));

// 3. A query the server ends from another session.
con.query("SELECT pg_sleep(10)");
const b = appClient("failures.mjs", "APP_PASSWORD");
b.on("error", () => {}); // it closes its socket itself, below
await b.connect();
await new Promise((resolve) => setTimeout(resolve, 1500));
const killed = (await b.query("SELECT pg_terminate_backend($1) AS killed", [pid])).rows[0].killed;
show(`pg_terminate_backend(${pid}) = ${killed}`, await until("error", 5000));
// Terminate, then let the server close first (its backend exits) and close after it: a client
// FIN sent while the backend is exiting is often acknowledged late on loopback and retransmitted,
// which check.sh rightly counts as a retransmission.
const sock = b.connection.stream;
const closed = new Promise((resolve) => sock.once("close", resolve));
sock.write(Buffer.from([0x58, 0, 0, 0, 4]));
await closed;
// Let the server's FIN arrive before the script exits.
await new Promise((resolve) => setTimeout(resolve, 300));
process.exit(0);
