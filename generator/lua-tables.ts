// The plugin's tables, rendered from the model as Lua constructors: its fields, expert infos,
// lookup tables, the packets that open a connection, and the message descriptions the runtime
// dispatches on (M, P, G). The readers themselves: generator/lua.ts; where each table goes in
// the drop-in file: generator/templates/pgwire.lua.ejs.

import type { Condition, Objects } from "../spec/dsl.ts";
import { luaFlags, luaInfo, luaObjects } from "./lua.ts";
import type { MessageModel, Model } from "./model.ts";

/** A Lua string literal: only printable ASCII, the rest as decimal escapes (valid in Lua 5.1-5.4). */
export function luaString(s: string): string {
  let r = '"';
  for (const byte of new TextEncoder().encode(s)) {
    if (byte === 0x22 || byte === 0x5c) r += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) r += String.fromCharCode(byte);
    else r += `\\${String(byte).padStart(3, "0")}`;
  }
  return `${r}"`;
}

/** `{ a, b }` with the items joined as Lua writes a list. */
const list = (items: readonly string[]) => `{ ${items.join(", ")} }`;
/** A set (keys true) built at load time by the runtime's set_of. */
const setOf = (items: readonly (string | number)[]) =>
  `set_of(${list(items.map((x) => (typeof x === "string" ? luaString(x) : String(x))))})`;

/** The ProtoField of each field (F), then their list for pgwire.fields. */
export function luaFields(model: Model): string {
  const lines = ["local F = {"];
  for (const f of model.fields) {
    const desc = luaString(f.description);
    const label = luaString(f.label);
    const abbr = luaString(`pgwire.${f.abbrev}`);
    const vals = f.values ? list(Object.entries(f.values).map(([k, v]) => `[${k}] = ${luaString(v)}`)) : "nil";
    let ctor: string;
    if (f.type === "string" || f.type === "stringz" || f.type === "bytes")
      ctor = `ProtoField.${f.type}(${abbr}, ${label}, nil, ${desc})`;
    else if (f.type === "bool") ctor = `ProtoField.bool(${abbr}, ${label}, base.NONE, nil, nil, ${desc})`;
    else if (f.type === "framenum") ctor = `ProtoField.framenum(${abbr}, ${label}, base.NONE)`;
    else if (f.type === "reltime") ctor = `ProtoField.relative_time(${abbr}, ${label}, ${desc})`;
    else ctor = `ProtoField.${f.type}(${abbr}, ${label}, base.DEC, ${vals}, nil, ${desc})`;
    lines.push(`  ${f.key} = ${ctor},`);
  }
  lines.push("}", "", "do", "  local list = {}");
  for (const f of model.fields) lines.push(`  list[#list + 1] = F.${f.key}`);
  lines.push("  pgwire.fields = list", "end");
  return lines.join("\n");
}

/** The expert infos (E) and their list for pgwire.experts. */
export function luaExperts(model: Model): string {
  const lines = ["local E = {"];
  for (const e of model.experts) {
    lines.push(
      `  ${e.key} = ProtoExpert.new(${luaString(`pgwire.${e.abbrev}`)}, ${luaString(e.text)}, expert.group.${e.group}, expert.severity.${e.severity}),`,
    );
  }
  lines.push("}", `pgwire.experts = { ${model.experts.map((e) => `E.${e.key}`).join(", ")} }`);
  return lines.join("\n");
}

/** A table of strings by key, one entry per line, at the given indentation. */
function stringTable(t: Readonly<Record<string, string>>, ind: string): string {
  const rows = Object.entries(t).map(([k, v]) => `${ind}  [${luaString(k)}] = ${luaString(v)},`);
  return ["{", ...rows, `${ind}}`].join("\n");
}

/** Where each phase is, by phase (PHASE_TEXT). */
export function luaPhaseText(model: Model): string {
  const rows = Object.entries(model.phaseText).map(([k, v]) => `  ${k} = ${luaString(v)},`);
  return ["{", ...rows, "}"].join("\n");
}

