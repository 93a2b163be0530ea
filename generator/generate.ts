// npm run generate: renders the spec into dissector/pgwire.lua and dissector/pgwire.ts.
// With --check it writes nothing and exits 1 when a generated file would change.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ejs from "ejs";
import { BUILTIN_MISSING, KNOWN_DIFFERENCES } from "../spec/builtin.ts";
import { tsBody, tsCondition, tsMessageTypes, tsObjects, tsValue } from "./codegen.ts";
import { luaAllReaders, luaTypeTable } from "./lua.ts";
import {
  luaExperts,
  luaFields,
  luaGroups,
  luaLookupTables,
  luaMessages,
  luaOpening,
  luaPayloads,
  luaPhaseText,
} from "./lua-tables.ts";
import { buildModel } from "./model.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * A hand-written Lua file of the runtime (src/runtime/*.lua, src/decoder/*.lua) as the plugin holds
 * it: under a rule and a line naming the file, so that a reader of the one drop-in file knows
 * where each part comes from and where to change it.
 */
function runtime(path: string): string {
  const text = readFileSync(join(root, path), "utf8").replace(/\n+$/, "");
  return `${"-".repeat(99)}\n-- ${path}\n\n${text}\n`;
}

export function render(): Record<string, string> {
  const model = buildModel();
  const q = (s: string) => JSON.stringify(s);
  const ctx = {
    model,
    q,
    runtime,
    tsBody,
    tsMessageTypes,
    tsObjects,
    tsCondition,
    tsValue,
    luaAllReaders,
    luaTypeTable,
    luaFields,
    luaExperts,
    luaPhaseText,
    luaLookupTables,
    luaOpening,
    luaMessages,
    luaPayloads,
    luaGroups,
    known: KNOWN_DIFFERENCES,
    builtinMissing: BUILTIN_MISSING,
  };
  const out: Record<string, string> = {};
  for (const [tpl, target] of [
    ["pgwire.ts.ejs", "dissector/pgwire.ts"],
    ["pgwire.lua.ejs", "dissector/pgwire.lua"],
    ["fields.md.ejs", "docs/fields.md"],
  ] as const) {
    const file = join(root, "generator/templates", tpl);
    out[target] = ejs.render(readFileSync(file, "utf8"), ctx, { filename: file });
  }
  return out;
}

/**
 * Renders the spec and writes the generated files that changed (with check: writes nothing).
 * Returns the files that were (or, with check, would be) written.
 */
export function generate(check = false): string[] {
  const changed: string[] = [];
  for (const [target, text] of Object.entries(render())) {
    const path = join(root, target);
    let old = "";
    try {
      old = readFileSync(path, "utf8");
    } catch {}
    if (old === text) continue;
    changed.push(target);
    if (!check) writeFileSync(path, text);
  }
  return changed;
}

function main(): void {
  const check = process.argv.includes("--check");
  const changed = generate(check);
  for (const target of changed) {
    if (check) console.error(`${target} is out of date: run npm run generate`);
    else console.log(`wrote ${target}`);
  }
  if (check && changed.length > 0) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
