// `pgwire watch` against a real throwaway PostgreSQL server on loopback: dumpcap captures, the
// TS decoder prints each request as its answer comes, Ctrl-C (SIGINT) prints the stats.

import { execa } from "execa";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startServer } from "../helpers/pgserver.ts";
import { AS_ROOT, missing, present } from "../helpers/tools.ts";
import { BIN, ROOT } from "./helpers.ts";

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("pgwire watch", { timeout: 120_000 }, () => {
  // The server runs as the user postgres through runuser, which needs root: not root, the test is
  // skipped (strict mode too), and its tools are not asked for.
  const noServer = !AS_ROOT || missing(["postgresql", "dumpcap"], "pgwire watch against a live server");
  const dumpcap = present("dumpcap", "pgwire watch on an interface that does not exist");

  it.skipIf(noServer)("prints each request live, then the stats on Ctrl-C", async () => {
    const server = await startServer();
    try {
      const watch = execa(process.execPath, [BIN, "watch", "-i", "lo", "-p", String(server.port), "--no-color"], {
        cwd: ROOT,
        reject: false,
        stdin: "ignore",
      });
      let out = "";
      watch.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      // dumpcap needs a moment to open the interface; the first connection waits for it.
      await new Promise((r) => setTimeout(r, 2000));
      const client = new pg.Client({ host: "127.0.0.1", port: server.port, user: "postgres", database: "postgres" });
      await client.connect();
      await client.query("SELECT g FROM generate_series(1, 5) g");
      await client.query("SELECT $1::int + 1 AS n", [41]);
      await client.query("SELECT 1 / 0").catch(() => undefined);
      await client.end();
      await until(() => /22012/.test(out), 10_000);
      watch.kill("SIGINT");
      const r = await watch;
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toBe("");
      const lines = out.split("\n");
      // One line per request: time, stream, user@database, response time, rows and tag or error, SQL.
      const line = (sql: string) => lines.find((l) => l.endsWith(sql));
      expect(line("SELECT g FROM generate_series(1, 5) g")).toMatch(
        /^\d\d:\d\d:\d\d\.\d{3} +\d+ {2}postgres@postgres +[\d.]+ (µs|ms|s) {2}5 rows SELECT 5 {2}/,
      );
      expect(line("SELECT $1::int + 1 AS n")).toMatch(/ {2}1 row SELECT 1 {2}/);
      expect(line("SELECT 1 / 0")).toMatch(/ {2}22012 division_by_zero: division by zero {2}/);
      // Ctrl-C: the stats of what was seen.
      expect(out).toMatch(/^Queries \(\d+ shapes, \d+ requests\)$/m);
      expect(out).toMatch(/^ +1 .* SELECT g FROM generate_series\(\?, \?\) g$/m);
      expect(out).toMatch(/^Errors by SQLSTATE \(1\)$/m);
    } finally {
      server.stop();
    }
  });

  it("needs an interface and dumpcap: one error line", async () => {
    const r = await execa(process.execPath, [BIN, "watch"], { cwd: ROOT, reject: false, stdin: "ignore" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^pgwire: watch needs -i IFACE/);
    const noDumpcap = await execa(process.execPath, [BIN, "watch", "-i", "lo"], {
      cwd: ROOT,
      reject: false,
      stdin: "ignore",
      env: { PATH: "/nonexistent" },
      extendEnv: false,
    });
    expect(noDumpcap.exitCode).toBe(3);
    expect(noDumpcap.stderr).toBe(
      "pgwire: dumpcap not found on PATH; watch needs it (Debian/Ubuntu: apt-get install wireshark-common)",
    );
    if (dumpcap) {
      const bad = await execa(process.execPath, [BIN, "watch", "-i", "no-such-interface0"], {
        cwd: ROOT,
        reject: false,
        stdin: "ignore",
        timeout: 30_000,
      });
      expect(bad.exitCode).toBe(3);
      expect(bad.stderr).toMatch(/^pgwire: dumpcap failed on no-such-interface0: /);
      expect(bad.stderr.split("\n")).toHaveLength(1);
    }
  });
});
