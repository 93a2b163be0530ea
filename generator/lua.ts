// Renders a message body (a list of spec elements) as two straight-line Lua readers:
//   <fn>_nt(c, v, s, p, e)       without a tree: decodes only what the message's Needs say (its Info
//                                column, findings, objects, links and effects), walks the rest for
//                                its bounds, and adds nothing to a tree;
//   <fn>_tree(c, v, s, p, e, t)  with a tree: every field as an item of t (when the tree is visible
//                                or the field is referenced), every variable bound.
// s is the call's bytes (a Lua string), p the 0-based offset of the body, e the 0-based end of the
// message, v the variables. Each returns the offset after the body, or nil when it stopped at a
// field that runs past the message (the expert is raised by the runtime helper it called).

import { type Element, type FieldDef, type IntType, intSize } from "../spec/dsl.ts";
import type { MessageModel, Model } from "./model.ts";

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

/** A Lua expression decoding an integer of `size` bytes at 1-based index `at` of s. */
function decode(size: number, signed: boolean, at: string): string {
  switch (size) {
    case 1:
      return signed ? `i8(sbyte(s, ${at}))` : `sbyte(s, ${at})`;
    case 2:
      return `${signed ? "i16" : "u16"}(s, ${at})`;
    case 4:
      return `${signed ? "i32" : "u32"}(s, ${at})`;
    default:
      // 64-bit values as text, exact on every Lua version (Wireshark's Int64/UInt64).
      return `${signed ? "i64" : "u64"}(c, ${at} - 1)`;
  }
}

