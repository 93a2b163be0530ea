// pgwire decode: the PostgreSQL messages of a capture, frame by frame, as text or JSON lines.

import { clockText } from "../analysis/explain.ts";
import { readCaptureBatches } from "../capture/pcap.ts";
import { type DecodedMessage, FIELDS, type FieldValue } from "../decoder/index.ts";
import { type FrameResult, type Step, stepDecoder } from "../pipeline.ts";
import type { FieldInfo } from "../runtime/reader.ts";
import { FILTER_HELP, FILTER_OPTIONS, filterStep, oneFile, parseArgs, parseFilters, parsePorts } from "./args.ts";
import { type Command, EXIT, EXIT_HELP } from "./command.ts";
import type { Output } from "./output.ts";

const DECODE_HELP = `Usage: pgwire decode FILE [--json] [--port P[,P...]] [--keylog FILE]

Prints the PostgreSQL messages of a pcap or pcapng capture, decoded by the TypeScript
reference decoder, as they are read (the file is streamed, not loaded).

Text output: one line per frame that carries PostgreSQL messages,
  FRAME  TIME  STREAM  INFO
(TIME is seconds since the capture's first packet, as tshark's frame.time_relative, or with
--absolute the UTC date and time; STREAM is Wireshark's tcp.stream; INFO is the
Info column, starting with > for client-to-server or < for server-to-client), then one
indented line per message with its fields. Strings are quoted, bytes are shown as hex
(with their text when printable), long values are cut.

Options:
  --json             one JSON object per line and message:
                     {"frame", "time" (seconds since the epoch), "stream",
                      "direction": "frontend"|"backend", "msg" (null for undecoded bytes),
                      "label", "fields": [{"name", "value", "offset", "length"}]}
                     bytes values are hex strings, 64-bit integers are decimal strings;
                     offsets are from the start of the message
${FILTER_HELP}
  -h, --help         show this help

A truncated capture is decoded up to where it is cut, then reported (exit status 3).

${EXIT_HELP}

Examples:
  pgwire decode captures/seed-md5.pcapng
  pgwire decode --port 6432 pgbouncer.pcap | less
  pgwire decode --json captures/seed-md5.pcapng | jq -r 'select(.msg == "Query") | .fields[] | select(.name == "pgwire.query") | .value'
`;

const HIDDEN_TEXT_FIELDS: ReadonlySet<string> = new Set([
  FIELDS.msg.name,
  FIELDS.type.name,
  FIELDS.length.name,
  FIELDS.frontend.name,
  FIELDS.txStatus.name,
]);
const MAX_STRING = 80;
const MAX_BYTES = 32;

const fieldInfo = new Map<string, FieldInfo>(
  Object.values(FIELDS as Record<string, FieldInfo>).map((f) => [`pgwire.${f.abbrev}`, f]),
);

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

function cutString(s: string): string {
  const chars = Array.from(s);
  if (chars.length <= MAX_STRING) return JSON.stringify(s);
  return `${JSON.stringify(chars.slice(0, MAX_STRING).join(""))}...(${chars.length} chars)`;
}

function textValue(name: string, v: FieldValue): string {
  if (typeof v === "string") return cutString(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "bigint") return String(v);
  if (typeof v === "number") {
    const label = fieldInfo.get(name)?.values?.[v];
    return label !== undefined ? `${v} (${label})` : String(v);
  }
  const shown = v.length > MAX_BYTES ? `${hex(v.subarray(0, MAX_BYTES))}...(${v.length} bytes)` : hex(v);
  const printable = v.length > 0 && v.length <= MAX_STRING && v.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? `${shown} (${JSON.stringify(Buffer.from(v).toString("latin1"))})` : shown;
}

function msgTitle(m: DecodedMessage): string {
  return m.name ?? m.label.replace(/^PostgreSQL: /, "");
}

/** The fields of a message as `name=value` words, wrapped into indented lines. */
function textMessage(m: DecodedMessage, width: number): string {
  const words: string[] = [];
  for (const f of m.fields) {
    if (HIDDEN_TEXT_FIELDS.has(f.name)) continue;
    if (f.name.startsWith("expert:")) words.push(`[${f.name.replace(/^expert:pgwire\./, "expert ")}: ${f.value}]`);
    else words.push(`${f.name.replace(/^pgwire\./, "")}=${textValue(f.name, f.value)}`);
  }
  const lines: string[] = [];
  let line = `  ${msgTitle(m)}`;
  let first = true;
  for (const w of words) {
    const sep = first ? "  " : " ";
    if (!first && line.length + sep.length + w.length > width) {
      lines.push(line);
      line = `      ${w}`;
    } else line += sep + w;
    first = false;
  }
  lines.push(line);
  return `${lines.join("\n")}\n`;
}

function textFrame(fr: FrameResult, t0: number | undefined, width: number): string {
  const dir = fr.items[0]?.frontend ? ">" : "<";
  let s = `${String(fr.frame).padStart(6)}  ${clockText(fr.time, t0)}  ${String(fr.stream).padStart(3)}  `;
  const info = fr.info ?? `${dir} ${fr.items.map(msgTitle).join(", ")}`;
  // The Info column can list dozens of messages; they all follow, one per line.
  const room = Math.max(20, width - s.length);
  s += `${info.length > room ? `${info.slice(0, room - 3)}...` : info}\n`;
  for (const m of fr.items) s += textMessage(m, width);
  return s;
}

/** A field's value in JSON (decode --json, explain --json): bytes as hex, 64-bit integers as strings. */
export function jsonValue(v: FieldValue): string | number | boolean {
  if (v instanceof Uint8Array) return hex(v);
  if (typeof v === "bigint") return String(v);
  return v;
}

function jsonFrame(fr: FrameResult): string {
  let s = "";
  for (const m of fr.items) {
    s += `${JSON.stringify({
      frame: m.frame,
      time: fr.time,
      stream: fr.stream,
      direction: m.frontend ? "frontend" : "backend",
      msg: m.name,
      label: m.label,
      fields: m.fields.map((f) => ({ name: f.name, value: jsonValue(f.value), offset: f.offset, length: f.length })),
    })}\n`;
  }
  return s;
}

async function decodeCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("decode", args, { ...FILTER_OPTIONS, "--json": { key: "json", value: false } });
  if (p.help) {
    out.write(DECODE_HELP);
    return EXIT.ok;
  }
  const file = oneFile("decode", p);
  const ports = parsePorts("decode", p.options.get("port"));
  const json = p.options.has("json");
  const width = Math.max(60, (process.stdout.isTTY && process.stdout.columns) || 120);
  const keylog = p.options.get("keylog")?.at(-1);
  const heuristic = !p.options.has("noHeuristic");
  const filters = parseFilters("decode", p);
  const absolute = p.options.has("absolute");
  // Times, shown and in the filters, count from the capture's first packet (frame.time_relative).
  let first: number | undefined;
  const dec = await stepDecoder({ ports, keylog, heuristic });
  const show = (step: Step) => {
    first ??= step.time;
    const kept = filterStep(step, filters, first);
    for (const fr of kept?.frames ?? []) {
      out.write(json ? jsonFrame(fr) : textFrame(fr, absolute ? undefined : first, width));
    }
  };
  for await (const batch of readCaptureBatches(file)) {
    if (out.closed) return EXIT.ok;
    for (const p of batch) show(dec.push(p));
    await out.maybeFlush();
  }
  if (!out.closed) for (const step of dec.end()) show(step);
  return EXIT.ok;
}

export const command: Command = { name: "decode", help: DECODE_HELP, run: decodeCommand };
