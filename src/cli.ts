// The pgwire command line: `pgwire decode` prints the PostgreSQL messages of a capture with the
// TypeScript reference decoder, `pgwire compare` checks the Lua plugin (under tshark) against it.
// Argument parsing is hand-written; every user-facing failure is one `pgwire: ...` line on stderr.

import { accessSync, constants, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ANALYSIS_FIELDS,
  Analyzer,
  type AnalyzerListener,
  type ConnectionRecord,
  type Finding,
  type RequestRecord,
} from "./analysis/analyzer.ts";
import {
  COLOR,
  clockText,
  connectionJson,
  duration,
  explainConnection,
  findingsSummary,
  PLAIN,
  plural,
  type Style,
} from "./analysis/explain.ts";
import { LatencyHistogram, MAX_DIAGRAMS, MAX_TIMELINE, renderReport } from "./analysis/report.ts";
import { CSV_TABLES, Stats, statsCsv, statsText } from "./analysis/stats.ts";
import { readCaptureBatches, readCaptureStream } from "./capture/pcap.ts";
import { CaptureError, type CapturePacket } from "./capture/types.ts";
import { compare } from "./compare.ts";
import { type DecodedMessage, FIELDS, type FieldValue } from "./decoder/index.ts";
import { install, personalLuaPlugins } from "./install.ts";
import { decodeSteps, type FrameResult, type Step, stepDecoder } from "./pipeline.ts";
import type { FieldInfo } from "./runtime/reader.ts";

/** Exit statuses, as the help texts document them. */
export const EXIT = { ok: 0, differences: 1, usage: 2, input: 3, internal: 70 } as const;

const EXIT_HELP = `Exit status:
  0   success
  1   compare: the plugin and the decoder differ, or tshark reported a Lua error or a malformed packet
  2   usage error (unknown command or option, missing or extra argument)
  3   input error (missing or unreadable file, not a pcap/pcapng capture, truncated capture,
      unsupported link type, tshark missing or failing or not loading the plugin,
      output cannot be written)
  70  internal error (set PGWIRE_DEBUG=1 for a stack trace)`;

const MAIN_HELP = `pgwire: decode PostgreSQL wire-protocol traffic in pcap/pcapng captures

Usage:
  pgwire <command> [options] FILE
  pgwire help [command]

Commands:
  explain FILE   tell each connection's story: handshake, TLS, startup, authentication and what
                 it exposed, queries with rows, times and errors, how it ended; then the findings
  stats FILE     queries grouped by shape with response-time percentiles, connections, errors by
                 SQLSTATE, authentication methods
  report FILE -o OUT.html
                 one self-contained HTML file: sequence diagrams, latency histogram, timeline,
                 the stats tables and the findings
  decode FILE    print the PostgreSQL messages of a capture (TypeScript reference decoder)
  compare FILE   run the Wireshark Lua plugin under tshark and check it against the decoder
  watch -i IFACE [-p PORT]
                 capture live with dumpcap and print one line per request as it completes;
                 Ctrl-C prints the stats
  install        copy the plugin into Wireshark's personal Lua plugins folder
  generate       regenerate the plugin and the decoder from the spec (in a git checkout)

Options:
  -h, --help     show this help (or a command's: pgwire decode --help)
  -V, --version  show the version

${EXIT_HELP}

Examples:
  pgwire explain captures/seed-md5.pcapng
  pgwire stats --csv traffic.pcapng > queries.csv
  pgwire decode captures/seed-md5.pcapng
  pgwire decode --json --port 5432,6432 traffic.pcapng | jq 'select(.msg == "Query")'
  pgwire compare captures/tls-keylog.pcapng --keylog captures/tls-keylog.keys
`;

const FILTER_HELP = `Which traffic:
  --port P[,P...]    server ports to decode as PostgreSQL (default 5432); may be repeated
  --keylog FILE      TLS key log (SSLKEYLOGFILE format): decrypt TLS sessions and decode them
  --no-heuristic     decode only the server ports, not PostgreSQL found on other ports
  --stream N[,N...]  only these connections (Wireshark's tcp.stream numbers); may be repeated
  --since T          only packets from T on, and --until T only up to T: seconds from the
  --until T          capture's first packet (12.5), or a date and time (2026-11-27T10:00:00Z)
  --absolute         show times as UTC dates and times, not as seconds from the capture's
                     first packet (tshark's frame.time_relative)`;

const REPORT_HELP = `Usage: pgwire report FILE -o OUT.html [filters]

Writes one self-contained HTML file (inline CSS and SVG: nothing to fetch, no script) about the
capture: the findings, a histogram of response times, a timeline of the requests per connection,
the stats tables (queries, connections, errors by SQLSTATE, authentication), and per connection
its story and a sequence diagram of its client's and server's messages along time. The first
${50} connections are drawn in detail, each with up to ${300} messages; the tables have them all.
The file is written beside OUT.html and renamed into place: never a half-written report.

Options:
  -o, --output FILE  the HTML file to write (required)
${FILTER_HELP}
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire report captures/seed-md5.pcapng -o seed.html
  pgwire report --stream 2 big.pcapng -o one-connection.html
`;

