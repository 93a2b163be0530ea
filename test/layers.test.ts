// The architecture as the imports draw it (issue 14): no module reaches itself through its imports,
// the hand-written runtime (src/runtime) uses nothing generated, the decoder (src/decoder) nothing
// that uses it, and the spec nothing but itself. Read from the sources' import statements, so a new file is checked without a list.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./decoder/helpers.ts";

const FOLDERS = ["spec", "generator", "dissector", "src", "scripts", "bin", "test", "captures"];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (/\.(ts|mts|cts)$/.test(name)) out.push(path);
  }
  return out;
}

/** Each source file (relative to the root) and the files its relative imports name (type-only ones too). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = FOLDERS.flatMap((f) => sources(join(ROOT, f)));
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const targets = new Set<string>();
    const patterns = [
      /\b(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gs,
      /\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g,
    ];
    for (const re of patterns) {
      for (const m of text.matchAll(re)) targets.add(relative(ROOT, resolve(dirname(file), m[1])));
    }
    graph.set(relative(ROOT, file), [...targets]);
  }
  return graph;
}

/** The groups of files that import each other, directly or not (Tarjan's strongly connected components). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("the import graph", () => {
  const graph = importGraph();

  it("reads the sources it checks", () => {
    // The graph is not empty and sees known edges: a broken pattern would pass every check below.
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get("src/decoder/index.ts")).toContain("src/runtime/reader.ts");
    expect(graph.get("dissector/pgwire.ts")).toContain("src/runtime/reader.ts");
  });

  it("has no cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("finds a cycle where there is one", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(cycles(g)).toEqual([["a", "b", "c"]]);
  });

  it("keeps the runtime free of generated code, and the spec free of everything else", () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      for (const t of targets) {
        if (file.startsWith("src/runtime/") && !t.startsWith("src/runtime/") && !t.startsWith("spec/"))
          wrong.push(`${file} -> ${t}`);
        if (file.startsWith("spec/") && !t.startsWith("spec/")) wrong.push(`${file} -> ${t}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("keeps the decoder below its users: it imports the runtime, the generated file, the spec and TLS", () => {
    const inward = ["src/decoder/", "src/runtime/", "dissector/", "spec/", "src/capture/"];
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      if (!file.startsWith("src/decoder/")) continue;
      for (const t of targets) if (!inward.some((p) => t.startsWith(p))) wrong.push(`${file} -> ${t}`);
    }
    expect(graph.get("src/decoder/connection.ts")).toContain("src/capture/tls.ts");
    expect(wrong).toEqual([]);
  });
});
