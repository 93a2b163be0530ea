// npm run bench [-- --reps N] [-- --dir DIR] [-- --no-memory] [-- --no-releases] [-- --compare-1g]
// [-- --cli-only]:
// the benchmark, measured side by side in one run; the results go into docs/benchmarks.md
// (between its markers).
//
// Captures (made once by scripts/bench-capture.sh, as root, into DIR; default tmp/bench):
//   pgbench.pcapng  pgbench -M extended and -M prepared, 4 clients (>= 200,000 packets)
//   copy.pcapng     pgbench -i (COPY-heavy)
//   big-100M.pcapng, big-1G.pcapng: pgbench.pcapng repeated, each copy's client on its own address
// Measured:
// - tshark with the built-in pgsql and with pgwire.lua, alternately, N times each (minimum and
//   median seconds, peak memory): summary, -V, -T fields -e X.query, -Y X, -2 -Y X, on pgbench and
//   copy; summary and -Y once on big-1G (not with --no-memory). With the host's tshark, and with
//   Wireshark 4.6 (Lua 5.4) from its chroot (scripts/wireshark-releases.sh) unless --no-releases or
//   not built.
// - tshark with no PostgreSQL dissector (the floor), summary.
// - The TS decoder over the files, with every field and in the analyses' selective mode;
//   pg-protocol's Parser (node pg's) and the TS decoder over the same reassembled server byte
//   streams; the TS decoder's peak memory on the 100 MB and 1 GB files.
// - The command line as shipped (dist/cli.js, npm run build): `pgwire stats` and `pgwire explain`
//   on pgbench.pcapng and (not with --no-memory) big-100M and big-1G: seconds, MB/s, peak memory.
// - `pgwire compare`'s peak memory on pgbench.pcapng (and on big-1G with --compare-1g: hours).
// The TS side runs from an esbuild bundle of scripts/bench-ts.ts in a child process.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PcapngWriter, readCapture } from "../src/capture/pcap.ts";
import { release, releaseState, tsharkCommand } from "../test/helpers/releases.ts";

const ROOT = join(import.meta.dirname, "..");
const PLUGIN = join(ROOT, "dissector", "pgwire.lua");
const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    dir: { type: "string", default: join(ROOT, "tmp", "bench") },
    "no-memory": { type: "boolean", default: false },
    "no-releases": { type: "boolean", default: false },
    "compare-1g": { type: "boolean", default: false },
    "cli-only": { type: "boolean", default: false },
  },
});
const REPS = Number(values.reps);
const DIR = values.dir as string;

function log(s: string): void {
  process.stderr.write(`[bench] ${s}\n`);
}

// ---------------------------------------------------------------------------------------------
// Captures

function ensureCaptures(): void {
  if (existsSync(join(DIR, "pgbench.pcapng")) && existsSync(join(DIR, "copy.pcapng"))) return;
  log(`recording the captures into ${DIR} (scripts/bench-capture.sh)`);
  mkdirSync(DIR, { recursive: true });
  execFileSync("bash", [join(ROOT, "scripts", "bench-capture.sh"), DIR, "2000", "10"], { stdio: "inherit" });
}

/**
 * `src` repeated until the file reaches `bytes`: copy k moves the client of every connection to
 * 10.(k/250).(k%250).2 (the server stays), and its times after the previous copy's.
 */
async function replicate(src: string, out: string, bytes: number): Promise<void> {
  if (existsSync(out) && statSync(out).size >= bytes) return;
  log(`writing ${out}`);
  const pkts = [];
  for await (const p of readCapture(src)) pkts.push(p);
  if (pkts.length === 0 || pkts[0].linkType !== 1) throw new Error(`${src}: expected Ethernet frames`);
  const span = pkts[pkts.length - 1].time - pkts[0].time + 1;
  const { createWriteStream } = await import("node:fs");
  const stream = createWriteStream(out);
  let written = 0;
  const write = (b: Uint8Array) =>
    new Promise<void>((res) => {
      written += b.length;
      if (stream.write(b)) res();
      else stream.once("drain", () => res());
    });
  for (let k = 0; written < bytes; k++) {
    const w = new PcapngWriter(1);
    for (const p of pkts) {
      const d = Uint8Array.from(p.data);
      // IPv4 after a 14-byte Ethernet header: source at 26, destination at 30, TCP ports at 34/36.
      const sport = (d[34] << 8) | d[35];
      const at = sport === 5432 ? 30 : 26;
      d[at] = 10;
      d[at + 1] = Math.floor(k / 250) % 250;
      d[at + 2] = k % 250;
      d[at + 3] = 2;
      w.addPacket(p.time + k * span, d);
    }
    const buf = w.toBuffer();
    // Every copy is a whole pcapng file; from the second on, drop its section header and interface.
    await write(k === 0 ? buf : buf.subarray(headerLength(buf)));
  }
  await new Promise<void>((res) => stream.end(() => res()));
}

