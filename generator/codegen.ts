// Renders a message body (a list of spec elements) as straight-line TypeScript that calls the
// runtime's readers (src/runtime/reader.ts Body methods): one function per element kind, walked by
// generator/walk.ts as the plugin's readers are (generator/lua.ts).

import { type Condition, type Element, type IntType, intSize, type Objects } from "../spec/dsl.ts";
import { type Model, nestedBodies } from "./model.ts";
import { type Renderers, walk } from "./walk.ts";

const isSigned = (t: string) => t.startsWith("int");

function sizeOf(t: string): number {
  return t === "bool" ? 1 : intSize[t as IntType];
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** Where the TS reader is in the body: its indentation and the index of the innermost loop. */
interface TsContext {
  readonly ind: string;
  readonly idx: string;
}

export function tsBody(model: Model, body: readonly Element[], indent = "  "): string {
  let depth = 0;
  const key = (f: Parameters<Model["fieldKey"]["get"]>[0]) => `F.${model.fieldKey.get(f)}`;
  const lines: string[] = [];
  const bindArg = (bind: string | undefined) => (bind ? `, ${q(bind)}` : "");
  const prop = (name: string) => (/^[A-Za-z_]\w*$/.test(name) ? `.${name}` : `[${q(name)}]`);
  // "$v" binds under the name variable v holds (a StartupMessage parameter's value).
  const bound = (ind: string, call: string, bind: string) =>
    bind.startsWith("$")
      ? `${ind}{ const x = ${call}; const k = b.vars${prop(bind.slice(1))}; if (x !== undefined && typeof k === "string") b.vars[k] = x; }`
      : `${ind}{ const x = ${call}; if (x !== undefined) b.vars${prop(bind)} = x; }`;
  const r: Renderers<TsContext> = {
    // A bound value is stored under the variable's own name in the generated line (one store site
    // per variable, which V8 makes fast), not under a name passed to the reader.
    int: (e, { ind }) => {
      const call = `b.int(${key(e.field)}, ${e.size ?? sizeOf(e.field.type)}, ${isSigned(e.field.type)})`;
      lines.push(e.bind ? bound(ind, call, e.bind) : `${ind}${call};`);
    },
    string: (e, { ind }) =>
      lines.push(e.bind ? bound(ind, `b.strv(${key(e.field)})`, e.bind) : `${ind}b.str(${key(e.field)});`),
    bytes: (e, { ind }) => {
      const len =
        typeof e.length === "number"
          ? String(e.length)
          : e.length === "rest"
            ? '"rest"'
            : `b.num(${q(e.length.slice(1))})`;
      lines.push(`${ind}b.bytes(${key(e.field)}, ${len}${bindArg(e.bind)});`);
    },
    repeat: (e, { ind }) => {
      const d = ++depth;
      lines.push(`${ind}for (let i${d} = 0, n${d} = b.num(${q(e.count.slice(1))}); i${d} < n${d} && b.ok; i${d}++) {`);
      walk(e.body, r, { ind: `${ind}  `, idx: `i${d}` });
      lines.push(`${ind}}`);
    },
    untilZero: (e, { ind }) => {
      lines.push(`${ind}while (b.more()) {`);
      walk(e.body, r, { ind: `${ind}  `, idx: "0" });
      lines.push(`${ind}}`, `${ind}b.zero();`);
    },
    switch: (e, { ind }) => {
      lines.push(`${ind}switch (b.num(${q(e.on.slice(1))})) {`);
      for (const [v, b] of e.cases) {
        lines.push(`${ind}  case ${v}:`);
        walk(b, r, { ind: `${ind}    `, idx: "0" });
        lines.push(`${ind}    break;`);
      }
      lines.push(`${ind}  default:`);
      walk(e.otherwise, r, { ind: `${ind}    `, idx: "0" });
      lines.push(`${ind}}`);
    },
    tree: (e, cx) => walk(e.body, r, cx),
    attributes: (e, { ind }) =>
      lines.push(
        `${ind}b.attributes(${q(e.from.slice(1))}, ${e.gs2}, { ${e.keys.map(([k, f]) => `${k}: ${key(f)}`).join(", ")} }, ${key(e.cbind)}, ${key(e.authzid)}, ${key(e.other)});`,
      ),
    remember: (e, { ind }) => lines.push(`${ind}b.remember(${q(e.list)}, ${JSON.stringify(e.vars)});`),
    column: (e, { ind, idx }) =>
      lines.push(
        `${ind}b.column(${key(e.length)}, ${key(e.data)}, ${key(e.name)}, ${key(e.type)}, ${key(e.value)}, ${idx});`,
      ),
    param: (e, { ind, idx }) =>
      lines.push(
        `${ind}b.param(${key(e.length)}, ${key(e.data)}, ${key(e.type)}, ${key(e.value)}, ${q(e.formats)}, ${idx});`,
      ),
    lookup: (e, { ind }) =>
      lines.push(
        `${ind}b.lookup(${key(e.field)}, ${q(e.from.slice(1))}, TABLES.${e.table}, ${e.prefix ?? 0}${e.bind || e.firstWord || e.replication ? `, ${e.bind ? q(e.bind) : "undefined"}` : ""}${e.firstWord || e.replication ? `, ${!!e.firstWord}` : ""}${e.replication ? ", true" : ""});`,
      ),
    text: (e, { ind }) => lines.push(`${ind}b.text(${key(e.field)}, ${e.size}, ${e.oid}${bindArg(e.bind)});`),
    payload: (e, { ind }) => lines.push(`${ind}b.payload(PAYLOADS.${e.set}, ${key(e.field)}, ${key(e.type)});`),
    tupleColumn: (e, { ind, idx }) =>
      lines.push(
        `${ind}b.tupleColumn(${key(e.marker)}, ${JSON.stringify(e.formats)}, ${JSON.stringify(e.empty)}, ${key(e.length)}, ${key(e.data)}, ${key(e.name)}, ${key(e.type)}, ${key(e.value)}, ${idx});`,
      ),
    relation: (e, { ind }) => lines.push(`${ind}b.relation(${key(e.field)}, ${q(e.from.slice(1))}${bindArg(e.bind)});`),
    optional: (e, { ind, idx }) => {
      lines.push(`${ind}if (b.ok && b.pos < b.end) {`);
      walk(e.body, r, { ind: `${ind}  `, idx });
      lines.push(`${ind}}`);
    },
    options: (e, { ind }) => lines.push(`${ind}b.options(${key(e.field)}, ${q(e.from.slice(1))}, ${q(e.when)});`),
    copyStatement: (e, { ind }) => lines.push(`${ind}b.copyStatement(${key(e.field)}, ${q(e.from.slice(1))});`),
    copyRows: (e, { ind }) =>
      lines.push(
        `${ind}b.copyRows(${key(e.field)}, { row: ${key(e.row)}, column: ${key(e.column)}, value: ${key(e.value)}, null: ${key(e.isNull)}, flags: ${key(e.flags)}, extension: ${key(e.extension)}, trailer: ${key(e.trailer)} });`,
      ),
  };
  walk(body, r, { ind: indent, idx: "0" });
  return lines.join("\n");
}

/** A value of the spec as a TypeScript literal; undefined as "undefined". */
export function tsValue(v: unknown): string {
  return JSON.stringify(v) ?? "undefined";
}

/** A literal of x with every one of keys, in their order: undefined where x has none. */
function everyKey(x: object | undefined, keys: readonly string[]): string {
  if (x === undefined) return "undefined";
  return `{ ${keys.map((k) => `${k}: ${tsValue(x[k as keyof typeof x])}`).join(", ")} }`;
}

// The descriptions the decoder reads for every message (objects, finding conditions) are written
// with every key, in one order, as the messages themselves are: V8 then gives all of them one
// hidden class, and the decoder's reads of them (src/decoder/links.ts, state.ts holds) stay
// monomorphic. The tables below list every key: the compiler checks that none is missing.

/** A message's objects (spec/dsl.ts Objects), its parts that are objects with every key too. */
export function tsObjects(o: Objects | undefined): string {
  if (o === undefined) return "undefined";
  const parts = Object.entries(OBJECT_KEYS).map(([k, sub]) => {
    const v = o[k as keyof Objects];
    return `${k}: ${sub ? everyKey(v as object | undefined, Object.keys(sub)) : tsValue(v)}`;
  });
  return `{ ${parts.join(", ")} }`;
}

const OBJECT_KEYS: {
  readonly [K in keyof Objects]-?: NonNullable<Objects[K]> extends object
    ? Record<keyof NonNullable<Objects[K]>, true>
    : null;
} = {
  refer: { map: true, mapVar: true, name: true, drop: true },
  define: { map: true, name: true, sql: true, types: true, formats: true },
  params: null,
  rows: null,
  answerTypes: null,
  answerColumns: null,
};

/** A finding's condition (spec/dsl.ts Condition). */
export function tsCondition(w: Condition | undefined): string {
  return everyKey(w ?? {}, Object.keys(CONDITION_KEYS));
}

const CONDITION_KEYS: Record<keyof Condition, true> = {
  var: true,
  equals: true,
  oneOf: true,
  noneOf: true,
  present: true,
  lastAuth: true,
  clear: true,
  passwordLiteral: true,
};

/** The TypeScript type of a variable an element binds (what Body stores in vars). */
function varType(e: Element): "number" | "string" | undefined {
  switch (e.kind) {
    case "int":
      // 64-bit integers are bound as their decimal text (exact).
      return (e.size ?? sizeOf(e.field.type)) === 8 ? "string" : "number";
    case "string":
    case "bytes":
    case "lookup":
    case "text":
    case "relation":
      return e.bind === undefined ? undefined : "string";
    default:
      return undefined;
  }
}

/**
 * The message-name union and each message's variables, for the code that reads decoded messages
 * (src/decoder/framing.ts DecodedMessage): a message or variable renamed in the spec fails to compile
 * where it is read. Variables bound under names the data gives ("$name") or by options make the
 * message's variables open (an index signature). A message that carries others (XLogData) has
 * theirs too, as the decoder binds them in the same table.
 */
export function tsMessageTypes(model: Model): string {
  type Entry = { vars: Map<string, Set<string>>; open: boolean; carries: Set<string> };
  const byName = new Map<string, Entry>();
  for (const m of model.messages) {
    const entry: Entry = byName.get(m.name) ?? { vars: new Map(), open: false, carries: new Set() };
    byName.set(m.name, entry);
    const add = (name: string, type: string) => {
      const types = entry.vars.get(name) ?? new Set();
      types.add(type);
      entry.vars.set(name, types);
    };
    add("bodylen", "number");
    if (m.shape === "payload") add("instream", "number");
    const visit = (els: readonly Element[]) => {
      for (const e of els) {
        const bind = "bind" in e ? e.bind : undefined;
        const type = varType(e);
        if (typeof bind === "string" && type !== undefined) {
          if (bind.startsWith("$")) entry.open = true;
          else add(bind, type);
        }
        if (e.kind === "options") entry.open = true;
        if (e.kind === "payload") entry.carries.add(e.set);
        for (const b of nestedBodies(e)) visit(b);
      }
    };
    visit(m.body);
  }
  // A message that carries another (PayloadElement) holds the carried one's variables too.
  for (const entry of byName.values()) {
    for (const set of entry.carries) {
      for (const m of model.messages.filter((x) => x.shape === "payload" && x.set === set)) {
        const carried = byName.get(m.name) as Entry;
        for (const [v, types] of carried.vars) {
          const own = entry.vars.get(v) ?? new Set();
          for (const t of types) own.add(t);
          entry.vars.set(v, own);
        }
        entry.open ||= carried.open;
      }
    }
  }
  const names = [...byName.keys()];
  const lines = [
    "/** Every message's name (spec/messages), the ones carried inside others included. */",
    `export type MessageName =\n${names.map((n) => `  | ${q(n)}`).join("\n")};`,
    "",
    "/**",
    " * The variables each message binds while it is read, by message name (absent where the message",
    " * ends early). Open (an index signature) where the data names some of them.",
    " */",
    "export interface MessageVars {",
  ];
  for (const [name, e] of byName) {
    const members = [...e.vars].sort(([a], [b]) => a.localeCompare(b));
    const body = members.map(
      ([v, types]) => `${/^[A-Za-z_$][\w$]*$/.test(v) ? v : q(v)}?: ${[...types].sort().join(" | ")}`,
    );
    if (e.open) body.push("[name: string]: number | string | undefined");
    lines.push(`  ${q(name)}: { ${body.join("; ")} };`);
  }
  lines.push("}");
  return lines.join("\n");
}
