// pgwire stats: the numbers of a whole capture (queries, connections, errors, authentication).

import { COUNTING_FIELDS } from "../analysis/analyzer.ts";
import { CSV_TABLES, Stats, statsCsv, statsText } from "../analysis/stats.ts";
import { analyze } from "./analyze.ts";
import { COLOR_OPTIONS, FILTER_HELP, FILTER_OPTIONS, oneFile, parseArgs, styleFor, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP } from "./command.ts";
import type { Output } from "./output.ts";

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
    COUNTING_FIELDS,
    { messages: false },
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

export const command: Command = { name: "stats", help: STATS_HELP, run: statsCommand };
