// The generated plugin on the recorded captures: no Lua error, the TS decoder agrees field by
// field, one pass equals two, the same Info and experts without a tree, the built-in agrees where
// both decode, TLS with a key log.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureError } from "../../src/capture/types.ts";
import {
  compare,
  luaSide,
  PdmlReader,
  parsePdml,
  pluginNotLoaded,
  runTshark,
  stderrProblems,
  tsharkArgs,
  tsSide,
} from "../../src/compare.ts";
import { missing } from "../helpers/tools.ts";
import { compareBuiltin, KNOWN_DIFFERENCES } from "../tools/builtin.ts";
import { CAPTURE_PORTS, portsOf, REAL_CAPTURES, ROOT } from "./helpers.ts";

describe.skipIf(missing("tshark", "plugin under tshark"))("plugin under tshark", () => {
  for (const file of REAL_CAPTURES) {
    it(`${basename(file)}: the Lua plugin and the TS decoder agree, with no Lua error`, async () => {
      const r = await compare(file);
      expect(r.problems).toEqual([]);
      expect(r.differences).toEqual([]);
      expect(r.items).toBeGreaterThan(0);
    });

    it(`${basename(file)}: one pass and two passes give the same tree and Info`, async () => {
      const [one, two] = await Promise.all([luaSide(file, { twoPass: false }), luaSide(file, { twoPass: true })]);
      expect(one.problems).toEqual([]);
      expect(two.problems).toEqual([]);
      // Only links forward in time (pgwire.response_in) need the second pass, as dns.response_in does.
      const forward = (f: { name: string }) => f.name === "pgwire.response_in";
      const strip = (m: typeof two.frames) =>
        [...m.entries()].map(([n, fr]) => [
          n,
          { ...fr, items: fr.items.map((i) => ({ ...i, fields: i.fields.filter((f) => !forward(f)) })) },
        ]);
      expect(strip(two.frames)).toEqual(strip(one.frames));
      const links = [...two.frames.values()].flatMap((fr) => fr.items.flatMap((i) => i.fields.filter(forward)));
      const backward = [...two.frames.values()].flatMap((fr) =>
        fr.items.flatMap((i) => i.fields.filter((f) => f.name === "pgwire.response_to")),
      );
      expect(links.length).toBe(backward.length);
    });

    it(`${basename(file)}: without a tree (plain tshark -r, one and two passes) the Info column is the same`, async () => {
      // Plain `tshark -r` builds no tree: the plugin then decodes for the Info column only.
      const ports = portsOf(basename(file));
      const withTree = await luaSide(file, { ports });
      const want = [...withTree.frames.values()].filter((f) => f.info !== undefined).map((f) => [f.frame, f.info]);
      for (const passes of [[], ["-2"]]) {
        const args = tsharkArgs(file, { ports, twoPass: false }, [
          ...passes,
          "-o",
          'gui.column.format:"No.","%m","Protocol","%p","Info","%i"',
        ]);
        const r = await runTshark(args);
        expect(stderrProblems(r.stderr)).toEqual([]);
        const got = r.stdout
          .split("\n")
          .map((l) => /^\s*(\d+)\s+PGWIRE\s+(.*)$/.exec(l))
          .filter((m) => m !== null)
          .map((m) => [Number(m[1]), m[2].replace(/^(\[TCP [^\]]*\] )+/, "")]);
        expect(got, passes.join(" ")).toEqual(want);
      }
    });

    it(`${basename(file)}: tshark -z expert lists the plugin's experts without a tree`, async () => {
      // Plain tshark -q -z expert builds no tree: the experts must be raised all the same.
      const ports = portsOf(basename(file));
      const ts = await tsSide(file, { ports });
      const want = new Map<string, number>();
      for (const fr of ts.values()) {
        for (const it of fr.items) {
          for (const f of it.fields) if (f.name.startsWith("expert:")) want.set(f.show, (want.get(f.show) ?? 0) + 1);
        }
      }
      const r = await runTshark(tsharkArgs(file, { ports, twoPass: false }, ["-q", "-z", "expert"]));
      expect(stderrProblems(r.stderr)).toEqual([]);
      const got = new Map<string, number>();
      for (const line of r.stdout.split("\n")) {
        const m = /^\s+(\d+)\s+\S+\s+PGWIRE\s+(.*)$/.exec(line);
        if (m) got.set(m[2], (got.get(m[2]) ?? 0) + Number(m[1]));
      }
      expect(got).toEqual(want);
    });

    it(`${basename(file)}: the built-in pgsql shows the same messages and values`, async () => {
      const r = await compareBuiltin(file, { ports: CAPTURE_PORTS[basename(file)] });
      expect(r.differences).toEqual([]);
      expect(r.values).toBeGreaterThan(0);
    });
  }

  it("a filter on any field finds it in a tree no one sees (tshark -Y, the GUI's first pass)", async () => {
    // In an invisible tree the plugin reads a message as without a tree unless a filter, column or
    // tap uses one of its fields: each filter must find exactly the frames whose messages have it.
    const cases: Array<[string, string]> = [
      ["seed-md5.pcapng", "pgwire.col.value"],
      ["seed-md5.pcapng", "pgwire.response_to"],
      ["seed-md5.pcapng", "pgwire.msg"],
      ["node-protocol.pcapng", "pgwire.param.type"],
      ["node-pgoutput.pcapng", "pgwire.pgoutput.relation"],
      ["node-copy.pcapng", "pgwire.copy.null"],
      ["psql-scram.pcapng", "pgwire.scram.nonce"],
    ];
    for (const [name, field] of cases) {
      const file = join(ROOT, "captures", name);
      const ts = await tsSide(file);
      const want = [...ts.values()]
        .filter((fr) => fr.items.some((i) => i.fields.some((f) => f.name === field)))
        .map((fr) => fr.frame);
      expect(want.length, `${name} ${field}`).toBeGreaterThan(0);
      for (const passes of [[], ["-2"]]) {
        const r = await runTshark(
          tsharkArgs(file, { twoPass: false }, [...passes, "-Y", field, "-o", 'gui.column.format:"No.","%m"']),
        );
        expect(stderrProblems(r.stderr)).toEqual([]);
        const got = r.stdout
          .split("\n")
          .filter((l) => l.trim())
          .map((l) => Number(l.trim()));
        expect(got, `${name} -Y ${field} ${passes.join(" ")}`).toEqual(want);
      }
    }
  });

  it("decodes the session inside TLS with the key log", async () => {
    const file = join(ROOT, "captures", "tls-keylog.pcapng");
    const keylog = join(ROOT, "captures", "tls-keylog.keys");
    const lua = await luaSide(file, { keylog });
    expect(lua.problems).toEqual([]);
    const names = [...lua.frames.values()].flatMap((f) => f.items.map((i) => i.label));
    expect(names).toContain("PostgreSQL: StartupMessage");
    expect(names).toContain("PostgreSQL: Query");
    expect(names).toContain("PostgreSQL: Terminate");
    const r = await compare(file, { keylog });
    expect(r.problems).toEqual([]);
    expect(r.differences).toEqual([]);
    // Every message inside TLS is compared too: the TS decoder decrypts with the same key log.
    expect(r.items).toBeGreaterThan(10);
  });

  it("names the built-in's known faults where they show", async () => {
    // psql-scram's COPY TO of the 5-column employees table: the built-in lists 3 column formats.
    const field = KNOWN_DIFFERENCES.find((k) => k.field === "pgsql.format");
    expect(field?.in).toContain("CopyOutResponse");
  });
});

