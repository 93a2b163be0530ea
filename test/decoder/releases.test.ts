// The plugin under real Wireshark 3.4, 4.4 and 4.6 (Debian's tshark in chroots built by
// scripts/wireshark-releases.sh, run through test/helpers/releases.ts) against the host's tshark
// (Debian 12: 4.0) on every fixture capture: the same pgwire items with the same fields (as
// luaSide reads them from PDML), the same Info column, no Lua error, no malformed item the host
// does not have.
//
// Skipped where a chroot is missing; in strict mode (PGWIRE_STRICT=1, test/helpers/tools.ts, set
// by .ci/run) that is a failure, unless the build script found Debian's packages unreachable (it
// leaves CACHE/SUITE.unreachable) or the tests do not run as root (the chroots need it).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { execa, execaSync } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureError } from "../../src/capture/types.ts";
import {
  type CmpField,
  type CmpFrame,
  type LuaRun,
  luaSide,
  pluginNotLoaded,
  type TsharkOptions,
  withoutMalformed,
} from "../../src/compare.ts";
import { FIELDS } from "../../src/decoder/index.ts";
import { tempDir } from "../capture/helpers.ts";
import { BIN } from "../cli/helpers.ts";
import {
  BUILD_SCRIPT,
  CACHE,
  RELEASES,
  type Release,
  releaseState,
  releaseVersions,
  runReleaseTshark,
  tsharkCommand,
} from "../helpers/releases.ts";
import { AS_ROOT, locate, missing, STRICT } from "../helpers/tools.ts";
import { portsOf, REAL_CAPTURES, ROOT } from "./helpers.ts";

const HOST = locate("tshark")
  ? (/^TShark \(Wireshark\) (\d+\.\d+)/.exec(execaSync("tshark", ["-v"]).stdout)?.[1] ?? "?")
  : "none";

const SYNTHETIC = join(ROOT, "captures", "synthetic");
const FIXTURES = [
  ...REAL_CAPTURES,
  ...readdirSync(SYNTHETIC)
    .filter((f) => f.endsWith(".pcapng"))
    .map((f) => join(SYNTHETIC, f)),
  join(ROOT, "captures", "values", "binary.pcapng"),
];

/** As the other plugin tests run each fixture: its ports, and the key log of the TLS capture. */
function optionsOf(file: string): TsharkOptions {
  const name = basename(file);
  return {
    ports: portsOf(name),
    keylog: name === "tls-keylog.pcapng" ? join(ROOT, "captures", "tls-keylog.keys") : undefined,
  };
}

// The host's run of a fixture, once for the three releases.
const hostRuns = new Map<string, Promise<LuaRun>>();
function hostRun(file: string): Promise<LuaRun> {
  let run = hostRuns.get(file);
  if (!run) {
    run = luaSide(file, optionsOf(file));
    hostRuns.set(file, run);
  }
  return run;
}

const BOOLEANS = new Set(
  Object.values(FIELDS)
    .filter((f) => f.type === "bool")
    .map((f) => `pgwire.${f.abbrev}`),
);

/**
 * What a release legitimately shows otherwise than the host's 4.0, brought to 4.0's form; each
 * case as seen, on the releases where it was seen, and nothing else.
 */
function normalise(wireshark: string, run: LuaRun): void {
  for (const fr of run.frames.values()) {
    // Wireshark 4.4 and 4.6 show a boolean field's value in PDML as "True"/"False", 3.4 and 4.0
    // as "1"/"0" (pgwire.frontend, pgwire.copy.null, pgwire.copy.trailer).
    if (wireshark === "4.4" || wireshark === "4.6") {
      for (const item of fr.items)
        for (const f of item.fields) {
          if (BOOLEANS.has(f.name) && (f.show === "True" || f.show === "False")) f.show = f.show === "True" ? "1" : "0";
        }
    }
    // Wireshark 3.4's TCP adds " [TCP segment of a reassembled PDU]" to the Info of a frame that
    // ends one PDU and starts the next, which is reassembled in a later frame; 4.0 does not. The
    // built-in pgsql shows the same (synthetic/copy-edges.pcapng, frames 43 and 75).
    if (wireshark === "3.4" && fr.info !== undefined)
      fr.info = fr.info.replace(/ \[TCP segment of a reassembled PDU\]$/, "");
  }
}

