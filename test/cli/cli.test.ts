// The pgwire command line, run as a user runs it: `node bin/pgwire.cjs ...` in a child process.

import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { PcapWriter } from "../../src/capture/pcap.ts";
import { locate, missing } from "../helpers/tools.ts";
import { BIN, pgwire, ROOT } from "./helpers.ts";

const SEED = "captures/seed-md5.pcapng";

const tmp = mkdtempSync(join(tmpdir(), "pgwire-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A clean failure: exactly one `pgwire: ...` line on stderr, no stack trace. */
function expectOneErrorLine(stderr: string, pattern: RegExp): void {
  expect(stderr.split("\n")).toHaveLength(1);
  expect(stderr).toMatch(/^pgwire: /);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\bat .*:\d+/);
  expect(stderr).not.toMatch(/Error:/);
}

interface JsonMessage {
  frame: number;
  time: number;
  stream: number;
  direction: "frontend" | "backend";
  msg: string | null;
  fields: { name: string; value: unknown; offset: number; length: number }[];
}

function jsonLines(stdout: string): JsonMessage[] {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as JsonMessage);
}

describe("pgwire decode", { timeout: 60_000 }, () => {
  it("prints each frame's Info line, then its messages with their fields", async () => {
    const r = await pgwire(["decode", SEED]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const out = r.stdout;
    // Frame lines: frame, time since the first frame shown, stream, Info column.
    expect(out).toMatch(/^ +\d+ +0\.0\d{5} +0 {2}> StartupMessage 3\.0 user=app database=company$/m);
    expect(out).toMatch(/^ +\d+ +\d+\.\d{6} +0 {2}< AuthenticationMD5Password$/m);
    expect(out).toMatch(/^ +\d+ +\d+\.\d{6} +0 {2}> Query: SELECT \* FROM employees$/m);
    expect(out).toMatch(/^ +\d+ +\d+\.\d{6} +0 {2}> Terminate$/m);
    // Message lines, indented, with their fields.
    expect(out).toMatch(
      /^ {2}StartupMessage {2}version_major=3 version_minor=0 parameter_name="user" parameter_value="app"/m,
    );
    expect(out).toMatch(/^ {2}AuthenticationMD5Password {2}authtype=5 \(MD5Password\) salt=[0-9a-f]{8}$/m);
    expect(out).toMatch(/^ {2}PasswordMessage {2}password="md5[0-9a-f]{32}"$/m);
    expect(out).toMatch(/^ {2}Query {2}query="SELECT \* FROM employees"$/m);
    expect(out.match(/^ {2}DataRow {2}field\.count=5 /gm)).toHaveLength(5);
    expect(out).toContain('("Alice Johnson")');
    expect(out).toMatch(/^ {2}CommandComplete {2}tag="SELECT 5"$/m);
    expect(out).toMatch(/^ {2}ReadyForQuery {2}status=73 \(Idle\)( response_to=\d+ time=[\d.]+)?$/m);
    // The query's response time: its ReadyForQuery links back to it.
    expect(out).toMatch(
      /^ {2}ReadyForQuery {2}status=73 \(Idle\) response_to=\d+ time=0\.\d+ row_count=5 tags="SELECT 5" tag_rows=5$/m,
    );
    expect(out).toMatch(/^ {2}Terminate$/m);
    // In capture order.
    const order = ["StartupMessage", "AuthenticationMD5Password", "PasswordMessage", "Query", "DataRow", "Terminate"];
    const at = order.map((m) => out.search(new RegExp(`^ {2}${m}\\b`, "m")));
    expect(at.every((p) => p >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("--json writes one parseable object per message", async () => {
    const r = await pgwire(["decode", "--json", SEED]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const msgs = jsonLines(r.stdout);
    for (const m of msgs) {
      expect(Object.keys(m)).toEqual(expect.arrayContaining(["frame", "time", "stream", "direction", "msg", "fields"]));
      expect(typeof m.frame).toBe("number");
      expect(typeof m.time).toBe("number");
      expect(m.stream).toBe(0);
      expect(["frontend", "backend"]).toContain(m.direction);
      for (const f of m.fields) {
        expect(typeof f.name).toBe("string");
        expect(typeof f.offset).toBe("number");
        expect(typeof f.length).toBe("number");
      }
    }
    const names = msgs.map((m) => m.msg);
    expect(names[0]).toBe("StartupMessage");
    expect(names).toContain("AuthenticationMD5Password");
    expect(names.filter((n) => n === "DataRow")).toHaveLength(5);
    expect(names.at(-1)).toBe("Terminate");
    const query = msgs.find((m) => m.msg === "Query");
    expect(query?.direction).toBe("frontend");
    expect(query?.fields).toContainEqual({
      name: "pgwire.query",
      value: "SELECT * FROM employees",
      offset: 5,
      length: 24,
    });
    // Bytes are hex strings.
    const auth = msgs.find((m) => m.msg === "AuthenticationMD5Password");
    expect(auth?.direction).toBe("backend");
    expect(auth?.fields.find((f) => f.name === "pgwire.salt")?.value).toMatch(/^[0-9a-f]{8}$/);
  });

  it("--port chooses the server ports", async () => {
    const other = await pgwire(["decode", "--port", "6432", "--no-heuristic", SEED]);
    expect(other.exitCode).toBe(0);
    expect(other.stdout).toBe("");
    // Without --no-heuristic the session on 5432 is still found by its startup packet.
    const found = await pgwire(["decode", "--port", "6432", SEED]);
    expect(found.stdout).toContain("Query: SELECT * FROM employees");
    const both = await pgwire(["decode", "--port=6432,5432", "--json", SEED]);
    const plain = await pgwire(["decode", "--json", SEED]);
    expect(both.exitCode).toBe(0);
    expect(both.stdout).toBe(plain.stdout);
  });

  it("stops quietly when the reader goes away (| head)", async () => {
    const r = await execa(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${BIN}" decode --json captures/pgbench-extended.pcapng | head -n 1 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`,
      ],
      { cwd: ROOT, reject: false },
    );
    expect(r.stderr).toBe("status 0");
  });
});

describe("pgwire compare", { timeout: 120_000 }, () => {
  const noTshark = missing("tshark", "pgwire compare: the tests that run tshark");
  it.skipIf(noTshark)("the plugin and the decoder agree on the seed capture", async () => {
    const r = await pgwire(["compare", SEED]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^captures\/seed-md5\.pcapng: compared [1-9]\d* frames, [1-9]\d* items, [1-9]\d* fields$/);
    expect(lines.at(-1)).toMatch(/^OK: /);
  });

  it.skipIf(noTshark)("compares the messages inside TLS with a key log", async () => {
    const r = await pgwire(["compare", "captures/tls-keylog.pcapng", "--keylog", "captures/tls-keylog.keys"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const items = Number(/compared \d+ frames, (\d+) items/.exec(r.stdout)?.[1]);
    expect(items).toBeGreaterThan(10);
  });

  it("decodes inside TLS with a key log", async () => {
    const r = await pgwire(["decode", "captures/tls-keylog.pcapng", "--keylog", "captures/tls-keylog.keys"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Query: SELECT id, name, title FROM employees");
    const plain = await pgwire(["decode", "captures/tls-keylog.pcapng"]);
    expect(plain.stdout).not.toContain("Query:");
  });

  it("without tshark on PATH: one line naming tshark, exit 3", async () => {
    const bin = mkdtempSync(join(tmp, "path-"));
    symlinkSync(process.execPath, join(bin, "node"));
    const r = await pgwire(["compare", SEED], { PATH: bin });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expectOneErrorLine(r.stderr, /tshark/);
  });

  it.skipIf(noTshark)("a plugin that tshark does not load: one line with tshark's Lua error, exit 3", async () => {
    // A tshark on PATH that is handed a plugin with a syntax error instead of dissector/pgwire.lua.
    const real = locate("tshark") as string;
    const bin = mkdtempSync(join(tmp, "path-"));
    const bad = join(bin, "bad.lua");
    writeFileSync(bad, "local x = = 1\n");
    writeFileSync(
      join(bin, "tshark"),
      `#!/bin/bash\nargs=()\nfor a in "$@"; do case $a in lua_script:*) args+=("lua_script:${bad}") ;; *) args+=("$a") ;; esac; done\nexec ${real} "\${args[@]}"\n`,
      { mode: 0o755 },
    );
    const r = await pgwire(["compare", SEED], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expectOneErrorLine(
      r.stderr,
      /^pgwire: tshark did not load the plugin \S+\/dissector\/pgwire\.lua: tshark: Lua: syntax error: /,
    );
  });

  it("a missing capture fails before tshark runs", async () => {
    const r = await pgwire(["compare", join(tmp, "nope.pcapng")]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expectOneErrorLine(r.stderr, /nope\.pcapng does not exist/);
  });

  it("a missing key log", async () => {
    const r = await pgwire(["compare", SEED, "--keylog", join(tmp, "nope.keys")]);
    expect(r.exitCode).toBe(3);
    expectOneErrorLine(r.stderr, /key log file .*nope\.keys does not exist/);
  });
});

describe("bad input: one error line, exit 3", { timeout: 60_000 }, () => {
  it("a missing file", async () => {
    const r = await pgwire(["decode", join(tmp, "missing.pcap")]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expectOneErrorLine(r.stderr, /missing\.pcap does not exist/);
  });

  it("a text file", async () => {
    const file = join(tmp, "hello.txt");
    writeFileSync(file, "hello\n");
    const r = await pgwire(["decode", file]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expectOneErrorLine(r.stderr, /hello\.txt is not a pcap or pcapng capture file/);
  });

  it("a directory", async () => {
    const r = await pgwire(["decode", tmp]);
    expect(r.exitCode).toBe(3);
    expectOneErrorLine(r.stderr, /directory/);
  });

  it("a truncated capture: decodes the frames before the cut, then reports it", async () => {
    const file = join(tmp, "cut.pcapng");
    copyFileSync(join(ROOT, SEED), file);
    truncateSync(file, readFileSync(file).length - 10);
    const r = await pgwire(["decode", file]);
    expect(r.exitCode).toBe(3);
    expectOneErrorLine(r.stderr, /cut\.pcapng is truncated after frame \d+/);
    expect(r.stdout).toMatch(/^ {2}StartupMessage /m);
    expect(r.stdout).toMatch(/^ {2}Query {2}query="SELECT \* FROM employees"$/m);
    expect(r.stdout).toMatch(/^ {2}DataRow /m);

    const j = await pgwire(["decode", "--json", file]);
    expect(j.exitCode).toBe(3);
    expectOneErrorLine(j.stderr, /truncated/);
    expect(jsonLines(j.stdout).map((m) => m.msg)).toContain("Query");
  });

  it("an unsupported link type", async () => {
    const file = join(tmp, "linktype147.pcap");
    writeFileSync(file, new PcapWriter(147).addPacket(1, new Uint8Array(40)).toBuffer());
    const r = await pgwire(["decode", file]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe("");
    expectOneErrorLine(r.stderr, /unsupported link type 147/);
  });
});

describe("usage", { timeout: 60_000 }, () => {
  it("--help, per-command --help and --version", async () => {
    const top = await pgwire(["--help"]);
    expect(top.exitCode).toBe(0);
    expect(top.stdout).toMatch(/^Usage:/m);
    expect(top.stdout).toContain("decode FILE");
    expect(top.stdout).toContain("compare FILE");
    expect(top.stdout).toMatch(/^ {2}70 /m);
    const usage: Record<string, string> = {
      explain: "explain FILE",
      stats: "stats FILE",
      report: "report FILE -o OUT.html",
      watch: "watch -i IFACE",
      decode: "decode FILE",
      compare: "compare FILE",
      install: "install [--dir DIR]",
      log: "log FILE",
      generate: "generate [--check]",
    };
    for (const [cmd, line] of Object.entries(usage)) {
      expect(top.stdout, cmd).toMatch(new RegExp(`^ {2}${cmd} `, "m"));
      const h = await pgwire([cmd, "--help"]);
      expect(h.exitCode).toBe(0);
      expect(h.stdout.startsWith(`Usage: pgwire ${line}`), cmd).toBe(true);
      expect(h.stdout).toContain("Examples:");
      expect(h.stdout).toContain("Exit status:");
      expect((await pgwire(["help", cmd])).stdout).toBe(h.stdout);
    }
    const v = await pgwire(["--version"]);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(v.stdout).toBe(`pgwire ${pkg.version}`);
  });

  it.each([
    [["frobnicate", SEED], /unknown command 'frobnicate'/],
    [["constructor", SEED], /unknown command 'constructor'/],
    [["help", "toString"], /unknown command 'toString'/],
    [[], /no command/],
    [["--frob"], /unknown option '--frob'/],
    [["decode"], /needs a capture FILE/],
    [["decode", SEED, SEED], /one capture FILE/],
    [["decode", "--yaml", SEED], /unknown option '--yaml' for decode.*pgwire decode --help/],
    [["decode", "--port", "http", SEED], /invalid port 'http'/],
    [["decode", SEED, "--port"], /'--port' needs a value/],
    [["compare", "--json", SEED], /unknown option '--json' for compare/],
  ])("%j: usage hint, exit 2", async (args, pattern) => {
    const r = await pgwire(args as string[]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expectOneErrorLine(r.stderr, pattern as RegExp);
    expect(r.stderr).toMatch(/--help/);
  });
});