type Mode = "nt" | "tree";

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
  const neededVar = (name: string | undefined) =>
    name !== undefined && (mode === "tree" || needs.vars.includes(name) || (name.startsWith("$") && needs.dynamic));
  const neededList = (name: string) => mode === "tree" || needs.lists.includes(name);
  const out: Emitter = { lines: [], depth: 0 };
  const tree = mode === "tree";
  /** The item guard: the tree is visible, or a filter, column or tap uses the field. */
  const wants = (f: FieldDef) => `(vis or REF(t, ${key(f)}))`;

  const bind = (ind: string, name: string | undefined, expr: string) => {
    if (!neededVar(name) || name === undefined) return;
    if (name.startsWith("$")) {
      // Bound under the name that variable holds (a parameter under its own name).
      out.lines.push(
        `${ind}do local k = ${vref(name.slice(1))} if type(k) == "string" then v[k] = ${expr} c.dirty = true end end`,
      );
    } else out.lines.push(`${ind}${vref(name)} = ${expr}`);
  };

  const emit = (els: readonly Element[], ind: string, label?: string, idx = "0"): void => {
    for (const e of els) {
      switch (e.kind) {
        case "int": {
          const size = e.size ?? sizeOf(e.field.type);
          out.lines.push(`${ind}if p + ${size} > e then return ovr(c) end`);
          if (tree) out.lines.push(`${ind}if ${wants(e.field)} then t:add(${key(e.field)}, tvb(p, ${size})) end`);
          bind(ind, e.bind, decode(size, isSigned(e.field.type), "p + 1"));
          out.lines.push(`${ind}p = p + ${size}`);
          break;
        }
        case "string":
          out.lines.push(`${ind}z = sfind(s, "\\0", p + 1, true)`, `${ind}if not z or z > e then return unterm(c) end`);
          if (tree)
            out.lines.push(
              `${ind}if ${wants(e.field)} then t:add_packet_field(${key(e.field)}, tvb(p, z - p), ENC_UTF_8) end`,
            );
          bind(ind, e.bind, "ssub(s, p + 1, z - 1)");
          out.lines.push(`${ind}p = z`);
          break;
        case "bytes": {
          const len =
            typeof e.length === "number"
              ? String(e.length)
              : e.length === "rest"
                ? "e - p"
                : `num(${vref(e.length.slice(1))})`;
          out.lines.push(`${ind}n = ${len}`, `${ind}if n > 0 then`, `${ind}  if p + n > e then return ovr(c) end`);
          if (tree) out.lines.push(`${ind}  if ${wants(e.field)} then t:add(${key(e.field)}, tvb(p, n)) end`);
          bind(`${ind}  `, e.bind, "ssub(s, p + 1, p + n)");
          out.lines.push(`${ind}  p = p + n`, `${ind}end`);
          break;
        }
        case "repeat": {
          const d = ++out.depth;
          const count = `num(${vref(e.count.slice(1))})`;
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
            break;
          }
          const loopAt = out.lines.length;
          out.lines.push(`${ind}for i${d} = 0, ${count} - 1 do`);
          if (e.label && tree) {
            out.lines.push(
              `${ind}  local t${d}, p${d} = t, p`,
              `${ind}  if vis then t = t:add(tvb(p, 0), ${q(`${e.label} `)} .. (i${d} + 1)) end`,
            );
            emit(e.body, `${ind}  `, undefined, `i${d}`);
            out.lines.push(`${ind}  if vis then t:set_len(p - p${d}) t = t${d} end`);
          } else emit(e.body, `${ind}  `, e.label ? undefined : `i${d}`, `i${d}`);
          out.lines.push(`${ind}end`);
          // An index the body does not use is named _ (luacheck).
          if (!out.lines.slice(loopAt + 1).some((l) => new RegExp(`\\bi${d}\\b`).test(l)))
            out.lines[loopAt] = `${ind}for _ = 0, ${count} - 1 do`;
          break;
        }
        case "untilZero":
          out.lines.push(`${ind}while p < e and sbyte(s, p + 1) ~= 0 do`);
          emit(e.body, `${ind}  `);
          out.lines.push(`${ind}end`, `${ind}if p < e then p = p + 1 else return ovr(c) end`);
          break;
        case "switch": {
          const d = ++out.depth;
          // Cases that decode nothing more than the fallback does are left to it.
          const code = (b: readonly Element[]) => {
            const saved = out.lines;
            out.lines = [];
            emit(b, `${ind}  `, label, idx);
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
            break;
          }
          out.lines.push(`${ind}local s${d} = num(${vref(e.on.slice(1))})`);
          cases.forEach(([value, c], i) => {
            out.lines.push(`${ind}${i === 0 ? "if" : "elseif"} s${d} == ${value} then`, ...c);
          });
          if (otherwise.length > 0) out.lines.push(`${ind}else`, ...otherwise);
          out.lines.push(`${ind}end`);
          break;
        }
        case "tree": {
          if (!tree) {
            emit(e.body, ind, undefined, idx);
            break;
          }
          const d = ++out.depth;
          const lbl = label ? `${q(`${e.label} `)} .. (${label} + 1)` : q(e.label);
          out.lines.push(`${ind}local t${d}, p${d} = t, p`, `${ind}if vis then t = t:add(tvb(p, 0), ${lbl}) end`);
          emit(e.body, ind, undefined, idx);
          out.lines.push(`${ind}if vis then t:set_len(p - p${d}) t = t${d} end`);
          break;
        }
        case "attributes":
          if (tree)
            out.lines.push(
              `${ind}attributes(c, t, ${vref(e.from.slice(1))}, ${e.gs2}, { ${e.keys.map(([k, f]) => `${k} = ${key(f)}`).join(", ")} }, ${key(e.cbind)}, ${key(e.authzid)}, ${key(e.other)})`,
            );
          break;
        case "remember":
          if (neededList(e.list))
            out.lines.push(`${ind}remember(c, ${q(e.list)}, ${e.vars.map((x) => vref(x)).join(", ")})`);
          break;
        case "column":
          if (tree)
            out.lines.push(
              `${ind}p = column(c, t, s, p, e, ${idx}, ${key(e.length)}, ${key(e.data)}, ${key(e.name)}, ${key(e.type)}, ${key(e.value)})`,
              `${ind}if not p then return nil end`,
            );
          else
            out.lines.push(
              `${ind}if p + 4 > e then return ovr(c) end`,
              `${ind}n = i32(s, p + 1)`,
              `${ind}p = p + 4`,
              `${ind}if n > 0 then`,
              `${ind}  if p + n > e then return ovr(c) end`,
              `${ind}  p = p + n`,
              `${ind}end`,
            );
          break;
        case "lookup": {
          if (!tree && !neededVar(e.bind)) break;
          const args = `T.${e.table}, ${vref(e.from.slice(1))}, ${e.prefix ?? "nil"}, ${!!e.firstWord}`;
          out.lines.push(`${ind}x = ${e.replication ? "c.core.repl and " : ""}lookup(${args})`, `${ind}if x then`);
          if (tree)
            out.lines.push(`${ind}  if ${wants(e.field)} then t:add(${key(e.field)}, r0, x):set_generated() end`);
          bind(`${ind}  `, e.bind, "x");
          out.lines.push(`${ind}end`);
          break;
        }
        case "text": {
          if (!tree && !neededVar(e.bind)) break;
          out.lines.push(`${ind}x = pg_value_text(${e.oid}, 1, ssub(s, p - ${e.size - 1}, p))`);
          if (tree)
            out.lines.push(
              `${ind}if ${wants(e.field)} then t:add(${key(e.field)}, tvb(p - ${e.size}, 0), x):set_generated() end`,
            );
          bind(ind, e.bind, "x");
          break;
        }
        case "payload":
          out.lines.push(
            tree
              ? `${ind}p = payload_tree(c, v, s, p, e, t, P.${e.set}, ${key(e.field)}, ${key(e.type)})`
              : `${ind}p = payload_nt(c, v, s, p, e, P.${e.set})`,
            `${ind}if not p then return nil end`,
          );
          break;
        case "tupleColumn": {
          const valued = Object.keys(e.formats).map(Number);
          if (tree) {
            // The kinds as strings (one character each, the format as a digit): constants, no table per call.
            const kinds = valued.map((k) => String.fromCharCode(k)).join("");
            const digits = Object.values(e.formats).join("");
            const empty = e.empty.map((k) => String.fromCharCode(k)).join("");
            out.lines.push(
              `${ind}p = tuple_column(c, t, s, p, e, ${idx}, ${key(e.marker)}, ${q(kinds)}, ${q(digits)}, ${q(empty)}, ${key(e.length)}, ${key(e.data)}, ${key(e.name)}, ${key(e.type)}, ${key(e.value)})`,
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
          break;
        }
        case "relation":
          if (tree)
            out.lines.push(
              `${ind}x = relation(c, ${vref(e.from.slice(1))})`,
              `${ind}if x and ${wants(e.field)} then t:add(${key(e.field)}, r0, x):set_generated() end`,
            );
          else if (neededVar(e.bind)) out.lines.push(`${ind}x = relation(c, ${vref(e.from.slice(1))})`);
          else break;
          if (neededVar(e.bind)) out.lines.push(`${ind}if x then ${vref(e.bind as string)} = x end`);
          break;
        case "optional":
          out.lines.push(`${ind}if p < e then`);
          emit(e.body, `${ind}  `, label, idx);
          out.lines.push(`${ind}end`);
          break;
        case "options":
          if (tree || needs.options)
            out.lines.push(
              `${ind}options(c, ${tree ? "t" : "nil"}, v, ${vref(e.from.slice(1))}, ${vref(e.when)}, ${key(e.field)})`,
            );
          break;
        case "copyStatement":
          if (tree || needs.copyStatement)
            out.lines.push(`${ind}copy_statement(c, ${tree ? "t" : "nil"}, ${vref(e.from.slice(1))}, ${key(e.field)})`);
          break;
        case "copyRows":
          if (tree || needs.copyRows)
            out.lines.push(
              `${ind}p = copy_rows(c, ${tree ? "t" : "nil"}, s, p, e, ${key(e.field)}, ${copyKeys(key, e)})`,
            );
          else out.lines.push(`${ind}p = e`);
          break;
      }
    }
  };

  emit(m.body, "  ");
  const body = out.lines;
  const used = body.join("\n");
  const locals = ["z", "n", "x"].filter((l) => new RegExp(`(?<![.\\w])${l} = `).test(used));
  const head: string[] = [];
  // Variables of an earlier message must not show through (the table is reused).
  for (const name of m.vars) head.push(`  ${vref(name)} = nil`);
  if (tree) {
    if (/\bvis\b/.test(used) || /\btvb\(/.test(used)) head.push("  local tvb, vis = c.tvb, c.vis");
    if (/\br0\b/.test(used)) head.push("  local r0 = c.r0");
  }
  if (locals.length > 0) head.push(`  local ${locals.join(", ")}`);
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
 * info_f = function(v) ... end, the literal parts as constants and each variable through iv (its
 * text) or ic (a character code as the character).
 */
export function luaInfo(m: MessageModel, luaString: (s: string) => string): string {
  if (!m.infoParts.some((p) => "v" in p)) {
    return `info_s = ${luaString(m.name + m.infoParts.map((p) => ("lit" in p ? p.lit : "")).join(""))}`;
  }
  const pieces: string[] = [];
  let lit = m.name;
  for (const p of m.infoParts) {
    if ("lit" in p) lit += p.lit;
    else {
      if (lit !== "") pieces.push(luaString(lit));
      lit = "";
      pieces.push(`${p.char ? "ic" : "iv"}(${vref(p.v)})`);
    }
  }
  if (lit !== "") pieces.push(luaString(lit));
  return `info_f = function(v) return ${pieces.join(" .. ")} end`;
}