/**
 * Where a release's Wireshark (not the plugin) gives another tree: pinned exactly, so that any
 * change shows up.
 *
 * - 3.4, synthetic/segmentation.pcapng: the server's second segment (frame 279) comes before its first
 *   (frame 280), which is then repeated (frame 282). 3.4's out-of-order TCP reassembly never hands
 *   frames 279-280 to a dissector ("[TCP segment of a reassembled PDU]") and flags frame 282 as a
 *   reassembly error; 4.0 reassembles them in frame 280. The built-in pgsql shows the same.
 */
const KNOWN: Record<string, Record<string, { differences: string[]; problems: string[] }>> = {
  "3.4": {
    "segmentation.pcapng": {
      differences: [
        "frame 280: only under 4.0: PostgreSQL: RowDescription, PostgreSQL: DataRow, PostgreSQL: DataRow, PostgreSQL: CommandComplete, PostgreSQL: ReadyForQuery",
      ],
      problems: [
        "frame 282: malformed packet ([Reassembly error, protocol TCP: New fragment overlaps old data (retransmission?)])",
        "frame 282: malformed packet (Malformed Packet)",
      ],
    },
  },
};

const showField = (f: CmpField | undefined) =>
  f ? `${f.name} = ${JSON.stringify(f.show)} @${f.offset}+${f.length}` : "(none)";

/** Every difference between a release's frames and the host's, exactly; empty when the same. */
function differences(a: Map<number, CmpFrame>, b: Map<number, CmpFrame>, va: string, vb: string): string[] {
  const out: string[] = [];
  const labels = (fr: CmpFrame) => fr.items.map((i) => i.label).join(", ");
  for (const n of [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y)) {
    const x = a.get(n);
    const y = b.get(n);
    if (!x || !y) {
      out.push(`frame ${n}: only under ${x ? va : vb}: ${labels((x ?? y) as CmpFrame)}`);
      continue;
    }
    if (x.info !== y.info) out.push(`frame ${n}: Info\n  ${va}: ${x.info}\n  ${vb}: ${y.info}`);
    if (x.items.length !== y.items.length) {
      out.push(`frame ${n}: items\n  ${va}: ${labels(x)}\n  ${vb}: ${labels(y)}`);
      continue;
    }
    x.items.forEach((ix, i) => {
      const iy = y.items[i];
      if (ix.label !== iy.label) out.push(`frame ${n} item ${i + 1}: ${va} ${ix.label}, ${vb} ${iy.label}`);
      for (let k = 0; k < Math.max(ix.fields.length, iy.fields.length); k++) {
        const fx = showField(ix.fields[k]);
        const fy = showField(iy.fields[k]);
        if (fx !== fy)
          out.push(`frame ${n} item ${i + 1} (${ix.label}) field ${k + 1}:\n  ${va}: ${fx}\n  ${vb}: ${fy}`);
      }
    });
    if (out.length >= 50) break;
  }
  return out;
}

const tmp = tempDir();
afterAll(() => tmp.cleanup());
// Every run's mounts lived in its own namespace: none is left in the host's, inside a chroot.
afterAll(() => {
  const left = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((mp) => mp?.startsWith(`${CACHE}/`));
  expect(left).toEqual([]);
});

