// The decoder's selective mode (DecodeOptions.select) against its full mode: the analyses that
// run on the selection (explain, stats, report, watch) must find exactly what they find when every
// field is decoded, on every recorded and spec-built capture; and the selection must decode
// less, or it is not worth having. stats and watch select less again (COUNTING_FIELDS): the
// numbers of stats must be the same.

import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANALYSIS_FIELDS, Analyzer, COUNTING_FIELDS } from "../../src/analysis/analyzer.ts";
import { Stats } from "../../src/analysis/stats.ts";
import { readCaptureBatches } from "../../src/capture/pcap.ts";
import { type DecodeOptions, decodeSteps } from "../../src/pipeline.ts";
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
