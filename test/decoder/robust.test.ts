// Bad bytes, other ports and the plugins folder: what a user's capture may hold.

import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/pcap.ts";
import { TcpReassembler } from "../../src/capture/tcp.ts";
import { compare, luaSide, PLUGIN, stderrProblems, withoutMalformed } from "../../src/compare.ts";
import { CONTEXT_FIELDS } from "../../src/decoder/index.ts";
import { decodeCapture } from "../../src/pipeline.ts";
import { missing, present } from "../helpers/tools.ts";
import { editcapFuzz } from "../tools/fuzz.ts";
import { type ResegmentOptions, resegmentCapture } from "../tools/resegment.ts";
import { portsOf, REAL_CAPTURES, ROOT } from "./helpers.ts";

/** Every fixture capture (the TLS one without its keys: opaque records) and the ports it needs. */
const FUZZ_INPUTS: Array<{ file: string; ports?: number[] }> = [
  ...REAL_CAPTURES.map((f) => ({ file: f, ports: portsOf(basename(f)) })),
  ...["all-messages", "segmentation", "ipv6-and-ports", "bad-lengths", "truncated", "not-postgres", "copy-edges"].map(
    (n) => ({
      file: join(ROOT, "captures", "synthetic", `${n}.pcapng`),
    }),
  ),
  { file: join(ROOT, "captures", "values", "binary.pcapng"), ports: portsOf("binary.pcapng") },
];

describe.skipIf(missing(["tshark", "editcap"], "fuzzed captures (editcap -E)"))("fuzzed captures (editcap -E)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pgwire-fuzz-"));
  it("covers every fixture capture", () => {
    const all = ["", "synthetic", "values"].flatMap((d) =>
      readdirSync(join(ROOT, "captures", d))
        .filter((f) => f.endsWith(".pcapng"))
        .map((f) => join(ROOT, "captures", d, f)),
    );
    expect(FUZZ_INPUTS.map((i) => i.file).sort()).toEqual(all.sort());
  });
  for (const { file, ports } of FUZZ_INPUTS) {
    for (const [seed, rate] of [
      [1, "0.02"],
      [7, "0.1"],
    ] as const) {
      it(`${basename(file)} seed ${seed} rate ${rate}: no Lua, decoder or TS error; agreement on untouched connections`, async () => {
        const out = join(dir, `${basename(file, ".pcapng")}-${seed}-${rate}.pcapng`);
        const r = await editcapFuzz(file, out, seed, rate, ports);
        expect(r.mutated).toBeGreaterThan(0);
        expect(r.problems).toEqual([]);
      }, 60_000);
    }
  }
});

describe.skipIf(missing("tshark", "ports and loading"))("ports and loading", () => {
  const capture = join(ROOT, "captures", "synthetic", "ipv6-and-ports.pcapng");

  it("decodes another port with Decode As and with the port preference", async () => {
    const plain = await luaSide(capture, { heuristic: false });
    const byPref = await luaSide(capture, { ports: [5432, 5433], heuristic: false });
    expect(byPref.frames.size).toBeGreaterThan(plain.frames.size);
    const r = await execa("tshark", [
      "-n",
      "-X",
      `lua_script:${PLUGIN}`,
      "-r",
      capture,
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

// ---------------------------------------------------------------------------------------------
// Re-segmentation: the same byte streams in other segments decode to the same messages.

/** Per connection (by its address pair), the items without frames nor context (links, times). */
async function messagesByConnection(file: string, ports?: number[]): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  const keyOf = new Map<number, string>();
  const tcp = new TcpReassembler();
  // The connection of each stream number, from the first data it carries.
  for await (const pkt of readCapture(file)) {
    for (const o of tcp.push(pkt)) {
      if (o.kind === "data" && !keyOf.has(o.stream))
        keyOf.set(o.stream, [`${o.src}:${o.srcPort}`, `${o.dst}:${o.dstPort}`].sort().join(" "));
    }
  }
  for await (const fr of decodeCapture(file, { ports })) {
    const key = keyOf.get(fr.stream) ?? "?";
    const list = out.get(key) ?? [];
    for (const it of fr.items) {
      list.push({
        name: it.name,
        frontend: it.frontend,
        size: it.size,
        fields: it.fields.filter((f) => !CONTEXT_FIELDS.has(f.name)).map((f) => [f.name, f.value, f.offset, f.length]),
      });
    }
    out.set(key, list);
  }
  return out;
}

const RESEGMENT_INPUTS: Array<{ file: string; ports?: number[]; tiny?: boolean }> = [
  { file: "synthetic/all-messages.pcapng", tiny: true },
  { file: "synthetic/segmentation.pcapng" },
  // The heuristic needs a whole startup packet in one segment: name the second port instead.
  { file: "synthetic/ipv6-and-ports.pcapng", ports: [5432, 5433], tiny: true },
  { file: "seed-md5.pcapng", tiny: true },
  { file: "node-protocol.pcapng" },
  { file: "pgbench-pipeline.pcapng" },
];

describe("re-segmented captures (random segment sizes, out of order, duplicated)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pgwire-reseg-"));
  // Without tshark only the TS decoder's side is checked.
  const tshark = present("tshark", "re-segmented captures: the plugin's side");
  for (const { file, ports, tiny } of RESEGMENT_INPUTS) {
    const variants: ResegmentOptions[] = [
      { seed: 11, maxSegment: 40, reorder: 0.2, duplicate: 0.1 },
      { seed: 12, maxSegment: 300, reorder: 0.3, duplicate: 0.2 },
    ];
    if (tiny) variants.push({ seed: 13, maxSegment: 1 });
    for (const v of variants) {
      it(`${file} ${JSON.stringify(v)}: the same messages, in both decoders`, async () => {
        const src = join(ROOT, "captures", file);
        const out = join(dir, `${basename(file, ".pcapng")}-${v.seed}.pcapng`);
        writeFileSync(out, await resegmentCapture(src, v));
        const before = await messagesByConnection(src, ports);
        const after = await messagesByConnection(out, ports);
        expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
        for (const [k, list] of before) expect(after.get(k), k).toEqual(list);
        // More frames than before: the data really was cut up.
        let frames = 0;
        for await (const _ of readCapture(out)) frames++;
        let original = 0;
        for await (const _ of readCapture(src)) original++;
        expect(frames).toBeGreaterThan(original);
        if (tshark) {
          const r = await compare(out, { ports });
          expect(withoutMalformed(r.problems)).toEqual([]);
          expect(r.differences).toEqual([]);
        }
      }, 120_000);
    }
  }
});