// Every test runs tshark processes and waits: all of them (the three releases' too) run side by side,
// up to vitest's maxConcurrency (5) at a time, to keep both cores busy.
describe.concurrent("the plugin under other Wireshark releases", () => {
  // The reference is Debian 12's tshark, 4.0: what is normalised and pinned below is relative to it.
  if (missing("tshark", "the plugin under other Wireshark releases (the host's tshark is the reference)")) {
    it.skip("skipped: compares with tshark 4.0 (Debian 12), and tshark is not installed", () => {});
    return;
  }
  if (HOST !== "4.0") {
    const why = `the host's tshark is ${HOST}`;
    if (STRICT) it("has the host's tshark 4.0 to compare with", () => expect.fail(why));
    else it.skip(`skipped: compares with tshark 4.0 (Debian 12), and ${why}`, () => {});
    return;
  }
  for (const r of RELEASES) {
    const state = releaseState(r);
    const name = `Wireshark ${r.wireshark} (Debian ${r.suite}, Lua ${r.lua})`;
    if (!state.ready) {
      // In strict mode only Debian's packages out of reach excuse a missing chroot, and not being
      // root, as for every test that needs root.
      if (STRICT && AS_ROOT && !state.unreachable) it(`${name}: its chroot is ready`, () => expect.fail(state.reason));
      else it.skip(`${name}: skipped, ${state.reason}`, () => {});
      continue;
    }
    describe(name, () => {
      const tshark = tsharkCommand(r);

      it("is that release with that Lua, and loads the plugin as its user", async () => {
        const v = await releaseVersions(r);
        expect(v.tshark.split(".").slice(0, 2).join(".")).toBe(r.wireshark);
        expect(v.lua).toBe(r.lua);
        expect(await pluginNotLoaded({ tshark })).toBeNull();
      });

      checkRoot(r);

      describe("every fixture: the same as under the host's 4.0", () => {
        for (const file of FIXTURES) {
          const fixture = file.slice(ROOT.length + 1);
          it(fixture, async () => {
            const [got, host] = await Promise.all([luaSide(file, { ...optionsOf(file), tshark }), hostRun(file)]);
            // The host's run is what the other tests check against the TS decoder: no Lua error.
            expect(withoutMalformed(host.problems)).toEqual([]);
            expect(host.frames.size).toBeGreaterThan(0);
            const known = KNOWN[r.wireshark]?.[basename(file)] ?? { differences: [], problems: [] };
            // No Lua error (stderr, _ws.lua.error); malformed items exactly where the host has them.
            expect(withoutMalformed(got.problems)).toEqual([]);
            expect([...got.problems].sort()).toEqual([...host.problems, ...known.problems].sort());
            normalise(r.wireshark, got);
            expect(differences(got.frames, host.frames, r.wireshark, "4.0")).toEqual(known.differences);
          });
        }
      });
    });
  }
});