describe.skipIf(missing("tshark", "reading PDML as it comes"))("reading PDML as it comes", () => {
  it("gives the same frames whatever the chunks (values with newlines included)", async () => {
    const file = join(ROOT, "captures", "values", "binary.pcapng");
    const { stdout } = await runTshark(tsharkArgs(file, { ports: portsOf("binary.pcapng") }, ["-T", "pdml"]));
    const whole = parsePdml(stdout);
    expect(whole.frames.size).toBeGreaterThan(5);
    for (const size of [1, 7, 4096]) {
      const r = new PdmlReader();
      for (let i = 0; i < stdout.length; i += size) r.push(stdout.slice(i, i + size));
      expect(r.end(), `chunks of ${size}`).toEqual(whole);
    }
  });
});

describe.skipIf(missing("tshark", "a plugin that tshark does not load"))("a plugin that tshark does not load", () => {
  const tmp = mkdtempSync(join(tmpdir(), "pgwire-plugin-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const seed = join(ROOT, "captures", "seed-md5.pcapng");

  it("the generated plugin loads: tshark's protocol list has pgwire", async () => {
    expect(await pluginNotLoaded()).toBeNull();
  });

  it("a syntax error: luaSide fails with one line that quotes tshark's Lua error", async () => {
    // tshark exits 0 and dissects the capture without the plugin: only the check tells.
    const bad = join(tmp, "syntax.lua");
    writeFileSync(bad, "local x = = 1\n");
    const r = await runTshark(tsharkArgs(seed, { plugin: bad }, []));
    expect(r.stdout).not.toMatch(/PGWIRE/);
    const err = await luaSide(seed, { plugin: bad }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureError);
    const message = (err as Error).message;
    expect(message.startsWith(`tshark did not load the plugin ${bad}: tshark: Lua: syntax error: ${bad}:1: `)).toBe(
      true,
    );
    expect(message).not.toContain("\n");
  });

  it("a file that registers no protocol pgwire: the same, naming the protocol list", async () => {
    const empty = join(tmp, "empty.lua");
    writeFileSync(empty, "-- nothing\n");
    const err = await compare(seed, { plugin: empty }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureError);
    // The host's tshark (Debian 12: 4.0) loads Lua plugins as root: no word about root here.
    expect((err as Error).message).toBe(
      `tshark did not load the plugin ${empty}: tshark's protocol list has no pgwire`,
    );
  });
});
