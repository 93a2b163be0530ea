// `pgwire log` against a real PostgreSQL 15 server's own log: the server logs with
// log_min_duration_statement = 0, log_connections, log_disconnections and verbose errors while
// dumpcap captures its loopback traffic; node's pg runs simple queries, extended ones with
// parameters (unnamed and named statements), a failing query and a failing bind, and a physical
// and a logical replication connection. The log pgwire
// writes from the capture has the server's lines for those sessions, line for line, apart from
// what the wire does not carry: the times and durations (the wire's own), and the LOCATION of the
// server's LOG lines.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ServerLog } from "../../src/analysis/serverlog.ts";
import { readCaptureBatches } from "../../src/capture/pcap.ts";
import { decodeSteps, type Step } from "../../src/pipeline.ts";
import { startServer } from "../helpers/pgserver.ts";
import { AS_ROOT, missing } from "../helpers/tools.ts";
import { pgwire, ROOT } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "pgwire-log-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LOGGING = [
  "log_min_duration_statement=0",
  "log_connections=on",
  "log_disconnections=on",
  "log_error_verbosity=verbose",
  "log_line_prefix='%m [%p] %q%u@%d '",
  // Every format at once, each in its own file under the data directory's log/.
  "logging_collector=on",
  "log_destination=stderr,csvlog,jsonlog",
  "log_directory=log",
  "log_filename=pg",
];