const WATCH_HELP = `Usage: pgwire watch -i IFACE [-p PORT[,PORT...]] [--keylog FILE] [--json]

Captures live with dumpcap on the interface (capture filter: the TCP ports), decodes as packets
arrive, and prints one line per request as its answer comes: the time, the connection, its user
and database, the response time, the rows and command tag or the error, and the SQL. Ctrl-C
(or SIGTERM) stops the capture and prints the stats of what was seen (as pgwire stats does).
Needs dumpcap (Debian: wireshark-common) and the right to capture on the interface.

Options:
  -i, --interface IFACE  the interface to capture on (lo for a local server)
  -p, --port P[,P...]    server ports (default 5432); may be repeated
  --keylog FILE          TLS key log: decrypt TLS sessions as their keys appear in it
  --json                 one JSON object per request instead of a line
  --color, --no-color    colour on or off (default: on when stdout is a terminal)
  -h, --help             show this help

${EXIT_HELP}

Examples:
  sudo pgwire watch -i lo
  pgwire watch -i eth0 -p 5432,6432 --json | jq 'select(.duration > 0.1)'
`;

const INSTALL_HELP = `Usage: pgwire install [--dir DIR] [--force]

Copies the Wireshark plugin (dissector/pgwire.lua) into Wireshark's personal Lua plugins
folder, found as Wireshark finds it: from \`tshark -G folders\` when tshark is installed, else
~/.local/lib/wireshark/plugins (Linux, macOS) or %APPDATA%\\Wireshark\\plugins (Windows).
Prints where it went. Restart Wireshark (or Analyze > Reload Lua Plugins) to load it.

Options:
  --dir DIR          install into DIR instead
  --force            replace a pgwire.lua there that differs from this one
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire install
  pgwire install --dir ~/.local/lib/wireshark/plugins --force
`;

const GENERATE_HELP = `Usage: pgwire generate [--check]

Regenerates dissector/pgwire.lua, dissector/pgwire.ts and docs/fields.md from the spec
(spec/), as \`npm run generate\` does, and prints what changed. It runs in a git checkout of
pgwire-dissector: the npm package leaves the spec and the generator out.

Options:
  --check            write nothing; exit status 1 when a generated file is out of date
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire generate
  pgwire generate --check
`;

const EXPLAIN_HELP = `Usage: pgwire explain FILE [--json] [filters]

Tells each PostgreSQL connection's story, top to bottom: the TCP handshake, TLS or not, the
startup (protocol version, user, database, application_name), the authentication method, its
outcome and what it exposed on the wire (cleartext password, MD5 hash and salt, SCRAM, trust),
the server's parameters, each query or statement with its rows, command tag and response time,
errors and notices (severity, SQLSTATE and its name, message, and the server's source file,
line and routine they leak), and how the connection ended (Terminate then FIN, or an abrupt
close, and by whom). Connections are told in the order they started, each once it has closed;
at most ${500} requests each (the rest are counted). Then a summary of the findings of the whole
capture. Times are seconds from the capture's first packet, as tshark's frame.time_relative
(--absolute: UTC dates and times); frames are tshark's frame numbers.

Options:
  --json             one JSON document: {"connections": [...], "findings": [...]}
  --color, --no-color  colour on or off (default: on when stdout is a terminal and NO_COLOR is unset)
${FILTER_HELP}
  -h, --help         show this help

A truncated capture is explained up to where it is cut, then reported (exit status 3). A
capture without PostgreSQL traffic is an error (exit status 3).

${EXIT_HELP}

Examples:
  pgwire explain captures/seed-wrong-password.pcapng
  pgwire explain --stream 3 --since 10 big.pcapng | less -R
  pgwire explain --json captures/seed-md5.pcapng | jq '.connections[].auth'
`;

const STATS_HELP = `Usage: pgwire stats FILE [--json | --csv [--table NAME]] [filters]

The numbers of a whole capture: queries grouped by their normalised text (literals and
parameters replaced by ?) with count, the total, mean, p50, p95 and max response time of the
requests answered without error, rows, and failures by SQLSTATE with their own times (requests
the server skipped after an error, and those with no answer in the capture, are counted apart);
connections with their duration, bytes and requests; errors by SQLSTATE; the authentication
methods of the logins; cancel requests with the request they interrupted. Response time is from
the request (Query, Execute, FunctionCall) to the message that completes it, or to the error that
failed it. Percentiles are exact to within 2%.

Options:
  --json             all tables as one JSON document (times in seconds)
  --csv              one table as CSV (times in seconds): --table queries (default),
                     connections, errors, auth or cancels
  --table NAME       the table --csv writes
  --top N            queries shown in the text table (default 20; --json and --csv have all)
  --color, --no-color  colour on or off (default: on when stdout is a terminal and NO_COLOR is unset)
${FILTER_HELP}
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire stats captures/pgbench-extended.pcapng
  pgwire stats --csv --table errors traffic.pcapng
  pgwire stats --json traffic.pcapng | jq '.queries[0]'
`;

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

