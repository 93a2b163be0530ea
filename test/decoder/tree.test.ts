// The tree as Wireshark shows it: one line per value (DataRow columns, Bind parameters, pgoutput
// tuple columns, COPY fields), labelled with the value's name and type, the details under it;
// pgoutput messages as a subtree of their XLogData; array types written as PostgreSQL writes them.
// The comparison with the TS decoder (plugin.test.ts) checks every field; this checks the nesting
// and the labels, which only the plugin has.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runTshark, tsharkArgs } from "../../src/compare.ts";
import { missing } from "../helpers/tools.ts";
import { portsOf, ROOT } from "./helpers.ts";

/**
 * A PDML element of a field: its name, showname and show, and the fields under it (a subtree that
 * is a label only is "_ws.lua.text").
 */
interface Node {
  name: string;
  showname: string;
  show: string;
  children: Node[];
}

const attr = (tag: string, name: string) => {
  const m = new RegExp(` ${name}="([^"]*)"`).exec(tag);
  return (m?.[1] ?? "")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
};

/** The pgwire items of each frame, as trees of fields (PDML nests a field's children in it). */
async function trees(file: string): Promise<Map<number, Node[]>> {
  const ports = portsOf(file.split("/").pop() as string);
  const { stdout } = await runTshark(tsharkArgs(file, { ports }, ["-T", "pdml"]));
  const out = new Map<number, Node[]>();
  let frame = 0;
  const stack: Node[] = [];
  for (const m of stdout.matchAll(/<(\/?)(packet|proto|field)\b([^>]*?)(\/?)>/g)) {
    const [, close, el, rest, self] = m;
    if (el === "packet" && !close) frame++;
    if (el === "proto") {
      if (close) stack.length = 0;
      else if (attr(rest, "name") === "pgwire") {
        const item: Node = { name: "pgwire", showname: attr(rest, "showname"), show: "", children: [] };
        out.set(frame, [...(out.get(frame) ?? []), item]);
        stack.length = 0;
        stack.push(item);
        if (self) stack.length = 0;
      }
      continue;
    }
    if (el !== "field" || stack.length === 0) continue;
    if (close) {
      stack.pop();
      continue;
    }
    const node: Node = {
      name: attr(rest, "name"),
      showname: attr(rest, "showname"),
      show: attr(rest, "show"),
      children: [],
    };
    stack[stack.length - 1].children.push(node);
    if (!self) stack.push(node);
  }
  return out;
}

const named = (nodes: Node[], name: string) => nodes.filter((n) => n.name === name);
const shape = (n: Node) => [n.showname, n.children.map((c) => c.name)];
const cap = (name: string) => join(ROOT, "captures", name);

