// Turns the spec into the model both templates render: numbered fields, messages with their
// Info templates parsed, dispatch groups with their length bounds, and checks that the spec is
// consistent (every variable used is bound before, every field declared once).

import {
  bindOf,
  boundVars,
  type Condition,
  defaultPhases,
  EFFECT_READS,
  type EffectReads,
  type Element,
  type FieldDef,
  type MessageDef,
  PHASE_TEXT,
  type Phase,
  usedFields,
} from "../spec/dsl.ts";
import { type ExpertDef, experts } from "../spec/experts.ts";
import { fields, messages, payloadSets } from "../spec/index.ts";
import { tables } from "../spec/tables.ts";

/** The largest length any typed message may claim when the spec names no smaller bound. */
export const DEFAULT_MAX_LENGTH = 0x3fffffff;

export interface FieldModel extends FieldDef {
  /** The key in spec/fields.ts, used as the identifier in generated code. */
  key: string;
}

/** A literal, a variable's value (char: as a character), or a plural "s" (s: unless the variable is 1). */
export type InfoPart = { lit: string } | { v: string; char?: true; s?: true };

export interface FindingModel {
  expert: string;
  when: Condition;
  parts: InfoPart[];
}

/**
 * What the plugin's reader for a message without a tree must decode (see EFFECT_READS): the
 * variables and lists that its Info column, findings, objects, links and effects read, and the
 * elements whose results they use; counts, lengths and switch keys always.
 */
export interface Needs {
  /** The variables the runtime reads: Info, findings, objects, links, effects. */
  consumers: string[];
  vars: string[];
  lists: string[];
  options: boolean;
  copyStatement: boolean;
  copyRows: boolean;
  /** Variables bound under names the data gives ("$name" binds) are read. */
  dynamic: boolean;
}

export interface MessageModel extends MessageDef {
  id: number;
  needs: Needs;
  /** The variables its body binds under fixed names (the reader clears them first). */
  vars: string[];
  /** Its body binds variables under names the data gives, or options: a fresh variable table. */
  fresh: boolean;
  findingModels: FindingModel[];
  /** A valid identifier for the message's body function. */
  fn: string;
  /** True when an earlier message has the same body, so its function serves this one too. */
  shared: boolean;
  infoParts: InfoPart[];
  /** Where a typed message may come (spec/dsl.ts Phase); undefined for the untyped and one-byte ones. */
  allowed?: readonly Phase[];
}

/** The phases of each direction: a client's message never comes in "copyOut", nor a server's in "copyIn". */
const DIR_PHASES: Record<"F" | "B", readonly Phase[]> = {
  F: ["auth", "ready", "copyIn", "copyDropped"],
  B: ["auth", "ready", "copyOut"],
};

export interface GroupModel {
  /** "F" or "B" */
  dir: string;
  /** Type byte as a number for typed messages; "untyped" or "single" otherwise. */
  key: number | "untyped" | "single";
  min: number;
  max: number;
  variants: MessageModel[];
}

export interface Model {
  fields: FieldModel[];
  fieldKey: Map<FieldDef, string>;
  messages: MessageModel[];
  groups: GroupModel[];
  experts: Array<ExpertDef & { key: string }>;
  tables: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Fields the decoder derives (lookup, attributes and column elements). */
  derivedFields: FieldDef[];
  maxDefault: number;
  phaseText: Readonly<Record<Phase, string>>;
  /** The packets that open a connection (spec/dsl.ts MessageDef.opens), with their codes and bounds. */
  opening: OpeningModel[];
  /** Message sets carried inside other messages (spec/dsl.ts PayloadSet), with their messages. */
  payloads: PayloadModel[];
}

export interface PayloadModel {
  name: string;
  /** The replication command that starts it (a key of the replicationCommands table). */
  command: string;
  options: readonly string[];
  variants: MessageModel[];
}

export interface OpeningModel {
  name: string;
  /** The codes it has (peekInt32), or its protocol major version (peekMajor). */
  codes?: readonly number[];
  major?: number;
  min: number;
  max: number;
  contains?: string;
  endsWithZero?: boolean;
}