/** The fields of a csvlog row (RFC 4180 quoting; the rows here have no line breaks). */
function csvRow(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

// csvlog's columns (PostgreSQL 15) that the wire carries, by index: user, database, pid,
// connection_from, session_line_num, severity, SQLSTATE, message, detail, hint, internal query and
// position, context, query, query position, location (of errors), application, backend type.
const CSV_COMPARED = [1, 2, 3, 4, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
// jsonlog's keys the same way (func_name, file_name, file_line_num: of errors only).
const JSON_COMPARED = [
  "user",
  "dbname",
  "pid",
  "remote_host",
  "remote_port",
  "line_num",
  "error_severity",
  "state_code",
  "message",
  "detail",
  "hint",
  "internal_query",
  "internal_position",
  "context",
  "statement",
  "cursor_position",
  "func_name",
  "file_name",
  "file_line_num",
  "application_name",
  "backend_type",
];
/** A text without the durations and session time in it (the wire's, not the server's). */
function withoutTimes(text: string): string {
  return text
    .replace(/duration: \d+\.\d{3} ms/, "duration: D ms")
    .replace(/session time: \d+:\d\d:\d\d\.\d{3}/, "session time: T");
}

/** A csvlog or jsonlog value the same way. */
const DURATIONS = (v: unknown) => (typeof v === "string" ? withoutTimes(v) : v);

/** A stderr line without its timestamp (%m: three words), its durations and session time. */
function normal(line: string): string {
  return withoutTimes(line.split(" ").slice(3).join(" "));
}

describe.skipIf(!AS_ROOT || missing(["postgresql", "dumpcap"], "pgwire log against a live server's log"))(
  "pgwire log against the server's own log",
  { timeout: 60_000 },
  () => {
    it("has the server's lines for the captured sessions, but the wire's times", async () => {
      const server = await startServer(LOGGING);
      const capture = join(tmp, "session.pcapng");
      let serverLog = "";
      let serverCsv = "";
      let serverJson = "";
      try {
        const dumpcap = execa("dumpcap", ["-q", "-i", "lo", "-f", `tcp port ${server.port}`, "-w", capture], {
          reject: false,
        });
        // dumpcap says where it writes once it captures.
        await new Promise<void>((resolve) => {
          dumpcap.stderr?.on("data", (d: Buffer) => {
            if (d.toString().includes("File:")) resolve();
          });
        });
        const cfg = { host: "127.0.0.1", port: server.port, user: "postgres", database: "postgres" };
        const psqlLike = new pg.Client({ ...cfg, application_name: "psql" });
        await psqlLike.connect();
        await psqlLike.query("create table t (a int)");
        await psqlLike.query("insert into t values (1), (2)");
        await psqlLike.query("select * from t");
        await psqlLike.query("select * from nosuch").catch(() => {});
        await psqlLike.end();
        const app = new pg.Client(cfg);
        await app.connect();
        await app.query("select $1::int + 1 as x", [41]);
        await app.query({ name: "s1", text: "select a from t where a > $1", values: [1] });
        await app.query("select $1::text as t, $2::int as n", ["it's", null]);
        await app.query("select $1::int / 0", [1]).catch(() => {});
        await app.end();
        // Walsenders: a physical and a logical replication connection, whose replication
        // commands the server does not log as statements.
        for (const replication of [true, "database"] as const) {
          // (replication: a startup parameter pg passes on, which its types do not list.)
          const wal = new pg.Client({ ...cfg, replication, application_name: `wal-${replication}` } as pg.ClientConfig);
          await wal.connect();
          await wal.query("IDENTIFY_SYSTEM");
          await wal.end();
        }
        await new Promise((r) => setTimeout(r, 500));
        dumpcap.kill("SIGTERM");
        await dumpcap;
        // The collector writes what it is sent a moment later.
        await new Promise((r) => setTimeout(r, 500));
        serverLog = readFileSync(join(server.data, "log", "pg"), "utf8");
        serverCsv = readFileSync(join(server.data, "log", "pg.csv"), "utf8");
        serverJson = readFileSync(join(server.data, "log", "pg.json"), "utf8");
      } finally {
        server.stop();
      }
      const r = await pgwire(["log", "--port", String(server.port), capture]);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      const ours = r.stdout.split("\n").filter(Boolean);
      // The sessions' pids, from our log; the server's lines of those pids, without the LOCATION
      // of its LOG lines (the source of its own logging, which it does not send).
      const pids = new Set(ours.map((l) => /^\S+ \S+ \S+ \[(\d+)\]/.exec(l)?.[1]));
      expect(pids.size).toBe(4);
      const theirs: string[] = [];
      let lastLevel = "";
      for (const l of serverLog.split("\n")) {
        const m = /^\S+ \S+ \S+ \[(\d+)\] \S+ ([A-Z]+):/.exec(l);
        if (!m || !pids.has(m[1])) continue;
        if (m[2] === "LOCATION" && lastLevel === "LOG") continue;
        if (m[2] !== "LOCATION" && m[2] !== "DETAIL" && m[2] !== "STATEMENT") lastLevel = m[2];
        theirs.push(l);
      }
      expect(theirs.length).toBeGreaterThan(20);
      expect(ours.map(normal)).toEqual(theirs.map(normal));
      // The times are the capture's: within a second of the server's own.
      const t = (l: string) => Date.parse(`${l.split(" ").slice(0, 2).join("T")}Z`);
      for (let i = 0; i < ours.length; i++) expect(Math.abs(t(ours[i]) - t(theirs[i]))).toBeLessThan(1000);

      // csvlog: the same rows, column by column where the wire carries the column (a LOG row's
      // location is the server's own source).
      const csv = await pgwire(["log", "--format", "csvlog", "--port", String(server.port), capture]);
      expect(csv.exitCode).toBe(0);
      const pick = (row: string[]) => CSV_COMPARED.map((i) => (i === 21 && row[11] === "LOG" ? "" : DURATIONS(row[i])));
      const ourRows = csv.stdout.split("\n").filter(Boolean).map(csvRow);
      const theirRows = serverCsv
        .split("\n")
        .filter(Boolean)
        .map(csvRow)
        .filter((r) => pids.has(r[3]));
      expect(ourRows.length).toBeGreaterThan(15);
      expect(ourRows.map(pick)).toEqual(theirRows.map(pick));

      // jsonlog: the same objects, key by key where the wire carries the key.
      const json = await pgwire(["log", "--format", "jsonlog", "--port", String(server.port), capture]);
      expect(json.exitCode).toBe(0);
      const keep = (o: Record<string, unknown>) =>
        Object.fromEntries(
          JSON_COMPARED.filter((k) => o[k] !== undefined)
            .filter((k) => !(o.error_severity === "LOG" && k.startsWith("f")))
            .map((k) => [k, DURATIONS(o[k])]),
        );
      const ourObjects = json.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const theirObjects = serverJson
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((o) => pids.has(String(o.pid)));
      expect(ourObjects.length).toBe(ourRows.length);
      expect(ourObjects.map(keep)).toEqual(theirObjects.map(keep));
    });
  },
);

describe("pgwire log on the fixtures", () => {
  it("ends a session after the messages of the packet that closes it", async () => {
    // seed-wrong-password's FATAL (frame 9) and the server's FIN (frame 10), as if they came in
    // one packet: the FATAL is still the session's, then the session ends.
    const steps: Step[] = [];
    for await (const s of decodeSteps(readCaptureBatches(join(ROOT, "captures", "seed-wrong-password.pcapng"))))
      steps.push(s);
    const fatal = steps.find((s) => s.frame === 9) as Step;
    const fin = steps.find((s) => s.frame === 10) as Step;
    expect(fin.events.map((e) => e.kind)).toEqual(["fin"]);
    const run = (list: readonly Step[]) => {
      const lines: string[] = [];
      const log = new ServerLog((l) => lines.push(l));
      for (const s of list) log.step(s);
      log.end();
      return lines;
    };
    const apart = run(steps);
    const merged = run(
      steps.filter((s) => s !== fin).map((s) => (s === fatal ? { ...s, events: [...s.events, ...fin.events] } : s)),
    );
    expect(apart).toHaveLength(3);
    expect(merged).toEqual(apart);
  });

  it("writes the seed's session, and says so in one line when there is none to write", async () => {
    const seed = await pgwire(["log", "captures/seed-wrong-password.pcapng"]);
    expect(seed.exitCode).toBe(0);
    // The login fails before BackendKeyData: its client port for a pid, and no disconnection line
    // (as the server).
    expect(seed.stdout.split("\n").map((l) => l.split(" ").slice(3).join(" "))).toEqual([
      "[52416] [unknown]@[unknown] LOG:  00000: connection received: host=127.0.0.1 port=52416",
      '[52416] app@company FATAL:  28P01: password authentication failed for user "app"',
      "[52416] app@company LOCATION:  auth_failed, auth.c:334",
    ]);
    const tls = await pgwire(["log", "captures/tls-keylog.pcapng"]);
    expect(tls.exitCode).toBe(3);
    expect(tls.stderr).toBe(
      "pgwire: no PostgreSQL session in captures/tls-keylog.pcapng (server ports 5432; try --port, or --keylog for TLS)",
    );
    const keys = await pgwire(["log", "--keylog", "captures/tls-keylog.keys", "captures/tls-keylog.pcapng"]);
    expect(keys.exitCode).toBe(0);
    // With its TLS session as PostgreSQL 15 logs it (checked against a real server by hand: the
    // same line, "SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)").
    expect(keys.stdout).toMatch(
      / app@company LOG: {2}00000: connection authorized: user=app database=company SSL enabled \(protocol=TLSv1\.3, cipher=TLS_AES_256_GCM_SHA384, bits=256\)$/m,
    );
  });
});

/** Real captures whose log pgBadger reads (replication and TLS ones aside: no statements to count there). */
const BADGER_CAPTURES = [
  "seed-md5",
  "seed-wrong-password",
  "psql-cancel",
  "psql-scram",
  "node-failures",
  "node-extended",
  "node-protocol",
  "node-binary",
  "node-copy",
  "pgbench-extended",
  "pgbench-prepared",
  "pgbench-pipeline",
];
const BADGER_FORMATS = ["stderr", "csvlog", "jsonlog"] as const;
/** A prefix with %e, so that pgBadger reads each error's SQLSTATE. */
const BADGER_PREFIX = "%m [%p] %e %q%u@%d ";

interface BadgerReport {
  overall_stat: Record<string, { queries_number?: number }>;
  database_info: Record<string, Record<string, { duration?: number }>>;
  error_info: Record<string, Record<string, { count: number; sqlstate: Array<string | null> }>>;
  connection_info: Record<string, { database_user?: Record<string, Record<string, number>> }>;
}

interface StatsReport {
  queries: Array<{ answered: number; total: number }>;
  errors: Array<{ code: string; count: number }>;
  connections: Array<{ user?: string; database?: string; messages: Record<string, unknown> }>;
}

describe.skipIf(missing("pgbadger", "pgwire log read by pgBadger"))(
  "pgwire log read by pgBadger",
  { concurrent: true },
  () => {
    const cases = BADGER_CAPTURES.flatMap((name) => BADGER_FORMATS.map((f) => [name, f] as const));
    it.each(cases)("%s, %s: pgBadger counts what pgwire stats counts", async (name, format) => {
      const capture = `captures/${name}.pcapng`;
      const prefix = format === "stderr" ? ["--prefix", BADGER_PREFIX] : [];
      const log = await pgwire(["log", "--format", format, ...prefix, capture]);
      expect(log.exitCode).toBe(0);
      const logFile = join(tmp, `${name}.${format}`);
      const json = join(tmp, `${name}.${format}.json`);
      writeFileSync(logFile, log.stdout);
      // Its own pid file each: pgBadger refuses to run beside another one that shares it.
      const args = ["-q", "--pid-dir", tmp, "--pid-file", `${name}.${format}.pid`, ...prefix];
      const badgerFormat = { stderr: "stderr", csvlog: "csv", jsonlog: "jsonlog" }[format];
      await execa("pgbadger", [...args, "-f", badgerFormat, "-x", "json", "-o", json, logFile]);
      const b = JSON.parse(readFileSync(json, "utf8")) as BadgerReport;
      const s = JSON.parse((await pgwire(["stats", "--json", capture])).stdout) as StatsReport;
      // Queries: pgBadger's count and total duration (ms) are stats' answered requests and their time.
      const answered = s.queries.reduce((n, q) => n + q.answered, 0);
      const total = s.queries.reduce((n, q) => n + q.total, 0) * 1000;
      const badgerTotal = Object.values(b.database_info)
        .flatMap((d) => Object.values(d))
        .reduce((n, d) => n + (d.duration ?? 0), 0);
      expect(Object.values(b.overall_stat).reduce((n, o) => n + (o.queries_number ?? 0), 0)).toBe(answered);
      // Each logged duration has three decimals of a millisecond.
      expect(Math.abs(badgerTotal - total)).toBeLessThanOrEqual(0.0005 * answered + 1e-9);
      // Errors by SQLSTATE (pgBadger keeps no SQLSTATE from a csvlog: there, their number).
      const badgerErrors: Record<string, number> = {};
      for (const e of Object.values(b.error_info).flatMap((x) => Object.values(x))) {
        const code = format === "csvlog" ? "all" : (e.sqlstate.find((x) => x !== null) ?? "?");
        badgerErrors[code] = (badgerErrors[code] ?? 0) + e.count;
      }
      const statsErrors =
        format === "csvlog" && s.errors.length > 0
          ? { all: s.errors.reduce((n, e) => n + e.count, 0) }
          : Object.fromEntries(s.errors.map((e) => [e.code, e.count]));
      expect(badgerErrors).toEqual(statsErrors);
      // Connections per database and user: those that logged in (connection authorized).
      const badgerConns: Record<string, number> = {};
      for (const c of Object.values(b.connection_info))
        for (const [db, users] of Object.entries(c.database_user ?? {}))
          for (const [user, n] of Object.entries(users)) badgerConns[`${user}@${db}`] = n;
      const statsConns: Record<string, number> = {};
      for (const c of s.connections.filter((x) => x.messages.AuthenticationOk !== undefined)) {
        const key = `${c.user}@${c.database}`;
        statsConns[key] = (statsConns[key] ?? 0) + 1;
      }
      expect(badgerConns).toEqual(statsConns);
      expect(answered + s.errors.length + Object.keys(statsConns).length).toBeGreaterThan(0);
    });
  },
);
