// Requests that do not end well, for what `pgwire explain` and `stats` say of them
// (node-failures.pcapng), on two connections as `app`:
// 1. One pipeline step of two statements and one Sync, written without waiting: the first
//    statement's Bind fails (22P02, 'abc' is no integer), so its Execute never runs and the server
//    skips the second statement until the Sync; a second step after that Sync runs normally.
// 2. `SELECT pg_sleep(10)` as a simple Query, ended 1.5 s later by pg_terminate_backend() from a
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

// 1. The failing step and the one after it, in one go.
con.parse({ text: "SELECT $1::int AS n", types: [] });
con.bind({ values: ["abc"] });
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
show("pipeline step with an error at Bind", await until("readyForQuery", 5000));
show("the step after its Sync", await until("readyForQuery", 5000));

// 2. A query the server ends from another session.
con.query("SELECT pg_sleep(10)");
const b = appClient("failures.mjs", "APP_PASSWORD");
await b.connect();
await new Promise((resolve) => setTimeout(resolve, 1500));
const killed = (await b.query("SELECT pg_terminate_backend($1) AS killed", [pid])).rows[0].killed;
show(`pg_terminate_backend(${pid}) = ${killed}`, await until("error", 5000));
await b.end();
// Let the server's FIN arrive before the script exits.
await new Promise((resolve) => setTimeout(resolve, 300));
process.exit(0);