function parseInfo(info: string | undefined, name: string, vars: Set<string>): InfoPart[] {
  if (!info) return [];
  const parts: InfoPart[] = [];
  const re = /\{(\w+)(:char|:s)?\}/g;
  let last = 0;
  for (let m = re.exec(info); m; m = re.exec(info)) {
    if (m.index > last) parts.push({ lit: info.slice(last, m.index) });
    if (!vars.has(m[1]) && !["user", "database"].includes(m[1])) {
      throw new Error(`${name}: info uses {${m[1]}} but the body binds no such variable`);
    }
    parts.push(m[2] === ":char" ? { v: m[1], char: true } : m[2] === ":s" ? { v: m[1], s: true } : { v: m[1] });
    last = m.index + m[0].length;
  }
  if (last < info.length) parts.push({ lit: info.slice(last) });
  return parts;
}

/** Checks that counts, lengths and switches only use variables bound earlier in the body. */
/** The element lists nested in an element: a switch's cases and its otherwise, a loop's, subtree's or optional's body. */
export function nestedBodies(e: Element): readonly (readonly Element[])[] {
  if (e.kind === "switch") return [...e.cases.map(([, b]) => b), e.otherwise];
  if (e.kind === "repeat" || e.kind === "untilZero" || e.kind === "tree" || e.kind === "optional") return [e.body];
  return [];
}

function checkVars(m: MessageDef): void {
  // The runtime binds bodylen in every message, and instream in a payload set's messages.
  const known = new Set<string>(m.shape === "payload" ? ["bodylen", "instream"] : ["bodylen"]);
  const walk = (els: readonly Element[]) => {
    for (const e of els) {
      const use = e.kind === "repeat" ? e.count : e.kind === "switch" ? e.on : e.kind === "bytes" ? e.length : null;
      if (typeof use === "string" && use.startsWith("$") && !known.has(use.slice(1))) {
        throw new Error(`${m.name}: ${use} is used before it is bound`);
      }
      if (e.kind === "remember") {
        for (const v of e.vars) if (!known.has(v)) throw new Error(`${m.name}: remember uses ${v} before it is bound`);
      }
      if (e.kind === "relation" || e.kind === "options" || e.kind === "copyStatement") {
        if (!known.has(e.from.slice(1))) throw new Error(`${m.name}: ${e.from} is used before it is bound`);
      }
      if (e.kind === "options" && !known.has(e.when))
        throw new Error(`${m.name}: ${e.when} is used before it is bound`);
      if (e.kind === "payload" && !payloadSets.some((p) => p.name === e.set)) {
        throw new Error(`${m.name}: no payload set ${e.set} in spec/index.ts`);
      }
      if (e.kind === "lookup") {
        // After a "$name" bind (values bound under names the data gives), any name may be bound.
        if (!known.has(e.from.slice(1)) && !known.has("$"))
          throw new Error(`${m.name}: ${e.from} is used before it is bound`);
        if (!tables[e.table]) throw new Error(`${m.name}: no table ${e.table} in spec/tables.ts`);
      }
      const bind = bindOf(e);
      if (bind) known.add(bind.startsWith("$") ? "$" : bind);
      for (const b of nestedBodies(e)) walk(b);
    }
  };
  walk(m.body);
}

/** Fields the decoder derives rather than reads: lookups, attributes, a column's name/type/value. */
function derivedFieldsOf(body: readonly Element[]): FieldDef[] {
  return body.flatMap((e) =>
    e.kind === "lookup" ||
    e.kind === "text" ||
    e.kind === "relation" ||
    e.kind === "options" ||
    e.kind === "copyStatement"
      ? [e.field]
      : e.kind === "copyRows"
        ? [e.row, e.column, e.value, e.isNull, e.flags, e.extension, e.trailer]
        : e.kind === "attributes"
          ? [...e.keys.map(([, f]) => f), e.cbind, e.authzid, e.other]
          : e.kind === "column" || e.kind === "tupleColumn"
            ? [e.name, e.type, e.value]
            : e.kind === "param"
              ? [e.type, e.value]
              : nestedBodies(e).flatMap((b) => derivedFieldsOf(b)),
  );
}