/** The length of a pcapng file's Section Header Block and first Interface Description Block. */
function headerLength(buf: Uint8Array): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shb = dv.getUint32(4, true);
  const idb = dv.getUint32(shb + 4, true);
  return shb + idb;
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Stat {
  min: number;
  median: number;
}

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
}

interface Run {
  seconds: number;
  /** Peak resident set (VmHWM) of the process, MB. */
  peakMB: number;
}

/**
 * A process's peak resident set (VmHWM, kB), read from /proc every `ms` while it runs (VmHWM only
 * grows, so the last reading is the peak, up to the last interval); stop() ends the watch.
 */
function watchPeak(pid: number | undefined, ms: number): { stop: () => number } {
  let peakKB = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peakKB = Math.max(peakKB, Number(m[1]));
    } catch {
      // It has just exited.
    }
  };
  const timer = setInterval(sample, ms);
  return {
    stop: () => {
      clearInterval(timer);
      return peakKB;
    },
  };
}

/**
 * Runs a command (its output thrown away) and measures its wall time and peak memory: VmHWM read
 * from /proc every 50 ms (it only grows; a release's tshark is reached through exec's only, so the
 * process is the same from env to tshark, and VmHWM is tshark's own).
 */
function run(cmd: readonly string[], args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd[0], [...cmd.slice(1), ...args], { stdio: ["ignore", "ignore", "pipe"], env });
    let err = "";
    const peak = watchPeak(p.pid, 50);
    p.stderr.on("data", (c) => {
      err += c;
    });
    p.on("error", reject);
    p.on("close", (code) => {
      const peakKB = peak.stop();
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) reject(new Error(`${cmd.join(" ")} ${args.join(" ")}: exit ${code}: ${err}`));
      else if (/Lua Error|lua.*error/i.test(err)) reject(new Error(`Lua error: ${err}`));
      else resolve({ seconds, peakMB: peakKB / 1024 });
    });
  });
}

/** A tshark to measure: the host's, or a Debian release's in its chroot (test/helpers/releases.ts). */
interface Tshark {
  label: string;
  cmd: string[];
}

/** The modes of issue 12, with the targets (time and memory, as ratios to the built-in). */
const MODES = [
  { key: "summary", label: "summary `-r`", args: (_p: string) => [] as string[], target: 2.5 },
  { key: "V", label: "`-V`", args: (_p: string) => ["-V"], target: 2.5 },
  {
    key: "fields",
    label: "`-T fields -e X.query`",
    args: (p: string) => ["-T", "fields", "-e", `${p}.query`],
    target: 3,
  },
  { key: "Y", label: "`-Y X`", args: (p: string) => ["-Y", p], target: 3 },
  { key: "2Y", label: "`-2 -Y X`", args: (p: string) => ["-2", "-Y", p], target: 3 },
] as const;
const MEMORY_TARGET = 1.5;

interface Pair {
  builtin: Stat;
  pgwire: Stat;
  builtinMB: number;
  pgwireMB: number;
}

/**
 * The built-in and the plugin in one mode, alternately (built-in, plugin, built-in, ...), so that
 * both see the machine as it is at the time; `reps` runs each.
 */
