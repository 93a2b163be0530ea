// explain, stats and report on a large generated capture: 120 connections and 25,000 requests
// (about 5 MB), built from the spec's encoder, so every expected count is known. The output stays
// bounded where the help says so (500 requests per connection in explain, 50 diagrams in report).

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { be, fe } from "../../captures/build.ts";
import { PLUGIN, runTshark, stderrProblems } from "../../src/compare.ts";
import { missing } from "../helpers/tools.ts";
import { concatBytes } from "../tools/encoder.ts";
import { sessionsToPcapng, TcpSessionBuilder } from "../tools/tcp-sessions.ts";
import { pgwire } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "pgwire-large-"));
const FILE = join(tmp, "large.pcapng");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CONNECTIONS = 120;
/** Requests per connection; connection 7 sends LONG of them (more than explain keeps). */
const REQUESTS = 200;
const LONG = 1300;
/** Every 40th request fails with a division by zero. */
const FAIL_EVERY = 40;

function build(): Uint8Array {
  const sessions: TcpSessionBuilder[] = [];
  const idCol = { cn: "id", "oid.table": 16384, "col.index": 1, ct: 23, "val.length": 4, "col.typemod": -1, cf: 0 };
  for (let k = 0; k < CONNECTIONS; k++) {
    const b = new TcpSessionBuilder({
      client: { ip: "10.0.0.2", port: 20000 + k },
      server: { ip: "10.0.0.1", port: 5432 },
      startTime: 1700000000 + k,
      timeStep: 0.0001,
    }).handshake();
    b.send(true, fe("StartupMessage", { major: 3, minor: 0, "*": { user: `user${k % 3}`, database: "shop" } }));
    b.send(
      false,
      concatBytes(
        be("AuthenticationOk", { authtype: 0 }),
        be("BackendKeyData", { pid: 1000 + k, key: k }),
        be("ReadyForQuery", { status: "I" }),
      ),
    );
    const n = k === 7 ? LONG : REQUESTS;
    for (let i = 1; i <= n; i++) {
      if (i % FAIL_EVERY === 0) {
        b.send(true, fe("Query", { query: `SELECT ${i} / 0` }));
        b.send(
          false,
          concatBytes(
            be("ErrorResponse", { "*": { S: "ERROR", V: "ERROR", C: "22012", M: "division by zero" } }),
            be("ReadyForQuery", { status: "I" }),
          ),
        );
      } else {
        b.send(true, fe("Query", { query: `SELECT id FROM items WHERE id = ${i}` }));
        b.send(
          false,
          concatBytes(
            be("RowDescription", { $n: [idCol] }),
            be("DataRow", { $n: [{ "val.data": String(i) }] }),
            be("CommandComplete", { tag: "SELECT 1" }),
            be("ReadyForQuery", { status: "I" }),
          ),
        );
      }
    }
    b.send(true, fe("Terminate"));
    b.close(true);
    sessions.push(b);
  }
  return sessionsToPcapng(sessions);
}

const total = (CONNECTIONS - 1) * REQUESTS + LONG;
const failed = (CONNECTIONS - 1) * Math.floor(REQUESTS / FAIL_EVERY) + Math.floor(LONG / FAIL_EVERY);

describe("a large generated capture", { timeout: 300_000 }, () => {
  beforeAll(() => writeFileSync(FILE, build()));

  it("is large", () => {
    expect(statSync(FILE).size).toBeGreaterThan(4_000_000);
  });

  it("stats: every request counted in its shape, every error by SQLSTATE", async () => {
    const r = await pgwire(["stats", "--json", FILE]);
    expect(r.exitCode).toBe(0);
    const s = JSON.parse(r.stdout) as {
      queries: Array<{ query: string; count: number; rows: number; errors: number; unanswered: number }>;
      connections: Array<{ requests: number; errors: number; auth: string }>;
      errors: Array<{ code: string; count: number }>;
      auth: Array<{ method: string; connections: number }>;
    };
    expect(s.queries.map((q) => [q.query, q.count, q.rows, q.errors, q.unanswered])).toEqual(
      expect.arrayContaining([
        ["SELECT id FROM items WHERE id = ?", total - failed, total - failed, 0, 0],
        ["SELECT ? / ?", failed, 0, failed, 0],
      ]),
    );
    expect(s.queries).toHaveLength(2);
    expect(s.connections).toHaveLength(CONNECTIONS);
    expect(s.connections.reduce((n, c) => n + c.requests, 0)).toBe(total);
    expect(s.errors).toEqual([
      {
        code: "22012",
        name: "division_by_zero",
        severity: "ERROR",
        count: failed,
        example: "division by zero",
        sample: expect.objectContaining({ code: "22012", severity: "ERROR", message: "division by zero" }),
      },
    ]);
    expect(s.auth).toEqual([{ method: "trust", connections: CONNECTIONS, failed: 0 }]);
  });

  it.skipIf(missing("tshark", "tshark -z pgwire on a large capture"))(
    "tshark -z pgwire,queries (the plugin's own tables): the same numbers at this size",
    async () => {
      const [z, j] = await Promise.all([
        runTshark(["-n", "-X", `lua_script:${PLUGIN}`, "-r", FILE, "-q", "-z", "pgwire,queries"]),
        pgwire(["stats", "--json", FILE]),
      ]);
      expect(stderrProblems(z.stderr)).toEqual([]);
      const s = JSON.parse(j.stdout) as { queries: Array<{ query: string; count: number; total: number }> };
      // count, total (ms to the microsecond), mean, p50, p95, max, rows, errors, the query last.
      const rows = z.stdout
        .split("\n")
        .filter((l) => /^ *\d+ /.test(l))
        .map((l) => {
          const cells = l.trim().split(/ {2,}/);
          return [cells.at(-1), Number(cells[0]), cells[1], Number.parseInt(cells[7], 10)];
        });
      const ms = (seconds: number) => (Math.round(seconds * 1e6) / 1000).toFixed(3);
      expect(rows).toEqual([
        ["SELECT id FROM items WHERE id = ?", total - failed, ms(s.queries[0].total), 0],
        ["SELECT ? / ?", failed, "-", failed],
      ]);
      expect(s.queries[0].query).toBe("SELECT id FROM items WHERE id = ?");
    },
  );

  it("explain: every connection's story, at most 500 requests each", async () => {
    const r = await pgwire(["explain", FILE]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.match(/^Connection \d+: /gm)).toHaveLength(CONNECTIONS);
    expect(r.stdout.match(/^ +[\d.]+ {2}Query: /gm)).toHaveLength((CONNECTIONS - 1) * REQUESTS + 500);
    expect(r.stdout).toContain(`… and ${LONG - 500} more requests (pgwire stats sums them all)`);
    expect(r.stdout).toMatch(
      new RegExp(`^Findings \\(${CONNECTIONS}\\):\\n {2}${CONNECTIONS} × Access granted without a password`, "m"),
    );
  });

  it("report: the tables have everything, 50 connections are drawn", async () => {
    const out = join(tmp, "large.html");
    const r = await pgwire(["report", FILE, "-o", out]);
    expect(r.exitCode).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html.match(/<svg class="sequence"/g)).toHaveLength(50);
    expect(html).toContain(`… and ${CONNECTIONS - 50} more connections`);
    expect(html.match(/<tr>/g)?.length).toBeGreaterThan(CONNECTIONS);
    expect(statSync(out).size).toBeLessThan(20_000_000);
  });
});
