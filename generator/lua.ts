// Renders a message body (a list of spec elements) as two straight-line Lua readers:
//   <fn>_nt(c, v, s, p, e)       without a tree: decodes only what the message's Needs say (its Info
//                                column, findings, objects, links and effects), walks the rest for
//                                its bounds, and adds nothing to a tree;
//   <fn>_tree(c, v, s, p, e, t)  with a tree: every field as an item of t (when the tree is visible
//                                or the field is referenced), every variable bound.
// s is the call's bytes (a Lua string), p the 0-based offset of the body, e the 0-based end of the
// message, v the variables. Each returns the offset after the body, or nil when it stopped at a
// field that runs past the message (the expert is raised by the runtime helper it called).
// One function per element kind (Renderers), walked by generator/walk.ts as the TS reader is.

import { PG_TYPES, typeName } from "../spec/data/types.ts";
import { type Element, type FieldDef, type IntType, intSize, usedFields } from "../spec/dsl.ts";
import { type MessageModel, type Model, nestedBodies } from "./model.ts";
import { type Renderers, walk } from "./walk.ts";

const isSigned = (t: string) => t.startsWith("int");

function sizeOf(t: string): number {
  return t === "bool" ? 1 : intSize[t as IntType];
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** v.name, or v["name"] where name is not a Lua identifier. */
function vref(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !LUA_KEYWORDS.has(name) ? `v.${name}` : `v[${q(name)}]`;
}

const LUA_KEYWORDS = new Set(
  "and break do else elseif end false for function goto if in local nil not or repeat return then true until while".split(
    " ",
  ),
);

/**
 * Lua statements that decode the integer of `size` bytes at offset p of s into x (inline: a call
 * per integer costs more than the arithmetic).
 */
function decode(size: number, signed: boolean): string[] {
  switch (size) {
    case 1:
      return signed ? ["x = sbyte(s, p + 1)", "if x >= 128 then x = x - 256 end"] : ["x = sbyte(s, p + 1)"];
    case 2:
      return [
        "do local b1, b2 = sbyte(s, p + 1, p + 2) x = b1 * 256 + b2 end",
        ...(signed ? ["if x >= 32768 then x = x - 65536 end"] : []),
      ];
    case 4:
      return [
        "do local b1, b2, b3, b4 = sbyte(s, p + 1, p + 4) x = ((b1 * 256 + b2) * 256 + b3) * 256 + b4 end",
        ...(signed ? ["if x >= 2147483648 then x = x - 4294967296 end"] : []),
      ];
    default:
      // 64-bit values as text, exact on every Lua version (Wireshark's Int64/UInt64).
      return [`x = ${signed ? "i64" : "u64"}(c, p)`];
  }
}

type Mode = "nt" | "tree";

/**
 * Where a Lua reader is in the body: its indentation, the loop index that numbers a labelled
 * subtree (label), and the index of the innermost loop (idx).
 */
interface LuaContext {
  readonly ind: string;
  readonly label?: string;
  readonly idx: string;
}

/**
 * The fields a value-line element shows (column, param, tupleColumn), as constant tables of FS
 * (a table per call would be garbage): FS.<name> = { len = F..., ... }, emitted before the readers.
 */
const FIELD_SETS = new Map<string, string>();

function fieldSet(fields: Record<string, FieldDef>, key: (f: FieldDef) => string, name: string): string {
  const body = `{ ${Object.entries(fields)
    .map(([k, f]) => `${k} = ${key(f)}`)
    .join(", ")} }`;
  for (const [n, b] of FIELD_SETS) if (b === body) return `FS.${n}`;
  FIELD_SETS.set(name, body);
  return `FS.${name}`;
}

/** Every message's readers, after the field sets they use (luaReaders, FIELD_SETS). */
export function luaAllReaders(model: Model): string {
  FIELD_SETS.clear();
  const readers = model.messages
    .filter((x) => !x.shared)
    .map((m) => `-- ${m.name} (${m.dir === "F" ? "frontend" : "backend"})\n${luaReaders(model, m)}\n`)
    .join("\n");
  const sets = [...FIELD_SETS].map(([n, b]) => `FS.${n} = ${b}`).join("\n");
  return `local FS = {}\n${sets}\n\n${readers}`;
}

interface Emitter {
  lines: string[];
  depth: number;
}

/**
 * The readers of message m: straight-line Lua. In nt mode an element that reads bytes no
 * consumer needs only checks its bounds and moves on.
 */
export function luaReaders(model: Model, m: MessageModel): string {
  return [reader(model, m, "nt"), reader(model, m, "tree")].join("\n\n");
}

function reader(model: Model, m: MessageModel, mode: Mode): string {
  const key = (f: FieldDef) => `F.${model.fieldKey.get(f)}`;
  const needs = m.needs;
  const tree = mode === "tree";
  const neededVar = (name: string | undefined) =>
    name !== undefined && (tree || needs.vars.includes(name) || (name.startsWith("$") && needs.dynamic));
  const neededList = (name: string) => tree || needs.lists.includes(name);
  // The variables someone reads from the table v: the runtime (Info, findings, objects, links,
  // effects) and the elements that take a variable's value. The others that the layout needs
  // (counts, lengths, switch keys) are locals of the reader; the rest are not bound at all.
  const inTable = new Set<string>([...needs.consumers, "instream"]);
  const walkReads = (els: readonly Element[]) => {
    for (const e of els) {
      if ((e.kind === "lookup" || e.kind === "relation") && (tree || neededVar(e.bind))) inTable.add(e.from.slice(1));
      if (e.kind === "attributes" && tree) inTable.add(e.from.slice(1));
      if (e.kind === "options" && (tree || needs.options)) inTable.add(e.from.slice(1)).add(e.when);
      if (e.kind === "copyStatement" && (tree || needs.copyStatement)) inTable.add(e.from.slice(1));
      if (e.kind === "remember" && neededList(e.list)) for (const x of e.vars) inTable.add(x);
      if (e.kind === "string" && e.bind?.startsWith("$") && neededVar(e.bind)) inTable.add(e.bind.slice(1));
      for (const b of nestedBodies(e)) walkReads(b);
    }
  };
  walkReads(m.body);
  const locals = new Set<string>();
  /** Where a variable's value is read from: v, a local of the reader, or bodylen (computed). */
  const use = (name: string): string => {
    if (name === "bodylen") return "bodylen";
    if (inTable.has(name)) return `num(${vref(name)})`;
    locals.add(name);
    return `(l_${name} or 0)`;
  };
  const out: Emitter = { lines: [], depth: 0 };
  /** The item guard: the tree is visible, or a filter, column or tap uses the field. */
  const wants = (f: FieldDef) => `(vis or REFS[${key(f)}])`;

  const bind = (ind: string, name: string | undefined, expr: string) => {
    if (!neededVar(name) || name === undefined) return;
    if (name.startsWith("$")) {
      // Bound under the name that variable holds (a parameter under its own name).
      out.lines.push(
        `${ind}do local k = ${vref(name.slice(1))} if type(k) == "string" then v[k] = ${expr} c.dirty = true end end`,
      );
    } else if (inTable.has(name)) out.lines.push(`${ind}${vref(name)} = ${expr}`);
    else if (structural.has(name)) {
      locals.add(name);
      out.lines.push(`${ind}l_${name} = ${expr}`);
    }
  };
  // Variables the layout reads (counts, lengths, switch keys).
  const structural = new Set<string>();
  const walkLayout = (els: readonly Element[]) => {
    for (const e of els) {
      if (e.kind === "repeat") structural.add(e.count.slice(1));
      if (e.kind === "switch") structural.add(e.on.slice(1));
      if (e.kind === "bytes" && typeof e.length === "string" && e.length !== "rest") structural.add(e.length.slice(1));
      for (const b of nestedBodies(e)) walkLayout(b);
    }
  };
  walkLayout(m.body);

  const valueLine = (e: Extract<Element, { kind: "column" | "param" }>, { ind, idx }: LuaContext): void => {
    if (tree) {
      const set =
        e.kind === "column"
          ? fieldSet({ len: e.length, data: e.data, name: e.name, type: e.type, value: e.value }, key, `${m.fn}_col`)
          : fieldSet({ len: e.length, data: e.data, type: e.type, value: e.value }, key, `${m.fn}_param`);
      out.lines.push(
        e.kind === "column"
          ? `${ind}p = column(c, t, s, p, e, ${idx}, ${set})`
          : `${ind}p = param(c, t, s, p, e, ${idx}, ${set}, ${q(e.formats)})`,
        `${ind}if not p then return nil end`,
      );
    } else
      out.lines.push(
        `${ind}if p + 4 > e then return ovr(c) end`,
        `${ind}do local b1, b2, b3, b4 = sbyte(s, p + 1, p + 4) n = ((b1 * 256 + b2) * 256 + b3) * 256 + b4 end`,
        `${ind}p = p + 4`,
        // A length of 2^31 or more is negative (NULL is -1): nothing follows.
        `${ind}if n > 0 and n < 2147483648 then`,
        `${ind}  if p + n > e then return ovr(c) end`,
        `${ind}  p = p + n`,
        `${ind}end`,
      );
  };
  const r: Renderers<LuaContext> = {
    int: (e, { ind }) => {
      const size = e.size ?? sizeOf(e.field.type);
      out.lines.push(`${ind}if p + ${size} > e then return ovr(c) end`);
      if (tree) out.lines.push(`${ind}if ${wants(e.field)} then ADD(t, ${key(e.field)}, tvb(p, ${size})) end`);
      if (neededVar(e.bind) && e.bind && (inTable.has(e.bind) || structural.has(e.bind) || e.bind.startsWith("$"))) {
        for (const l of decode(size, isSigned(e.field.type))) out.lines.push(`${ind}${l}`);
        bind(ind, e.bind, "x");
      }
      out.lines.push(`${ind}p = p + ${size}`);
    },
    string: (e, { ind }) => {
      out.lines.push(`${ind}z = sfind(s, "\\0", p + 1, true)`, `${ind}if not z or z > e then return unterm(c) end`);
      if (tree)
        out.lines.push(`${ind}if ${wants(e.field)} then ADDPF(t, ${key(e.field)}, tvb(p, z - p), ENC_UTF_8) end`);
      bind(ind, e.bind, "ssub(s, p + 1, z - 1)");
      out.lines.push(`${ind}p = z`);
    },
    bytes: (e, { ind }) => {
      const len =
        typeof e.length === "number" ? String(e.length) : e.length === "rest" ? "e - p" : use(e.length.slice(1));
      out.lines.push(`${ind}n = ${len}`, `${ind}if n > 0 then`, `${ind}  if p + n > e then return ovr(c) end`);
      if (tree) out.lines.push(`${ind}  if ${wants(e.field)} then ADD(t, ${key(e.field)}, tvb(p, n)) end`);
      bind(`${ind}  `, e.bind, "ssub(s, p + 1, p + n)");
      out.lines.push(`${ind}  p = p + n`, `${ind}end`);
    },
    repeat: (e, { ind }) => {
      const d = ++out.depth;
      const count = use(e.count.slice(1));
      const fixed = tree ? undefined : fixedSkip(e.body, neededVar, neededList);
      if (fixed !== undefined) {
        // Integers nobody reads: the whole list at once.
        out.lines.push(
          `${ind}n = ${count} * ${fixed}`,
          `${ind}if n > 0 then`,
          `${ind}  if p + n > e then return ovr(c) end`,
          `${ind}  p = p + n`,
          `${ind}end`,
        );
        return;
      }
      const loopAt = out.lines.length;
      out.lines.push(`${ind}for i${d} = 0, ${count} - 1 do`);
      if (e.label && tree) {
        out.lines.push(
          `${ind}  local t${d}, p${d} = t, p`,
          `${ind}  if vis then t = ADD(t, tvb(p, 0), ${q(`${e.label} `)} .. (i${d} + 1)) end`,
        );
        walk(e.body, r, { ind: `${ind}  `, idx: `i${d}` });
        out.lines.push(`${ind}  if vis then t:set_len(p - p${d}) t = t${d} end`);
      } else walk(e.body, r, { ind: `${ind}  `, label: e.label ? undefined : `i${d}`, idx: `i${d}` });
      out.lines.push(`${ind}end`);
      // An index the body does not use is named _ (luacheck).
      if (!out.lines.slice(loopAt + 1).some((l) => new RegExp(`\\bi${d}\\b`).test(l)))
        out.lines[loopAt] = `${ind}for _ = 0, ${count} - 1 do`;
    },
    untilZero: (e, { ind }) => {
      out.lines.push(`${ind}while p < e and sbyte(s, p + 1) ~= 0 do`);
      walk(e.body, r, { ind: `${ind}  `, idx: "0" });
      out.lines.push(`${ind}end`, `${ind}if p < e then p = p + 1 else return ovr(c) end`);
    },
    switch: (e, { ind, label, idx }) => {
      const d = ++out.depth;
      // Cases that decode nothing more than the fallback does are left to it.
      const code = (b: readonly Element[]) => {
        const saved = out.lines;
        out.lines = [];
        walk(b, r, { ind: `${ind}  `, label, idx });
        const text = out.lines;
        out.lines = saved;
        return text;
      };
      const otherwise = code(e.otherwise);
      const cases = e.cases
        .map(([value, b]) => [value, code(b)] as const)
        .filter(([, c]) => c.join("\n") !== otherwise.join("\n"));
      if (cases.length === 0) {
        for (const l of otherwise) out.lines.push(l.slice(2));
        return;
      }
      out.lines.push(`${ind}local s${d} = ${use(e.on.slice(1))}`);
      cases.forEach(([value, c], i) => {
        out.lines.push(`${ind}${i === 0 ? "if" : "elseif"} s${d} == ${value} then`, ...c);
      });
      if (otherwise.length > 0) out.lines.push(`${ind}else`, ...otherwise);
      out.lines.push(`${ind}end`);
    },
    tree: (e, { ind, label, idx }) => {
      if (!tree) {
        walk(e.body, r, { ind, idx });
        return;
      }
      const d = ++out.depth;
      const lbl = label ? `${q(`${e.label} `)} .. (${label} + 1)` : q(e.label);
      out.lines.push(`${ind}local t${d}, p${d} = t, p`, `${ind}if vis then t = ADD(t, tvb(p, 0), ${lbl}) end`);
      walk(e.body, r, { ind, idx });
      out.lines.push(`${ind}if vis then t:set_len(p - p${d}) t = t${d} end`);
    },
    attributes: (e, { ind }) => {
      if (tree)
        out.lines.push(
          `${ind}attributes(c, t, ${vref(e.from.slice(1))}, ${e.gs2}, { ${e.keys.map(([k, f]) => `${k} = ${key(f)}`).join(", ")} }, ${key(e.cbind)}, ${key(e.authzid)}, ${key(e.other)})`,
        );
    },
    remember: (e, { ind }) => {
      if (neededList(e.list))
        out.lines.push(`${ind}remember(c, ${q(e.list)}, ${e.vars.map((x) => vref(x)).join(", ")})`);
    },
    column: valueLine,
    param: valueLine,
    lookup: (e, { ind }) => {
      if (!tree && !neededVar(e.bind)) return;
      const args = `T.${e.table}, ${vref(e.from.slice(1))}, ${e.prefix ?? "nil"}, ${!!e.firstWord}`;
      out.lines.push(`${ind}x = ${e.replication ? "c.core.replication and " : ""}lookup(${args})`, `${ind}if x then`);
      if (tree) out.lines.push(`${ind}  if ${wants(e.field)} then GEN(ADD(t, ${key(e.field)}, r0, x)) end`);
      bind(`${ind}  `, e.bind, "x");
      out.lines.push(`${ind}end`);
    },
    text: (e, { ind }) => {
      if (!tree && !neededVar(e.bind)) return;
      out.lines.push(`${ind}x = pg_value_text(${e.oid}, 1, ssub(s, p - ${e.size - 1}, p))`);
      if (tree)
        out.lines.push(`${ind}if ${wants(e.field)} then GEN(ADD(t, ${key(e.field)}, tvb(p - ${e.size}, 0), x)) end`);
      bind(ind, e.bind, "x");
    },
    payload: (e, { ind }) => {
      out.lines.push(
        tree
          ? `${ind}p = payload_tree(c, v, s, p, e, t, P.${e.set}, ${key(e.field)}, ${key(e.type)})`
          : `${ind}p = payload_nt(c, v, s, p, e, P.${e.set})`,
        `${ind}if not p then return nil end`,
      );
    },
    tupleColumn: (e, { ind, idx }) => {
      const valued = Object.keys(e.formats).map(Number);
      if (tree) {
        // The kinds as strings (one character each, the format as a digit): constants, no table per call.
        const kinds = valued.map((k) => String.fromCharCode(k)).join("");
        const digits = Object.values(e.formats).join("");
        const empty = e.empty.map((k) => String.fromCharCode(k)).join("");
        const set = fieldSet(
          { kind: e.marker, len: e.length, data: e.data, name: e.name, type: e.type, value: e.value },
          key,
          `${m.fn}_tuple`,
        );
        out.lines.push(
          `${ind}p = tuple_column(c, t, s, p, e, ${idx}, ${set}, ${q(kinds)}, ${q(digits)}, ${q(empty)})`,
          `${ind}if not p then return nil end`,
        );
      } else {
        const isOne = (ks: readonly number[]) => ks.map((k) => `x == ${k}`).join(" or ");
        out.lines.push(
          `${ind}if p + 1 > e then return ovr(c) end`,
          `${ind}x = sbyte(s, p + 1)`,
          `${ind}p = p + 1`,
          `${ind}if ${isOne(valued)} then`,
          `${ind}  if p + 4 > e then return ovr(c) end`,
          `${ind}  n = i32(s, p + 1)`,
          `${ind}  p = p + 4`,
          `${ind}  if n > 0 then`,
          `${ind}    if p + n > e then return ovr(c) end`,
          `${ind}    p = p + n`,
          `${ind}  end`,
          `${ind}elseif not (${isOne(e.empty)}) then`,
          `${ind}  return unknown_kind(c, x)`,
          `${ind}end`,
        );
      }
    },
    relation: (e, { ind }) => {
      if (tree)
        out.lines.push(
          `${ind}x = relation(c, ${vref(e.from.slice(1))})`,
          `${ind}if x and ${wants(e.field)} then GEN(ADD(t, ${key(e.field)}, r0, x)) end`,
        );
      else if (neededVar(e.bind)) out.lines.push(`${ind}x = relation(c, ${vref(e.from.slice(1))})`);
      else return;
      if (neededVar(e.bind)) out.lines.push(`${ind}if x then ${vref(e.bind as string)} = x end`);
    },
    optional: (e, { ind, label, idx }) => {
      out.lines.push(`${ind}if p < e then`);
      walk(e.body, r, { ind: `${ind}  `, label, idx });
      out.lines.push(`${ind}end`);
    },
    options: (e, { ind }) => {
      if (tree || needs.options)
        out.lines.push(
          `${ind}options(c, ${tree ? "t" : "nil"}, v, ${vref(e.from.slice(1))}, ${vref(e.when)}, ${key(e.field)})`,
        );
    },
    copyStatement: (e, { ind }) => {
      if (tree || needs.copyStatement)
        out.lines.push(`${ind}copy_statement(c, ${tree ? "t" : "nil"}, ${vref(e.from.slice(1))}, ${key(e.field)})`);
    },
    copyRows: (e, { ind }) => {
      if (tree || needs.copyRows)
        out.lines.push(`${ind}p = copy_rows(c, ${tree ? "t" : "nil"}, s, p, e, ${key(e.field)}, ${copyKeys(key, e)})`);
      else out.lines.push(`${ind}p = e`);
    },
  };

  walk(m.body, r, { ind: "  ", idx: "0" });
  const body = out.lines;
  const used = body.join("\n");
  const temps = ["z", "n", "x"].filter((l) => new RegExp(`(?<![.\\w])${l} = `).test(used));
  const head: string[] = [];
  // Variables of an earlier message must not show through (the table is reused).
  for (const name of m.vars) if (inTable.has(name) && neededVar(name)) head.push(`  ${vref(name)} = nil`);
  if (/\bbodylen\b/.test(used)) head.push("  local bodylen = e - p");
  const ls = [...locals].map((l) => `l_${l}`);
  if (ls.length > 0) head.push(`  local ${ls.join(", ")}`);
  if (tree) {
    if (/\bvis\b/.test(used) || /\btvb\(/.test(used)) head.push("  local tvb, vis = c.tvb, c.vis");
    if (/\br0\b/.test(used)) head.push("  local r0 = c.r0");
  }
  if (temps.length > 0) head.push(`  local ${temps.join(", ")}`);
  const params = tree ? "c, v, s, p, e, t" : "c, v, s, p, e";
  // Fields of one table: a local per reader would pass Lua's 200 locals of the main chunk.
  const fn = `R.${m.fn}_${mode}`;
  if (body.length === 0 && head.length === 0) return `${fn} = function(_, _, _, p) return p end`;
  // Parameters a reader does not use are named _ (luacheck).
  const usedParams = params
    .split(", ")
    .map((x) => (new RegExp(`\\b${x}\\b`).test(`${head.join("\n")}\n${used}`) || x === "p" ? x : "_"))
    .join(", ");
  return [`${fn} = function(${usedParams})`, ...head, ...body, "  return p", "end"].join("\n");
}

function copyKeys(key: (f: FieldDef) => string, e: Extract<Element, { kind: "copyRows" }>): string {
  return `{ row = ${key(e.row)}, column = ${key(e.column)}, value = ${key(e.value)}, null = ${key(e.isNull)}, flags = ${key(e.flags)}, extension = ${key(e.extension)}, trailer = ${key(e.trailer)} }`;
}

/**
 * The bytes one iteration of a repeat takes when it is integers only, none of them read by anyone
 * (so the reader without a tree can skip the whole list at once); undefined otherwise.
 */
function fixedSkip(
  body: readonly Element[],
  neededVar: (v: string | undefined) => boolean,
  neededList: (l: string) => boolean,
): number | undefined {
  let size = 0;
  for (const e of body) {
    if (e.kind === "int" && !neededVar(e.bind)) size += e.size ?? sizeOf(e.field.type);
    else if (e.kind === "remember" && !neededList(e.list)) continue;
    else return undefined;
  }
  return size > 0 ? size : undefined;
}

/**
 * The message's Info text as a Lua table field: info_s = "text" when it has no variables, else
 * info_f = function(v, o, n) ... end, which appends the text's pieces to o after o[n] and returns
 * the new count: the literal parts as constants, each variable as it is when it is a short
 * string, else through iv (its text) or ic (a character code as the character).
 */
/** What a message's variables hold: "number" (an integer element), or "string". */
function varKinds(body: readonly Element[]): Map<string, "number" | "string"> {
  const kinds = new Map<string, "number" | "string">();
  const walk = (els: readonly Element[]) => {
    for (const e of els) {
      if (e.kind === "int" && e.bind && e.field.type !== "int64" && e.field.type !== "uint64")
        kinds.set(e.bind, "number");
      else if (
        (e.kind === "string" || e.kind === "lookup" || e.kind === "text" || e.kind === "relation") &&
        e.bind &&
        !e.bind.startsWith("$")
      )
        kinds.set(e.bind, "string");
      for (const b of nestedBodies(e)) walk(b);
    }
  };
  walk(body);
  return kinds;
}

export function luaInfo(m: MessageModel, luaString: (s: string) => string): string {
  if (!m.infoParts.some((p) => "v" in p)) {
    return `info_s = ${luaString(m.name + m.infoParts.map((p) => ("lit" in p ? p.lit : "")).join(""))}`;
  }
  const kinds = varKinds(m.body);
  const pieces: string[] = [];
  const locals: string[] = [];
  let lit = m.name;
  for (const p of m.infoParts) {
    if ("lit" in p) lit += p.lit;
    else {
      if (lit !== "") pieces.push(luaString(lit));
      lit = "";
      const x = `x${locals.length + 1}`;
      locals.push(`local ${x} = ${vref(p.v)}`);
      // Text seen before without control characters, and numbers and characters shown before, as
      // they were (CLEAN, NUMS, CHARS); anything else through iv or ic.
      pieces.push(
        p.s
          ? `(${x} == 1) and "" or "s"`
          : p.char
            ? `CHARS[${x}] or ic(${x})`
            : kinds.get(p.v) === "number"
              ? `NUMS[${x}] or iv(${x})`
              : `CLEAN[${x}] and ${x} or iv(${x})`,
      );
    }
  }
  if (lit !== "") pieces.push(luaString(lit));
  const stores = pieces.map((x, i) => `o[n + ${i + 1}] = ${x}`).join(" ");
  return `info_f = function(v, o, n) ${locals.join(" ")} ${stores} return n + ${pieces.length} end`;
}

/**
 * What the runtime must do around a message's reader, as flags of its Lua table: ctx = true when
 * the reader looks at the connection's state or the message's number (c.core, c.g: payloads,
 * relations, replication-only lookups, COPY rows); found = true when its elements leave something
 * for the runtime (c.lists, c.picked, c.copy, c.cs) that must not outlive the message.
 */
export function luaFlags(model: Model, m: MessageModel): string[] {
  let ctx = false;
  let found = false;
  const walk = (els: readonly Element[]) => {
    for (const e of els) {
      if (e.kind === "payload") {
        ctx = found = true;
        for (const sub of model.payloads.find((p) => p.name === e.set)?.variants ?? []) walk(sub.body);
      }
      if (
        e.kind === "relation" ||
        e.kind === "tupleColumn" ||
        e.kind === "param" ||
        (e.kind === "lookup" && e.replication)
      )
        ctx = true;
      if (e.kind === "copyRows") ctx = found = true;
      if (e.kind === "remember" || e.kind === "copyStatement") found = true;
      for (const b of nestedBodies(e)) walk(b);
    }
  };
  walk(m.body);
  // The fields its readers can add (with those of the messages a payload carries), for the
  // runtime's question whether any is asked for.
  const fields = new Set(usedFields(m.body));
  const payloads = JSON.stringify(m.body).includes('"kind":"payload"')
    ? model.payloads.filter((p) => JSON.stringify(m.body).includes(`"set":"${p.name}"`))
    : [];
  for (const p of payloads) for (const v of p.variants) for (const f of usedFields(v.body)) fields.add(f);
  const key = (f: FieldDef) => `F.${model.fieldKey.get(f)}`;
  return [
    ctx ? "ctx = true" : null,
    found ? "found = true" : null,
    `fields = { ${[...fields].map(key).join(", ")} }`,
  ].filter((x): x is string => x !== null);
}

/**
 * The message's prepared statements and portals (spec/dsl.ts Objects) as a Lua function of its
 * table, obj = function(objs, v, lists): the lookups with the message's own names and maps, first
 * pass only (the runtime's objects_first_pass did the same from the description, slower). Returns
 * the object the message refers to. SQL texts are kept once each (keep_sql); a list the message
 * does not have is the shared EMPTY list.
 */
export function luaObjects(m: MessageModel, luaString: (s: string) => string): string | null {
  const o = m.objects;
  if (!o || (!o.refer && !o.define)) return null;
  const lines: string[] = [];
  if (o.refer) {
    const map = o.refer.map
      ? `objs.${o.refer.map}`
      : `((${vref(o.refer.mapVar as string)} == 83 and objs.S) or (${vref(o.refer.mapVar as string)} == 80 and objs.P))`;
    lines.push(`local key, map = ${vref(o.refer.name)}, ${map}`);
    lines.push('local found = map and type(key) == "string" and map[key] or nil');
    if (o.refer.drop) lines.push("if found then map[key] = nil end");
  } else lines.push("local found = nil");
  if (o.define) {
    const d = o.define;
    lines.push(`local name = ${vref(d.name)}`);
    lines.push(
      d.sql ? `local sql = ${vref(d.sql)}` : "local sql = found and found.sql",
      `if type(name) == "string" and type(sql) == "string" then`,
    );
    if (d.sql) lines.push("  sql = keep_sql(sql)");
    const types = d.types ? `(lists and lists[${luaString(d.types)}]) or EMPTY` : "found and found.types";
    // Format codes are kept once per content (portals bound alike then run in one state).
    const formats = d.formats ? `same_formats(lists and lists[${luaString(d.formats)}])` : "nil";
    lines.push(`  objs.${d.map}[name] = { sql = sql, types = ${types}, formats = ${formats}, stmt = found }`, "end");
  }
  lines.push("return found");
  const lists = /\blists\b/.test(lines.join("\n")) ? "lists" : "_";
  return `obj = function(objs, v, ${lists}) ${lines.join(" ")} end`;
}

/**
 * PG_TYPES as a Lua table constructor, for the generated plugin: `local PG_TYPES = <this>` must come
 * before src/runtime/values.lua. Entries are `[oid] = { name = "...", kind = "...", elem = N }`
 * (name as typeName gives it; kind and elem only where present), one per line, in OID order.
 */
export function luaTypeTable(): string {
  const oids = Object.keys(PG_TYPES)
    .map(Number)
    .sort((a, b) => a - b);
  const rows = oids.map((oid) => {
    const t = PG_TYPES[oid];
    const parts = [`name = "${typeName(oid)}"`];
    if (t.binary !== undefined) parts.push(`kind = "${t.binary}"`);
    if (t.elem !== undefined) parts.push(`elem = ${t.elem}`);
    return `  [${oid}] = { ${parts.join(", ")} },`;
  });
  return `{\n${rows.join("\n")}\n}`;
}