const COMPARE_HELP = `Usage: pgwire compare FILE [--keylog FILE] [--port P[,P...]] [--one-pass]

Runs tshark with the Lua plugin (dissector/pgwire.lua) over the capture and decodes it with
the TypeScript reference decoder, then compares both frame by frame: each item's label, each
field's name, shown value, offset and length, and the Info column. Prints a summary line,
then every difference and every problem (Lua errors, malformed packets). Needs tshark on PATH;
Wireshark 4.4 and later ignore Lua plugins when run as root, so run it as a normal user there.
When tshark does not load the plugin (as root, or a Lua error in it), compare says why in one
line and exits 3.

Options:
  --keylog FILE      TLS key log: tshark and the TypeScript decoder both decrypt TLS with it,
                     and the decrypted messages are compared like the rest
  --port P[,P...]    server ports to decode as PostgreSQL (default 5432); may be repeated
  --no-heuristic     decode only the server ports (tshark: -o pgwire.heuristic:FALSE)
  --one-pass         run tshark in one pass (the default is two passes, -2, as links
                     to later frames such as pgwire.response_in need them); the TS
                     decoder's links to later frames are then not compared
  -h, --help         show this help

Exit status 0 only when there is no difference and no problem; 1 otherwise.

${EXIT_HELP}

Examples:
  pgwire compare captures/seed-md5.pcapng
  pgwire compare -2 captures/pgbench-extended.pcapng
  pgwire compare captures/tls-keylog.pcapng --keylog captures/tls-keylog.keys
`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments

interface OptionSpec {
  /** Canonical key of the option. */
  key: string;
  /** Takes a value (--port 5432 or --port=5432). */
  value: boolean;
}

interface Parsed {
  options: Map<string, string[]>;
  positional: string[];
  help: boolean;
}

function parseArgs(command: string, args: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const options = new Map<string, string[]>();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const opt = spec[name];
    if (!opt) throw new UsageError(`unknown option '${name}' for ${command}`, command);
    let value = "";
    if (opt.value) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (i + 1 < args.length) value = args[++i];
      else throw new UsageError(`option '${name}' needs a value`, command);
    } else if (eq >= 0) {
      throw new UsageError(`option '${name}' takes no value`, command);
    }
    const list = options.get(opt.key) ?? [];
    list.push(value);
    options.set(opt.key, list);
  }
  return { options, positional, help };
}

function oneFile(command: string, p: Parsed): string {
  if (p.positional.length === 0) throw new UsageError(`${command} needs a capture FILE`, command);
  if (p.positional.length > 1)
    throw new UsageError(`${command} takes one capture FILE, got ${p.positional.length}`, command);
  return p.positional[0];
}

function parsePorts(command: string, values: readonly string[] | undefined): number[] | undefined {
  if (!values) return undefined;
  const ports: number[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const s = part.trim();
      const n = Number(s);
      if (!/^\d+$/.test(s) || n < 1 || n > 65535)
        throw new UsageError(`invalid port '${part}': expected a number from 1 to 65535`, command);
      ports.push(n);
    }
  }
  return ports;
}

// ---------------------------------------------------------------------------------------------
// Output: streamed in small batches, quiet when the reader goes away (EPIPE, e.g. `| head`).