/** As root, 4.4 and later skip Lua plugins without a word: luaSide and `pgwire compare` must say so. */
function checkRoot(r: Release): void {
  const asRoot = tsharkCommand(r, { asRoot: true });
  const seed = join(ROOT, "captures", "seed-md5.pcapng");
  if (r.wireshark === "3.4") {
    it("as root still loads the plugin (only 4.4 and later refuse)", async () => {
      expect(await pluginNotLoaded({ tshark: asRoot })).toBeNull();
      const run = await luaSide(seed, { tshark: asRoot });
      expect(run.frames.size).toBeGreaterThan(0);
    });
    return;
  }
  it("as root ignores the plugin, and luaSide fails with one line that says so", async () => {
    // What the check stands on: as root, tshark's protocol list has no pgwire and the capture
    // shows the built-in pgsql, with nothing about Lua on stderr.
    const plain = await runReleaseTshark(r, ["-X", `lua_script:${join(ROOT, "dissector", "pgwire.lua")}`, "-r", seed], {
      asRoot: true,
    });
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(/ PGSQL /);
    expect(plain.stdout).not.toMatch(/ PGWIRE /);
    expect(plain.stderr).not.toMatch(/lua/i);
    const err = await luaSide(seed, { tshark: asRoot }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toMatch(
      /^tshark did not load the plugin \S+\/dissector\/pgwire\.lua: it runs as root, and Wireshark 4\.4 and later ignore Lua plugins as root \(run it as a normal user\)$/,
    );
  });

  it("as root: pgwire compare fails with one error line, exit 3", async () => {
    // A tshark on PATH that is this release's, run as root.
    const dir = tmp.path(`bin-${r.suite}`);
    mkdirSync(dir);
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    writeFileSync(join(dir, "tshark"), `#!/bin/sh\nexec ${asRoot.map(quote).join(" ")} "$@"\n`, { mode: 0o755 });
    const r2 = await execa(process.execPath, [BIN, "compare", "captures/seed-md5.pcapng"], {
      cwd: ROOT,
      reject: false,
      stdin: "ignore",
      env: { PATH: `${dir}:${process.env.PATH}` },
    });
    expect(r2.exitCode).toBe(3);
    expect(r2.stdout).toBe("");
    expect(r2.stderr).toMatch(
      /^pgwire: tshark did not load the plugin \S+\/dissector\/pgwire\.lua: it runs as root, and Wireshark 4\.4 and later ignore Lua plugins as root \(run it as a normal user\)$/,
    );
  });
}

// The build script's ways out that need no network: Debian's packages out of reach (a mirror on a
// closed local port), what it does with a half-built chroot and with a mount left inside one.
// It needs root: not root, it is skipped (strict mode too), and debootstrap is not asked for.
const SCRIPT_TEST = "scripts/wireshark-releases.sh without Debian's packages";
describe.skipIf(!AS_ROOT || missing("debootstrap", SCRIPT_TEST))(SCRIPT_TEST, () => {
  const closed = { PGWIRE_DEBIAN_MIRROR: "http://127.0.0.1:9/debian" };

  it("says so in one line, exits 69, and the test then skips those releases", async () => {
    const cache = tmp.path("cache-unreachable");
    const r = await execa("bash", [BUILD_SCRIPT, "bullseye", "sid"], {
      reject: false,
      env: { ...closed, PGWIRE_WIRESHARK_CACHE: cache },
    });
    expect(r.exitCode).toBe(69);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "wireshark-releases: Debian's packages cannot be reached, bullseye sid not built: E: Failed getting release file http://127.0.0.1:9/debian/dists/bullseye/Release",
    );
    for (const rel of RELEASES) {
      const state = releaseState(rel, cache);
      expect(state.ready).toBe(false);
      // Only the suites asked for are noted as unreachable.
      const note =
        rel.suite === "trixie"
          ? null
          : `E: Failed getting release file http://127.0.0.1:9/debian/dists/${rel.suite}/Release`;
      expect(state.ready === false && state.unreachable).toBe(note);
    }
  });

  it("removes a half-built chroot first, and unmounts what was left mounted inside it", async () => {
    const cache = tmp.path("cache-half");
    const dir = join(cache, "trixie");
    // A chroot without the marker, with a host folder bind-mounted inside, as by hand.
    const host = tmp.path("host-folder");
    mkdirSync(host);
    writeFileSync(join(host, "keep"), "must survive\n");
    mkdirSync(join(dir, "work"), { recursive: true });
    writeFileSync(join(dir, "half-built"), "");
    await execa("mount", ["--bind", host, join(dir, "work")]);
    try {
      const r = await execa("bash", [BUILD_SCRIPT, "trixie"], {
        reject: false,
        env: { ...closed, PGWIRE_WIRESHARK_CACHE: cache },
      });
      expect(r.exitCode).toBe(69);
      expect(readFileSync(join(cache, "trixie.log"), "utf8")).toMatch(/^trixie: removing the unfinished chroot /);
    } finally {
      await execa("umount", [join(dir, "work")], { reject: false });
    }
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dir);
    expect(existsSync(join(dir, "half-built"))).toBe(false);
    expect(readFileSync(join(host, "keep"), "utf8")).toBe("must survive\n");
  });
});
