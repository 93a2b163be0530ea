// Column value decoding (src/runtime/values.ts and src/runtime/values.lua):
//  (a) PostgreSQL is the oracle: test/runtime/values/fixtures.json, recorded by captures/values/record.sh from
//      a real server, holds per value PostgreSQL's text output and the binary bytes of the same value;
//      valueText(oid, 1, bytes) must print exactly what PostgreSQL printed.
//  (b) The Lua decoders print exactly what the TypeScript ones print, under every installed Lua
//      (5.1 to 5.4), for every fixture value, mutants of them and a few thousand random byte strings
//      per decoder kind (wrong lengths, bad headers, truncation included).
//  (c) Neither ever fails: the TypeScript decoders never throw, the Lua ones never raise an error.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { luaTypeTable } from "../../../generator/lua.ts";
import { PG_TYPES, typeName } from "../../../spec/data/types.ts";
import { hexText, valueText, valueTextStrict } from "../../../src/runtime/values.ts";
import { locate, missing } from "../../helpers/tools.ts";
import { type Input, mutants, oidsByKind, randomInputs } from "./gen.ts";

const HERE = new URL(".", import.meta.url).pathname;
const ROOT = join(HERE, "..", "..", "..");
const VALUES_LUA = join(ROOT, "src", "runtime", "values.lua");
const RUNNER = join(HERE, "run.lua");

interface Fixture {
  settings: Record<string, string>;
  columns: { name: string; oid: number; text: string | null; hex: string | null }[];
  random: { type: string; oid: number; values: [string, string][] }[];
}
const fixture: Fixture = JSON.parse(readFileSync(join(HERE, "fixtures.json"), "utf8"));
const bytesOf = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

/**
 * What PostgreSQL prints that the bytes alone cannot give: the reg* types print the object's name
 * (a catalog lookup); the binary form is only the OID, which is what we show.
 */
const NOT_REPRODUCIBLE: Record<string, string> = {
  regproc: "42",
  regtype: "23",
  regclass: "1259",
};

describe("PG_TYPES (spec/data/types.ts)", () => {
  it("has every type of pg_type.dat with PostgreSQL's names", () => {
    expect(Object.keys(PG_TYPES)).toHaveLength(193);
    expect(PG_TYPES[1007]).toEqual({ name: "_int4", elem: 23, binary: "array" });
    expect(PG_TYPES[3904]).toEqual({ name: "int4range", elem: 23, binary: "range" });
    expect(PG_TYPES[1033]).toEqual({ name: "aclitem" });
    for (const [oid, t] of Object.entries(PG_TYPES)) {
      if (t.binary === "array" && t.elem !== undefined) expect(t.name, oid).toBe(`_${PG_TYPES[t.elem].name}`);
    }
  });

  it("names types as PostgreSQL writes them: arrays as text[], unknown OIDs by number", () => {
    expect(typeName(23)).toBe("int4");
    expect(typeName(1007)).toBe("int4[]");
    expect(typeName(1009)).toBe("text[]");
    expect(typeName(143)).toBe("xml[]");
    expect(typeName(22)).toBe("int2vector");
    expect(typeName(16385)).toBe("oid 16385");
  });

  it("renders a Lua table of every type", () => {
    const lua = luaTypeTable();
    expect(lua).toContain('[1007] = { name = "int4[]", kind = "array", elem = 23 },');
    expect(lua.split("\n")).toHaveLength(193 + 2);
  });
});

describe("values: PostgreSQL as the oracle (fixtures.json)", () => {
  it("was recorded with the settings the decoders assume", () => {
    const s = fixture.settings;
    expect(s.lc_monetary).toMatch(/^(C|POSIX)(\.|$)/);
    expect(s.DateStyle).toBe("ISO, MDY");
    expect(s.IntervalStyle).toBe("postgres");
    expect(s.TimeZone).toBe("UTC");
    expect(s.extra_float_digits).toBe("1");
    expect(s.bytea_output).toBe("hex");
  });

  it.each(fixture.columns.filter((c) => c.hex !== null))("$name (oid $oid)", (c) => {
    const got = valueText(c.oid, 1, bytesOf(c.hex ?? ""));
    expect(got).toBe(NOT_REPRODUCIBLE[c.name] ?? c.text);
    expect(valueText(c.oid, 0, Buffer.from(c.text ?? "", "utf8"))).toBe(c.text);
  });

  it("covers every supported kind at least once", () => {
    const seen = new Set(fixture.columns.map((c) => PG_TYPES[c.oid]?.binary));
    for (const kind of oidsByKind().keys()) expect(seen, kind).toContain(kind);
  });

  it.each(fixture.random.map((r) => ({ ...r, count: r.values.length })))(
    "random $type values ($count)",
    ({ oid, values }) => {
      const wrong = values.filter(([text, hex]) => valueText(oid, 1, bytesOf(hex)) !== text);
      expect(
        wrong.slice(0, 5).map(([text, hex]) => ({ hex, pg: text, ours: valueText(oid, 1, bytesOf(hex)) })),
      ).toEqual([]);
    },
  );
});