class Output {
  private buf = "";
  private last = Date.now();
  /** The reader closed the pipe or writing failed: stop producing output. */
  closed = false;
  error?: Error;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      this.closed = true;
      if (e.code !== "EPIPE" && !this.error) this.error = e;
    });
  }

  write(s: string): void {
    if (!this.closed) this.buf += s;
  }

  /** Writes out what is pending when enough has gathered or some time has passed. */
  async maybeFlush(): Promise<void> {
    if (this.buf.length >= 16384 || Date.now() - this.last >= 100) await this.flush();
  }

  async flush(): Promise<void> {
    this.last = Date.now();
    if (this.closed || this.buf === "") return;
    const s = this.buf;
    this.buf = "";
    if (this.stream.write(s)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("error", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("error", done);
      this.stream.on("close", done);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// decode

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

function jsonValue(v: FieldValue): string | number | boolean {
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

// ---------------------------------------------------------------------------------------------
// explain, stats: the analysis of a whole capture, with the filters they share

const FILTER_OPTIONS: Record<string, OptionSpec> = {
  "--port": { key: "port", value: true },
  "--keylog": { key: "keylog", value: true },
  "--no-heuristic": { key: "noHeuristic", value: false },
  "--stream": { key: "stream", value: true },
  "--since": { key: "since", value: true },
  "--until": { key: "until", value: true },
  "--absolute": { key: "absolute", value: false },
};

const COLOR_OPTIONS: Record<string, OptionSpec> = {
  "--color": { key: "color", value: false },
  "--no-color": { key: "noColor", value: false },
};

interface Filters {
  streams?: ReadonlySet<number>;
  /** Seconds from the first packet, or absolute times (seconds since the epoch). */
  since?: { rel?: number; abs?: number };
  until?: { rel?: number; abs?: number };
}

function parseTime(command: string, name: string, v: string | undefined): { rel?: number; abs?: number } | undefined {
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return { rel: Number(v) };
  const t = Date.parse(v);
  if (/^\d{4}-\d\d-\d\d/.test(v) && !Number.isNaN(t)) return { abs: t / 1000 };
  throw new UsageError(`invalid time '${v}' for ${name}: seconds from the first packet, or a date and time`, command);
}

function parseFilters(command: string, p: Parsed): Filters {
  const streams = p.options.get("stream");
  const set = new Set<number>();
  for (const v of streams ?? []) {
    for (const part of v.split(",")) {
      if (!/^\d+$/.test(part.trim())) throw new UsageError(`invalid stream '${part}': expected a number`, command);
      set.add(Number(part.trim()));
    }
  }
  return {
    streams: streams ? set : undefined,
    since: parseTime(command, "--since", p.options.get("since")?.at(-1)),
    until: parseTime(command, "--until", p.options.get("until")?.at(-1)),
  };
}

function styleFor(p: Parsed): Style {
  if (p.options.has("noColor")) return PLAIN;
  if (p.options.has("color")) return COLOR;
  return process.stdout.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
}

/**
 * A progress line on stderr for captures that take more than a moment (only on a terminal):
 * how much of the file has been read.
 */
class Progress {
  private readonly size: number;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  bytes = 0;

  constructor(file: string) {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      // the reader reports it
    }
    this.size = size;
  }

  tick(): void {
    if (!process.stderr.isTTY || this.size === 0) return;
    const now = Date.now();
    if (now - this.started < 1000 || now - this.lastDraw < 200) return;
    this.lastDraw = now;
    this.drawn = true;
    const pct = Math.min(100, Math.floor((this.bytes / this.size) * 100));
    const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
    process.stderr.write(`\rpgwire: [${bar}] ${String(pct).padStart(3)}% of ${(this.size / 1e6).toFixed(0)} MB`);
  }

  done(): void {
    if (this.drawn) process.stderr.write("\r\x1b[K");
  }
}

async function* counted(batches: AsyncIterable<CapturePacket[]>, progress: Progress): AsyncGenerator<CapturePacket[]> {
  for await (const batch of batches) {
    // The record header and padding are not known here: 16 bytes is close enough for a percentage.
    for (const p of batch) progress.bytes += p.data.length + 16;
    yield batch;
  }
}

/** Keeps what the filters let through: the connections asked for, the packets in the time window. */
function filterStep(step: Step, f: Filters, t0: number): Step | undefined {
  const t = step.time;
  const inTime = (lim: { rel?: number; abs?: number } | undefined, after: boolean) => {
    if (!lim) return true;
    const at = lim.abs ?? t0 + (lim.rel ?? 0);
    return after ? t >= at : t <= at;
  };
  if (!inTime(f.since, true) || !inTime(f.until, false)) return undefined;
  if (!f.streams) return step;
  const streams = f.streams;
  return {
    ...step,
    frames: step.frames.filter((fr) => streams.has(fr.stream)),
    events: step.events.filter((e) => streams.has(e.stream)),
  };
}

interface AnalysisRun {
  t0: number;
  connections: number;
  /** The capture's problem (truncated, ...), reported after what could be read was told. */
  error?: CaptureError;
}

/**
 * Runs the analysis over a capture file; the listener gets requests and connections as they
 * complete. `clock.t0` is set to the capture's first packet's time as soon as it is read.
 */
async function analyze(
  command: string,
  file: string,
  p: Parsed,
  listener: AnalyzerListener,
  clock: { t0?: number } = {},
): Promise<AnalysisRun> {
  const filters = parseFilters(command, p);
  const ports = parsePorts(command, p.options.get("port"));
  const keylog = p.options.get("keylog")?.at(-1);
  const heuristic = !p.options.has("noHeuristic");
  let connections = 0;
  // TLS sessions: decrypted (their startup was read) or not.
  let tlsOpen = 0;
  let tlsClosed = 0;
  const analyzer = new Analyzer({
    ...listener,
    connection: (c, oldest) => {
      connections++;
      if (c.encryption.tls) {
        if (c.startup) tlsOpen++;
        else tlsClosed++;
      }
      listener.connection?.(c, oldest);
    },
  });
  const progress = new Progress(file);
  let t0: number | undefined;
  let error: CaptureError | undefined;
  try {
    const dec = await stepDecoder({ ports, keylog, heuristic, select: ANALYSIS_FIELDS });
    const analyze = (step: Step) => {
      if (t0 === undefined) {
        t0 = step.time;
        clock.t0 = t0;
      }
      const kept = filterStep(step, filters, t0);
      if (kept) analyzer.step(kept);
    };
    // Each step analysed as it is made: a batch's steps are never all alive at once.
    for await (const batch of counted(readCaptureBatches(file), progress)) {
      for (const p of batch) analyze(dec.push(p));
      progress.tick();
    }
    for (const step of dec.end()) analyze(step);
  } catch (e) {
    // What was read is told first; the problem is reported after it.
    if (!(e instanceof CaptureError) || t0 === undefined) throw e;
    error = e;
  } finally {
    progress.done();
  }
  analyzer.end();
  if (tlsClosed > 0 && keylog !== undefined && tlsOpen === 0) {
    process.stderr.write(
      `pgwire: warning: the keys in ${keylog} decrypted no TLS session of ${file} (${plural(tlsClosed, "connection")} ${tlsClosed === 1 ? "stays" : "stay"} encrypted)\n`,
    );
  } else if (tlsClosed > 0 && keylog === undefined) {
    process.stderr.write(
      `pgwire: hint: ${plural(tlsClosed, "connection")} of ${file} ${tlsClosed === 1 ? "uses" : "use"} TLS: give the session keys with --keylog FILE (SSLKEYLOGFILE format) to decode ${tlsClosed === 1 ? "it" : "them"}\n`,
    );
  }
  if (connections === 0 && !error) {
    throw new CaptureError(
      `no PostgreSQL traffic in ${file} (server ports ${(ports ?? [5432]).join(",")}${filters.streams || filters.since || filters.until ? ", with the filters given" : ""}; try --port)`,
    );
  }
  return { t0: t0 ?? 0, connections, error };
}

async function explainCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("explain", args, {
    ...FILTER_OPTIONS,
    ...COLOR_OPTIONS,
    "--json": { key: "json", value: false },
  });
  if (p.help) {
    out.write(EXPLAIN_HELP);
    return EXIT.ok;
  }
  const file = oneFile("explain", p);
  const json = p.options.has("json");
  const st = styleFor(p);
  const findings: Finding[] = [];
  const records: Array<Record<string, unknown>> = [];
  const clock: { t0?: number } = {};
  const absolute = p.options.has("absolute");
  // Connections that closed while one that started before them is still open wait for it (at
  // most MAX_HELD of them: past that, the oldest is told).
  const held: ConnectionRecord[] = [];
  const tell = (oldest: number | undefined) => {
    held.sort((a, b) => a.stream - b.stream);
    while (held.length > 0 && (oldest === undefined || held[0].stream < oldest || held.length > MAX_HELD)) {
      const c = held.shift() as ConnectionRecord;
      out.write(`${explainConnection(c, absolute ? undefined : (clock.t0 ?? 0), st)}\n`);
    }
  };
  const run = await analyze(
    "explain",
    file,
    p,
    {
      connection: (c: ConnectionRecord, oldest) => {
        findings.push(...c.findings);
        if (json) records.push(connectionJson(c));
        else {
          held.push(c);
          tell(oldest);
        }
      },
    },
    clock,
  );
  tell(undefined);
  if (json) {
    // The document has them by stream number (the text tells each as it closes).
    records.sort((a, b) => (a.stream as number) - (b.stream as number));
    out.write(`${JSON.stringify({ connections: records, findings }, jsonReplacer)}\n`);
  } else out.write(findingsSummary(findings, st));
  if (run.error) throw run.error;
  return EXIT.ok;
}

/** Why a file could not be written, in words, naming `path` where Node named `tmp`. */
function writeProblem(e: unknown, tmp: string, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: "its folder does not exist",
    ENOTDIR: "its folder does not exist",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "it is a folder",
    ENOSPC: "no space left on the device",
    EROFS: "read-only file system",
  };
  return (
    (code && words[code]) ??
    String((e as Error).message ?? e)
      .split(tmp)
      .join(path)
  );
}

/** Closed connections explain holds back to tell them in the order they started. */
const MAX_HELD = 200;

function jsonReplacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array || typeof v === "bigint" ? jsonValue(v) : v;
}

