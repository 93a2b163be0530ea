// The decoder's selective mode (DecodeOptions.select) against its full mode: the analyses that
// run on the selection (explain, stats, report, watch) must find exactly what they find when every
// field is decoded, on every recorded and spec-built capture; and the selection must decode
// less, or it is not worth having. stats and watch select less again (COUNTING_FIELDS): the
// numbers of stats must be the same.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { be, fe } from "../../captures/build.ts";
import { ANALYSIS_FIELDS, Analyzer, COUNTING_FIELDS, MAX_KEPT } from "../../src/analysis/analyzer.ts";
import { Stats } from "../../src/analysis/stats.ts";
import { readCaptureBatches } from "../../src/capture/pcap.ts";
import { FIELDS } from "../../src/decoder/index.ts";
import { type DecodeOptions, decodeSteps, type Step, stepDecoder } from "../../src/pipeline.ts";
import { concatBytes } from "../tools/encoder.ts";
import { sessionsToPcapng, TcpSessionBuilder } from "../tools/tcp-sessions.ts";
import { portsOf, REAL_CAPTURES, ROOT } from "./helpers.ts";

// not-postgres.pcapng holds no PostgreSQL: nothing to analyse.
const SYNTHETIC = readdirSync(join(ROOT, "captures", "synthetic"))
  .filter((f) => f.endsWith(".pcapng") && f !== "not-postgres.pcapng")
  .map((f) => join(ROOT, "captures", "synthetic", f));

/**
 * Everything the analyzer reports, in order, as JSON (bytes as hex, cycles cut), and what
 * `pgwire stats` makes of it.
 */
async function analyse(
  file: string,
  opts: DecodeOptions,
): Promise<{ events: string[]; fields: number; stats: unknown }> {
  const events: string[] = [];
  const seen = new WeakSet<object>();
  const json = (x: unknown) =>
    JSON.stringify(x, (_k, v) => {
      if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "(seen)";
        seen.add(v);
      }
      return v;
    });
  const stats = new Stats();
  const a = new Analyzer({
    request: (r, c) => {
      stats.request(r);
      events.push(`request ${c.stream} ${json(r)}`);
    },
    connection: (c, oldest) => {
      stats.connection(c);
      events.push(`connection ${oldest} ${json(c)}`);
    },
  });
  let fields = 0;
  for await (const step of decodeSteps(readCaptureBatches(file), opts)) {
    for (const fr of step.frames) for (const it of fr.items) fields += it.fields.length;
    a.step(step);
  }
  a.end();
  return { events, fields, stats: stats.result() };
}

describe("selective decoding", { timeout: 60_000 }, () => {
  for (const file of [...REAL_CAPTURES, ...SYNTHETIC]) {
    const name = basename(file);
    it(`${name}: the analyses find the same with the analysis fields as with every field`, async () => {
      const opts: DecodeOptions = {
        ports: portsOf(name),
        keylog: name === "tls-keylog.pcapng" ? join(ROOT, "captures", "tls-keylog.keys") : undefined,
      };
      const full = await analyse(file, opts);
      const lean = await analyse(file, { ...opts, select: ANALYSIS_FIELDS });
      expect(full.events.length).toBeGreaterThan(0);
      expect(lean.events).toEqual(full.events);
      expect(lean.fields).toBeLessThan(full.fields);
      // pgwire stats and watch tell no request's parameters, and decode none.
      const counting = await analyse(file, { ...opts, select: COUNTING_FIELDS });
      expect(counting.stats).toEqual(full.stats);
      expect(counting.fields).toBeLessThanOrEqual(lean.fields);
    });
  }
});

// The command line's analyses (src/cli/analyze.ts) narrow a connection's selection once it keeps
// no more requests (AnalyzerListener.requestsKept): the later Binds' parameter values are not
// decoded. What the analyzer keeps must not change.
describe("narrowing a connection's selection", { timeout: 60_000 }, () => {
  const REQUESTS = MAX_KEPT + 100;
  const tmp = mkdtempSync(join(tmpdir(), "pgwire-narrow-"));
  const FILE = join(tmp, "narrow.pcapng");
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const b = new TcpSessionBuilder({
    client: { ip: "10.0.0.2", port: 40000 },
    server: { ip: "10.0.0.1", port: 5432 },
    startTime: 1700000000,
    timeStep: 0.0001,
  }).handshake();
  b.send(true, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "app", database: "shop" } }));
  b.send(false, concatBytes(be("AuthenticationOk", { authtype: 0 }), be("ReadyForQuery", { status: "I" })));
  for (let i = 1; i <= REQUESTS; i++) {
    b.send(
      true,
      concatBytes(
        fe("Parse", { stmt: "", query: "UPDATE items SET n = n + 1 WHERE id = $1", $n: [] }),
        fe("Bind", { portal: "", stmt: "", $nf: [{ pf: 0 }], $np: [{ pv: String(i) }], $nr: [] }),
        fe("Execute", { portal: "", rows: 0 }),
        fe("Sync"),
      ),
    );
    b.send(
      false,
      concatBytes(
        be("ParseComplete"),
        be("BindComplete"),
        be("CommandComplete", { tag: "UPDATE 1" }),
        be("ReadyForQuery", { status: "I" }),
      ),
    );
  }
  b.send(true, fe("Terminate"));
  b.close(true);
  writeFileSync(FILE, sessionsToPcapng([b]));

  /** The connection records (JSON) and the parameter values decoded, narrowed or not. */
  async function run(narrowed: boolean): Promise<{ records: string[]; values: number }> {
    const records: string[] = [];
    let values = 0;
    const dec = await stepDecoder({ select: ANALYSIS_FIELDS });
    const a = new Analyzer({
      connection: (c) => records.push(JSON.stringify(c)),
      requestsKept: (c) => {
        if (narrowed) dec.narrow(c.stream, COUNTING_FIELDS);
      },
    });
    const step = (s: Step) => {
      for (const fr of s.frames)
        for (const it of fr.items) values += it.fields.filter((f) => f.name === FIELDS.paramValue.name).length;
      a.step(s);
    };
    for await (const batch of readCaptureBatches(FILE)) for (const p of batch) step(dec.push(p));
    for (const s of dec.end()) step(s);
    a.end();
    return { records, values };
  }

  it("keeps the same records, and decodes no parameter after the last request kept", async () => {
    const full = await run(false);
    const narrowed = await run(true);
    expect(full.values).toBe(REQUESTS);
    expect(narrowed.values).toBe(MAX_KEPT);
    expect(narrowed.records).toEqual(full.records);
    const c = JSON.parse(full.records[0]);
    expect(c.requests).toHaveLength(MAX_KEPT);
    expect(c.moreRequests).toBe(REQUESTS - MAX_KEPT);
    expect(c.requests[MAX_KEPT - 1].params).toEqual([String(MAX_KEPT)]);
  });
});
