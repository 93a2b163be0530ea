// The pgwire command line: `pgwire decode` prints the PostgreSQL messages of a capture with the
// TypeScript reference decoder, `pgwire compare` checks the Lua plugin (under tshark) against it.
// Argument parsing is hand-written (args.ts); every user-facing failure is one `pgwire: ...` line
// on stderr. This file is the entry: the top-level help, the table of the commands (one file
// each in this folder) and the dispatch to them, the exit status.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { CaptureError } from "../capture/types.ts";
import { UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP, ROOT } from "./command.ts";
import { command as compare } from "./compare.ts";
import { command as decode } from "./decode.ts";
import { command as explain } from "./explain.ts";
import { command as generate } from "./generate.ts";
import { command as install } from "./install.ts";
import { command as log } from "./log.ts";
import { Output } from "./output.ts";
import { command as report } from "./report.ts";
import { command as stats } from "./stats.ts";
import { command as watch } from "./watch.ts";

export { EXIT };

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
  log FILE       the server log PostgreSQL would have written (for pgBadger)
  decode FILE    print the PostgreSQL messages of a capture (TypeScript reference decoder)
  compare FILE   run the Wireshark Lua plugin under tshark and check it against the decoder
  watch -i IFACE [-p PORT]
                 capture live with dumpcap and print one line per request as it completes;
                 Ctrl-C prints the stats
  install        copy the plugin (--profile: and a PostgreSQL profile) into Wireshark
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

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The commands by name (a Map: a name such as "constructor" is no command). */
const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [explain, stats, report, watch, log, decode, install, generate, compare].map((c) => [c.name, c]),
);

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
    const c = topic === undefined ? undefined : COMMANDS.get(topic);
    if (topic === undefined) out.write(MAIN_HELP);
    else if (c) out.write(c.help);
    else throw new UsageError(`unknown command '${topic}'`);
    return EXIT.ok;
  }
  if (cmd.startsWith("-")) throw new UsageError(`unknown option '${cmd}'`);
  const c = COMMANDS.get(cmd);
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

// Also runnable directly: npx tsx src/cli/main.ts decode FILE
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
