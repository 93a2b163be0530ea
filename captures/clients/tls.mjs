// TLS session with node `pg`: SSLRequest, server answers 'S', TLS handshake, then the usual startup
// and one query inside TLS. Run with NODE_OPTIONS=--tls-keylog=FILE so Wireshark can decrypt it.
// Usage: node captures/clients/tls.mjs PASSWORD [TLSv1.2|TLSv1.3]
import { appClient } from "./app.mjs";

const tlsVersion = process.argv[3] ?? process.env.CAPTURE_TLS_VERSION ?? "TLSv1.3";
const client = appClient("tls.mjs", "APP_PASSWORD", {
  // Self-signed server certificate: no verification. ecdhCurve P-256 is the curve PostgreSQL 15
  // uses by default (ssl_ecdh_curve = prime256v1), so the TLS 1.3 handshake needs no
  // HelloRetryRequest (node would otherwise offer an X25519 key share first).
  ssl: { rejectUnauthorized: false, minVersion: tlsVersion, maxVersion: tlsVersion, ecdhCurve: "P-256" },
});

await client.connect();
const res = await client.query("SELECT id, name, title FROM employees ORDER BY id LIMIT 3");
console.log(`${res.rowCount} rows over ${client.connection.stream.getProtocol?.() ?? "TLS"}`);
for (const row of res.rows) console.log(row);
await client.end();
