// pgwire watch: a live capture with dumpcap, one line per request as it completes.

import { Analyzer, COUNTING_FIELDS } from "../analysis/analyzer.ts";
import { duration } from "../analysis/explain.ts";
import { Stats, statsText } from "../analysis/stats.ts";
import { readCaptureStream } from "../capture/pcap.ts";
import { CaptureError } from "../capture/types.ts";
import { decodeSteps } from "../pipeline.ts";
import { COLOR_OPTIONS, parseArgs, parsePorts, styleFor, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP, onPath } from "./command.ts";
import type { Output } from "./output.ts";

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
    for await (const step of decodeSteps(packets, { ports, keylog, select: COUNTING_FIELDS })) analyzer.step(step);
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

export const command: Command = { name: "watch", help: WATCH_HELP, run: watchCommand };
