// The lecture's session: connect as `app` (MD5 auth), SELECT * FROM employees, end.
// Usage: node captures/clients/seed.mjs [password]   (or SEED_PASSWORD=... node ...)
// Connection: PGHOST_CAPTURE (default 127.0.0.1), PGPORT_CAPTURE (default 5432).
// Exits 0 on success, 1 when the connection or query fails (capture 2 expects that).
import { appClient } from "./app.mjs";

const client = appClient("seed.mjs", "SEED_PASSWORD");

try {
  await client.connect();
  const res = await client.query("SELECT * FROM employees");
  console.log(`${res.rowCount} rows`);
  for (const row of res.rows) console.log(row);
  await client.end(); // sends Terminate ('X'), then the socket is closed (FIN)
} catch (err) {
  console.error(`error: ${err.severity ?? ""} ${err.code ?? ""} ${err.message}`);
  process.exitCode = 1;
}
