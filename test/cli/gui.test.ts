// The plugin in the real Wireshark GUI (scripts/gui-screenshot.sh under Xvfb): Wireshark starts
// with it, shows the capture through the display filter `pgwire`, and no Lua error stops it; a
// plugin that raises a Lua error while loading is caught by the same check. With pgwire's
// profile (PROFILE=PostgreSQL), Wireshark warns about none of its files. Statistics > PostgreSQL
// opens the plugin's tables (STATS=queries).

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { missing } from "../helpers/tools.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(ROOT, "scripts", "gui-screenshot.sh");
const GUI = "the plugin in Wireshark's GUI";
const tmp = mkdtempSync(join(tmpdir(), "pgwire-gui-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(missing(["wireshark", "Xvfb", "xdotool", "import"], GUI))(GUI, { timeout: 120_000 }, () => {
  it("starts with the plugin, shows the seed's capture filtered by pgwire, and takes the screenshot", async () => {
    const out = join(tmp, "gui.png");
    const r = await execa("bash", [SCRIPT, out], { cwd: ROOT, reject: false });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      /^gui-screenshot: wrote .*gui\.png \(Wireshark \d+\.\d+\.\d+, seed-md5\.pcapng frame 12\)$/,
    );
    // A PNG of the 1400x900 screen.
    const png = readFileSync(out);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.readUInt32BE(16)).toBe(1400);
    expect(png.readUInt32BE(20)).toBe(900);
    expect(statSync(out).size).toBeGreaterThan(20_000);
  });

  it("opens with pgwire's profile PostgreSQL without a warning about its files", async () => {
    const out = join(tmp, "profile.png");
    const r = await execa("bash", [SCRIPT, out], {
      cwd: ROOT,
      reject: false,
      env: { PROFILE: "PostgreSQL", CAPTURE: "captures/psql-cancel.pcapng", FRAME: "10", ITEM: "5" },
    });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/, psql-cancel\.pcapng frame 10, profile PostgreSQL\)$/);
    expect(statSync(out).size).toBeGreaterThan(20_000);
  });

  it("opens each item of Statistics > PostgreSQL: the plugin's table in its text window", {
    timeout: 240_000,
  }, async () => {
    // The tables' numbers are those of tshark -z pgwire,... (the same code; ztables.test.ts checks
    // them against pgwire stats): here the menu items and their windows.
    for (const [stats, title] of [
      ["queries", "PostgreSQL queries"],
      ["errors", "PostgreSQL errors"],
      ["conns", "PostgreSQL connections"],
    ]) {
      const out = join(tmp, `${stats}.png`);
      const r = await execa("bash", [SCRIPT, out], {
        cwd: ROOT,
        reject: false,
        env: { STATS: stats, CAPTURE: "captures/node-failures.pcapng", FRAME: "15", ITEM: "5" },
      });
      expect(r.stderr, stats).toBe("");
      expect(r.exitCode, stats).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`, node-failures\\.pcapng frame 15, ${title}\\)$`));
      expect(statSync(out).size, stats).toBeGreaterThan(20_000);
    }
  });

  it("fails when Wireshark warns about a file of the profile", async () => {
    const r = await execa("bash", [SCRIPT, join(tmp, "bad-profile.png")], {
      cwd: ROOT,
      reject: false,
      env: { PROFILE: "PostgreSQL", PROFILE_PREFS_EXTRA: "gui.no_such_preference: 1" },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('No such preference "gui.no_such_preference"');
    expect(r.stderr).toMatch(/^gui-screenshot: Wireshark warned about the profile PostgreSQL \(above\)/m);
  });

  it("reports a plugin that raises a Lua error while loading", async () => {
    const broken = join(tmp, "broken.lua");
    writeFileSync(
      broken,
      `${readFileSync(join(ROOT, "dissector", "pgwire.lua"), "utf8")}\nerror("broken on purpose")\n`,
    );
    const r = await execa("bash", [SCRIPT, join(tmp, "broken.png")], {
      cwd: ROOT,
      reject: false,
      env: { PGWIRE_PLUGIN: broken, WAIT: "15" },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^gui-screenshot: Wireshark did not show seed-md5\.pcapng within 15s \(a Lua error/);
  });
});
