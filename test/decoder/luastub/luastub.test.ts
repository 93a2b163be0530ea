// The plugin under every Lua version: test/decoder/luastub/run.lua stands in for Wireshark's Lua API and
// runs dissector/pgwire.lua under lua5.1 to lua5.4 on the TCP data of the captures; what it puts
// in the tree must be what tshark (Lua 5.2 here) shows, field by field, with no Lua error; and
// with a NULL tree (tshark's summary mode) the Info column and the experts must be the same.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { readCapture } from "../../../src/capture/pcap.ts";
import { TcpReassembler } from "../../../src/capture/tcp.ts";
import {
  type CmpFrame,
  type CmpItem,
  diffFrames,
  luaSide,
  PLUGIN,
  showValue,
  withoutMalformed,
} from "../../../src/compare.ts";
import { utf8Text } from "../../../src/runtime/text.ts";
import { missing } from "../../helpers/tools.ts";
import { portsOf, ROOT } from "../helpers.ts";

const RUNNER = join(ROOT, "test", "decoder", "luastub", "run.lua");
const VERSIONS = ["lua5.1", "lua5.2", "lua5.3", "lua5.4"] as const;

/** The captures and the preferences they need: synthetic ones (every message) and real ones. */
const CAPTURES: Array<{ file: string }> = [
  { file: "captures/synthetic/all-messages.pcapng" },
  { file: "captures/synthetic/segmentation.pcapng" },
  { file: "captures/synthetic/ipv6-and-ports.pcapng" },
  { file: "captures/synthetic/bad-lengths.pcapng" },
  { file: "captures/synthetic/not-postgres.pcapng" },
  { file: "captures/seed-md5.pcapng" },
  { file: "captures/seed-wrong-password.pcapng" },
  { file: "captures/psql-scram.pcapng" },
  { file: "captures/node-protocol.pcapng" },
  { file: "captures/pg-receivewal.pcapng" },
  { file: "captures/pg-standby.pcapng" },
  { file: "captures/node-pgoutput.pcapng" },
  { file: "captures/node-copy.pcapng" },
  { file: "captures/synthetic/copy-edges.pcapng" },
  { file: "captures/pgbench-pipeline.pcapng" },
  { file: "captures/psql-cancel.pcapng" },
  { file: "captures/values/binary.pcapng" },
  { file: "captures/psql-other-port.pcapng" },
];

/** The TCP data of a capture, chunk by chunk as TCP hands it on (run.lua's input). */
async function segments(file: string): Promise<string> {
  const tcp = new TcpReassembler();
  const lines: string[] = [];
  const add = (outs: ReturnType<TcpReassembler["push"]>) => {
    for (const o of outs) {
      if (o.kind !== "data") continue;
      const hex = Buffer.from(o.data).toString("hex");
      lines.push([o.frame, o.time.toFixed(9), o.src, o.dst, o.srcPort, o.dstPort, o.truncated ? 1 : 0, hex].join("\t"));
    }
  };
  for await (const pkt of readCapture(file)) add(tcp.push(pkt));
  add(tcp.end());
  return `${lines.join("\n")}\n`;
}

/** run.lua's output as compare's frames (strings shown as tshark shows them). */
function parseTree(out: string): { frames: Map<number, CmpFrame>; errors: string[] } {
  const frames = new Map<number, CmpFrame>();
  const errors: string[] = [];
  let item: CmpItem | null = null;
  for (const line of out.split("\n")) {
    const p = line.split("\t");
    if (p[0] === "I") {
      const n = Number(p[1]);
      const fr = frames.get(n) ?? { frame: n, items: [] };
      item = { label: Buffer.from(p[2], "hex").toString("utf8"), fields: [] };
      fr.items.push(item);
      frames.set(n, fr);
    } else if (p[0] === "F" && item) {
      const [, name, kind, show, off, len] = p;
      const raw = Uint8Array.from(Buffer.from(show, "hex"));
      const value =
        kind === "s"
          ? name.startsWith("expert:")
            ? utf8Text(raw, 0, raw.length)
            : showValue(utf8Text(raw, 0, raw.length))
          : kind === "b"
            ? showValue(raw)
            : show;
      item.fields.push({ name, show: value, offset: Number(off), length: Number(len) });
    } else if (p[0] === "C") {
      const fr = frames.get(Number(p[1]));
      if (fr) fr.info = Buffer.from(p[2], "hex").toString("utf8");
    } else if (p[0] === "E") errors.push(`frame ${p[1]}: ${p.slice(2).join(" ")}`);
  }
  return { frames, errors };
}

/**
 * run.lua's output with a NULL tree (notree=1): per frame the Info column and the experts the
 * plugin raised, as "name: text".
 */
