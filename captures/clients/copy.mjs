// COPY in every format the protocol carries, both directions, with the data cut into CopyData
// messages at awkward places, written with node `pg`'s own connection once it has logged in:
//   1. CSV in with a header line and options (delimiter ';', NULL 'NULL'): quoted fields holding the
//      delimiter, a newline and doubled quotes, an empty quoted string, NULL; sent in 7-byte chunks;
//   2. CSV out with a header line, every field quoted;
//   3. text in with backslash escapes (tab, newline, backslash, octal, hex, \N), rows split across
//      chunks and a row ending exactly at a chunk's end;
//   4. text out of a column list;
//   5. binary out (PGCOPY signature, flags, tuples of fields with lengths, the -1 trailer);
//   6. binary in, the bytes of step 5 sent back in 5-byte chunks;
//   7. CSV in with the old keyword syntax (CSV DELIMITER AS '|' NULL AS '-');
//   8. rows that start with the type bytes of pgoutput and replication messages (B, I, U, w, k).
// Usage: node captures/clients/copy.mjs PASSWORD   (or APP_PASSWORD=...)
import { appClient } from "./app.mjs";
import { rawConnection } from "./raw.mjs";

const client = appClient("copy.mjs", "APP_PASSWORD");
await client.connect();
const { con, until, show } = rawConnection(client);

/** Sends data as CopyData messages of at most `size` bytes each, then CopyDone. */
function sendChunks(data, size) {
  for (let i = 0; i < data.length; i += size) con.sendCopyFromChunk(data.subarray(i, i + size));
  con.endCopyFrom();
}

con.query("CREATE TEMP TABLE c (id int, name text, note text, amount numeric(8, 2))");
show("create", await until("readyForQuery"));

// 1. CSV in: header, options, quoting, NULL, in 7-byte chunks (rows and quoted fields split).
con.query("COPY c (id, name, note, amount) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NULL')");
show("csv in", await until("copyInResponse"));
sendChunks(
  Buffer.from('id;name;note;amount\n1;"semi;colon";"two\nlines";1.50\n2;"say ""hi""";"";NULL\n3;plain;NULL;-2\n'),
  7,
);
show("csv in data", await until("readyForQuery"));

// 2. CSV out with a header, every field quoted.
con.query("COPY c TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)");
show("csv out", await until("readyForQuery"));

// 3. Text in with escapes; the second chunk ends a row exactly, the others split rows.
con.query("COPY c (id, name, note) FROM STDIN");
show("text in", await until("copyInResponse"));
con.sendCopyFromChunk(Buffer.from("4\ttab\\there\tback\\\\slash\n5\tnew\\nline\t\\N\n6\toc"));
con.sendCopyFromChunk(Buffer.from("tal \\101 hex \\x42\t"));
con.sendCopyFromChunk(Buffer.from("\\N\n"));
con.endCopyFrom();
show("text in data", await until("readyForQuery"));

// 4. Text out of a column list.
con.query("COPY c (id, name) TO STDOUT");
show("text out", await until("readyForQuery"));

// 5. Binary out; its bytes are kept for step 6.
con.query("COPY (SELECT id, name, amount FROM c WHERE id <= 3 ORDER BY id) TO STDOUT (FORMAT binary)");
const out = await until("readyForQuery");
show("binary out", out);
const binary = Buffer.concat(out.filter((m) => m.name === "copyData").map((m) => m.chunk));

// 6. Binary in: the same bytes back, in 5-byte chunks.
con.query("CREATE TEMP TABLE b (id int, name text, amount numeric(8, 2))");
show("create", await until("readyForQuery"));
con.query("COPY b FROM STDIN WITH (FORMAT binary)");
show("binary in", await until("copyInResponse"));
sendChunks(binary, 5);
show("binary in data", await until("readyForQuery"));

// 7. The old keyword syntax.
con.query("COPY c (id, note) FROM STDIN CSV DELIMITER AS '|' NULL AS '-'");
show("old syntax", await until("copyInResponse"));
sendChunks(Buffer.from('7|"a|b"\n8|-\n'), 64);
show("old syntax data", await until("readyForQuery"));

// 8. Rows that start with pgoutput's and replication's type bytes (B, I, U, w, k): COPY data, in
// and out, never replication messages.
con.query("COPY c (name, id) FROM STDIN");
show("look-alike rows", await until("copyInResponse"));
sendChunks(Buffer.from("Begin\t10\nInsert\t11\nUpdate\t12\nwal\t13\nkeep\t14\n"), 64);
show("look-alike rows data", await until("readyForQuery"));
con.query("COPY (SELECT name FROM c WHERE id >= 10 ORDER BY id) TO STDOUT");
show("look-alike rows out", await until("readyForQuery"));

con.query("SELECT count(*) AS rows FROM c");
show("count", await until("readyForQuery"));
await client.end();
