// The npm package as a user gets it: `npm pack` (which builds dist/cli.js first), the tarball
// installed with `npm install --omit=dev` into an empty folder, and every command of the installed
// `pgwire` run there: built JavaScript, without the devDependencies (no tsx, no TypeScript).

import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { typed, untyped } from "../decoder/helpers.ts";
import { AS_ROOT, missing } from "../helpers/tools.ts";
import { ROOT } from "./helpers.ts";

const SEED = join(ROOT, "captures", "seed-md5.pcapng");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

const tmp = mkdtempSync(join(tmpdir(), "pgwire-pack-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const app = join(tmp, "app");
let files: string[] = [];

beforeAll(async () => {
  const packDir = join(tmp, "pack");
  mkdirSync(packDir);
  await execa("npm", ["pack", "--pack-destination", packDir], { cwd: ROOT });
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz")) ?? "no tarball");
  files = (await execa("tar", ["-tzf", tarball])).stdout.split("\n").map((f) => f.replace(/^package\//, ""));
  // Its own package.json, or npm would install into a folder above that has one.
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pgwire-pack-test", private: true }));
  await execa("npm", ["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: app });
}, 120_000);

/** The installed `pgwire ARGS`, run from the empty folder. */
function pgwire(args: readonly string[], env?: Record<string, string>) {
  return execa(join(app, "node_modules", ".bin", "pgwire"), args, { cwd: app, reject: false, stdin: "ignore", env });
}

describe("the npm package", { timeout: 60_000 }, () => {
  it("holds the built command line, the plugin and the README's documents, nothing for development", () => {
    for (const f of ["LICENSE", "README.md", "package.json", "bin/pgwire.cjs", "dist/cli.js", "dissector/pgwire.lua"])
      expect(files).toContain(f);
    expect(files.filter((f) => /^(test|scripts|src|spec|generator|captures)\//.test(f) || f.endsWith(".ts"))).toEqual(
      [],
    );
    // Every relative link and image of the README is in the package.
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links).toContain("docs/fields.md");
    for (const l of links) expect(files, l).toContain(l);
  });

  it("installs with execa as its only dependency: no tsx, no TypeScript", async () => {
    const pkg = JSON.parse(readFileSync(join(app, "node_modules", "pgwire-dissector", "package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies)).toEqual(["execa"]);
    for (const dev of ["tsx", "typescript", "esbuild", "vitest"])
      expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    const tsx = await execa(process.execPath, ["--input-type=module", "-e", 'await import("tsx")'], {
      cwd: app,
      reject: false,
    });
    expect(tsx.stderr).toMatch(/ERR_MODULE_NOT_FOUND/);
  });

  it("--version and --help", async () => {
    const v = await pgwire(["--version"]);
    expect([v.exitCode, v.stdout, v.stderr]).toEqual([0, `pgwire ${VERSION}`, ""]);
    const h = await pgwire(["--help"]);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toMatch(/^Commands:$/m);
    expect(h.stdout).toMatch(/^ {2}explain FILE /m);
  });

  it("decode, explain, stats, log", async () => {
    const d = await pgwire(["decode", SEED]);
    expect([d.exitCode, d.stderr]).toEqual([0, ""]);
    expect(d.stdout).toMatch(/^ +\d+ +\d+\.\d{6} +0 {2}> Query: SELECT \* FROM employees$/m);
    expect(d.stdout).toMatch(/^ {2}PasswordMessage {2}password="md5[0-9a-f]{32}"$/m);
    const e = await pgwire(["explain", SEED]);
    expect([e.exitCode, e.stderr]).toEqual([0, ""]);
    expect(e.stdout).toMatch(/StartupMessage \(frame 4\): protocol 3\.0, user "app", database "company"/);
    expect(e.stdout).toMatch(/^Findings \(\d+\):$/m);
    const s = await pgwire(["stats", "--csv", SEED]);
    expect([s.exitCode, s.stderr]).toEqual([0, ""]);
    // query, count, answered, total, mean, p50, p95, max, rows, errors, failures, failedMean,
    // failedP50, failedMax, skipped, unanswered
    expect(s.stdout).toMatch(/^SELECT \* FROM employees,1,1(,[\d.]+){5},5,0,,0,0,0,0,0$/m);
    const l = await pgwire(["log", SEED]);
    expect([l.exitCode, l.stderr]).toEqual([0, ""]);
    expect(l.stdout).toContain(
      "[15757] app@company LOG:  00000: duration: 87.353 ms  statement: SELECT * FROM employees\n",
    );
  });

  it("report", async () => {
    const out = join(tmp, "seed.html");
    const r = await pgwire(["report", SEED, "-o", out]);
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(/^pgwire: wrote .*seed\.html \(1 connection, \d+ findings?\)$/);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain("SELECT * FROM employees");
  });

  it("install: the package's plugin, into a fresh home and into --dir", async () => {
    const plugin = readFileSync(join(ROOT, "dissector", "pgwire.lua"), "utf8");
    const home = mkdtempSync(join(tmp, "home-"));
    const r = await pgwire(["install"], { HOME: home });
    expect(r.exitCode).toBe(0);
    const m = /^pgwire: installed (.*pgwire\.lua) \(folder from .*\)$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const path = (m as RegExpExecArray)[1];
    expect(path.startsWith(join(home, ".local", "lib", "wireshark", "plugins"))).toBe(true);
    expect(readFileSync(path, "utf8")).toBe(plugin);
    const dir = join(tmp, "plugins");
    const d = await pgwire(["install", "--dir", dir]);
    expect(d.stdout).toBe(`pgwire: installed ${join(dir, "pgwire.lua")} (folder from --dir)`);
    expect(readFileSync(join(dir, "pgwire.lua"), "utf8")).toBe(plugin);
    // The profile ships too: --profile puts its files in the configuration folder given.
    const config = join(tmp, "config");
    const p = await pgwire(["install", "--dir", dir, "--profile", "--config-dir", config]);
    expect([p.exitCode, p.stderr]).toEqual([0, ""]);
    for (const f of ["preferences", "colorfilters", "dfilter_buttons"]) {
      const installed = readFileSync(join(config, "profiles", "PostgreSQL", f), "utf8");
      expect(installed.startsWith(readFileSync(join(ROOT, "dissector", "profile", f), "utf8")), f).toBe(true);
    }
  });

  it.skipIf(missing("tshark", "the npm package's compare"))(
    "compare: the package's plugin under tshark against its decoder",
    async () => {
      const r = await pgwire(["compare", SEED]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/compared 7 frames, \d+ items, \d+ fields$/m);
      expect(r.stdout).toMatch(/^OK: the Lua plugin and the TypeScript decoder agree$/m);
    },
  );

  it("generate is not in the package: one line saying where it runs, exit 3", async () => {
    const r = await pgwire(["generate", "--check"]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^pgwire: generate needs the spec and the generator, .* git checkout .*\)$/);
  });

  it("watch --help", async () => {
    const r = await pgwire(["watch", "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pgwire watch -i IFACE/);
  });

  // Capturing on lo needs root: not root, the test is skipped (strict mode too), and dumpcap is
  // not asked for.
  it.skipIf(!AS_ROOT || missing("dumpcap", "the npm package's watch"))(
    "watch: a request on loopback as it completes, the stats on Ctrl-C",
    async () => {
      // A stand-in server that answers one session: trust, then one row for the query.
      const server = createServer((s) => {
        s.on("data", (d: Buffer) => {
          if (d[0] === 0) s.write(Buffer.concat([typed("R", [0, 0, 0, 0]), typed("Z", [0x49])]));
          else if (d[0] === 0x51) {
            // One int4 column n (table 0, type 23, length 4, typmod -1, text), its value "42".
            const column = [0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 255, 255, 255, 255, 0, 0];
            s.write(
              Buffer.concat([
                typed("T", [0, 1], "n", column),
                typed("D", [0, 1, 0, 0, 0, 2, 0x34, 0x32]),
                typed("C", "SELECT 1"),
                typed("Z", [0x49]),
              ]),
            );
          } else s.end();
        });
      });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const port = (server.address() as { port: number }).port;
      const watch = pgwire(["watch", "-i", "lo", "-p", String(port), "--no-color"]);
      let out = "";
      watch.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      try {
        // dumpcap needs a moment to open the interface.
        await new Promise((r) => setTimeout(r, 2000));
        const c: Socket = createConnection(port, "127.0.0.1");
        await once(c, "connect");
        c.write(untyped([0, 3, 0, 0], "user", "app", "database", "company", ""));
        await once(c, "data");
        c.write(typed("Q", "SELECT 42"));
        await once(c, "data");
        c.end(typed("X"));
        await once(c, "close");
        const end = Date.now() + 10_000;
        while (!/SELECT 42\n/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      } finally {
        watch.kill("SIGINT");
        server.close();
      }
      const r = await watch;
      expect([r.exitCode, r.stderr]).toEqual([0, ""]);
      expect(out).toMatch(
        /^\d\d:\d\d:\d\d\.\d{3} +\d+ {2}app@company +[\d.]+ (µs|ms|s) {2}1 row SELECT 1 {2}SELECT 42$/m,
      );
      expect(out).toMatch(/^Queries \(1 shape, 1 request\)$/m);
    },
  );
});
