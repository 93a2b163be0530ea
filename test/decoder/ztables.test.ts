// The plugin's own statistics, `tshark -q -z pgwire,queries|errors|conns[,FILTER]`
// (src/analysis/stats.lua), against `pgwire stats --json` on every fixture capture: the same query
// shapes with the same counts, rows, errors, skipped and unanswered requests and times (to the
// microsecond; percentiles within the 2 % of their buckets), the same errors by SQLSTATE and the
// same connections. Then the shapes of SQL written to reach every rule of normalizeSql, filters,
// one pass against two, a filter that does not compile, corrupted captures, the other releases.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { StatsResult } from "../../src/analysis/stats.ts";
import { pluginNotLoaded, runTshark, stderrProblems, tsharkArgs } from "../../src/compare.ts";
import { RELEASES, releaseState, tsharkCommand } from "../helpers/releases.ts";
import { missing } from "../helpers/tools.ts";
import { portsOf, REAL_CAPTURES, ROOT } from "./helpers.ts";

const SYNTHETIC = readdirSync(join(ROOT, "captures", "synthetic"))
  .filter((f) => f.endsWith(".pcapng"))
  .map((f) => join(ROOT, "captures", "synthetic", f));
const KEYLOG = join(ROOT, "captures", "tls-keylog.keys");
const tmp = mkdtempSync(join(tmpdir(), "pgwire-z-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A table of the -z output: its cells by column name, cut at the columns of its dashes line (in bytes). */
type Row = Record<string, string>;
interface ZTable {
  title: string;
  filter?: string;
  heading: string;
  rows: Row[];
}

function parseTable(lines: string[]): Row[] {
  if (lines.length < 2 || !/^-/.test(lines[1])) return [];
  const dashes = lines[1];
  const starts: number[] = [];
  for (let i = 0; i < dashes.length; i++) if (dashes[i] === "-" && (i === 0 || dashes[i - 1] === " ")) starts.push(i);
  const cells = (line: string) => {
    const b = Buffer.from(line);
    return starts.map((s, i) =>
      b
        .subarray(s, i + 1 < starts.length ? starts[i + 1] : b.length)
        .toString()
        .trim(),
    );
  };
  const names = cells(lines[0]);
  return lines.slice(2).map((l) => Object.fromEntries(cells(l).map((c, i) => [names[i], c])));
}

/** The tables of one tshark run, in the order tshark draws them (the last -z first). */
function parseZ(stdout: string): ZTable[] {
  const rule = "=".repeat(80);
  const out: ZTable[] = [];
  const blocks = stdout.split(`${rule}\n`);
  for (let i = 1; i < blocks.length; i += 2) {
    const lines = blocks[i].replace(/\n$/, "").split("\n");
    const title = lines.shift() ?? "";
    const filter = lines[0]?.startsWith("Filter: ") ? lines.shift()?.slice(8) : undefined;
    lines.shift(); // the blank line
    const heading = lines.shift() ?? "";
    out.push({ title, filter, heading, rows: parseTable(lines) });
  }
  return out;
}

const Z = ["queries", "errors", "conns"] as const;

async function zRun(file: string, opts: { filter?: string; twoPass?: boolean; tshark?: readonly string[] } = {}) {
  const name = basename(file);
  const z = Z.flatMap((w) => ["-z", `pgwire,${w}${opts.filter ? `,${opts.filter}` : ""}`]);
  // Out-of-order segments reassembled, as the TS decoder does (segmentation.pcapng has some), except
  // in truncated.pcapng: with that on, tshark never hands its frame 16 to the plugin
  // (captures/synthetic/manifest.md).
  const args = tsharkArgs(
    file,
    {
      ports: portsOf(name),
      keylog: name === "tls-keylog.pcapng" ? KEYLOG : undefined,
      twoPass: opts.twoPass ?? false,
      // A later -o wins: Wireshark's default back for truncated.pcapng.
      prefs: name === "truncated.pcapng" ? ["tcp.reassemble_out_of_order:FALSE"] : [],
    },
    ["-q", ...z],
  );
  const r = await runTshark(args, opts.tshark);
  return { tables: parseZ(r.stdout), problems: stderrProblems(r.stderr), stdout: r.stdout };
}

/** `pgwire stats --json` of a capture; null when it finds no PostgreSQL traffic (exit 3). */
async function pgwireStats(file: string): Promise<StatsResult | null> {
  const name = basename(file);
  const ports = portsOf(name);
  const args = ["bin/pgwire.cjs", "stats", file, "--json"];
  if (ports) args.push("--port", ports.join(","));
  if (name === "tls-keylog.pcapng") args.push("--keylog", KEYLOG);
  const r = await execa("node", args, { cwd: ROOT, reject: false });
  if (r.exitCode === 3 && /no PostgreSQL traffic/.test(r.stderr)) return null;
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatsResult;
}

/** Milliseconds as the tables print them ("12.345") in whole microseconds. */
const us = (ms: string) => {
  const m = /^(\d+)\.(\d{3})$/.exec(ms);
  if (!m) throw new Error(`not a time in ms: ${ms}`);
  return Number(m[1]) * 1000 + Number(m[2]);
};
const usOf = (seconds: number) => Math.round(seconds * 1e6);

/** The -z tables in the shape of `pgwire stats --json`'s, for one comparison. */
function fromZ(tables: ZTable[]) {
  const table = (title: string) => {
    const t = tables.find((x) => x.title === `PostgreSQL ${title} (pgwire)`);
    if (!t) throw new Error(`no table ${title} in tshark's output`);
    return t;
  };
  const [q, e, c] = [table("queries"), table("errors"), table("connections")];
  return {
    queries: q.rows.map((r) => {
      const times = r.total === "-" ? undefined : [r.total, r.mean, r.p50, r.p95, r.max].map(us);
      const failed = /^\d+ \((.*); (\d+\.\d{3})\)$/.exec(r.errors);
      const codes = failed?.[1] ?? "";
      const notRun = Object.fromEntries(
        [...r["not run"].matchAll(/(\d+) (skipped|unanswered)/g)].map((m) => [m[2], Number(m[1])]),
      );
      return {
        query: r.query,
        count: Number(r.count),
        times,
        rows: Number(r.rows),
        errors: Number.parseInt(r.errors, 10),
        failedMean: failed ? us(failed[2]) : undefined,
        failures: Object.fromEntries(
          codes
            .split(" ")
            .filter(Boolean)
            .map((x) => [x.split(":")[0], Number(x.split(":")[1])]),
        ),
        skipped: notRun.skipped ?? 0,
        unanswered: notRun.unanswered ?? 0,
      };
    }),
    errors: e.rows.map((r) => ({
      code: r.code,
      name: r.condition,
      severity: r.severity,
      count: Number(r.count),
      example: r.example,
    })),
    connections: c.rows.map((r) => ({
      stream: Number(r.stream),
      client: r.client,
      server: r.server,
      user: r.user,
      database: r.database,
      application: r.application,
      auth: r.auth,
      tls: r.tls === "yes",
      requests: Number(r.requests),
      errors: Number(r.errors),
      duration: us(r.duration),
    })),
  };
}

function fromStats(s: StatsResult | null) {
  if (s === null) return { queries: [], errors: [], connections: [] };
  return {
    queries: s.queries.map((q) => ({
      query: q.query,
      count: q.count,
      times: q.answered > 0 ? [q.total, q.mean, q.p50, q.p95, q.max].map(usOf) : undefined,
      rows: q.rows,
      errors: q.errors,
      failedMean: q.errors > 0 ? usOf(q.failedMean) : undefined,
      failures: q.failures,
      skipped: q.skipped,
      unanswered: q.unanswered,
    })),
    errors: s.errors.map((e) => ({
      code: e.code,
      name: e.name ?? "",
      severity: e.severity,
      count: e.count,
      example: e.example,
    })),
    connections: s.connections.map((c) => ({
      stream: c.stream,
      client: c.client,
      server: c.server,
      user: c.user ?? "",
      database: c.database ?? "",
      application: c.application ?? "",
      auth: c.auth,
      tls: c.tls,
      requests: c.requests,
      errors: c.errors,
      duration: usOf(c.duration),
    })),
  };
}

/** Percentiles are bucket bounds: the two sides may round a bound differently by a microsecond. */
function sameQueries(z: ReturnType<typeof fromZ>["queries"], s: ReturnType<typeof fromStats>["queries"]) {
  const byShape = (list: typeof z) => [...list].sort((a, b) => (a.query < b.query ? -1 : a.query > b.query ? 1 : 0));
  const a = byShape(z);
  const b = byShape(s);
  expect(a.map((q) => q.query)).toEqual(b.map((q) => q.query));
  for (let i = 0; i < a.length; i++) {
    const { times: ta, ...ra } = a[i];
    const { times: tb, ...rb } = b[i];
    expect(ra, a[i].query).toEqual(rb);
    expect(ta === undefined, a[i].query).toBe(tb === undefined);
    if (!ta || !tb) continue;
    // total, mean and max to the microsecond; p50 and p95 within 2 % (their buckets' width).
    expect([ta[0], ta[1], ta[4]], a[i].query).toEqual([tb[0], tb[1], tb[4]]);
    for (const j of [2, 3]) expect(Math.abs(ta[j] - tb[j]), a[i].query).toBeLessThanOrEqual(Math.max(1, tb[j] * 0.02));
  }
}

const FIXTURES = [...REAL_CAPTURES, ...SYNTHETIC, join(ROOT, "captures", "values", "binary.pcapng")];

describe.skipIf(missing("tshark", "tshark -z pgwire"))("tshark -z pgwire,queries|errors|conns", () => {
  it("the plugin loads", async () => {
    expect(await pluginNotLoaded()).toBeNull();
  });

  for (const file of FIXTURES) {
    it(`${basename(file)}: the tables equal pgwire stats`, { timeout: 60_000 }, async () => {
      const [z, s] = await Promise.all([zRun(file), pgwireStats(file)]);
      expect(z.problems).toEqual([]);
      // tshark draws its taps last registered first.
      expect(z.tables.map((t) => t.title).sort()).toEqual([
        "PostgreSQL connections (pgwire)",
        "PostgreSQL errors (pgwire)",
        "PostgreSQL queries (pgwire)",
      ]);
      const a = fromZ(z.tables);
      const b = fromStats(s);
      sameQueries(a.queries, b.queries);
      const byCode = (l: typeof a.errors) => [...l].sort((x, y) => (x.code < y.code ? -1 : 1));
      expect(byCode(a.errors)).toEqual(byCode(b.errors));
      expect(a.connections).toEqual(b.connections);
    });
  }
});

/** Query texts whose shapes take every rule of normalizeSql, and its corners. */
const TRICKY_SQL = [
  "select 1",
  "SELECT  1 ;",
  "select 1;;; ",
  "select * from t where a in (1, 2, 3) and b IN($1,$2) and c in ( ? )",
  "SELECT * FROM t WHERE x IN(1,2) AND y in ( $1 , $2 ) AND z join(1, 2)",
  "select min(1,2), max(a) from t",
  "SELECT $1, $12 FROM t",
  "select E'it''s', e'x', 'y' -- a comment\n from t",
  "/* a comment */ select 1.5e10, -3, x1, 1x, 1.5x, a-1, a - 1, 5.5.5, 1e+5, 1E-5x, 1e, .5",
  'SELECT "Select", "my ""t""" FROM "From" where b = \'unterminated',
  "select '''', 'a''' || 'b', ''",
  "select 'a'b'c'",
  'select "unterminated',
  'select "a""',
  "Select\u00a0x\u2003from\u3000t",
  "select t.select, x$1, _abc, abc_def, order_id, SELECT1 from t",
  "select 1--x\n",
  "select 1 /* unterminated comment",
  "with x as (select 1) select * from x order by 1 nulls first",
  "SELECT 'é', 'ü' FROM ünïcode WHERE naïve = 1",
  "select\ttab\nnewline\r\nend",
  "INSERT INTO t VALUES (1, 'a'), (2, 'b') RETURNING id",
  "  ",
  "",
];

describe.skipIf(missing("tshark", "tshark -z pgwire on built captures"))("tshark -z pgwire on built captures", () => {
  it("groups queries by the same shapes as pgwire stats (normalizeSql), corners included", async () => {
    const { TcpSessionBuilder, sessionsToPcapng } = await import("../tools/tcp-sessions.ts");
    const { fe, be } = await import("../../captures/build.ts");
    const { concatBytes } = await import("../tools/encoder.ts");
    const { normalizeSql } = await import("../../src/analysis/analyzer.ts");
    const b = new TcpSessionBuilder({
      client: { ip: "127.0.0.1", port: 45001 },
      server: { ip: "127.0.0.1", port: 5432 },
      startTime: 1700000000,
    }).handshake();
    b.send(true, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "u", database: "d" } }));
    b.send(false, concatBytes(be("AuthenticationOk", { authtype: 0 }), be("ReadyForQuery", { status: "I" })));
    for (const sql of TRICKY_SQL) {
      b.send(true, fe("Query", { query: sql }));
      b.send(false, concatBytes(be("CommandComplete", { tag: "SELECT 0" }), be("ReadyForQuery", { status: "I" })));
    }
    b.close(true);
    const file = join(tmp, "shapes.pcapng");
    writeFileSync(file, sessionsToPcapng([b]));
    const z = await zRun(file);
    expect(z.problems).toEqual([]);
    const got = fromZ(z.tables).queries.map((q) => [q.query, q.count] as const);
    const want = new Map<string, number>();
    for (const sql of TRICKY_SQL) want.set(normalizeSql(sql), (want.get(normalizeSql(sql)) ?? 0) + 1);
    expect(new Map(got)).toEqual(want);
    // The corners give distinct shapes, not one: the test reaches the rules.
    expect(want.size).toBeGreaterThan(TRICKY_SQL.length - 6);
  });
});

