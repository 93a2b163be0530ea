// Generated files are current, parse under every Lua version and pass luacheck; so do the
// runtime's Lua files one by one.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { render } from "../../generator/generate.ts";
import { messages } from "../../spec/index.ts";
import { ROOT } from "../decoder/helpers.ts";
import { missing } from "../helpers/tools.ts";

/** The runtime's hand-written Lua files, which the generator puts into the plugin. */
const RUNTIME_LUA = ["src/runtime", "src/decoder", "src/analysis"].flatMap((d) =>
  readdirSync(join(ROOT, d))
    .filter((f) => f.endsWith(".lua"))
    .map((f) => `${d}/${f}`),
);

describe("generated files", () => {
  it("are what npm run generate would write", () => {
    for (const [target, text] of Object.entries(render())) {
      expect(readFileSync(join(ROOT, target), "utf8"), `${target} is stale: run npm run generate`).toBe(text);
      expect(text).toContain("@generated");
    }
  });

  it("decode every message of the spec in both languages", () => {
    const lua = readFileSync(join(ROOT, "dissector/pgwire.lua"), "utf8");
    const ts = readFileSync(join(ROOT, "dissector/pgwire.ts"), "utf8");
    for (const m of messages) {
      expect(lua).toContain(`{ name = "${m.name}", fe = ${m.dir === "F"},`);
      expect(ts).toContain(`name: "${m.name}",\n    dir: "${m.dir}",`);
    }
  });

  for (const v of ["5.1", "5.2", "5.3", "5.4"] as const) {
    it.skipIf(missing(`luac${v}`, `parse with luac${v}`))(`parse with luac${v}`, async () => {
      // One file per run: Debian's luac5.4 aborts when given several large ones at once.
      for (const f of ["dissector/pgwire.lua", ...RUNTIME_LUA]) await execa(`luac${v}`, ["-p", join(ROOT, f)]);
    });
  }

  it.skipIf(missing("luacheck", "pass luacheck"))("pass luacheck, and so does each runtime file", async () => {
    const files = ["dissector/pgwire.lua", ...RUNTIME_LUA];
    const r = await execa("luacheck", ["--no-color", ...files], { cwd: ROOT, reject: false });
    expect(r.stdout).toContain(`0 warnings / 0 errors in ${files.length} files`);
  });

  it("hold every runtime Lua file, each once", () => {
    const lua = readFileSync(join(ROOT, "dissector/pgwire.lua"), "utf8");
    expect(RUNTIME_LUA.length).toBeGreaterThan(8);
    for (const f of RUNTIME_LUA) expect(lua.split(`\n-- ${f}\n`).length, f).toBe(2);
  });

  it("use no Lua 5.3-only syntax or escapes", () => {
    const lua = readFileSync(join(ROOT, "dissector/pgwire.lua"), "utf8").replace(/--.*$/gm, "");
    expect(lua).not.toMatch(/\\x[0-9a-fA-F]{2}|\\u\{|\bgoto\b|\/\/|<<|>>|[^~]~[^=]/);
    expect(lua).not.toMatch(/require\s*\(?\s*["']bit32/);
  });
});

describe.skipIf(missing("tshark", "field names"))("field names", () => {
  it("give every field of the built-in pgsql dissector a pgwire counterpart", async () => {
    const { fields } = await import("../../spec/index.ts");
    const { stdout } = await execa("tshark", ["-G", "fields"]);
    const builtin = stdout
      .split("\n")
      .map((l) => l.split("\t"))
      .filter((c) => c[0] === "F" && c[4] === "pgsql")
      .map((c) => c[2]);
    expect(builtin.length).toBeGreaterThan(40);
    const mirrored = new Set(Object.values(fields).map((f) => f.builtin));
    const unmatched = builtin.filter((name) => !mirrored.has(name));
    expect(unmatched).toEqual([]);
    for (const f of Object.values(fields)) {
      if (f.builtin) expect(f.builtin).toBe(`pgsql.${f.abbrev}`);
    }
  });
});