/** The lookup tables (T) by name. */
export function luaLookupTables(model: Model): string {
  const rows = Object.entries(model.tables).map(([name, t]) => `  ${name} = ${stringTable(t, "  ")},`);
  return ["{", ...rows, "}"].join("\n");
}

/** The packets that open a connection (OPENING). */
export function luaOpening(model: Model): string {
  const rows = model.opening.map((o) => {
    const parts = [
      `name = ${luaString(o.name)}`,
      o.codes ? `codes = ${setOf(o.codes)}` : `major = ${o.major}`,
      `min = ${o.min}`,
      `max = ${o.max}`,
    ];
    if (o.contains !== undefined) parts.push(`contains = ${luaString(o.contains)}`);
    if (o.endsWithZero) parts.push("endsWithZero = true");
    return `  ${list(parts)},`;
  });
  return ["{", ...rows, "}"].join("\n");
}

/** A Lua value of a condition's operand. */
const luaValue = (x: string | number) => (typeof x === "string" ? luaString(x) : String(x));

/** A finding's condition (spec/dsl.ts Condition) as the runtime's holds reads it. */
function luaCondition(w: Condition): string {
  const parts: string[] = [];
  if (w.var !== undefined) parts.push(`var = ${luaString(w.var)}`);
  if (w.equals !== undefined) parts.push(`equals = ${luaValue(w.equals)}`);
  if (w.oneOf) parts.push(`oneOf = ${setOf(w.oneOf)}`);
  if (w.noneOf) parts.push(`noneOf = ${setOf(w.noneOf)}`);
  if (w.present !== undefined) parts.push(`present = ${w.present}`);
  if (w.lastAuth) parts.push(`lastAuth = ${setOf(w.lastAuth)}`);
  if (w.clear) parts.push("clear = true");
  if (w.passwordLiteral !== undefined) parts.push(`passwordLiteral = ${luaString(w.passwordLiteral)}`);
  return list(parts);
}

/** A message's selector (spec/dsl.ts Selector). */
function luaSelector(m: MessageModel): string {
  const w = m.when;
  if (w && "peekInt32" in w) return `{ peekInt32 = ${setOf(w.peekInt32)} }`;
  if (w && "lastAuth" in w) return `{ lastAuth = ${setOf(w.lastAuth)} }`;
  if (w && "peekMajor" in w) return `{ peekMajor = ${w.peekMajor} }`;
  if (w && "answerTo" in w) return `{ answerTo = ${luaString(w.answerTo)} }`;
  if (w && "copyBoth" in w) return `{ copyBoth = ${w.copyBoth.charCodeAt(0)} }`;
  return "nil";
}

/** The Info or finding text's parts. */
function luaParts(ps: MessageModel["infoParts"]): string {
  return list(
    ps.map((p) =>
      "lit" in p
        ? `{ lit = ${luaString(p.lit)} }`
        : `{ v = ${luaString(p.v)}${p.char ? ", char = true" : ""}${p.s ? ", s = true" : ""} }`,
    ),
  );
}

/** The statements and portals a message defines, refers to or closes (spec/dsl.ts Objects). */
function luaObjectsTable(o: Objects): string {
  const named = (pairs: (string | null | undefined | false)[]) => pairs.filter(Boolean).join(", ");
  const parts: string[] = [];
  if (o.refer)
    parts.push(
      `refer = { ${named([
        o.refer.map && `map = ${luaString(o.refer.map)}`,
        o.refer.mapVar && `mapVar = ${luaString(o.refer.mapVar)}`,
        `name = ${luaString(o.refer.name)}`,
        o.refer.drop && "drop = true",
      ])} }`,
    );
  if (o.define)
    parts.push(
      `define = { ${named([
        `map = ${luaString(o.define.map)}`,
        `name = ${luaString(o.define.name)}`,
        o.define.sql && `sql = ${luaString(o.define.sql)}`,
        o.define.types && `types = ${luaString(o.define.types)}`,
        o.define.formats && `formats = ${luaString(o.define.formats)}`,
      ])} }`,
    );
  if (o.params) parts.push("params = true");
  if (o.rows) parts.push("rows = true");
  if (o.answerTypes) parts.push(`answerTypes = ${luaString(o.answerTypes)}`);
  if (o.answerColumns) parts.push(`answerColumns = ${luaString(o.answerColumns)}`);
  return list(parts);
}

