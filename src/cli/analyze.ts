// explain, stats, report: the analysis of a whole capture file (through the filters of args.ts),
// with a progress line on stderr while it runs.

import { statSync } from "node:fs";
import {
  ANALYSIS_FIELDS,
  Analyzer,
  type AnalyzerListener,
  type AnalyzerOptions,
  COUNTING_FIELDS,
} from "../analysis/analyzer.ts";
import { plural } from "../analysis/explain.ts";
import { readCaptureBatches } from "../capture/pcap.ts";
import { CaptureError, type CapturePacket } from "../capture/types.ts";
import { type Step, stepDecoder } from "../pipeline.ts";
import { filterStep, type Parsed, parseFilters, parsePorts } from "./args.ts";

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

interface AnalysisRun {
  t0: number;
  connections: number;
  /** The capture's problem (truncated, ...), reported after what could be read was told. */
  error?: CaptureError;
}

/**
 * Runs the analysis over a capture file; the listener gets requests and connections as they
 * complete. `clock.t0` is set to the capture's first packet's time as soon as it is read.
 * `select`: the fields the analysis reads (COUNTING_FIELDS where no request's parameters are told);
 * `opts`: what the connection records keep (explain and stats tell no message list).
 */
export async function analyze(
  command: string,
  file: string,
  p: Parsed,
  listener: AnalyzerListener,
  clock: { t0?: number } = {},
  select: ReadonlySet<string> = ANALYSIS_FIELDS,
  opts: AnalyzerOptions = {},
): Promise<AnalysisRun> {
  const filters = parseFilters(command, p);
  const ports = parsePorts(command, p.options.get("port"));
  const keylog = p.options.get("keylog")?.at(-1);
  const heuristic = !p.options.has("noHeuristic");
  let connections = 0;
  // TLS sessions: decrypted (their startup was read) or not.
  let tlsOpen = 0;
  let tlsClosed = 0;
  // (A key log it cannot read throws here, before anything is drawn or told.)
  const dec = await stepDecoder({ ports, keylog, heuristic, select });
  const analyzer = new Analyzer(
    {
      ...listener,
      // A connection whose later requests are only counted: their parameter values need not be
      // decoded (explain and report tell the parameters of the requests a connection keeps).
      requestsKept: (c) => {
        if (select === ANALYSIS_FIELDS) dec.narrow(c.stream, COUNTING_FIELDS);
        listener.requestsKept?.(c);
      },
      connection: (c, oldest) => {
        connections++;
        if (c.encryption.tls) {
          if (c.startup) tlsOpen++;
          else tlsClosed++;
        }
        listener.connection?.(c, oldest);
      },
    },
    opts,
  );
  const progress = new Progress(file);
  let t0: number | undefined;
  let error: CaptureError | undefined;
  try {
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