describe.skipIf(missing("tshark", "tshark -z pgwire options"))("tshark -z pgwire: filters, passes, errors", () => {
  const cap = (f: string) => join(ROOT, "captures", f);

  it("gives the same tables in one pass and in two (tshark -2)", async () => {
    for (const f of ["node-failures.pcapng", "pgbench-pipeline.pcapng", "psql-cancel.pcapng"]) {
      const [one, two] = await Promise.all([zRun(cap(f)), zRun(cap(f), { twoPass: true })]);
      expect(two.problems).toEqual([]);
      expect(two.stdout, f).toBe(one.stdout);
    }
  });

  it("counts what a display filter passes: requests by their request or answer frame, errors, connections", async () => {
    const file = cap("node-failures.pcapng");
    const all = fromZ((await zRun(file)).tables);
    // The frames with an error's code: the failed requests (by the error's frame), the errors,
    // the connections that had one.
    const z = await zRun(file, { filter: "pgwire.code" });
    expect(z.problems).toEqual([]);
    for (const t of z.tables) expect(t.filter).toBe("pgwire.code");
    const errs = fromZ(z.tables);
    expect(errs.errors).toEqual(all.errors);
    expect(errs.queries.length).toBeGreaterThan(0);
    expect(errs.queries.reduce((n, q) => n + q.count, 0)).toBeLessThan(all.queries.reduce((n, q) => n + q.count, 0));
    const failed = (l: typeof all.queries) => l.filter((q) => q.errors > 0).map((q) => [q.query, q.errors, q.failures]);
    expect(failed(errs.queries)).toEqual(failed(all.queries));
    expect(errs.connections.map((c) => c.stream)).toEqual(
      all.connections.filter((c) => c.errors > 0).map((c) => c.stream),
    );
    // A filter on the query text: its requests, whole.
    const sel = fromZ((await zRun(cap("seed-md5.pcapng"), { filter: 'pgwire.query contains "employees"' })).tables);
    expect(sel.queries.map((q) => [q.query, q.count])).toEqual([["SELECT * FROM employees", 1]]);
    expect(sel.queries[0].times).toEqual(fromZ((await zRun(cap("seed-md5.pcapng"))).tables).queries[0].times);
    // A filter that passes nothing: empty tables.
    const none = fromZ((await zRun(file, { filter: "frame.number == 0" })).tables);
    expect(none).toEqual({ queries: [], errors: [], connections: [] });
  });

  it("stops with tshark's error on a filter that does not compile", async () => {
    const args = tsharkArgs(cap("seed-md5.pcapng"), { twoPass: false }, [
      "-q",
      "-z",
      "pgwire,queries,pgwire.nosuchfield == 1",
    ]);
    const { execa: run } = await import("execa");
    const r = await run("tshark", args, { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /^tshark: -z pgwire,queries: the filter "pgwire\.nosuchfield == 1" does not compile: .*nosuchfield/m,
    );
    expect(r.stdout).toBe("");
  });
});

// The taps the tables stand on ("tcp", "frame" with a filter, register_stat_cmd_arg) under the
// other releases, as their user: the same tables as the host's 4.0 on every fixture.
describe.concurrent("tshark -z pgwire under other Wireshark releases", () => {
  for (const r of RELEASES) {
    const state = releaseState(r);
    const name = `Wireshark ${r.wireshark} (Debian ${r.suite})`;
    if (!state.ready || missing("tshark", name)) {
      // releases.test.ts fails in strict mode for a missing chroot.
      it.skip(`${name}: skipped, ${state.ready ? "no host tshark" : state.reason}`, () => {});
      continue;
    }
    const tshark = tsharkCommand(r);
    it(`${name}: loads the plugin`, async () => {
      expect(await pluginNotLoaded({ tshark })).toBeNull();
    });
    for (const file of FIXTURES) {
      it(`${name}: ${basename(file)}, the host's tables`, { timeout: 60_000 }, async () => {
        const [got, host] = await Promise.all([zRun(file, { tshark }), zRun(file)]);
        expect(got.problems).toEqual([]);
        expect(got.tables.length).toBe(3);
        expect(got.stdout).toBe(host.stdout);
      });
    }
  }
});

// Never a Lua error, whatever the bytes: the collection runs beside the dissector on corrupted
// captures (editcap -E, fixed seeds), and neither raises one nor stops on an internal error.
describe.skipIf(missing(["tshark", "editcap"], "tshark -z pgwire on corrupted captures"))(
  "tshark -z pgwire on corrupted captures",
  () => {
    for (const f of ["node-failures.pcapng", "pgbench-pipeline.pcapng", "psql-scram.pcapng", "node-pgoutput.pcapng"]) {
      for (const seed of [1, 2]) {
        it(`${f}, seed ${seed}: no Lua error, every table drawn`, { timeout: 60_000 }, async () => {
          const out = join(tmp, `${seed}-${f}`);
          await execa("editcap", ["--seed", String(seed), "-E", "0.02", join(ROOT, "captures", f), out]);
          const z = await zRun(out);
          expect(z.problems).toEqual([]);
          expect(z.tables.map((t) => t.heading.split(" (")[0]).sort()).toEqual([
            "Connections",
            "Errors by SQLSTATE",
            "Queries",
          ]);
          expect(z.stdout).not.toContain("internal error");
        });
      }
    }
  },
);
