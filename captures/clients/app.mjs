// What the recording clients share: the password from argv or an environment variable, and a node
// `pg` client for user `app` on database `company` (PGHOST_CAPTURE, PGPORT_CAPTURE; default
// 127.0.0.1:5432). `extra` adds client options (ssl, ...).
import pg from "pg";

export function appClient(script, envName, extra = {}) {
  const password = process.argv[2] ?? process.env[envName];
  if (password === undefined) {
    console.error(`usage: node ${script} PASSWORD (or set ${envName})`);
    process.exit(2);
  }
  return new pg.Client({
    host: process.env.PGHOST_CAPTURE ?? "127.0.0.1",
    port: Number(process.env.PGPORT_CAPTURE ?? 5432),
    user: "app",
    password,
    database: "company",
    ...extra,
  });
}