async function pair(t: Tshark, file: string, mode: (typeof MODES)[number], reps: number): Promise<Pair> {
  const b: Run[] = [];
  const w: Run[] = [];
  for (let i = 0; i < reps; i++) {
    b.push(await run(t.cmd, ["-n", "-r", file, ...mode.args("pgsql")]));
    w.push(await run(t.cmd, ["-n", "-X", `lua_script:${PLUGIN}`, "-r", file, ...mode.args("pgwire")]));
  }
  return {
    builtin: stat(b.map((r) => r.seconds)),
    pgwire: stat(w.map((r) => r.seconds)),
    builtinMB: Math.max(...b.map((r) => r.peakMB)),
    pgwireMB: Math.max(...w.map((r) => r.peakMB)),
  };
}

/** One row of the tshark table, the targets checked. */
function pairRow(capture: string, mode: (typeof MODES)[number], r: Pair): string {
  const t = r.pgwire.min / r.builtin.min;
  const m = r.pgwireMB / r.builtinMB;
  const ok = (x: number, target: number) => `${x.toFixed(2)} ${x <= target ? "✓" : "✗"}`;
  return `| ${capture} | ${mode.label} | ${fmt(r.builtin)} | ${fmt(r.pgwire)} | ${ok(t, mode.target)} (≤ ${mode.target}) | ${r.builtinMB.toFixed(0)} | ${r.pgwireMB.toFixed(0)} | ${ok(m, MEMORY_TARGET)} |`;
}

const PAIR_HEAD = [
  "| capture | mode | built-in s (min / median) | pgwire s | time ratio (target) | built-in MB | pgwire MB | memory ratio (≤ 1.5) |",
  "|---|---|---|---|---|---|---|---|",
];

async function timeTshark(args: string[]): Promise<Stat> {
  const xs: number[] = [];
  for (let i = 0; i < REPS; i++) xs.push((await run(["tshark"], ["-n", ...args])).seconds);
  return stat(xs);
}

