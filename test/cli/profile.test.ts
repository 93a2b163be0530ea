// The configuration profile PostgreSQL (dissector/profile, `pgwire install --profile`): its files
// name only fields the plugin has; the command installs it where Wireshark looks (tshark -G
// folders), leaves a different one alone without --force; and real tshark releases load it
// without a warning, show its columns, colour frames by its rules and accept every filter button.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { EXPERTS, F } from "../../dissector/pgwire.ts";
import { chrootDir, RELEASES, releaseState, runReleaseTshark } from "../helpers/releases.ts";
import { AS_ROOT, missing, STRICT } from "../helpers/tools.ts";
import { pgwire, ROOT } from "./helpers.ts";

const PROFILE = join(ROOT, "dissector", "profile");
const PLUGIN = join(ROOT, "dissector", "pgwire.lua");
const capture = (name: string) => join(ROOT, "captures", `${name}.pcapng`);
/** tshark's arguments that print each frame's number and the colouring rule it matches. */
const COLOUR_RULES = ["--color", "-T", "fields", "-e", "frame.number", "-e", "frame.coloring_rule.name"];
const tmp = mkdtempSync(join(tmpdir(), "pgwire-profile-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The filter buttons: label and display filter (the file's \x22 is a quote). */
function buttons(): Array<{ label: string; filter: string }> {
  return readFileSync(join(PROFILE, "dfilter_buttons"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith('"'))
    .map((l) => {
      const f = [...l.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\x22/g, '"'));
      expect(f, l).toHaveLength(4);
      expect(f[0]).toBe("TRUE");
      return { label: f[1], filter: f[2] };
    });
}

/** What each button selects, by frame, in a fixture that has some of it. */
const SELECTS: Record<string, { capture: string; frames: number[] }> = {
  Queries: { capture: "seed-md5", frames: [10] },
  Errors: { capture: "seed-wrong-password", frames: [9] },
  "Slow > 100 ms": { capture: "psql-cancel", frames: [] },
  Authentication: { capture: "seed-md5", frames: [6, 8, 9] },
  Replication: { capture: "pg-standby", frames: [] },
};

describe("the profile's files", () => {
  it("name only fields and expert infos of the plugin", () => {
    const known = new Set([
      ...Object.values(F).map((f) => f.name),
      ...Object.values(EXPERTS).map((e) => `pgwire.${e.abbrev}`),
    ]);
    let names = 0;
    for (const file of ["preferences", "colorfilters", "dfilter_buttons"]) {
      const text = readFileSync(join(PROFILE, file), "utf8")
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .join("\n");
      for (const m of text.matchAll(/\bpgwire\.[a-z0-9_.]*[a-z0-9_]/g)) {
        names++;
        expect(known.has(m[0]), `${file}: ${m[0]}`).toBe(true);
      }
    }
    expect(names).toBeGreaterThan(15);
  });

  it("have the five filter buttons the issue names, each with a fixture that shows it", () => {
    expect(buttons().map((b) => b.label)).toEqual(Object.keys(SELECTS));
  });
});

describe("pgwire install --profile without tshark", () => {
  it("uses Wireshark's own default folders: ~/.wireshark when there is one, else ~/.config/wireshark", async () => {
    const home = join(tmp, "home-without-tshark");
    const env = { HOME: home, XDG_CONFIG_HOME: "", PATH: join(tmp, "no-tools") };
    mkdirSync(join(home, ".wireshark"), { recursive: true });
    const old = await pgwire(["install", "--profile"], env);
    expect(old.exitCode).toBe(0);
    expect(old.stdout).toContain(
      `in ${join(home, ".wireshark", "profiles", "PostgreSQL")} (folder from the old ~/.wireshark, which Wireshark keeps using)`,
    );
    rmSync(join(home, ".wireshark"), { recursive: true });
    const xdg = await pgwire(["install", "--profile"], env);
    expect(xdg.exitCode).toBe(0);
    const target = join(home, ".config", "wireshark", "profiles", "PostgreSQL");
    expect(xdg.stdout).toContain(`in ${target} (folder from Wireshark's personal configuration folder)`);
    // Without tshark, no default colouring rules to append: pgwire's alone.
    expect(readFileSync(join(target, "colorfilters"), "utf8")).toBe(
      readFileSync(join(PROFILE, "colorfilters"), "utf8"),
    );
  });
});

describe.skipIf(missing("tshark", "pgwire install --profile and tshark"))("pgwire install --profile", () => {
  const home = join(tmp, "home");
  const env = { HOME: home, XDG_CONFIG_HOME: join(tmp, "config") };
  const target = join(tmp, "config", "wireshark", "profiles", "PostgreSQL");
  /** tshark with the profile and the plugin, both as installed above (the home and configuration folders). */
  const tshark = (args: readonly string[]) =>
    execa("tshark", ["-C", "PostgreSQL", ...args], {
      reject: false,
      env,
      cwd: ROOT,
    });
  /** Its stderr without the line tshark writes whenever it runs as root. */
  const warnings = (stderr: string) =>
    stderr
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("Running as user"))
      .join("\n");

  it("installs the plugin and the profile where tshark -G folders says, and again unchanged", async () => {
    const r = await pgwire(["install", "--profile"], env);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`pgwire: installed the profile PostgreSQL in ${target} (folder from tshark -G folders)`);
    for (const f of ["preferences", "dfilter_buttons"]) {
      expect(readFileSync(join(target, f), "utf8")).toBe(readFileSync(join(PROFILE, f), "utf8"));
    }
    // pgwire's rules first, then Wireshark's own (Debian's tshark has them).
    const colors = readFileSync(join(target, "colorfilters"), "utf8");
    expect(colors.startsWith(readFileSync(join(PROFILE, "colorfilters"), "utf8"))).toBe(true);
    expect(colors).toMatch(/^@Bad TCP@/m);
    const again = await pgwire(["install", "--profile"], env);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("the profile PostgreSQL is already installed, unchanged:");
  });

  it("keeps a profile file that differs unless --force, and writes nothing then", async () => {
    const prefs = join(target, "preferences");
    writeFileSync(prefs, `${readFileSync(prefs, "utf8")}# mine\n`);
    const r = await pgwire(["install", "--profile"], env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(`pgwire: ${prefs} exists and differs from this profile's; use --force to replace it`);
    expect(readFileSync(prefs, "utf8")).toContain("# mine");
    const forced = await pgwire(["install", "--profile", "--force"], env);
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toContain("replaced the different profile PostgreSQL in");
    expect(readFileSync(prefs, "utf8")).not.toContain("# mine");
  });

  it("takes --config-dir only with --profile", async () => {
    const r = await pgwire(["install", "--config-dir", join(tmp, "elsewhere")], env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--config-dir goes with --profile");
    expect(existsSync(join(tmp, "elsewhere"))).toBe(false);
  });

  it("is loaded by tshark without a warning, with its columns", async () => {
    const failed = await tshark(["-r", capture("seed-wrong-password")]);
    expect(warnings(failed.stderr)).toBe("");
    // Frame 9: the ErrorResponse, 5.3 ms after the PasswordMessage, SQLSTATE 28P01.
    expect(failed.stdout).toMatch(/^ +9 .* PGWIRE \d+ ErrorResponse 0\.005274000 +28P01 < ErrorResponse FATAL 28P01/m);
    const rows = await tshark(["-r", capture("seed-md5")]);
    expect(warnings(rows.stderr)).toBe("");
    // Frame 12: the rows of SELECT * FROM employees, 87 ms after the Query; its tag counts 5.
    expect(rows.stdout).toMatch(/^ +12 .*,CommandComplete,ReadyForQuery 0\.087353000 5 +< RowDescription/m);
  });

  it("colours errors, security findings and slow responses (tshark --color)", async () => {
    const rule = async (name: string) => {
      const r = await tshark(["-r", capture(name), ...COLOUR_RULES]);
      expect(warnings(r.stderr)).toBe("");
      return new Map(
        r.stdout
          .trim()
          .split("\n")
          .map((l) => l.split("\t") as [string, string]),
      );
    };
    const failed = await rule("seed-wrong-password");
    expect(failed.get("8")).toBe("pgwire: security finding"); // the MD5 hash
    expect(failed.get("9")).toBe("pgwire: server error");
    // Other traffic keeps Wireshark's own rules (TCP SYN/FIN: "TCP SYN/FIN").
    expect(failed.get("1")).toBe("TCP SYN/FIN");
    const slow = [...(await rule("psql-cancel")).values()].filter((n) => n === "pgwire: slow response (over 100 ms)");
    expect(slow.length).toBeGreaterThan(0);
  });

  it("has filter buttons that tshark accepts and that select what they say", async () => {
    for (const b of buttons()) {
      const s = SELECTS[b.label];
      const r = await tshark(["-r", capture(s.capture), "-Y", b.filter, "-T", "fields", "-e", "frame.number"]);
      expect(warnings(r.stderr), b.label).toBe("");
      expect(r.exitCode, b.label).toBe(0);
      const frames = r.stdout.trim().split("\n").filter(Boolean).map(Number);
      expect(frames.length, b.label).toBeGreaterThan(0);
      if (s.frames.length > 0) expect(frames, b.label).toEqual(s.frames);
    }
  });
});

describe("the profile under other Wireshark releases", () => {
  for (const r of RELEASES) {
    const state = releaseState(r);
    const name = `Wireshark ${r.wireshark} (Debian ${r.suite})`;
    if (!state.ready) {
      if (STRICT && AS_ROOT && !state.unreachable) it(`${name}: its chroot is ready`, () => expect.fail(state.reason));
      else it.skip(`${name}: skipped, ${state.reason}`, () => {});
      continue;
    }
    it(`${name} loads it without a warning, with its columns and colours`, async () => {
      // Into the personal configuration folder of the chroot's user, for this test only.
      const config = join(chrootDir(r), "home", "pgwire", ".config", "wireshark");
      const installed = join(config, "profiles", "PostgreSQL");
      try {
        // Without the host's tshark on PATH: its default colouring rules are 4.0's, which the
        // release's own may not all parse (Wireshark's installs take those of their own tshark).
        const inst = await pgwire(
          ["install", "--profile", "--dir", join(tmp, `plugins-${r.suite}`), "--config-dir", config],
          { PATH: join(tmp, "no-tools") },
        );
        expect(inst.exitCode).toBe(0);
        const base = ["-C", "PostgreSQL", "-X", `lua_script:${PLUGIN}`, "-r", capture("seed-wrong-password")];
        const summary = await runReleaseTshark(r, base);
        expect(summary.stderr).toBe("");
        expect(summary.stdout).toMatch(/^ +9 .* PGWIRE \d+ ErrorResponse 0\.005274000 +28P01 < ErrorResponse/m);
        const colours = await runReleaseTshark(r, [...base, ...COLOUR_RULES]);
        expect(colours.stderr).toBe("");
        expect(colours.stdout).toMatch(/^8\tpgwire: security finding$/m);
        expect(colours.stdout).toMatch(/^9\tpgwire: server error$/m);
      } finally {
        rmSync(installed, { recursive: true, force: true });
      }
    });
  }
});