describe.skipIf(missing("tshark", "the tree's lines"))("the tree's lines", () => {
  it("DataRow: a line per column, name (type): value, over its name, type, length and bytes", async () => {
    const t = await trees(cap("seed-md5.pcapng"));
    const row = (t.get(12) ?? []).find((i) => i.showname === "PostgreSQL: DataRow") as Node;
    const lines = named(row.children, "pgwire.col.value");
    expect(lines.map(shape)).toEqual([
      ["id (int4): 1", ["pgwire.column", "pgwire.col.type", "pgwire.val.length", "pgwire.val.data"]],
      ["name (text): Alice Johnson", ["pgwire.column", "pgwire.col.type", "pgwire.val.length", "pgwire.val.data"]],
      ["title (text): Engineer", ["pgwire.column", "pgwire.col.type", "pgwire.val.length", "pgwire.val.data"]],
      ["salary (numeric): 85000.00", ["pgwire.column", "pgwire.col.type", "pgwire.val.length", "pgwire.val.data"]],
      ["hired (date): 2019-03-15", ["pgwire.column", "pgwire.col.type", "pgwire.val.length", "pgwire.val.data"]],
    ]);
    // Nothing else of the columns stands beside the lines.
    expect(named(row.children, "pgwire.column")).toEqual([]);
    expect(named(row.children, "pgwire.val.length")).toEqual([]);
  });

  it("NULL: a line for the length, name (type): NULL; arrays named as PostgreSQL writes them", async () => {
    const t = await trees(cap("values/binary.pcapng"));
    const rows = [...t.values()].flat().filter((i) => i.showname === "PostgreSQL: DataRow");
    const lines = rows.flatMap((r) =>
      r.children.filter((c) => c.name === "pgwire.col.value" || c.name === "pgwire.val.length"),
    );
    const nulls = lines.filter((l) => l.name === "pgwire.val.length");
    expect(nulls.length).toBeGreaterThan(0);
    for (const l of nulls) {
      expect(l.show).toBe("-1");
      expect(l.showname).toMatch(/^[a-z_0-9]+ \([^)]+\): NULL$/);
      expect(l.children.map((c) => c.name)).toEqual(["pgwire.column", "pgwire.col.type"]);
    }
    expect(lines.map((l) => l.showname)).toContain("arr_int4 (int4[]): {1,2,NULL}");
    const types = lines.flatMap((l) => named(l.children, "pgwire.col.type").map((c) => c.show));
    expect(types.filter((x) => x.endsWith("[]")).length).toBeGreaterThan(5);
    expect(types.filter((x) => x.startsWith("_"))).toEqual([]);
  });

  it("Bind: a line per parameter, $N (type): value, over its type, length and bytes", async () => {
    const t = await trees(cap("node-protocol.pcapng"));
    const binds = [...t.values()].flat().filter((i) => i.showname === "PostgreSQL: Bind");
    const lines = binds.flatMap((b) => named(b.children, "pgwire.param.value"));
    const typed = lines.filter((l) => /^\$\d+ \(/.test(l.showname));
    expect(typed.length).toBeGreaterThan(0);
    for (const l of typed) {
      expect(l.showname).toBe(
        `${l.showname.split(" (")[0]} (${named(l.children, "pgwire.param.type")[0]?.show}): ${l.show}`,
      );
      expect(l.children.map((c) => c.name).slice(0, 2)).toEqual(["pgwire.param.type", "pgwire.val.length"]);
    }
    // No "Parameter N" subtrees, and no parameter types or values at the end of the message.
    for (const b of binds) {
      expect(b.children.filter((c) => c.name === "_ws.lua.text")).toEqual([]);
      expect(named(b.children, "pgwire.param.type")).toEqual([]);
    }
  });

  it("pgoutput: each message a subtree of its XLogData, tuple columns as lines", async () => {
    const t = await trees(cap("node-pgoutput.pcapng"));
    const xlog = [...t.values()].flat().filter((i) => i.showname === "PostgreSQL: XLogData");
    const subs = xlog.flatMap((x) =>
      x.children.filter((c) => c.name === "_ws.lua.text" && c.showname.startsWith("pgoutput: ")),
    );
    const names = new Set(subs.map((s) => s.showname));
    for (const n of ["pgoutput: Begin", "pgoutput: Relation", "pgoutput: Insert", "pgoutput: Commit"])
      expect(names).toContain(n);
    for (const s of subs) expect(s.children[0]?.name).toBe("pgwire.pgoutput.type");
    const insert = subs.find((s) => s.showname === "pgoutput: Insert") as Node;
    const lines = insert.children.filter(
      (c) => c.name === "pgwire.col.value" || c.name === "pgwire.pgoutput.column_kind",
    );
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      // (Wireshark cuts a long label, marking it " [truncated]".)
      expect(l.showname.replace(/^ \[truncated\]/, "")).toMatch(/^[a-z_0-9]+ \([^)]+\): /);
      expect(l.children[0]?.name).toBe("pgwire.column");
    }
    // The columns' names stand under their lines, not beside them.
    expect(named(insert.children, "pgwire.column")).toEqual([]);
  });

  it("COPY: a line per row, a line per field under it, labelled with its column", async () => {
    const t = await trees(cap("node-copy.pcapng"));
    const data = [...t.values()].flat().filter((i) => i.showname === "PostgreSQL: CopyData");
    const rows = data.flatMap((d) => named(d.children, "pgwire.copy.row"));
    expect(rows.length).toBeGreaterThan(10);
    const first = rows.find((r) => r.children.length === 4) as Node;
    expect(first.showname).toMatch(/^Row \d+$/);
    for (const f of first.children) {
      expect(["pgwire.copy.value", "pgwire.copy.null"]).toContain(f.name);
      const column = named(f.children, "pgwire.copy.column")[0]?.show;
      expect(f.showname).toBe(`${column}: ${f.name === "pgwire.copy.null" ? "NULL" : f.show}`);
    }
  });
});