async function reportCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("report", args, {
    ...FILTER_OPTIONS,
    "-o": { key: "output", value: true },
    "--output": { key: "output", value: true },
  });
  if (p.help) {
    out.write(REPORT_HELP);
    return EXIT.ok;
  }
  const file = oneFile("report", p);
  const output = p.options.get("output")?.at(-1);
  if (output === undefined || output === "") throw new UsageError("report needs -o OUT.html", "report");
  const stats = new Stats();
  const latency = new LatencyHistogram();
  const connections: ConnectionRecord[] = [];
  const findings: Finding[] = [];
  const timeline: RequestRecord[] = [];
  let moreConnections = 0;
  const run = await analyze("report", file, p, {
    request: (r) => {
      stats.request(r);
      if (r.duration !== undefined) latency.add(r.duration);
      if (timeline.length < MAX_TIMELINE) timeline.push(r);
    },
    connection: (c) => {
      stats.connection(c);
      findings.push(...c.findings);
      if (connections.length < MAX_DIAGRAMS) connections.push(c);
      else moreConnections++;
    },
  });
  connections.sort((a, b) => a.stream - b.stream);
  const html = renderReport({
    file,
    t0: run.t0,
    connections,
    moreConnections,
    stats: stats.result(),
    findings,
    latency,
    timeline,
  });
  const tmpFile = `${output}.tmp-${process.pid}`;
  try {
    writeFileSync(tmpFile, html);
    renameSync(tmpFile, output);
  } catch (e) {
    rmSync(tmpFile, { force: true });
    // The user's path, never the temporary file's.
    throw new CaptureError(`cannot write ${output}: ${writeProblem(e, tmpFile, output)}`);
  }
  out.write(
    `pgwire: wrote ${output} (${plural(connections.length + moreConnections, "connection")}, ${plural(findings.length, "finding")})\n`,
  );
  if (run.error) throw run.error;
  return EXIT.ok;
}