function openingOf(m: MessageDef): OpeningModel {
  const w = m.when;
  if (m.shape !== "untyped" || !w || !("peekInt32" in w || "peekMajor" in w)) {
    throw new Error(`${m.name}: only untyped packets with a code selector open a connection`);
  }
  return {
    name: m.name,
    ...("peekInt32" in w ? { codes: w.peekInt32 } : { major: w.peekMajor }),
    min: m.fixedLength ?? m.minLength ?? 8,
    max: m.fixedLength ?? m.maxLength ?? DEFAULT_MAX_LENGTH,
    ...m.opens,
  };
}

/** The variables a finding's condition and text read. */
function findingVars(f: FindingModel): string[] {
  return [f.when.var, f.when.passwordLiteral, ...f.parts.map((p) => ("v" in p ? p.v : undefined))].filter(
    (v): v is string => v !== undefined,
  );
}

/** What a message's reader needs without a tree (Needs), from its consumers back through its body. */
function needsOf(m: MessageDef, infoParts: InfoPart[], findings: FindingModel[]): Needs {
  const vars = new Set<string>(["bodylen"]);
  const lists = new Set<string>();
  let options = false;
  let copyStatement = false;
  let copyRows = false;
  for (const p of infoParts) if ("v" in p) vars.add(p.v);
  for (const f of findings) for (const v of findingVars(f)) vars.add(v);
  const o = m.objects;
  for (const v of [o?.refer?.name, o?.refer?.mapVar, o?.define?.name, o?.define?.sql, m.commandTag?.var]) {
    if (v !== undefined) vars.add(v);
  }
  for (const l of [o?.define?.types, o?.define?.formats, o?.answerTypes, o?.answerColumns]) {
    if (l !== undefined) lists.add(l);
  }
  if (m.cancelKey) vars.add("pid").add("key");
  for (const v of m.statistics?.vars ?? []) vars.add(v);
  for (const l of m.statistics?.lists ?? []) lists.add(l);
  for (const e of m.effects ?? []) {
    const r: EffectReads = EFFECT_READS[e];
    for (const v of r.vars ?? []) vars.add(v);
    for (const l of r.lists ?? []) lists.add(l);
    if (r.options) options = true;
    if (r.copyStatement) copyStatement = true;
    if (r.copyRows) copyRows = true;
  }
  const consumers = [...vars].filter((v) => v !== "bodylen").sort();
  const fixed = new Set(boundVars(m.body));
  // Back through the body until nothing more is needed.
  for (let size = -1; size !== vars.size + lists.size; ) {
    size = vars.size + lists.size;
    const walk = (els: readonly Element[]) => {
      for (const e of els) {
        if (e.kind === "remember" && lists.has(e.list)) for (const v of e.vars) vars.add(v);
        if ((e.kind === "lookup" || e.kind === "relation") && e.bind && vars.has(e.bind)) vars.add(e.from.slice(1));
        if (e.kind === "options" && options) vars.add(e.from.slice(1)).add(e.when);
        if (e.kind === "copyStatement" && copyStatement) vars.add(e.from.slice(1));
        if (e.kind === "repeat") vars.add(e.count.slice(1));
        if (e.kind === "switch") vars.add(e.on.slice(1));
        if (e.kind === "bytes" && typeof e.length === "string" && e.length !== "rest") vars.add(e.length.slice(1));
        if (e.kind === "string" && e.bind?.startsWith("$") && [...vars].some((v) => !fixed.has(v)))
          vars.add(e.bind.slice(1));
        for (const b of nestedBodies(e)) walk(b);
      }
    };
    walk(m.body);
  }
  const runtime = new Set(m.shape === "payload" ? ["bodylen", "instream"] : ["bodylen"]);
  const dynamic = [...vars].some((v) => !fixed.has(v) && !runtime.has(v) && !v.startsWith("opt:"));
  return { consumers, vars: [...vars].sort(), lists: [...lists].sort(), options, copyStatement, copyRows, dynamic };
}

