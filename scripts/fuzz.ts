// npm run fuzz [-- --seeds N] [-- --only NAME]: the long fuzz run. Every fixture capture with
// bytes changed by editcap -E (seeds 1..N at four rates), and re-segmented (seeds 1..N, random
// segment sizes, out-of-order and duplicated segments); the plugin under tshark and the TS decoder
// must not fail and must agree (test/tools/fuzz.ts). A short run of the same is in test/decoder/robust.test.ts.
// Failing inputs are kept, and their paths printed; the exit status is 1 when anything failed.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { portsOf } from "../captures/ports.ts";
import { editcapFuzz, type FuzzOutcome, resegmentFuzz } from "../test/tools/fuzz.ts";

const ROOT = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { seeds: { type: "string", default: "10" }, only: { type: "string" } },
});
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1) {
  console.error("fuzz: --seeds must be a positive integer");
  process.exit(2);
}

const inputs = ["", "synthetic", "values"]
  .flatMap((d) =>
    readdirSync(join(ROOT, "captures", d))
      .filter((f) => f.endsWith(".pcapng"))
      .map((f) => join(ROOT, "captures", d, f)),
  )
  .filter((f) => !values.only || basename(f).includes(values.only));

const dir = mkdtempSync(join(tmpdir(), "pgwire-fuzz-"));
const RATES = ["0.001", "0.01", "0.05", "0.2"];
let runs = 0;
let failures = 0;
const started = Date.now();

function report(what: string, out: string, r: FuzzOutcome): void {
  runs++;
  if (r.problems.length === 0) {
    rmSync(out, { force: true });
    return;
  }
  failures++;
  console.log(`FAIL ${what} (kept: ${out})`);
  for (const p of r.problems.slice(0, 5)) console.log(`  ${p.split("\n").join("\n  ")}`);
}

for (const file of inputs) {
  const ports = portsOf(basename(file));
  const name = basename(file, ".pcapng");
  for (let seed = 1; seed <= seeds; seed++) {
    for (const rate of RATES) {
      const out = join(dir, `${name}-E${rate}-s${seed}.pcapng`);
      report(`${name} editcap -E ${rate} --seed ${seed}`, out, await editcapFuzz(file, out, seed, rate, ports));
    }
    // The heuristic needs a whole startup packet in one segment: ports name the non-default ones.
    const opts = { seed, maxSegment: [1, 8, 64, 1500][seed % 4], reorder: 0.25, duplicate: 0.1 };
    const out = join(dir, `${name}-reseg-s${seed}.pcapng`);
    const rports = name === "ipv6-and-ports" ? [5432, 5433] : ports;
    // Resegmenting the bad-data captures changes what they are (snaplen cuts, garbage between
    // connections): only the well-formed ones.
    if (!["truncated", "bad-lengths", "not-postgres"].includes(name)) {
      report(`${name} resegmented ${JSON.stringify(opts)}`, out, await resegmentFuzz(file, out, opts, rports));
    }
  }
  console.log(`${name}: ${runs} runs so far, ${failures} failed, ${Math.round((Date.now() - started) / 1000)} s`);
}

console.log(`fuzz: ${runs} runs over ${inputs.length} captures, ${failures} failed`);
if (failures === 0) rmSync(dir, { recursive: true, force: true });
process.exit(failures === 0 ? 0 : 1);
