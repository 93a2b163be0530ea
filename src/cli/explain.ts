// pgwire explain: each connection's story, then the findings of the whole capture.

import { ANALYSIS_FIELDS, type ConnectionRecord, type Finding, MAX_KEPT } from "../analysis/analyzer.ts";
import { connectionJson, explainConnection, findingsSummary } from "../analysis/explain.ts";
import { analyze } from "./analyze.ts";
import { COLOR_OPTIONS, FILTER_HELP, FILTER_OPTIONS, oneFile, parseArgs, styleFor } from "./args.ts";
import { type Command, EXIT, EXIT_HELP } from "./command.ts";
import { jsonValue } from "./decode.ts";
import type { Output } from "./output.ts";

const EXPLAIN_HELP = `Usage: pgwire explain FILE [--json] [filters]

Tells each PostgreSQL connection's story, top to bottom: the TCP handshake, TLS or not, the
startup (protocol version, user, database, application_name), the authentication method, its
outcome and what it exposed on the wire (cleartext password, MD5 hash and salt, SCRAM, trust),
the server's parameters, each query or statement with its rows, command tag and response time,
errors and notices (severity, SQLSTATE and its name, message, and the server's source file,
line and routine they leak), the notifications NOTIFY delivered (channel, payload, sending
backend), and how the connection ended (Terminate then FIN, or an abrupt close, and by whom).
Connections are told in the order they started, each once it has closed; at most ${MAX_KEPT}
requests and ${MAX_KEPT} notifications each (the rest are counted). Then a summary of the findings
of the whole capture. Times are seconds from the capture's first packet, as tshark's
frame.time_relative (--absolute: UTC dates and times); frames are tshark's frame numbers.

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

/** Closed connections explain holds back to tell them in the order they started. */
const MAX_HELD = 200;

function jsonReplacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array || typeof v === "bigint" ? jsonValue(v) : v;
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
    ANALYSIS_FIELDS,
    // The story tells requests, not each message (connectionJson leaves them out too).
    { messages: false },
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

export const command: Command = { name: "explain", help: EXPLAIN_HELP, run: explainCommand };