function parseNoTree(out: string): { info: Map<number, string>; experts: Map<number, string[]>; errors: string[] } {
  const info = new Map<number, string>();
  const experts = new Map<number, string[]>();
  const errors: string[] = [];
  for (const line of out.split("\n")) {
    const p = line.split("\t");
    if (p[0] === "C") info.set(Number(p[1]), Buffer.from(p[2], "hex").toString("utf8"));
    else if (p[0] === "X") {
      const n = Number(p[1]);
      experts.set(n, [...(experts.get(n) ?? []), `${p[2]}: ${Buffer.from(p[3], "hex").toString("utf8")}`]);
    } else if (p[0] === "E") errors.push(`frame ${p[1]}: ${p.slice(2).join(" ")}`);
  }
  return { info, experts, errors };
}

const dir = mkdtempSync(join(tmpdir(), "pgwire-luastub-"));

describe("the plugin under Lua 5.1 to 5.4 (a stand-in for Wireshark's Lua API)", () => {
  const skip = missing(["tshark", ...VERSIONS], "every Lua version shows what tshark shows, on each capture");
  for (const { file } of CAPTURES) {
    it.skipIf(skip)(
      `${file}: every Lua version shows what tshark shows, with no Lua error`,
      async () => {
        const path = join(ROOT, file);
        const seg = join(dir, `${file.replace(/[/.]/g, "_")}.txt`);
        writeFileSync(seg, await segments(path));
        const ports = portsOf(basename(file));
        const prefs = ports ? [`ports=${ports.join(",")}`] : [];
        const tshark = await luaSide(path, { ports });
        // Malformed items are expected in the bad-data captures (test/tools/synthetic-captures.test.ts); Lua errors never.
        expect(withoutMalformed(tshark.problems)).toEqual([]);
        for (const lua of VERSIONS) {
          const r = await execa(lua, [RUNNER, PLUGIN, seg, ...prefs], { maxBuffer: 512 * 1024 * 1024 });
          const got = parseTree(r.stdout);
          expect(got.errors, lua).toEqual([]);
          expect(diffFrames(tshark.frames, got.frames, 20), lua).toEqual([]);
          // Without a tree (tshark's summary mode): the same Info column and the same experts as
          // with one, under the same Lua.
          const wantInfo = new Map(
            [...got.frames].filter(([, f]) => f.info !== undefined).map(([n, f]) => [n, f.info]),
          );
          const wantExperts = new Map<number, string[]>();
          for (const [n, f] of got.frames) {
            const experts = f.items.flatMap((i) =>
              i.fields.filter((x) => x.name.startsWith("expert:")).map((x) => `${x.name}: ${x.show}`),
            );
            if (experts.length > 0) wantExperts.set(n, experts);
          }
          const nt = parseNoTree(
            (await execa(lua, [RUNNER, PLUGIN, seg, ...prefs, "notree=1"], { maxBuffer: 512 * 1024 * 1024 })).stdout,
          );
          expect(nt.errors, `${lua} without a tree`).toEqual([]);
          expect(nt.info, `${lua} without a tree`).toEqual(wantInfo);
          expect(nt.experts, `${lua} without a tree`).toEqual(wantExperts);
        }
      },
      120_000,
    );
  }
});

describe("the stand-in itself", () => {
  it.skipIf(missing(VERSIONS, "the stand-in catches what differs between Lua versions"))(
    "catches what differs between Lua versions: a float given to an integer or string field",
    async () => {
      const plugin = join(dir, "float.lua");
      writeFileSync(
        plugin,
        [
          'local p = Proto("pgwire", "test")',
          'local len = ProtoField.uint32("pgwire.length", "Length", base.DEC)',
          'local msg = ProtoField.string("pgwire.msg", "Message")',
          "p.fields = { len, msg }",
          "function p.dissector(tvb, pinfo, tree)",
          '  local t = tree:add(p, tvb(0, 1), "PostgreSQL: X")',
          "  t:add(msg, tvb(0, 0), 6 / 2)",
          "  t:add(len, tvb(0, 0), 7 / 2)",
          "  return 1",
          "end",
          'DissectorTable.get("tcp.port"):add(5432, p)',
        ].join("\n"),
      );
      const seg = join(dir, "float.txt");
      writeFileSync(seg, "1\t0.0\t10.0.0.1\t10.0.0.2\t40000\t5432\t0\t51\n");
      const run = async (lua: string) => parseTree((await execa(lua, [RUNNER, plugin, seg])).stdout);
      for (const lua of ["lua5.1", "lua5.2"]) {
        const r = await run(lua);
        expect(r.errors, lua).toEqual([]);
        expect(
          r.frames.get(1)?.items[0].fields.map((f) => f.show),
          lua,
        ).toEqual(["3", "3"]);
      }
      for (const lua of ["lua5.3", "lua5.4"]) {
        const r = await run(lua);
        expect(
          r.frames.get(1)?.items[0].fields.map((f) => f.show),
          lua,
        ).toEqual(["3.0"]);
        expect(r.errors.length, lua).toBe(2); // both passes
        expect(r.errors[0], lua).toMatch(/number has no integer representation/);
      }
    },
  );
});
