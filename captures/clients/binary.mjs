// Binary results with node `pg`: `binary: true` asks for result format 1 (binary) for every column
// in Bind, so the server's RowDescription (answer to Describe portal) says format 1 and the DataRows
// carry binary values. Queries without parameters need `queryMode: 'extended'`: otherwise node `pg`
// sends them as a simple Query, whose results are always text.
// Usage: node captures/clients/binary.mjs PASSWORD   (or APP_PASSWORD=...)
import { appClient } from "./app.mjs";

const client = appClient("binary.mjs", "APP_PASSWORD");

// Only the wire matters here. node `pg` 8 reads every DataRow value as a UTF-8 string, even binary
// ones, so bytes that are not valid UTF-8 are lost before pg-types' binary parsers see them (float8,
// numeric, uuid, bytea... come out wrong): the script prints the column formats and row counts only.
await client.connect();

// The lecture's query, with binary results: int4, text, text, numeric, date.
let res = await client.query({ text: "SELECT * FROM employees", binary: true, queryMode: "extended" });
console.log(`employees: ${res.rowCount} rows, formats ${res.fields.map((f) => f.format).join(",")}`);

// One row of literals, one column per type (and a NULL: length -1 in text and binary alike).
res = await client.query({
  text: `SELECT 42::int2 AS i2, 9007199254740993::int8 AS i8, -1.5::float8 AS f8, 12345.678::numeric AS num,
  true AS b, DATE '2024-02-29' AS d, TIMESTAMPTZ '2024-02-29 12:34:56.789+00' AS tstz,
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '\\xdeadbeef'::bytea AS bytes,
  ARRAY['a', 'b c', NULL]::text[] AS arr, NULL::int4 AS nothing`,
  binary: true,
  queryMode: "extended",
});
console.log(`literals: ${res.rowCount} row, formats ${res.fields.map((f) => f.format).join(",")}`);

await client.end();