/** One message's description as the runtime reads it (an entry of M). */
function luaMessage(model: Model, m: MessageModel): string {
  const effects = m.effects?.length ? list(m.effects.map((e) => luaString(e))) : "nil";
  const findings = list(
    m.findingModels.map(
      (f) => `{ e = ${luaString(f.expert)}, when = ${luaCondition(f.when)}, text = ${luaParts(f.parts)} }`,
    ),
  );
  const fields = [
    `name = ${luaString(m.name)}`,
    `fe = ${m.dir === "F"}`,
    m.when ? `when = ${luaSelector(m)}` : null,
    m.fixedLength !== undefined ? `fixed = ${m.fixedLength}` : null,
    m.maxLength !== undefined ? `max = ${m.maxLength}` : null,
    m.fixedLength !== undefined || m.maxLength !== undefined ? "lenck = true" : null,
    m.effects?.length === 1 && m.effects[0] === "txStatus" ? "onlyTxStatus = true" : null,
    m.effects?.includes("rowDescription") ? "cols = true" : null,
    luaInfo(m, luaString),
    `effects = ${effects}`,
    `nt = R.${m.fn}_nt`,
    `tree = R.${m.fn}_tree`,
    m.request ? `ends = ${setOf(m.request)}` : null,
    m.async ? "async = true" : null,
    m.row ? "row = true" : null,
    m.findingModels.length ? `findings = ${findings}` : null,
    m.objects ? `objects = ${luaObjectsTable(m.objects)}` : null,
    luaObjects(m, luaString),
    m.cancelKey ? `cancelKey = ${luaString(m.cancelKey)}` : null,
    m.authMethod ? `auth = ${luaString(m.authMethod)}` : null,
    m.shape === "untyped" ? "start = true" : null,
    m.shape === "untyped" || m.cancelKey ? "rare = true" : null,
    m.allowed ? `allowed = ${setOf(m.allowed)}` : null,
    ...luaFlags(model, m),
    m.dir === "F" && m.request ? "lk = 1" : null,
    m.dir === "B" && !m.async ? "lk = 2" : null,
    m.commandTag
      ? `commandTag = { var = ${luaString(m.commandTag.var)}, counting = ${setOf(m.commandTag.counting)} }`
      : null,
  ].filter((x): x is string => Boolean(x));
  return list(fields);
}

/** The messages (M), in the model's order: M[id + 1]. */
export function luaMessages(model: Model): string {
  return ["{", ...model.messages.map((m) => `  ${luaMessage(model, m)},`), "}"].join("\n");
}

/** The payload sets (P), each with its messages by type byte. */
export function luaPayloads(model: Model): string {
  return model.payloads
    .map(
      (p) =>
        `P.${p.name} = { name = ${luaString(p.name)}, command = ${luaString(p.command)}, options = ${list(p.options.map((o) => luaString(o)))},\n` +
        `  types = { ${p.variants.map((v) => `[${(v.type as string).charCodeAt(0)}] = M[${v.id + 1}]`).join(", ")} } }`,
    )
    .join("\n");
}

/** The dispatch groups (G.F, G.B): one message (m) or its variants (v), and the length bounds. */
export function luaGroups(model: Model): string {
  return model.groups
    .map((g) => {
      const key = typeof g.key === "number" ? String(g.key) : luaString(g.key);
      const msgs =
        g.variants.length === 1
          ? `m = M[${g.variants[0].id + 1}]`
          : `v = ${list(g.variants.map((v) => `M[${v.id + 1}]`))}`;
      return `G.${g.dir}[${key}] = { min = ${g.min}, max = ${g.max}, ${msgs} }`;
    })
    .join("\n");
}