// ------------------------------------------------------------------------------------------------
// Inputs shared by (b) and (c)
// ------------------------------------------------------------------------------------------------
const inputs: Input[] = [];
for (const c of fixture.columns) {
  if (c.hex === null) continue;
  inputs.push([c.oid, 1, bytesOf(c.hex)], [c.oid, 0, Buffer.from(c.text ?? "", "utf8")]);
  inputs.push(...mutants(c.oid * 7919 + c.name.length, c.oid, bytesOf(c.hex), 20));
}
for (const r of fixture.random) for (const [, hex] of r.values) inputs.push([r.oid, 1, bytesOf(hex)]);
const RANDOM_PER_KIND = 2000;
inputs.push(...randomInputs(20240229, RANDOM_PER_KIND));

describe("values: never throws (TypeScript)", () => {
  it(`decodes ${inputs.length} inputs without an exception`, () => {
    const failures: string[] = [];
    for (const [oid, format, bytes] of inputs) {
      try {
        const s = valueTextStrict(oid, format, bytes);
        if (typeof s !== "string") failures.push(`${oid} ${format} ${hexText(bytes)}: not a string`);
      } catch (e) {
        failures.push(`${oid} ${format} ${hexText(bytes)}: ${(e as Error).message}`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it("falls back to hex for unknown types, other formats and malformed values", () => {
    expect(valueText(99999, 1, Uint8Array.of(1, 2))).toBe("\\x0102");
    expect(valueText(23, 2, Uint8Array.of(1, 2))).toBe("\\x0102");
    expect(valueText(23, 1, Uint8Array.of(0, 0, 1))).toBe("\\x000001");
    expect(valueText(1033, 1, Uint8Array.of(7))).toBe("\\x07");
    expect(valueText(1082, 1, Uint8Array.of(0x7f, 0xff, 0, 0))).toBe("\\x7fff0000"); // date after 5874897 AD
    expect(valueText(25, 0, Uint8Array.of(0x61, 0xff, 0x62))).toBe("a\ufffdb");
  });
});

// ------------------------------------------------------------------------------------------------
// (b) Lua = TypeScript, on every installed interpreter
// ------------------------------------------------------------------------------------------------
const LUAS = ["lua5.1", "lua5.2", "lua5.3", "lua5.4"] as const;

const tmp = mkdtempSync(join(tmpdir(), "pgwire-values-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TYPES_LUA = join(tmp, "types.lua");
writeFileSync(TYPES_LUA, luaTypeTable());
const stdin = `${inputs.map(([oid, format, bytes]) => `${oid} ${format} ${Buffer.from(bytes).toString("hex")}`).join("\n")}\n`;
const expected = inputs.map(([oid, format, bytes]) =>
  Buffer.from(valueTextStrict(oid, format, bytes), "utf8").toString("hex"),
);

function runLua(lua: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(lua, [RUNNER, VALUES_LUA, TYPES_LUA]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d: Buffer) => err.push(d));
    p.on("error", reject);
    p.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString("latin1"), stderr: Buffer.concat(err).toString() }),
    );
    p.stdin.end(stdin);
  });
}

// All interpreters run at the same time; each test waits for its own.
const runs = new Map<string, ReturnType<typeof runLua>>();
for (const lua of LUAS) if (locate(lua)) runs.set(lua, runLua(lua));

describe("values: Lua decoders = TypeScript decoders", () => {
  for (const lua of LUAS) {
    it.skipIf(missing(lua, `values under ${lua}`))(lua, async () => {
      const run = runs.get(lua);
      if (run === undefined) throw new Error(`${lua} did not start`);
      const { code, stdout, stderr } = await run;
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const lines = stdout.split("\n");
      expect(lines.length).toBe(inputs.length + 1);
      const diffs: string[] = [];
      const errors: string[] = [];
      inputs.forEach(([oid, format, bytes], i) => {
        const line = lines[i];
        if (line.startsWith("ERR ")) {
          errors.push(`${oid} ${format} ${Buffer.from(bytes).toString("hex")}: ${line}`);
        } else if (line !== `OK ${expected[i]}`) {
          const lua = Buffer.from(line.slice(3), "hex").toString("utf8");
          const ts = Buffer.from(expected[i], "hex").toString("utf8");
          diffs.push(
            `${oid} ${format} ${Buffer.from(bytes).toString("hex")}: ts ${JSON.stringify(ts)} lua ${JSON.stringify(lua)}`,
          );
        }
      });
      expect(errors.slice(0, 10)).toEqual([]);
      expect(diffs.slice(0, 10)).toEqual([]);
    });
  }
});
