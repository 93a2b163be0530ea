// pgwire report: one self-contained HTML file about a capture.

import { renameSync, rmSync, writeFileSync } from "node:fs";
import type { ConnectionRecord, Finding, RequestRecord } from "../analysis/analyzer.ts";
import { plural } from "../analysis/explain.ts";
import { LatencyHistogram, MAX_DIAGRAMS, MAX_TIMELINE, renderReport } from "../analysis/report.ts";
import { Stats } from "../analysis/stats.ts";
import { CaptureError } from "../capture/types.ts";
import { analyze } from "./analyze.ts";
import { FILTER_HELP, FILTER_OPTIONS, oneFile, parseArgs, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP } from "./command.ts";
import type { Output } from "./output.ts";

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

export const command: Command = { name: "report", help: REPORT_HELP, run: reportCommand };
