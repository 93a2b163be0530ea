// pgwire log: a capture as the server log PostgreSQL would have written (src/analysis/serverlog.ts).

import { DEFAULT_PREFIX, LOG_FORMATS, type LogFormat, ServerLog } from "../analysis/serverlog.ts";
import { readCaptureBatches } from "../capture/pcap.ts";
import { CaptureError } from "../capture/types.ts";
import { stepDecoder } from "../pipeline.ts";
import { oneFile, parseArgs, parsePorts, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP } from "./command.ts";
import type { Output } from "./output.ts";

const LOG_HELP = `Usage: pgwire log FILE [--format stderr|csvlog|jsonlog] [--prefix FMT] [--port P] [--keylog FILE]

Writes the server log PostgreSQL would have written for the capture's sessions with
log_min_duration_statement = 0, log_connections, log_disconnections and log_error_verbosity =
verbose, in one of its formats (log_destination stderr, csvlog, jsonlog): connection received
and authorized, each statement (simple query; parse, bind and execute with their parameters)
with its duration, errors with their DETAIL, HINT, CONTEXT, LOCATION and STATEMENT, and the
disconnection with the session's time. For pgBadger: pgbadger --prefix 'FMT' on the stderr
output, pgbadger -f csv on a csvlog, pgbadger -f jsonlog on a jsonlog.

Times are the capture's, in UTC; durations are the wire's (from the request to its answer as the
capture saw them), where the server measures its own work. The wire does not carry the LOCATION
of the server's own LOG lines, nor the pid of a session before its BackendKeyData (a login that
fails shows its client port instead).

Options:
  --format F         stderr (default, with --prefix), csvlog or jsonlog, as PostgreSQL 15 writes them
  --prefix FMT       log_line_prefix (default '${DEFAULT_PREFIX}'): %m %t %n %s %p %u %d %a %h %r %l
                     %c %e %b %q %% as PostgreSQL expands them; %i %v %x %Q are left empty
  --port P           server port(s) of PostgreSQL (default 5432; repeat or comma-separate)
  --keylog FILE      TLS session keys (SSLKEYLOGFILE format) to decode TLS connections
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire log captures/seed-md5.pcapng
  pgwire log --format csvlog traffic.pcapng > postgresql.csv
  pgwire log --prefix '%t [%p]: user=%u,db=%d,app=%a ' traffic.pcapng > postgresql.log
`;

async function logCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("log", args, {
    "--format": { key: "format", value: true },
    "--prefix": { key: "prefix", value: true },
    "--port": { key: "port", value: true },
    "--keylog": { key: "keylog", value: true },
  });
  if (p.help) {
    out.write(LOG_HELP);
    return EXIT.ok;
  }
  const file = oneFile("log", p);
  const format = p.options.get("format")?.at(-1) ?? "stderr";
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`unknown format '${format}' (formats: ${LOG_FORMATS.join(", ")})`, "log");
  if (p.options.has("prefix") && format !== "stderr")
    throw new UsageError("--prefix goes with the stderr format", "log");
  const ports = parsePorts("log", p.options.get("port"));
  const keylog = p.options.get("keylog")?.at(-1);
  let lines = 0;
  const write = (line: string) => {
    lines++;
    out.write(`${line}\n`);
  };
  const dec = await stepDecoder({ ports, keylog });
  const prefix = p.options.get("prefix")?.at(-1) ?? DEFAULT_PREFIX;
  const log = new ServerLog(write, prefix, format as LogFormat, (stream) => dec.tlsOf(stream));
  for await (const batch of readCaptureBatches(file)) for (const pkt of batch) log.step(dec.push(pkt));
  for (const s of dec.end()) log.step(s);
  log.end();
  if (lines === 0) {
    throw new CaptureError(
      `no PostgreSQL session in ${file} (server ports ${(ports ?? [5432]).join(",")}; try --port, or --keylog for TLS)`,
    );
  }
  return EXIT.ok;
}

export const command: Command = { name: "log", help: LOG_HELP, run: logCommand };