async function statsCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("stats", args, {
    ...FILTER_OPTIONS,
    ...COLOR_OPTIONS,
    "--json": { key: "json", value: false },
    "--csv": { key: "csv", value: false },
    "--table": { key: "table", value: true },
    "--top": { key: "top", value: true },
  });
  if (p.help) {
    out.write(STATS_HELP);
    return EXIT.ok;
  }
  const file = oneFile("stats", p);
  if (p.options.has("json") && p.options.has("csv"))
    throw new UsageError("--json and --csv exclude each other", "stats");
  const tableName = p.options.get("table")?.at(-1) ?? "queries";
  if (p.options.has("table") && !p.options.has("csv")) {
    throw new UsageError("--table goes with --csv (the text output and --json have every table)", "stats");
  }
  if (!(CSV_TABLES as readonly string[]).includes(tableName))
    throw new UsageError(`unknown table '${tableName}' (tables: ${CSV_TABLES.join(", ")})`, "stats");
  const topArg = p.options.get("top")?.at(-1);
  if (topArg !== undefined && !/^\d+$/.test(topArg)) throw new UsageError(`invalid --top '${topArg}'`, "stats");
  // Connections' start times from the capture's first packet (--absolute: seconds since the epoch).
  const clock: { t0?: number } = {};
  const stats = new Stats(p.options.has("absolute") ? {} : clock);
  const run = await analyze(
    "stats",
    file,
    p,
    {
      request: (r) => stats.request(r),
      connection: (c) => stats.connection(c),
    },
    clock,
  );
  const r = stats.result();
  if (p.options.has("json")) out.write(`${JSON.stringify(r)}\n`);
  else if (p.options.has("csv")) out.write(statsCsv(r, tableName as (typeof CSV_TABLES)[number]));
  else {
    const width = Math.max(80, (process.stdout.isTTY && process.stdout.columns) || 140);
    out.write(statsText(r, styleFor(p), width, topArg === undefined ? 20 : Number(topArg)));
  }
  if (run.error) throw run.error;
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// watch

