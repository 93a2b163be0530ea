// Extended query protocol with node `pg`: parameterised queries (Parse/Bind/Describe/Execute/Sync),
// a named prepared statement used twice (second use: no Parse), a NULL parameter, errors inside
// the extended protocol (one at Parse, one at Execute), rowMode 'array', and binary results.
// Usage: node captures/clients/extended.mjs PASSWORD   (or APP_PASSWORD=...)
import { appClient } from "./app.mjs";

const client = appClient("extended.mjs", "APP_PASSWORD");

async function expectError(what, config) {
  try {
    await client.query(config);
    throw new Error(`${what}: expected an error`);
  } catch (err) {
    if (!err.code) throw err;
    console.log(`${what}: ${err.code} ${err.message}`);
  }
}

await client.connect();

// Unnamed statement with two parameters.
let res = await client.query("SELECT id, name, title FROM employees WHERE salary > $1 AND hired < $2 ORDER BY id", [
  "60000",
  "2022-01-01",
]);
console.log("salary filter:", res.rows);

// Named prepared statement, used twice: Parse is sent only the first time.
const byId = { name: "emp_by_id", text: "SELECT name, title, salary FROM employees WHERE id = $1" };
res = await client.query({ ...byId, values: [1] });
console.log("emp_by_id 1:", res.rows);
res = await client.query({ ...byId, values: [3] });
console.log("emp_by_id 3:", res.rows);

// A NULL parameter (Bind parameter length -1).
res = await client.query("SELECT $1::text IS NULL AS is_null, coalesce($1::text, 'default') AS value", [null]);
console.log("null param:", res.rows);

// Error at Parse (unknown table): the server skips to Sync.
await expectError("parse error", { text: "SELECT * FROM no_such_table WHERE id = $1", values: [1] });
// Error at Execute (division by zero with a parameter).
await expectError("execute error", { text: "SELECT 1 / $1::int AS q", values: [0] });

// rowMode 'array' (no wire difference, but a distinct client mode).
res = await client.query({
  text: "SELECT id, name, hired FROM employees WHERE title = $1 ORDER BY id",
  values: ["Engineer"],
  rowMode: "array",
});
console.log("rowMode array:", res.rows);

// Binary result format (Bind result-format code 1).
res = await client.query({ text: "SELECT id, salary, hired FROM employees WHERE id = $1", values: [2], binary: true });
console.log("binary:", res.rows.length, "row(s)");

// An INSERT with parameters inside a transaction that is rolled back (data stays fixed).
await client.query("BEGIN");
res = await client.query("INSERT INTO employees (name, title, salary, hired) VALUES ($1, $2, $3, $4) RETURNING id", [
  "Temp Worker",
  "Contractor",
  "12345.67",
  "2024-02-29",
]);
console.log("inserted id:", res.rows[0].id);
await client.query("ROLLBACK");

await client.end();