/** The TS side, from an esbuild bundle of scripts/bench-ts.ts, in a child process. */
let bundle = "";
async function tsBench<T>(...args: string[]): Promise<T> {
  if (!bundle) {
    bundle = join(DIR, "bench-ts.mjs");
    const { build } = await import("esbuild");
    await build({
      entryPoints: [join(ROOT, "scripts", "bench-ts.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: bundle,
      logLevel: "warning",
    });
  }
  const out = execFileSync(process.execPath, [bundle, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split("\n").pop() as string) as T;
}

/**
 * `pgwire compare`'s peak memory, one row per capture: the command line (bin/pgwire.cjs, under tsx
 * as users run it) in a child process, whose own high-water mark (VmHWM) is read from /proc while
 * it runs; the tshark runs it starts are its children and not counted. Its time is mostly
 * tshark's, writing PDML with the plugin.
 */
async function compareMemory(files: string[]): Promise<string[]> {
  const rows = ["| capture | MB | frames compared | peak RSS (MB) | seconds | result |", "|---|---|---|---|---|---|"];
  for (const f of files) {
    log(`pgwire compare peak memory on ${f}`);
    const t0 = performance.now();
    const p = spawn(process.execPath, [join(ROOT, "bin", "pgwire.cjs"), "compare", f], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (c) => {
      out += c;
    });
    p.stderr.on("data", (c) => {
      out += c;
    });
    const peak = watchPeak(p.pid, 200);
    const code = await new Promise<number | null>((resolve) => p.on("close", resolve));
    const peakKB = peak.stop();
    const seconds = (performance.now() - t0) / 1000;
    const frames = /compared (\d+) frames/.exec(out)?.[1] ?? "?";
    const result = code === 0 ? "agree" : (out.trim().split("\n").pop() ?? `exit ${code}`);
    rows.push(
      `| ${f.split("/").pop()} | ${(statSync(f).size / 1e6).toFixed(0)} | ${frames} | ${(peakKB / 1024).toFixed(0)} | ${seconds.toFixed(0)} | ${result} |`,
    );
  }
  return rows;
}

/** What `pgwire explain` and `pgwire stats` must read per second of wall time (issue 13). */
const CLI_TARGET = 60;

/**
 * `pgwire stats` and `pgwire explain` as users run the package (dist/cli.js, built now), their
 * output thrown away: REPS runs on files under 200 MB, one on bigger ones.
 */
async function commandLine(files: string[]): Promise<string[]> {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs")], { stdio: "ignore" });
  const cli = [process.execPath, join(ROOT, "dist", "cli.js")];
  const rows = [
    "| capture | MB | command | s (min / median) | MB/s | peak RSS (MB) | ≥ 60 MB/s |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const f of files) {
    const name = f.split("/").pop() as string;
    const mb = statSync(f).size / 1e6;
    for (const cmd of ["stats", "explain"]) {
      log(`pgwire ${cmd} on ${name}`);
      const runs: Run[] = [];
      // The 1 GB capture twice (a run takes 15-20 s): one run alone is at the mercy of the
      // machine's drift, which is larger than the steps it measures.
      for (let i = 0; i < (mb < 200 ? REPS : Math.min(REPS, 2)); i++) runs.push(await run(cli, [cmd, f]));
      const s = stat(runs.map((r) => r.seconds));
      const rate = mb / s.min;
      rows.push(
        `| ${name} | ${mb.toFixed(0)} | \`${cmd}\` | ${fmt(s)} | ${rate.toFixed(1)} | ${Math.max(...runs.map((r) => r.peakMB)).toFixed(0)} | ${rate >= CLI_TARGET ? "✓" : "✗"} |`,
      );
    }
  }
  // Start-up: `pgwire --version` as installed (bin/pgwire.cjs) against Node doing nothing.
  const startup = async (args: string[], env?: NodeJS.ProcessEnv) => {
    const xs: number[] = [];
    for (let i = 0; i < 20; i++) xs.push((await run([process.execPath], args, env)).seconds * 1000);
    return stat(xs);
  };
  const both = async (env?: NodeJS.ProcessEnv) => {
    const node = await startup(["-e", "0"], env);
    const version = await startup([join(ROOT, "bin", "pgwire.cjs"), "--version"], env);
    return (
      `\`pgwire --version\` ${version.min.toFixed(0)} / ${version.median.toFixed(0)} ` +
      `${version.min < 100 ? "✓" : "✗"} (target < 100), \`node -e 0\` ${node.min.toFixed(0)} / ${node.median.toFixed(0)}`
    );
  };
  log("start-up: pgwire --version and node -e 0");
  rows.push("", `Start-up, 20 runs each, milliseconds (min / median): ${await both()}.`);
  // NODE_EXTRA_CA_CERTS makes every Node process load that file and build its certificate store
  // before it runs any code (about 45 ms on the machine of docs/benchmarks.md): measured without
  // it too, so that the table tells Node's cost from pgwire's.
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    rows.push(`Without NODE_EXTRA_CA_CERTS (set here): ${await both(env)}.`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

const fmt = (s: Stat) => `${s.min.toFixed(2)} / ${s.median.toFixed(2)}`;
const ratio = (a: Stat, b: Stat) => (a.min / b.min).toFixed(2);

async function main(): Promise<void> {
  ensureCaptures();
  const pgbench = join(DIR, "pgbench.pcapng");
  if (values["cli-only"]) {
    // Only the command line, printed (docs/benchmarks.md is left as it is).
    const big = [join(DIR, "big-100M.pcapng"), join(DIR, "big-1G.pcapng")].filter((f) => existsSync(f));
    process.stdout.write(`${(await commandLine([pgbench, ...big])).join("\n")}\n`);
    return;
  }
  const copy = join(DIR, "copy.pcapng");
  const files = [pgbench, copy];
  const lines: string[] = [];
  const rows: string[] = [];
  const packets = async (f: string) => {
    let n = 0;
    for await (const _ of readCapture(f)) n++;
    return n;
  };

  const tsharks: Tshark[] = [{ label: "host", cmd: ["tshark"] }];
  if (!values["no-releases"]) {
    const r = release("4.6");
    const st = releaseState(r);
    if (st.ready) tsharks.push({ label: `Wireshark ${st.tshark} (Lua ${st.lua})`, cmd: tsharkCommand(r) });
    else log(`Wireshark 4.6 not measured: ${st.reason}`);
  }
  const pairs = new Map<string, Pair>();
  const tsharkTables: string[] = [];
  for (const t of tsharks) {
    const version = execFileSync(t.cmd[0], [...t.cmd.slice(1), "-v"], { encoding: "utf8" }).split("\n")[0];
    const rows = [...PAIR_HEAD];
    for (const f of files) {
      const name = f.split("/").pop() as string;
      for (const mode of MODES) {
        log(`${t.label}: ${name}, ${mode.label}`);
        const r = await pair(t, f, mode, REPS);
        pairs.set(`${t.label} ${name} ${mode.key}`, r);
        rows.push(pairRow(name, mode, r));
      }
    }
    if (t.label === "host" && !values["no-memory"]) {
      const big = join(DIR, "big-1G.pcapng");
      await replicate(pgbench, big, 1e9);
      for (const mode of MODES.filter((m) => m.key === "summary" || m.key === "Y")) {
        log(`${t.label}: big-1G.pcapng, ${mode.label}`);
        rows.push(pairRow("big-1G.pcapng", mode, await pair(t, big, mode, 1)));
      }
    }
    tsharkTables.push(`#### ${version}\n\n${rows.join("\n")}`);
  }

  for (const f of files) {
    const name = f.split("/").pop() as string;
    const r: Record<string, Stat> = {};
    r.floor = await timeTshark(["-r", f, "--disable-protocol", "pgsql"]);
    r.builtin = (pairs.get(`host ${name} summary`) as Pair).builtin;
    r.pgwire = (pairs.get(`host ${name} summary`) as Pair).pgwire;
    r.pgwireV = (pairs.get(`host ${name} V`) as Pair).pgwire;
    log(`TS decoder on ${name}`);
    const ts = await tsBench<{ seconds: number[]; messages: number }>("decode", f, String(REPS));
    r.ts = stat(ts.seconds);
    log(`TS decoder on ${name}, the analyses' fields`);
    r.tsSelect = stat((await tsBench<{ seconds: number[] }>("decode", f, String(REPS), "select")).seconds);
    const size = statSync(f).size / 1e6;
    rows.push(
      `| ${name} | ${await packets(f)} | ${size.toFixed(1)} | ${fmt(r.floor)} | ${fmt(r.builtin)} | ${fmt(r.pgwire)} | ${ratio(r.pgwire, r.builtin)} |`,
    );
    lines.push(
      `| ${name} | ${fmt(r.ts)} | ${(size / r.ts.min).toFixed(1)} | ${Math.round(ts.messages / r.ts.min)} | ${fmt(r.tsSelect)} | ${(size / r.tsSelect.min).toFixed(1)} | ${(r.pgwire.min / r.ts.min).toFixed(1)} | ${(r.pgwireV.min / r.ts.min).toFixed(1)} |`,
    );
  }

  log("pg-protocol and the TS decoder on the server byte streams of pgbench.pcapng");
  const pr = await tsBench<{
    pgProtocol: number[];
    ts: number[];
    bytes: number;
    pgMessages: number;
    tsMessages: number;
    fields: number;
  }>("parsers", pgbench, String(REPS));
  const p = { pgProtocol: stat(pr.pgProtocol), ts: stat(pr.ts), bytes: pr.bytes };

  const mem: string[] = [];
  if (!values["no-memory"]) {
    for (const [label, size] of [
      ["100M", 100e6],
      ["1G", 1e9],
    ] as const) {
      const out = join(DIR, `big-${label}.pcapng`);
      await replicate(pgbench, out, size);
      log(`TS decoder peak memory on ${out}`);
      type Mem = { peakMB: number; seconds: number; messages: number };
      const m = await tsBench<Mem>("memory", out);
      mem.push(
        `| big-${label}.pcapng | ${(statSync(out).size / 1e6).toFixed(0)} | ${m.messages} | ${m.peakMB.toFixed(0)} | ${m.seconds.toFixed(1)} |`,
      );
    }
  }

  const cliTable = await commandLine(
    values["no-memory"] ? [pgbench] : [pgbench, join(DIR, "big-100M.pcapng"), join(DIR, "big-1G.pcapng")],
  );

  const compareTable = await compareMemory(values["compare-1g"] ? [pgbench, join(DIR, "big-1G.pcapng")] : [pgbench]);

  const tsharkVersion = execFileSync("tshark", ["-v"], { encoding: "utf8" }).split("\n")[0];
  // tshark -v says "with Lua" only: ask the embedded Lua itself.
  const probe = join(DIR, "lua-version.lua");
  writeFileSync(probe, 'io.stdout:write("LUA=" .. _VERSION .. "\\n")\n');
  const luaVersion =
    /LUA=Lua ([0-9.]+)/.exec(
      execFileSync("tshark", ["-X", `lua_script:${probe}`, "-r", pgbench, "-c", "1"], { encoding: "utf8" }),
    )?.[1] ?? "?";
  const pgVersion = JSON.parse(readFileSync(join(ROOT, "node_modules", "pg-protocol", "package.json"), "utf8")).version;
  const table = [
    "| capture | packets | MB | floor | built-in pgsql | pgwire.lua | pgwire / built-in |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ];
  const tsTable = [
    "| capture | every field s (min / median) | MB/s | messages/s | analyses' fields s | MB/s | tshark+pgwire / TS (summary) | tshark+pgwire -V / TS |",
    "|---|---|---|---|---|---|---|---|",
    ...lines,
  ];
  const parserTable = [
    "| on the same bytes | s (min / median) | MB/s | messages |",
    "|---|---|---|---|",
    `| pg-protocol ${pgVersion} Parser | ${fmt(p.pgProtocol)} | ${(p.bytes / 1e6 / p.pgProtocol.min).toFixed(1)} | ${pr.pgMessages} |`,
    `| TS decoder (every field: ${pr.fields}) | ${fmt(p.ts)} | ${(p.bytes / 1e6 / p.ts.min).toFixed(1)} | ${pr.tsMessages} |`,
  ];
  const memTable = ["| capture | MB | messages | peak RSS (MB) | seconds |", "|---|---|---|---|---|", ...mem];
  const machine = `${cpus()[0]?.model ?? "?"}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const report = `## Results (${new Date().toISOString().slice(0, 10)})

Machine: ${machine}. ${tsharkVersion} (Lua ${luaVersion}), Node ${process.version}. ${REPS} runs each,
seconds as minimum / median. Commands: \`npm run bench\` (scripts/bench.ts), captures from
\`scripts/bench-capture.sh\`.

### tshark: the built-in pgsql and pgwire.lua, mode by mode

X is \`pgsql\` for the built-in, \`pgwire\` for the plugin. Seconds of wall time, memory the peak
resident set of tshark; ✓ where the issue's target is met.

${tsharkTables.join("\n\n")}

### The floor: no PostgreSQL dissector (host's tshark, summary)

${table.join("\n")}

### The TS decoder

${tsTable.join("\n")}

### Parsers on the same reassembled server byte streams (pgbench.pcapng)

${parserTable.join("\n")}

### The command line: explain and stats (target ≥ ${CLI_TARGET} MB/s)

${cliTable.join("\n")}

### The TS decoder's peak memory

${mem.length > 0 ? memTable.join("\n") : "Not measured in this run (`--no-memory`)."}

### pgwire compare's peak memory

${compareTable.join("\n")}
`;
  process.stdout.write(`${report}\n`);
  writeFileSync(join(DIR, "results.md"), report);
  // docs/benchmarks.md: the results replace what stands between its markers; the rest is prose.
  const doc = join(ROOT, "docs", "benchmarks.md");
  const start = "<!-- results: written by npm run bench -->";
  const end = "<!-- end of results -->";
  const text = existsSync(doc) ? readFileSync(doc, "utf8") : `# Benchmarks\n\n${start}\n${end}\n`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${doc} has no results markers`);
  writeFileSync(doc, `${text.slice(0, a + start.length)}\n\n${report}\n${text.slice(b)}`);
  // Its tables aligned as the linter wants them (npm run lint checks docs too).
  execFileSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", doc], { stdio: "ignore" });
  log(`results written to ${doc} (and ${join(DIR, "results.md")})`);
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