async function watchCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("watch", args, {
    "-i": { key: "iface", value: true },
    "--interface": { key: "iface", value: true },
    "-p": { key: "port", value: true },
    "--port": { key: "port", value: true },
    "--keylog": { key: "keylog", value: true },
    "--json": { key: "json", value: false },
    ...COLOR_OPTIONS,
  });
  if (p.help) {
    out.write(WATCH_HELP);
    return EXIT.ok;
  }
  if (p.positional.length > 0) throw new UsageError(`watch takes no FILE, got '${p.positional[0]}'`, "watch");
  const iface = p.options.get("iface")?.at(-1);
  if (!iface) throw new UsageError("watch needs -i IFACE", "watch");
  const ports = parsePorts("watch", p.options.get("port")) ?? [5432];
  if (!onPath("dumpcap"))
    throw new CaptureError(
      "dumpcap not found on PATH; watch needs it (Debian/Ubuntu: apt-get install wireshark-common)",
    );
  const json = p.options.has("json");
  const st = styleFor(p);
  const keylog = p.options.get("keylog")?.at(-1);
  const filter = ports.map((n) => `tcp port ${n}`).join(" or ");
  const { spawn } = await import("node:child_process");
  const dumpcap = spawn("dumpcap", ["-i", iface, "-f", filter, "-w", "-", "-q"], { stdio: ["ignore", "pipe", "pipe"] });
  let dumpcapError = "";
  dumpcap.stderr.on("data", (d: Buffer) => {
    dumpcapError += d.toString();
  });
  const exited = new Promise<number>((resolve) => dumpcap.on("close", (code) => resolve(code ?? 0)));
  let stopping = false;
  const stop = () => {
    stopping = true;
    dumpcap.kill("SIGINT");
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const stats = new Stats();
  const analyzer = new Analyzer({
    request: (r, c) => {
      stats.request(r);
      const who = c.startup ? `${c.startup.params.user ?? "?"}@${c.startup.params.database ?? "?"}` : "?";
      if (json) {
        out.write(
          `${JSON.stringify({
            time: r.time,
            stream: r.stream,
            client: `${c.client.addr}:${c.client.port}`,
            user: c.startup?.params.user,
            database: c.startup?.params.database,
            kind: r.kind,
            sql: r.sql,
            duration: r.duration,
            rows: r.rows,
            tags: r.tags,
            outcome: r.outcome,
            error: r.error,
          })}\n`,
        );
      } else {
        const clock = new Date(r.time * 1000).toISOString().slice(11, 23);
        const result = r.error
          ? st.red(`${r.error.code} ${r.error.name ?? ""}: ${r.error.message}`)
          : `${r.rows > 0 || r.tags.some((t) => t.startsWith("SELECT")) ? `${r.rows} row${r.rows === 1 ? "" : "s"} ` : ""}${r.tags.join("; ")}`;
        const time =
          r.outcome === "skipped" ? "skipped" : r.duration !== undefined ? duration(r.duration) : "no answer";
        out.write(
          `${st.dim(clock)}  ${String(r.stream).padStart(3)}  ${who}  ${time.padStart(9)}  ${result}  ${st.bold(r.sql.replace(/\s+/g, " ").slice(0, 200))}\n`,
        );
      }
      void out.flush();
    },
    connection: (c) => stats.connection(c),
  });
  let error: unknown;
  try {
    const packets = readCaptureStream(dumpcap.stdout as AsyncIterable<Uint8Array>, `dumpcap on ${iface}`);
    for await (const step of decodeSteps(packets, { ports, keylog, select: ANALYSIS_FIELDS })) analyzer.step(step);
  } catch (e) {
    // A capture cut by the stop: what came is shown; anything else is an error.
    if (!stopping) error = e;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  const code = await exited;
  if (!stopping && (code !== 0 || dumpcapError.includes("rror"))) {
    const line =
      dumpcapError.split("\n").find((l) => /rror|ermission|denied|No such/i.test(l)) ?? `exit status ${code}`;
    throw new CaptureError(`dumpcap failed on ${iface}: ${line.trim()}`);
  }
  if (error) throw error;
  analyzer.end();
  if (!json)
    out.write(
      `\n${statsText(stats.result(), st, Math.max(80, (process.stdout.isTTY && process.stdout.columns) || 140))}`,
    );
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// install, generate

async function installCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("install", args, {
    "--dir": { key: "dir", value: true },
    "--force": { key: "force", value: false },
  });
  if (p.help) {
    out.write(INSTALL_HELP);
    return EXIT.ok;
  }
  if (p.positional.length > 0) throw new UsageError(`install takes no FILE, got '${p.positional[0]}'`, "install");
  const given = p.options.get("dir")?.at(-1);
  const where = given !== undefined ? { dir: given, from: "--dir" } : personalLuaPlugins();
  const r = install(where.dir, p.options.has("force"));
  const what = {
    installed: "installed",
    updated: "replaced the different",
    unchanged: "already installed, unchanged:",
  }[r.status];
  out.write(`pgwire: ${what} ${r.path} (folder from ${where.from})\n`);
  return EXIT.ok;
}

async function generateCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("generate", args, { "--check": { key: "check", value: false } });
  if (p.help) {
    out.write(GENERATE_HELP);
    return EXIT.ok;
  }
  if (p.positional.length > 0) throw new UsageError(`generate takes no FILE, got '${p.positional[0]}'`, "generate");
  const check = p.options.has("check");
  // The generator, its templates and the spec are part of the repository, not of the npm package,
  // whose command line is built JavaScript (dist/): generate runs only from the sources.
  const generator = new URL("../generator/generate.ts", import.meta.url);
  if (!import.meta.url.endsWith(".ts") || !existsSync(generator))
    throw new CaptureError(
      "generate needs the spec and the generator, which the npm package leaves out: run it in a git checkout of pgwire-dissector (npm run generate)",
    );
  const { generate } = (await import(generator.href)) as typeof import("../generator/generate.ts");
  const changed = generate(check);
  for (const f of changed) out.write(check ? `out of date: ${f}\n` : `wrote ${f}\n`);
  if (changed.length === 0) out.write("pgwire: the generated files are up to date\n");
  return check && changed.length > 0 ? EXIT.differences : EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// compare

function onPath(cmd: string): boolean {
  const exts = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE").split(";") : [""];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = join(dir, cmd + ext);
      try {
        if (!statSync(file).isFile()) continue;
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

/** Opens the capture and reads its header and first frame, so bad input fails with the decoder's own message. */
async function checkCapture(file: string): Promise<void> {
  const it = readCaptureBatches(file);
  try {
    await it.next();
  } finally {
    await it.return(undefined);
  }
}

async function compareCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("compare", args, {
    "--keylog": { key: "keylog", value: true },
    "--port": { key: "port", value: true },
    "--no-heuristic": { key: "noHeuristic", value: false },
    "--one-pass": { key: "onePass", value: false },
  });
  if (p.help) {
    out.write(COMPARE_HELP);
    return EXIT.ok;
  }
  const file = oneFile("compare", p);
  const ports = parsePorts("compare", p.options.get("port"));
  const keylogs = p.options.get("keylog");
  if (keylogs && keylogs.length > 1) throw new UsageError("option '--keylog' given more than once", "compare");
  const keylog = keylogs?.[0];
  await checkCapture(file);
  if (keylog !== undefined) {
    try {
      if (!statSync(keylog).isFile()) throw new CaptureError(`key log ${keylog} is not a file`);
      accessSync(keylog, constants.R_OK);
    } catch (e) {
      if (e instanceof CaptureError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new CaptureError(
        code === "ENOENT" ? `key log file ${keylog} does not exist` : `cannot read key log file ${keylog}`,
      );
    }
  }
  if (!onPath("tshark"))
    throw new CaptureError("tshark not found on PATH; compare needs it (Debian/Ubuntu: apt-get install tshark)");
  const r = await compare(file, {
    keylog,
    ports,
    heuristic: !p.options.has("noHeuristic"),
    twoPass: p.options.has("onePass") ? false : undefined,
  });
  out.write(`${file}: compared ${r.frames} frames, ${r.items} items, ${r.fields} fields\n`);
  for (const d of r.differences) out.write(`difference: ${d}\n`);
  if (r.differences.length >= 50) out.write("(differences stop at the first 50)\n");
  for (const pr of r.problems) out.write(`problem: ${pr}\n`);
  const ok = r.differences.length === 0 && r.problems.length === 0;
  out.write(
    ok
      ? "OK: the Lua plugin and the TypeScript decoder agree\n"
      : `FAILED: ${r.differences.length} difference${r.differences.length === 1 ? "" : "s"}, ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}\n`,
  );
  return ok ? EXIT.ok : EXIT.differences;
}

// ---------------------------------------------------------------------------------------------

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

const COMMANDS: Record<string, { help: string; run: (args: readonly string[], out: Output) => Promise<number> }> = {
  explain: { help: EXPLAIN_HELP, run: explainCommand },
  stats: { help: STATS_HELP, run: statsCommand },
  report: { help: REPORT_HELP, run: reportCommand },
  watch: { help: WATCH_HELP, run: watchCommand },
  decode: { help: DECODE_HELP, run: decodeCommand },
  install: { help: INSTALL_HELP, run: installCommand },
  generate: { help: GENERATE_HELP, run: generateCommand },
  compare: { help: COMPARE_HELP, run: compareCommand },
};

async function dispatch(argv: readonly string[], out: Output): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) throw new UsageError("no command given");
  if (cmd === "-h" || cmd === "--help") {
    out.write(MAIN_HELP);
    return EXIT.ok;
  }
  if (cmd === "-V" || cmd === "--version") {
    out.write(`pgwire ${version()}\n`);
    return EXIT.ok;
  }
  if (cmd === "help") {
    const topic = rest[0];
    if (topic === undefined) out.write(MAIN_HELP);
    else if (COMMANDS[topic]) out.write(COMMANDS[topic].help);
    else throw new UsageError(`unknown command '${topic}'`);
    return EXIT.ok;
  }
  if (cmd.startsWith("-")) throw new UsageError(`unknown option '${cmd}'`);
  const c = COMMANDS[cmd];
  if (!c) throw new UsageError(`unknown command '${cmd}'`);
  return c.run(rest, out);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** Runs the command line and returns the exit status; writes to stdout and stderr. */
export async function main(argv: readonly string[]): Promise<number> {
  const out = new Output(process.stdout);
  let status: number;
  let message: string | undefined;
  try {
    status = await dispatch(argv, out);
  } catch (e) {
    if (e instanceof UsageError) {
      status = EXIT.usage;
      message = `${e.message} (see 'pgwire ${e.command ? `${e.command} ` : ""}--help')`;
    } else if (e instanceof CaptureError) {
      status = EXIT.input;
      message = oneLine(e.message);
    } else {
      status = EXIT.internal;
      message = `internal error: ${oneLine(e instanceof Error ? e.message : String(e))}`;
      if (process.env.PGWIRE_DEBUG === "1" && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    }
  }
  // What was decoded before an error is written first, then the error line.
  await out.flush();
  if (out.error && !message) {
    status = EXIT.input;
    message = `cannot write output: ${oneLine(out.error.message)}`;
  }
  if (message) process.stderr.write(`pgwire: ${message}\n`);
  return status;
}

/** Entry point for bin/pgwire.cjs. */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await main(argv);
}

// Also runnable directly: npx tsx src/cli.ts decode FILE
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
