// Renders a message body (a list of spec elements) as straight-line TypeScript that calls the
// runtime's readers (src/runtime/body.ts Body methods). The plugin's readers: generator/lua.ts.

import { type Element, type IntType, intSize } from "../spec/dsl.ts";
import type { Model } from "./model.ts";

const isSigned = (t: string) => t.startsWith("int");

function sizeOf(t: string): number {
  return t === "bool" ? 1 : intSize[t as IntType];
}

function q(s: string): string {
  return JSON.stringify(s);
}

export function tsBody(model: Model, body: readonly Element[], indent = "  "): string {
  let depth = 0;
  const key = (f: Parameters<Model["fieldKey"]["get"]>[0]) => `F.${model.fieldKey.get(f)}`;
  const lines: string[] = [];
  const emit = (els: readonly Element[], ind: string, idx = "0") => {
    for (const e of els) {
      switch (e.kind) {
        case "int":
          lines.push(
            `${ind}b.int(${key(e.field)}, ${e.size ?? sizeOf(e.field.type)}, ${isSigned(e.field.type)}${e.bind ? `, ${q(e.bind)}` : ""});`,
          );
          break;
        case "string":
          lines.push(`${ind}b.str(${key(e.field)}${e.bind ? `, ${q(e.bind)}` : ""});`);
          break;
        case "bytes": {
          const len =
            typeof e.length === "number"
              ? String(e.length)
              : e.length === "rest"
                ? '"rest"'
                : `b.num(${q(e.length.slice(1))})`;
          lines.push(`${ind}b.bytes(${key(e.field)}, ${len}${e.bind ? `, ${q(e.bind)}` : ""});`);
          break;
        }
        case "repeat": {
          const d = ++depth;
          lines.push(
            `${ind}for (let i${d} = 0, n${d} = b.num(${q(e.count.slice(1))}); i${d} < n${d} && b.ok; i${d}++) {`,
          );
          emit(e.body, `${ind}  `, `i${d}`);
          lines.push(`${ind}}`);
          break;
        }
        case "untilZero":
          lines.push(`${ind}while (b.more()) {`);
          emit(e.body, `${ind}  `);
          lines.push(`${ind}}`, `${ind}b.zero();`);
          break;
        case "switch": {
          lines.push(`${ind}switch (b.num(${q(e.on.slice(1))})) {`);
          for (const [v, b] of e.cases) {
            lines.push(`${ind}  case ${v}:`);
            emit(b, `${ind}    `);
            lines.push(`${ind}    break;`);
          }
          lines.push(`${ind}  default:`);
          emit(e.otherwise, `${ind}    `);
          lines.push(`${ind}}`);
          break;
        }
        case "tree":
          emit(e.body, ind, idx);
          break;
        case "attributes":
          lines.push(
            `${ind}b.attributes(${q(e.from.slice(1))}, ${e.gs2}, { ${e.keys.map(([k, f]) => `${k}: ${key(f)}`).join(", ")} }, ${key(e.cbind)}, ${key(e.authzid)}, ${key(e.other)});`,
          );
          break;
        case "remember":
          lines.push(`${ind}b.remember(${q(e.list)}, ${JSON.stringify(e.vars)});`);
          break;
        case "column":
          lines.push(
            `${ind}b.column(${key(e.length)}, ${key(e.data)}, ${key(e.name)}, ${key(e.type)}, ${key(e.value)}, ${idx});`,
          );
          break;
        case "param":
          lines.push(
            `${ind}b.param(${key(e.length)}, ${key(e.data)}, ${key(e.type)}, ${key(e.value)}, ${q(e.formats)}, ${idx});`,
          );
          break;
        case "lookup":
          lines.push(
            `${ind}b.lookup(${key(e.field)}, ${q(e.from.slice(1))}, TABLES.${e.table}, ${e.prefix ?? 0}${e.bind || e.firstWord || e.replication ? `, ${e.bind ? q(e.bind) : "undefined"}` : ""}${e.firstWord || e.replication ? `, ${!!e.firstWord}` : ""}${e.replication ? ", true" : ""});`,
          );
          break;
        case "text":
          lines.push(`${ind}b.text(${key(e.field)}, ${e.size}, ${e.oid}${e.bind ? `, ${q(e.bind)}` : ""});`);
          break;
        case "payload":
          lines.push(`${ind}b.payload(PAYLOADS.${e.set}, ${key(e.field)}, ${key(e.type)});`);
          break;
        case "tupleColumn":
          lines.push(
            `${ind}b.tupleColumn(${key(e.marker)}, ${JSON.stringify(e.formats)}, ${JSON.stringify(e.empty)}, ${key(e.length)}, ${key(e.data)}, ${key(e.name)}, ${key(e.type)}, ${key(e.value)}, ${idx});`,
          );
          break;
        case "relation":
          lines.push(`${ind}b.relation(${key(e.field)}, ${q(e.from.slice(1))}${e.bind ? `, ${q(e.bind)}` : ""});`);
          break;
        case "optional":
          lines.push(`${ind}if (b.ok && b.pos < b.end) {`);
          emit(e.body, `${ind}  `, idx);
          lines.push(`${ind}}`);
          break;
        case "options":
          lines.push(`${ind}b.options(${key(e.field)}, ${q(e.from.slice(1))}, ${q(e.when)});`);
          break;
        case "copyStatement":
          lines.push(`${ind}b.copyStatement(${key(e.field)}, ${q(e.from.slice(1))});`);
          break;
        case "copyRows":
          lines.push(
            `${ind}b.copyRows(${key(e.field)}, { row: ${key(e.row)}, column: ${key(e.column)}, value: ${key(e.value)}, null: ${key(e.isNull)}, flags: ${key(e.flags)}, extension: ${key(e.extension)}, trailer: ${key(e.trailer)} });`,
          );
          break;
      }
    }
  };
  emit(body, indent);
  return lines.join("\n");
}