/** What messages that share one reader need together. */
function unionNeeds(all: readonly Needs[]): Needs {
  const union = (pick: (n: Needs) => readonly string[]) => [...new Set(all.flatMap(pick))].sort();
  return {
    consumers: union((n) => n.consumers),
    vars: union((n) => n.vars),
    lists: union((n) => n.lists),
    options: all.some((n) => n.options),
    copyStatement: all.some((n) => n.copyStatement),
    copyRows: all.some((n) => n.copyRows),
    dynamic: all.some((n) => n.dynamic),
  };
}

export function buildModel(): Model {
  const fieldKey = new Map<FieldDef, string>();
  const seen = new Set<string>();
  const fieldList: FieldModel[] = [];
  for (const [key, f] of Object.entries(fields)) {
    if (seen.has(f.abbrev)) throw new Error(`field pgwire.${f.abbrev} is declared twice`);
    seen.add(f.abbrev);
    fieldKey.set(f, key);
    fieldList.push({ ...f, key });
  }
  // Messages that share one body (ErrorResponse and NoticeResponse, CopyData in both directions)
  // share one decoder function: the first message's.
  const fnOfBody = new Map<readonly Element[], string>();
  const msgModels: MessageModel[] = messages.map((m, id) => {
    checkVars(m);
    for (const f of usedFields(m.body)) {
      if (!fieldKey.has(f)) throw new Error(`${m.name}: field ${f.abbrev} is not in spec/fields.ts`);
    }
    const vars = new Set(boundVars(m.body));
    const fn = fnOfBody.get(m.body) ?? `${m.set ? `${m.set}_` : ""}${m.name.replace(/[^A-Za-z0-9]/g, "")}_${m.dir}`;
    const shared = fnOfBody.has(m.body);
    fnOfBody.set(m.body, fn);
    const findingModels = (m.findings ?? []).map((f) => {
      if (!(f.expert in experts)) throw new Error(`${m.name}: no expert ${f.expert} in spec/experts.ts`);
      const w = f.when ?? {};
      for (const v of [w.var, w.passwordLiteral]) {
        if (v !== undefined && !vars.has(v))
          throw new Error(`${m.name}: finding uses ${v}, which the body does not bind`);
      }
      return { expert: f.expert, when: w, parts: parseInfo(f.text, m.name, vars) };
    });
    const o = m.objects;
    for (const v of [
      o?.refer?.name,
      o?.refer?.mapVar,
      o?.define?.name,
      o?.define?.sql,
      m.commandTag?.var,
      ...(m.statistics?.vars ?? []),
    ]) {
      if (v !== undefined && !vars.has(v)) throw new Error(`${m.name}: ${v} is used but the body does not bind it`);
    }
    // The body as text, for the elements it holds anywhere (remember, param, options).
    const bodyText = JSON.stringify(m.body);
    for (const l of m.statistics?.lists ?? []) {
      if (!bodyText.includes(`"kind":"remember","list":${JSON.stringify(l)}`))
        throw new Error(`${m.name}: the statistics read the list ${l}, which the body does not remember`);
    }
    if (m.authMethod !== undefined && !m.effects?.includes("authRequest"))
      throw new Error(`${m.name}: only an authentication request (effect authRequest) names a method`);
    if (o?.rows && !o.refer) throw new Error(`${m.name}: rows needs an object to refer to`);
    const hasParam = bodyText.includes('"kind":"param"');
    if (hasParam !== !!o?.params) throw new Error(`${m.name}: param elements and objects.params go together`);
    if (o?.params && !o.refer) throw new Error(`${m.name}: params needs an object to refer to`);
    // The plugin keeps what a message refers to per request (its SQL, the types its params take).
    if (o?.refer && !m.request) throw new Error(`${m.name}: only a request refers to a statement or portal`);
    if (m.phases && m.shape !== "typed") throw new Error(`${m.name}: only typed messages have phases`);
    const allowed = m.shape === "typed" ? (m.phases ?? defaultPhases(m.dir)) : undefined;
    for (const p of allowed ?? []) {
      if (!DIR_PHASES[m.dir].includes(p)) throw new Error(`${m.name}: phase ${p} is not one of its direction's`);
    }
    for (const e of m.effects ?? []) {
      const reads: EffectReads = EFFECT_READS[e];
      for (const v of reads.vars ?? []) {
        if (!vars.has(v)) throw new Error(`${m.name}: effect ${e} reads ${v}, which the body does not bind`);
      }
    }
    const infoParts = parseInfo(m.info, m.name, vars);
    const needs = needsOf(m, infoParts, findingModels);
    const dynamicBinds = boundVars(m.body).some((v) => v.startsWith("$"));
    const hasOptions = bodyText.includes('"kind":"options"');
    return {
      ...m,
      id,
      fn,
      shared,
      findingModels,
      infoParts,
      allowed,
      needs,
      vars: [...vars].filter((v) => !v.startsWith("$")).sort(),
      fresh: dynamicBinds || hasOptions,
    };
  });

  // A shared reader is generated once, from the first message's model: it binds what any of the
  // messages that share it needs (NoticeResponse's findings read severity_v, ErrorResponse's not).
  const byFn = new Map<string, MessageModel[]>();
  for (const m of msgModels) byFn.set(m.fn, [...(byFn.get(m.fn) ?? []), m]);
  for (const group of byFn.values()) {
    if (group.length < 2) continue;
    const needs = unionNeeds(group.map((m) => m.needs));
    for (const m of group) m.needs = needs;
  }

  const backendNames = new Set(msgModels.filter((m) => m.dir === "B").map((m) => m.name));
  for (const m of msgModels) {
    for (const n of m.request ?? []) {
      if (!backendNames.has(n)) throw new Error(`${m.name}: request completes on ${n}, which is no backend message`);
    }
    if (m.request && m.dir !== "F") throw new Error(`${m.name}: only frontend messages are requests`);
  }

  const payloads: PayloadModel[] = payloadSets.map((p) => {
    if (!Object.hasOwn(tables.replicationCommands, p.command))
      throw new Error(`payload set ${p.name}: ${p.command} is not in the replicationCommands table`);
    return { ...p, variants: [] };
  });
  for (const m of msgModels.filter((x) => x.shape === "payload")) {
    const p = payloads.find((x) => x.name === m.set);
    if (!p) throw new Error(`${m.name}: no payload set ${m.set} in spec/index.ts`);
    if (m.type?.length !== 1) throw new Error(`${m.name}: a payload message has a one-byte type`);
    if (p.variants.some((v) => v.type === m.type)) throw new Error(`${m.name}: type ${m.type} twice in ${m.set}`);
    p.variants.push(m);
  }

  const groups = new Map<string, GroupModel>();
  for (const m of msgModels.filter((x) => x.shape !== "payload")) {
    const key: GroupModel["key"] =
      m.shape === "typed" ? (m.type as string).charCodeAt(0) : (m.shape as "untyped" | "single");
    const id = `${m.dir}:${key}`;
    let g = groups.get(id);
    if (!g) {
      g = { dir: m.dir, key, min: Number.POSITIVE_INFINITY, max: 0, variants: [] };
      groups.set(id, g);
    }
    g.variants.push(m);
    const lo = m.fixedLength ?? (m.shape === "untyped" ? 8 : 4);
    const hi = m.fixedLength ?? m.maxLength ?? DEFAULT_MAX_LENGTH;
    g.min = Math.min(g.min, lo);
    g.max = Math.max(g.max, hi);
  }
  for (const g of groups.values()) {
    const defaults = g.variants.filter((v) => !v.when);
    if (defaults.length > 1) throw new Error(`${g.dir}:${g.key} has more than one variant without a selector`);
    if (defaults.length === 1 && g.variants[g.variants.length - 1] !== defaults[0]) {
      throw new Error(`${g.dir}:${g.key}: the variant without a selector must come last`);
    }
    if (g.key === "single") g.min = g.max = 1;
  }
  return {
    fields: fieldList,
    fieldKey,
    messages: msgModels,
    groups: [...groups.values()],
    experts: Object.entries(experts).map(([key, e]) => ({ ...e, key })),
    tables,
    derivedFields: [...new Set(messages.flatMap((m) => derivedFieldsOf(m.body)))],
    maxDefault: DEFAULT_MAX_LENGTH,
    phaseText: PHASE_TEXT,
    opening: messages.filter((m) => m.opens).map(openingOf),
    payloads,
  };
}
