// `pgwire explain` and `pgwire stats`, run as a user runs them, on the recorded captures. What
// they must say comes from the recordings (captures/manifest.md): who connected, how they
// authenticated, what the server answered.

import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { present } from "../helpers/tools.ts";
import { pgwire, ROOT } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "pgwire-explain-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cap = (name: string) => `captures/${name}`;
/** The story's lines without their time column. */
const lines = (out: string) => out.split("\n").map((l) => l.replace(/^ +\d+\.\d{6} {2}/, ""));

describe("pgwire explain", { timeout: 60_000 }, () => {
  it("tells the seed's session: handshake, no TLS, startup, MD5 and what it exposes, the query, the clean close", async () => {
    const r = await pgwire(["explain", cap("seed-md5.pcapng")]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const l = lines(r.stdout);
    expect(l[0]).toMatch(/^Connection 0: client 127\.0\.0\.1:\d+ → server 127\.0\.0\.1:5432$/);
    expect(
      l.some((x) =>
        /^TCP handshake: the client opens the connection \(SYN, frame 1; SYN\/ACK, frame 2; ACK, frame 3\): round trip \d+ µs \(SYN to SYN\/ACK \d+ µs, SYN\/ACK to ACK \d+ µs\)$/.test(
          x,
        ),
      ),
    ).toBe(true);
    expect(l).toContain("No TLS: the client did not ask for encryption; everything below travels in clear text");
    expect(l.some((x) => /^StartupMessage \(frame 4\): protocol 3\.0, user "app", database "company"/.test(x))).toBe(
      true,
    );
    expect(l).toContain("Authentication: the server asks for MD5 authentication");
    expect(l.some((x) => /^ {2}In clear on the wire: the MD5 salt [0-9a-f]{8}$/.test(x))).toBe(true);
    expect(l.some((x) => /^ {2}In clear on the wire: the MD5 hash md5[0-9a-f]{32} /.test(x))).toBe(true);
    expect(l.some((x) => /^Authentication succeeded \(AuthenticationOk, frame \d+\)$/.test(x))).toBe(true);
    expect(l.some((x) => /^Server parameters: server_version 15\.\d+/.test(x))).toBe(true);
    expect(l.some((x) => /^Query: SELECT \* FROM employees → 5 rows, SELECT 5, [\d.]+ (µs|ms)$/.test(x))).toBe(true);
    expect(l.some((x) => /^The client ends the session \(Terminate, frame \d+\), then the client closes/.test(x))).toBe(
      true,
    );
    expect(r.stdout).toMatch(/^Findings \(1\):\n {2}1 × MD5 password hash sent without TLS/m);
    // No colour when not on a terminal.
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("tells the wrong password: the failure, the leaked source location, the server closing", async () => {
    const r = await pgwire(["explain", cap("seed-wrong-password.pcapng")]);
    expect(r.exitCode).toBe(0);
    const l = lines(r.stdout);
    expect(l).toContain("Authentication failed: the server refuses the login");
    expect(
      l.some((x) =>
        /^FATAL 28P01 invalid_password: password authentication failed for user "app" — leaks the server's source: auth\.c:\d+ in auth_failed$/.test(
          x,
        ),
      ),
    ).toBe(true);
    expect(l.some((x) => /^The server closes the connection \(FIN, frame \d+\) without Terminate$/.test(x))).toBe(true);
    expect(r.stdout).toMatch(/Exposes the server's source: auth\.c:\d+ in auth_failed/);
  });

  it("tells a refused SSLRequest, SCRAM, trust, errors and notices", async () => {
    const ssl = lines((await pgwire(["explain", cap("ssl-refused.pcapng")])).stdout);
    expect(ssl).toContain(
      "The client asks for TLS (SSLRequest); the server refuses ('N'): the session goes on in clear text",
    );
    const scram = await pgwire(["explain", cap("psql-scram.pcapng")]);
    const s = lines(scram.stdout);
    expect(s).toContain("Authentication: the server asks for SASL (SCRAM-SHA-256) authentication");
    expect(
      s.some((x) => /^ +ERROR 22012 division_by_zero: division by zero — leaks the server's source: int\.c/.test(x)),
    ).toBe(true);
    expect(s.some((x) => /^NOTICE 00000 successful_completion: hello/.test(x))).toBe(true);
    expect(s.some((x) => /^Query: COPY employees TO STDOUT; → COPY 5, /.test(x))).toBe(true);
    const bench = lines((await pgwire(["explain", cap("pgbench-extended.pcapng")])).stdout);
    expect(bench).toContain("No password asked: trust authentication");
    // Execute shows its statement and its parameters.
    expect(
      bench.some((x) =>
        /^Execute: UPDATE pgbench_accounts SET abalance = abalance \+ \$1 WHERE aid = \$2; with parameters \(-?\d+, \d+\) → UPDATE 1, /.test(
          x,
        ),
      ),
    ).toBe(true);
  });

  it("tells the notifications NOTIFY delivered, with channel, payload and the notifying backend", async () => {
    // psql-scram runs LISTEN chan, then NOTIFY chan, 'payload' in the same session: the server
    // delivers it to that session, so the notifying backend is the session's own.
    const s = lines((await pgwire(["explain", cap("psql-scram.pcapng")])).stdout);
    const pid = s.map((x) => /^BackendKeyData: backend process (\d+)/.exec(x)?.[1]).find(Boolean);
    const notify = s.findIndex((x) => x.startsWith("Query: NOTIFY chan, 'payload'; → NOTIFY"));
    expect(pid).toBeDefined();
    expect(notify).toBeGreaterThan(0);
    expect(s[notify + 1]).toMatch(
      new RegExp(
        `^Notification on channel "chan" from backend process ${pid} \\(NotificationResponse, frame \\d+\\): payload "payload"$`,
      ),
    );
    const doc = JSON.parse((await pgwire(["explain", "--json", cap("psql-scram.pcapng")])).stdout) as {
      connections: Array<{ notifications: Array<Record<string, unknown>>; moreNotifications: number }>;
    };
    const c = doc.connections[0];
    expect(c.notifications.map(({ channel, payload, pid: p }) => [channel, payload, String(p)])).toEqual([
      ["chan", "payload", pid],
    ]);
    expect(c.moreNotifications).toBe(0);
  });

  it("--json: the connections and the findings as one document", async () => {
    const r = await pgwire(["explain", "--json", cap("seed-md5.pcapng")]);
    expect(r.exitCode).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      connections: Array<{
        stream: number;
        startup: { params: Record<string, string> };
        auth: { methods: string[]; outcome: string };
        requests: Array<{ sql: string; rows: number; tags: string[]; duration: number }>;
        terminate?: { frame: number };
      }>;
      findings: Array<{ kind: string; frame: number }>;
    };
    expect(doc.connections).toHaveLength(1);
    const c = doc.connections[0];
    expect(c.startup.params).toMatchObject({ user: "app", database: "company" });
    expect(c.auth).toMatchObject({ methods: ["MD5"], outcome: "ok" });
    expect(c.requests.map((q) => [q.sql, q.rows, q.tags])).toEqual([["SELECT * FROM employees", 5, ["SELECT 5"]]]);
    expect(c.requests[0].duration).toBeGreaterThan(0);
    expect(c.terminate).toBeDefined();
    expect(doc.findings.map((f) => f.kind)).toEqual(["md5_hash"]);
  });

  it("filters: --stream keeps one connection, --since/--until a time window", async () => {
    const all = lines((await pgwire(["explain", cap("psql-cancel.pcapng")])).stdout).filter((x) =>
      x.startsWith("Connection"),
    );
    expect(all).toHaveLength(2);
    const one = lines((await pgwire(["explain", "--stream", "1", cap("psql-cancel.pcapng")])).stdout).filter((x) =>
      x.startsWith("Connection"),
    );
    expect(one).toEqual([all.find((x) => x.startsWith("Connection 1:"))]);
    // The cancel connection opens about a second in: a window before it keeps only the first.
    const early = await pgwire(["explain", "--until", "0.5", cap("psql-cancel.pcapng")]);
    expect(lines(early.stdout).filter((x) => x.startsWith("Connection"))).toHaveLength(1);
    const none = await pgwire(["explain", "--since", "3600", cap("psql-cancel.pcapng")]);
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toMatch(/^pgwire: no PostgreSQL traffic in .*with the filters given/);
  });

  it("colour on request, and never with NO_COLOR", async () => {
    expect((await pgwire(["explain", "--color", cap("seed-md5.pcapng")])).stdout).toContain("\x1b[1m");
    expect((await pgwire(["explain", "--color", "--no-color", cap("seed-md5.pcapng")])).stdout).not.toContain("\x1b[");
  });

  it("a capture without PostgreSQL, a truncated capture, bad options: one error line", async () => {
    const none = await pgwire(["explain", cap("synthetic/not-postgres.pcapng")]);
    expect(none.exitCode).toBe(3);
    expect(none.stdout).toBe("");
    expect(none.stderr).toMatch(
      /^pgwire: no PostgreSQL traffic in captures\/synthetic\/not-postgres\.pcapng \(server ports 5432; try --port\)$/,
    );
    const file = join(tmp, "cut.pcapng");
    copyFileSync(join(ROOT, cap("seed-md5.pcapng")), file);
    truncateSync(file, readFileSync(file).length - 10);
    const cut = await pgwire(["explain", file]);
    expect(cut.exitCode).toBe(3);
    expect(cut.stdout).toMatch(/Query: SELECT \* FROM employees/);
    expect(cut.stderr).toMatch(/^pgwire: .*cut\.pcapng is truncated after frame \d+$/);
    const bad = await pgwire(["explain", "--since", "yesterday", cap("seed-md5.pcapng")]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^pgwire: invalid time 'yesterday' for --since/);
    const missing = await pgwire(["stats", "captures/nope.pcapng"]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });
});

describe("requests that fail, are skipped or are ended by the server (node-failures.pcapng)", {
  timeout: 60_000,
}, () => {
  // captures/clients/failures.mjs: a pipeline step whose Bind fails (22P02) before its Execute is
  // even sent, a second statement in that step the server skips until Sync, a step after the Sync
  // that runs; then `SELECT pg_sleep(10)` ended 1.5 s later by pg_terminate_backend() (57P01).
  it("explain: failed at its Bind with the error's time, skipped after it, then terminated", async () => {
    const r = await pgwire(["explain", cap("node-failures.pcapng")]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const l = lines(r.stdout);
    const n = l.findIndex((x) => x.startsWith("Execute: SELECT $1::int AS n with parameters (abc) → "));
    expect(l[n]).toMatch(/→ failed at its Bind after [\d.]+ (µs|ms)$/);
    expect(l[n + 1]).toMatch(
      /^ {6}ERROR 22P02 invalid_text_representation: invalid input syntax for type integer: "abc"/,
    );
    expect(l).toContain(
      `Execute: SELECT 2 AS two → skipped after the error 22P02 in frame ${/frame (\d+)/.exec(r.stdout.slice(r.stdout.indexOf("22P02 in frame")))?.[1]}: the server did not run it`,
    );
    expect(l.some((x) => /^Execute: SELECT 3 AS three → 1 row, SELECT 1, [\d.]+ (µs|ms)$/.test(x))).toBe(true);
    // Ended by the server 1.5 s after it was sent: a 1.5 s request that failed, not an unanswered one.
    const sleep = l.find((x) => x.startsWith("Query: SELECT pg_sleep(10) → "));
    const secs = Number(/failed after ([\d.]+) s$/.exec(sleep ?? "")?.[1]);
    expect(secs).toBeGreaterThanOrEqual(1.5);
    expect(secs).toBeLessThan(3);
    expect(
      l.some((x) => /^ {6}FATAL 57P01 admin_shutdown: terminating connection due to administrator command/.test(x)),
    ).toBe(true);
    expect(
      l.some((x) =>
        /^The server ends the session: FATAL 57P01 admin_shutdown \(frame \d+\): the backend was terminated/.test(x),
      ),
    ).toBe(true);
    expect(r.stdout).not.toContain("no answer in the capture");
  });

  it("errors in full: detail, hint, position, schema, table, constraint; the source leaks place by place", async () => {
    const r = await pgwire(["explain", cap("node-failures.pcapng")]);
    const l = lines(r.stdout);
    const dup = l.findIndex((x) =>
      x.startsWith("Query: INSERT INTO employees (id, name) VALUES (1, 'Duplicate') → failed after "),
    );
    expect(l[dup + 1]).toMatch(
      /^ {6}ERROR 23505 unique_violation: duplicate key value violates unique constraint "employees_pkey" \(detail: Key \(id\)=\(1\) already exists\.\) \(schema public, table employees, constraint employees_pkey\) — leaks the server's source: nbtinsert\.c:\d+ in _bt_check_unique$/,
    );
    const fn = l.findIndex((x) => x.startsWith("Query: SELECT no_such_function(1) → failed after "));
    expect(l[fn + 1]).toMatch(
      /^ {6}ERROR 42883 undefined_function: function no_such_function\(integer\) does not exist \(hint: No function matches the given name and argument types\. .*\) \(at character 8 of the query\)/,
    );
    // One line per place in the server's source, each with its frames, in frame order.
    const leaks = l.filter((x) => x.startsWith("  1 × Exposes the server's source: "));
    expect(leaks.map((x) => /source: (\S+):\d+ in (\S+)/.exec(x)?.slice(1).join(" "))).toEqual([
      "numutils.c pg_strtoint32",
      "nbtinsert.c _bt_check_unique",
      "parse_func.c ParseFuncOrColumn",
      "postgres.c ProcessInterrupts",
    ]);
    // --json: every field of the error, in the connection and in stats' errors.
    const doc = JSON.parse((await pgwire(["explain", "--json", cap("node-failures.pcapng")])).stdout) as {
      connections: Array<{ errors: Array<Record<string, string>> }>;
    };
    const e = doc.connections.flatMap((c) => c.errors).find((x) => x.code === "23505");
    expect(e).toMatchObject({
      severity: "ERROR",
      name: "unique_violation",
      detail: "Key (id)=(1) already exists.",
      schema: "public",
      table: "employees",
      constraint: "employees_pkey",
      file: "nbtinsert.c",
      routine: "_bt_check_unique",
    });
    const st = JSON.parse((await pgwire(["stats", "--json", cap("node-failures.pcapng")])).stdout) as {
      errors: Array<{ code: string; sample: Record<string, string> }>;
    };
    expect(st.errors.find((x) => x.code === "42883")?.sample).toMatchObject({
      position: "8",
      routine: "ParseFuncOrColumn",
    });
    expect(st.errors.find((x) => x.code === "42883")?.sample.hint).toMatch(/^No function matches/);
  });

  it("stats: failures by SQLSTATE with their times, skipped apart, nothing unanswered", async () => {
    const r = await pgwire(["stats", "--json", cap("node-failures.pcapng")]);
    expect(r.exitCode).toBe(0);
    const s = JSON.parse(r.stdout) as {
      queries: Array<{
        query: string;
        count: number;
        answered: number;
        errors: number;
        failures: Record<string, number>;
        failedMean: number;
        skipped: number;
        unanswered: number;
        mean: number;
      }>;
    };
    const q = (text: string) => s.queries.find((x) => x.query === text);
    expect(q("SELECT ?::int AS n")).toMatchObject({ count: 1, answered: 0, errors: 1, failures: { "22P02": 1 } });
    expect(q("SELECT ?::int AS n")?.failedMean).toBeGreaterThan(0);
    expect(q("SELECT ? AS two")).toMatchObject({ count: 1, answered: 0, errors: 0, skipped: 1, unanswered: 0 });
    expect(q("SELECT ? AS three")).toMatchObject({ count: 1, answered: 1, errors: 0 });
    expect(q("SELECT pg_sleep(?)")).toMatchObject({ count: 1, answered: 0, errors: 1, failures: { "57P01": 1 } });
    expect(q("SELECT pg_sleep(?)")?.failedMean).toBeGreaterThanOrEqual(1.5);
    expect(s.queries.reduce((n, x) => n + x.unanswered, 0)).toBe(0);
    const t = await pgwire(["stats", cap("node-failures.pcapng")]);
    expect(t.stdout).toMatch(/^ +1 +- +- +- +- +- +0 +1 \(22P02; [\d.]+ (µs|ms)\) +SELECT \?::int AS n$/m);
    // node-extended: the Parse fails while its Execute waits (sent in the same segment): failed too.
    const x = JSON.parse((await pgwire(["stats", "--json", cap("node-extended.pcapng")])).stdout) as typeof s;
    expect(x.queries.find((y) => y.query === "SELECT * FROM no_such_table WHERE id = ?")).toMatchObject({
      count: 1,
      errors: 1,
      failures: { "42P01": 1 },
      unanswered: 0,
    });
  });
});

describe("a cancel request in the story (psql-cancel.pcapng)", { timeout: 60_000 }, () => {
  // captures/manifest.md: psql runs SELECT pg_sleep(5); about 1 s later a second connection sends
  // CancelRequest for its backend; the server answers the query with ERROR 57014.
  it("explain ties the cancel connection to the request it interrupted and the server's answer", async () => {
    const r = await pgwire(["explain", cap("psql-cancel.pcapng")]);
    expect(r.exitCode).toBe(0);
    const l = lines(r.stdout);
    const pid = /BackendKeyData: backend process (\d+)/.exec(r.stdout)?.[1];
    const cancel = l.find((x) => x.startsWith("CancelRequest (frame "));
    expect(cancel).toMatch(
      new RegExp(
        `^CancelRequest \\(frame \\d+\\) for backend process ${pid}: connection 0's Query \\(frame \\d+\\) SELECT pg_sleep\\(5\\), sent [\\d.]+ (ms|s) before$`,
      ),
    );
    expect(
      l.some((x) =>
        /^The server's answer there: 57014 query_canceled \(frame \d+\): canceling statement due to user request$/.test(
          x,
        ),
      ),
    ).toBe(true);
    const q = l.findIndex((x) => x.startsWith("Query: SELECT pg_sleep(5) → failed after "));
    expect(l[q + 1]).toMatch(
      /^ {6}canceled by connection 1's CancelRequest \(frame \d+\), [\d.]+ (ms|s) after it was sent$/,
    );
  });

  it("stats counts it apart from the logins", async () => {
    const s = JSON.parse((await pgwire(["stats", "--json", cap("psql-cancel.pcapng")])).stdout) as {
      auth: Array<{ method: string; connections: number }>;
      cancels: Array<{ stream: number; targetStream: number; request: string; after: number; answer: string }>;
    };
    expect(s.auth).toEqual([{ method: "MD5", connections: 1, failed: 0 }]);
    expect(s.cancels).toHaveLength(1);
    expect(s.cancels[0]).toMatchObject({ stream: 1, targetStream: 0, request: "SELECT pg_sleep(5)", answer: "57014" });
    expect(s.cancels[0].after).toBeGreaterThan(0.5);
    expect(s.cancels[0].after).toBeLessThan(5);
  });
});

describe("the command line as users meet it", { timeout: 60_000 }, () => {
  it("TLS: a hint without --keylog, a warning naming the key log when it decrypts nothing", async () => {
    const file = cap("tls-keylog.pcapng");
    const none = await pgwire(["stats", file]);
    expect(none.exitCode).toBe(0);
    expect(none.stderr).toBe(
      `pgwire: hint: 1 connection of ${file} uses TLS: give the session keys with --keylog FILE (SSLKEYLOGFILE format) to decode it`,
    );
    const keys = join(tmp, "wrong.keys");
    writeFileSync(keys, `CLIENT_RANDOM ${"00".repeat(32)} ${"11".repeat(48)}\n`);
    const wrong = await pgwire(["explain", "--keylog", keys, file]);
    expect(wrong.exitCode).toBe(0);
    expect(wrong.stderr).toBe(
      `pgwire: warning: the keys in ${keys} decrypted no TLS session of ${file} (1 connection stays encrypted)`,
    );
    const right = await pgwire(["explain", "--keylog", cap("tls-keylog.keys"), file]);
    expect(right.stderr).toBe("");
  });

  it("query shapes: one for any keyword case and trailing semicolon; the application name SET later", async () => {
    const { normalizeSql } = await import("../../src/analysis/analyzer.ts");
    expect(normalizeSql("select * from employees where id = 7;")).toBe("SELECT * FROM employees WHERE id = ?");
    expect(normalizeSql("SELECT * FROM employees WHERE id = $1 ;\n")).toBe("SELECT * FROM employees WHERE id = ?");
    expect(normalizeSql('select "select" from t')).toBe('SELECT "select" FROM t');
    // psql-scram.pcapng: SET application_name = 'pgwire-capture' after psql's own name.
    const s = JSON.parse((await pgwire(["stats", "--json", cap("psql-scram.pcapng")])).stdout) as {
      connections: Array<{ application?: string }>;
    };
    expect(s.connections.map((c) => c.application)).toContain("pgwire-capture");
  });

  it("--table without --csv is a usage error; a report that cannot be written names the user's path", async () => {
    const t = await pgwire(["stats", "--table", "errors", cap("seed-md5.pcapng")]);
    expect(t.exitCode).toBe(2);
    expect(t.stderr).toMatch(/--table goes with --csv/);
    const out = join(tmp, "no-such-folder", "r.html");
    const r = await pgwire(["report", cap("seed-md5.pcapng"), "-o", out]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(`pgwire: cannot write ${out}: its folder does not exist`);
  });
});

describe("replication in the story", { timeout: 60_000 }, () => {
  it("logical: slot, plugin, protocol version, publication; transactions and changes per table", async () => {
    // captures/manifest.md (node-pgoutput): slots slot_v1..v3 created with pgoutput, protocol
    // versions 1, 2 (streaming) and 3 (two-phase); the changes are the script's.
    const r = await pgwire(["explain", cap("node-pgoutput.pcapng")]);
    expect(r.exitCode).toBe(0);
    const l = lines(r.stdout);
    expect(l).toContain(
      'START_REPLICATION (frame 50): logical replication from slot slot_v1 (plugin pgoutput) at 0/0, protocol version 1, publications "pub_demo" (messages true, binary true)',
    );
    expect(l).toContain("  public.lr_items: 3 inserts, 2 updates, 1 delete");
    expect(l).toContain("  public.lr_full: 4 inserts, 1 update, 1 delete, 1 truncate");
    expect(l).toContain("  Transactions: 1; streamed: 3 started, 2 committed, 2 aborted");
    expect(l).toContain(
      "  Transactions: 2; streamed: 1 started, 0 committed, 0 aborted; two-phase: 3 prepared, 2 committed, 1 rolled back",
    );
    expect(
      l.some((x) =>
        /^ {2}The server streams 41 XLogData with [\d.]+ kB \(WAL from 0\/[0-9A-F]+ to 0\/[0-9A-F]+\) and 4 keepalives$/.test(
          x,
        ),
      ),
    ).toBe(true);
    // START_REPLICATION is no request: not in the story's queries nor in stats' latencies.
    expect(r.stdout).not.toMatch(/Query: START_REPLICATION/);
    const s = JSON.parse((await pgwire(["stats", "--json", cap("node-pgoutput.pcapng")])).stdout) as {
      queries: Array<{ query: string }>;
    };
    expect(s.queries.some((q) => q.query.startsWith("START_REPLICATION"))).toBe(false);
  });

  it("physical: start LSN, timeline, WAL streamed, status updates and hot standby feedback", async () => {
    const r = await pgwire(["explain", cap("pg-standby.pcapng")]);
    const l = lines(r.stdout);
    expect(
      l.some((x) => /^START_REPLICATION \(frame \d+\): physical replication from 0\/[0-9A-F]+ on timeline 1$/.test(x)),
    ).toBe(true);
    expect(
      l.some((x) =>
        /^ {2}The server streams \d+ XLogData with [\d.]+ kB \(WAL from 0\/[0-9A-F]+ to 0\/[0-9A-F]+\) and \d+ keepalives?$/.test(
          x,
        ),
      ),
    ).toBe(true);
    expect(
      l.some((x) =>
        /^ {2}The client replies with \d+ status updates \(last: written 0\/[0-9A-F]+, flushed 0\/[0-9A-F]+, applied 0\/[0-9A-F]+\) and \d+ hot standby feedbacks?$/.test(
          x,
        ),
      ),
    ).toBe(true);
  });
});

describe("one clock: tshark's frame.time_relative and frame numbers", { timeout: 60_000 }, () => {
  it("explain, decode and stats count from the capture's first packet; --absolute gives UTC times", async () => {
    const file = cap("node-failures.pcapng");
    // tshark's own numbers for every frame: frame.number -> frame.time_relative, and frame.time_epoch.
    const t = await execa(
      "tshark",
      ["-r", file, "-T", "fields", "-e", "frame.number", "-e", "frame.time_relative", "-e", "frame.time_epoch"],
      { reject: false },
    );
    if (t.exitCode !== 0 && /ENOENT/.test(String(t.stderr) + String(t.message))) return; // no tshark here
    const rel = new Map<number, number>();
    const epoch = new Map<number, number>();
    for (const line of t.stdout.trim().split("\n")) {
      const [n, r, e] = line.split("\t");
      rel.set(Number(n), Number(r));
      epoch.set(Number(n), Number(e));
    }
    const ex = await pgwire(["explain", file]);
    expect(ex.exitCode).toBe(0);
    // Never a negative time; connections in the order they started (stream 0 first).
    expect(ex.stdout).not.toMatch(/^ +-\d/m);
    const heads = ex.stdout.split("\n").filter((x) => x.startsWith("Connection "));
    expect(heads.map((x) => /^Connection (\d+)/.exec(x)?.[1])).toEqual(["0", "1"]);
    // Each handshake line: the SYN's time is tshark's time of the SYN's frame.
    for (const m of ex.stdout.matchAll(
      /^ +(\d+\.\d{6}) {2}TCP handshake: the client opens the connection \(SYN, frame (\d+);/gm,
    )) {
      expect(Math.abs(Number(m[1]) - (rel.get(Number(m[2])) as number))).toBeLessThan(2e-6);
    }
    expect([...ex.stdout.matchAll(/TCP handshake/g)]).toHaveLength(2);
    // decode: each frame's time is tshark's frame.time_relative.
    const d = await pgwire(["decode", file]);
    let checked = 0;
    for (const m of d.stdout.matchAll(/^ *(\d+) +(\d+\.\d{6}) +\d+ {2}[<>]/gm)) {
      expect(Math.abs(Number(m[2]) - (rel.get(Number(m[1])) as number)), `frame ${m[1]}`).toBeLessThan(2e-6);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    // --absolute: UTC date and time to the microsecond.
    const a = await pgwire(["explain", "--absolute", file]);
    const syn =
      /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) {2}TCP handshake: the client opens the connection \(SYN, frame (\d+);/m.exec(
        a.stdout,
      );
    expect(syn).not.toBeNull();
    const [, when, frame] = syn as RegExpExecArray;
    expect(Date.parse(`${when.slice(0, 23).replace(" ", "T")}Z`) / 1000).toBeCloseTo(
      epoch.get(Number(frame)) as number,
      2,
    );
    // stats: a connection's start is its SYN's time from the capture's first packet.
    const st = JSON.parse((await pgwire(["stats", "--json", file])).stdout) as {
      connections: Array<{ stream: number; start: number }>;
    };
    expect(st.connections.map((c) => c.start.toFixed(6))).toEqual(
      [...ex.stdout.matchAll(/^ +(\d+\.\d{6}) {2}TCP handshake/gm)].map((m) => m[1]),
    );
  });
});

describe("every real capture", { timeout: 300_000 }, () => {
  const files = readdirSync(join(ROOT, "captures")).filter((f) => f.endsWith(".pcapng"));
  const portsOf = (f: string) => (f === "psql-other-port.pcapng" ? ["--port", "6543"] : []);
  it.each(files)("%s: explain and stats tell every connection, without a word on stderr", async (f) => {
    const keys = f === "tls-keylog.pcapng" ? ["--keylog", cap("tls-keylog.keys")] : [];
    const ex = await pgwire(["explain", "--json", ...portsOf(f), ...keys, cap(f)]);
    expect(ex.stderr).toBe("");
    expect(ex.exitCode).toBe(0);
    const doc = JSON.parse(ex.stdout) as { connections: Array<{ stream: number; startup?: unknown }> };
    expect(doc.connections.length).toBeGreaterThan(0);
    const st = await pgwire(["stats", "--json", ...portsOf(f), ...keys, cap(f)]);
    expect(st.exitCode).toBe(0);
    const stats = JSON.parse(st.stdout) as { connections: Array<{ stream: number }> };
    expect(stats.connections.map((c) => c.stream)).toEqual(doc.connections.map((c) => c.stream).sort((a, b) => a - b));
  });
});

describe("pgwire stats", { timeout: 60_000 }, () => {
  it("groups pgbench's statements by shape with their counts, percentiles and rows", async () => {
    const r = await pgwire(["stats", "--json", cap("pgbench-extended.pcapng")]);
    expect(r.exitCode).toBe(0);
    const s = JSON.parse(r.stdout) as {
      queries: Array<{
        query: string;
        count: number;
        rows: number;
        p50: number;
        p95: number;
        max: number;
        mean: number;
      }>;
      connections: Array<{ user: string; database: string; auth: string; requests: number }>;
      errors: unknown[];
      auth: Array<{ method: string; connections: number; failed: number }>;
    };
    // pgbench -c 2 -t 20 with its built-in TPC-B script: each statement 40 times.
    const select = s.queries.find((q) => q.query === "SELECT abalance FROM pgbench_accounts WHERE aid = ?");
    expect(select).toMatchObject({ count: 40, rows: 40 });
    for (const shape of ["BEGIN", "END", "UPDATE pgbench_tellers SET tbalance = tbalance + ? WHERE tid = ?"]) {
      expect(s.queries.find((q) => q.query === shape)?.count, shape).toBe(40);
    }
    for (const q of s.queries) {
      expect(q.p50).toBeLessThanOrEqual(q.p95);
      expect(q.p95).toBeLessThanOrEqual(q.max);
      expect(q.mean).toBeGreaterThan(0);
    }
    expect(s.connections.map((c) => [c.user, c.database, c.auth])).toEqual([
      ["bench", "bench", "trust"],
      ["bench", "bench", "trust"],
      ["bench", "bench", "trust"],
    ]);
    expect(s.errors).toEqual([]);
    expect(s.auth).toEqual([{ method: "trust", connections: 3, failed: 0 }]);
  });

  it("counts errors by SQLSTATE and failed logins", async () => {
    const r = JSON.parse((await pgwire(["stats", "--json", cap("psql-scram.pcapng")])).stdout) as {
      errors: Array<{ code: string; name: string; count: number }>;
    };
    expect(r.errors.map((e) => [e.code, e.name, e.count])).toEqual([
      ["22012", "division_by_zero", 2],
      ["42601", "syntax_error", 1],
    ]);
    const w = JSON.parse((await pgwire(["stats", "--json", cap("seed-wrong-password.pcapng")])).stdout) as {
      auth: Array<{ method: string; failed: number }>;
    };
    expect(w.auth).toEqual([{ method: "MD5", connections: 1, failed: 1 }]);
  });

  it("names each login's authentication method as the server asked for it", async () => {
    // captures/build.ts: one connection per request (MD5, SASL offering two mechanisms, cleartext,
    // GSSAPI, SSPI, Kerberos V5), two cancel requests, an unknown code (6) and a protocol 2.0
    // startup, neither of which names a method.
    const r = JSON.parse((await pgwire(["stats", "--json", cap("synthetic/all-messages.pcapng")])).stdout) as {
      connections: Array<{ stream: number; auth: string }>;
    };
    expect(r.connections.map((c) => c.auth)).toEqual([
      "MD5",
      "cancel request",
      "SASL (SCRAM-SHA-256-PLUS, SCRAM-SHA-256)",
      "cancel request",
      "cleartext password",
      "GSSAPI",
      "SSPI",
      "Kerberos V5",
      "(not seen)",
      "(not seen)",
    ]);
  });

  it("text tables, and CSV of each table", async () => {
    const t = await pgwire(["stats", cap("seed-md5.pcapng")]);
    expect(t.stdout).toMatch(/^Queries \(1 shape, 1 request\)$/m);
    expect(t.stdout).toMatch(/^ +1 .* 5 +0 +SELECT \* FROM employees$/m);
    expect(t.stdout).toMatch(/^Authentication$/m);
    const q = await pgwire(["stats", "--csv", cap("psql-scram.pcapng")]);
    const rows = q.stdout.trim().split("\n");
    expect(rows[0]).toBe(
      "query,count,answered,total,mean,p50,p95,max,rows,errors,failures,failedMean,failedP50,failedMax,skipped,unanswered",
    );
    expect(rows.some((x) => x.startsWith('"SELECT g, md5(g::text) FROM generate_series(?, ?) g",1,'))).toBe(true);
    const e = await pgwire(["stats", "--csv", "--table", "errors", cap("psql-scram.pcapng")]);
    expect(e.stdout.split("\n")[0]).toBe("code,name,severity,count,example,detail,hint,where,file,line,routine");
    const bad = await pgwire(["stats", "--csv", "--table", "nope", cap("psql-scram.pcapng")]);
    expect(bad.exitCode).toBe(2);
    const both = await pgwire(["stats", "--csv", "--json", cap("psql-scram.pcapng")]);
    expect(both.exitCode).toBe(2);
  });
});

describe("pgwire install and generate", { timeout: 60_000 }, () => {
  // With tshark the folder comes from tshark -G folders, and tshark then loads the plugin there.
  const tshark = present("tshark", "pgwire install: the folder from tshark, which then loads the plugin");
  it("installs where Wireshark looks, which tshark then loads; keeps a different file without --force", async () => {
    const home = mkdtempSync(join(tmp, "home-"));
    const r = await pgwire(["install"], { HOME: home, PATH: process.env.PATH ?? "" });
    expect(r.exitCode).toBe(0);
    const m = /^pgwire: installed (.*pgwire\.lua) \(folder from (.*)\)$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const path = (m as RegExpExecArray)[1];
    expect(path.startsWith(join(home, ".local", "lib", "wireshark", "plugins"))).toBe(true);
    expect(readFileSync(path, "utf8")).toBe(readFileSync(join(ROOT, "dissector", "pgwire.lua"), "utf8"));
    if (tshark) {
      expect((m as RegExpExecArray)[2]).toBe("tshark -G folders");
      // Wireshark itself finds it there: tshark with that HOME knows the pgwire protocol.
      const protocols = await execa("tshark", ["-G", "protocols"], { env: { HOME: home }, reject: false });
      expect(protocols.stdout).toMatch(/^PostgreSQL Wire Protocol\tPGWIRE\tpgwire$/m);
    }
    const again = await pgwire(["install"], { HOME: home, PATH: process.env.PATH ?? "" });
    expect(again.stdout).toMatch(/already installed, unchanged/);
    const dir = join(tmp, "plugins");
    expect((await pgwire(["install", "--dir", dir])).exitCode).toBe(0);
    copyFileSync(join(ROOT, "README.md"), join(dir, "pgwire.lua"));
    const kept = await pgwire(["install", "--dir", dir]);
    expect(kept.exitCode).toBe(3);
    expect(kept.stderr).toMatch(
      /^pgwire: .*pgwire\.lua exists and differs from this plugin; use --force to replace it$/,
    );
    expect(readFileSync(join(dir, "pgwire.lua"), "utf8")).toBe(readFileSync(join(ROOT, "README.md"), "utf8"));
    const forced = await pgwire(["install", "--dir", dir, "--force"]);
    expect(forced.stdout).toMatch(/^pgwire: replaced the different /);
    expect(readFileSync(join(dir, "pgwire.lua"), "utf8")).toBe(
      readFileSync(join(ROOT, "dissector", "pgwire.lua"), "utf8"),
    );
  });

  it("generate --check: the committed files are what the spec generates", async () => {
    const r = await pgwire(["generate", "--check"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("pgwire: the generated files are up to date");
  });
});

describe("pgwire decode's filters", { timeout: 60_000 }, () => {
  it("--stream and --until keep the frames asked for", async () => {
    const one = await pgwire(["decode", "--json", "--stream", "1", cap("psql-cancel.pcapng")]);
    expect(one.exitCode).toBe(0);
    const msgs = one.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { stream: number; msg: string });
    expect(msgs.map((m) => [m.stream, m.msg])).toEqual([[1, "CancelRequest"]]);
    // The seed's first PostgreSQL message comes about 11 ms after its first packet.
    const early = await pgwire(["decode", "--until", "0.005", cap("seed-md5.pcapng")]);
    expect(early.exitCode).toBe(0);
    expect(early.stdout).toBe("");
    const late = await pgwire(["decode", "--since", "0.1", cap("seed-md5.pcapng")]);
    expect(late.stdout).toMatch(/> Terminate$/m);
    expect(late.stdout).not.toMatch(/StartupMessage/);
  });
});
