// Bad bytes, other ports and the plugins folder: what a user's capture may hold.

import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { luaSide, PLUGIN, stderrProblems } from "../../src/compare.ts";
import { decodeCapture } from "../../src/pipeline.ts";
import { hasCommand, ROOT } from "./helpers.ts";

const FUZZ_INPUTS = ["seed-md5.pcapng", "psql-scram.pcapng", "node-extended.pcapng", "synth/all-messages.pcapng"].map(
  (f) => join(ROOT, "captures", f),
);

describe.skipIf(!hasCommand("tshark") || !hasCommand("editcap"))("fuzzed captures (editcap -E)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pgwire-fuzz-"));
  for (const file of FUZZ_INPUTS) {
    for (const [seed, rate] of [
      [1, "0.02"],
      [7, "0.1"],
    ] as const) {
      it(`${basename(file)} seed ${seed} rate ${rate}: no Lua error, no decoder error, no TS exception`, async () => {
        const out = join(dir, `${basename(file, ".pcapng")}-${seed}-${rate}.pcapng`);
        await execa("editcap", ["--seed", String(seed), "-E", rate, file, out]);
        const r = await execa("tshark", ["-n", "-X", `lua_script:${PLUGIN}`, "-r", out, "-V"]);
        expect(stderrProblems(r.stderr)).toEqual([]);
        expect(r.stdout).not.toContain("Decoder error");
        expect(r.stdout).not.toMatch(/Lua Error/i);
        let items = 0;
        for await (const fr of decodeCapture(out)) items += fr.items.length;
        expect(items).toBeGreaterThan(0);
      });
    }
  }
});

describe.skipIf(!hasCommand("tshark"))("ports and loading", () => {
  const synth = join(ROOT, "captures", "synth", "ipv6-and-ports.pcapng");

  it("decodes another port with Decode As and with the port preference", async () => {
    const plain = await luaSide(synth, { heuristic: false });
    const byPref = await luaSide(synth, { ports: [5432, 5433], heuristic: false });
    expect(byPref.frames.size).toBeGreaterThan(plain.frames.size);
    const r = await execa("tshark", [
      "-n",
      "-X",
      `lua_script:${PLUGIN}`,
      "-r",
      synth,
      "-d",
      "tcp.port==5433,pgwire",
      "-Y",
      "pgwire && tcp.port == 5433",
    ]);
    expect(r.stdout).toContain("StartupMessage");
    expect(stderrProblems(r.stderr)).toEqual([]);
  });

  it("loads from the personal plugins folder", async () => {
    const home = mkdtempSync(join(tmpdir(), "pgwire-home-"));
    const plugins = join(home, ".local", "lib", "wireshark", "plugins");
    mkdirSync(plugins, { recursive: true });
    copyFileSync(PLUGIN, join(plugins, "pgwire.lua"));
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
    const r = await execa(
      "tshark",
      [
        "-n",
        "-r",
        join(ROOT, "captures", "seed-md5.pcapng"),
        "-Y",
        'pgwire.msg == "Query"',
        "-T",
        "fields",
        "-e",
        "pgwire.query",
      ],
      { env },
    );
    expect(r.stdout.trim()).toBe("SELECT * FROM employees");
    expect(stderrProblems(r.stderr)).toEqual([]);
  });
});
