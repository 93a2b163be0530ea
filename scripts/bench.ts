// npm run bench [-- --reps N] [-- --dir DIR] [-- --no-memory]: the benchmark, measured
// side by side in one run; the results go into docs/benchmarks.md (between its markers).
//
// Captures (made once by scripts/bench-capture.sh, as root, into DIR; default tmp/bench):
//   pgbench.pcapng  pgbench -M extended and -M prepared, 4 clients (>= 200,000 packets)
//   copy.pcapng     pgbench -i (COPY-heavy)
//   big-100M.pcapng, big-1G.pcapng: pgbench.pcapng repeated, each copy's client on its own address
// Measured, each N times (minimum and median): tshark summary and -V with no PostgreSQL dissector
// (the floor), with the built-in pgsql and with pgwire.lua; tshark -T fields -e pgwire.query; the TS
// decoder over the files; pg-protocol's Parser (node pg's) and the TS decoder over the same
// reassembled server byte streams; the TS decoder's peak memory on the 100 MB and 1 GB files;
// `pgwire compare`'s peak memory on pgbench.pcapng (and the 1 GB file). The TS side runs from an
// esbuild bundle of scripts/bench-ts.ts in a child process.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PcapngWriter, readCapture } from "../src/pcap.ts";

const ROOT = join(import.meta.dirname, "..");
const PLUGIN = join(ROOT, "dissector", "pgwire.lua");
const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    dir: { type: "string", default: join(ROOT, "tmp", "bench") },
    "no-memory": { type: "boolean", default: false },
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

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (c) => {
      err += c;
    });
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err}`));
      else if (/Lua Error|lua.*error/i.test(err)) reject(new Error(`Lua error: ${err}`));
      else resolve((performance.now() - t0) / 1000);
    });
  });
}

async function timeTshark(args: string[]): Promise<Stat> {
  const xs: number[] = [];
  for (let i = 0; i < REPS; i++) xs.push(await run("tshark", ["-n", ...args]));
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
 * `pgwire compare`'s peak memory, one row per capture: the command line (bin/pgwire.js, under tsx
 * as users run it) in a child process, whose own high-water mark (VmHWM) is read from /proc while
 * it runs; the tshark runs it starts are its children and not counted. Its time is mostly
 * tshark's, writing PDML with the plugin.
 */
async function compareMemory(files: string[]): Promise<string[]> {
  const rows = ["| capture | MB | frames compared | peak RSS (MB) | seconds | result |", "|---|---|---|---|---|---|"];
  for (const f of files) {
    log(`pgwire compare peak memory on ${f}`);
    const t0 = performance.now();
    const p = spawn(process.execPath, [join(ROOT, "bin", "pgwire.js"), "compare", f], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (c) => {
      out += c;
    });
    p.stderr.on("data", (c) => {
      out += c;
    });
    let peakKB = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"));
        if (m) peakKB = Math.max(peakKB, Number(m[1]));
      } catch {
        // It has just exited.
      }
    };
    const timer = setInterval(sample, 200);
    const code = await new Promise<number | null>((resolve) => p.on("close", resolve));
    clearInterval(timer);
    const seconds = (performance.now() - t0) / 1000;
    const frames = /compared (\d+) frames/.exec(out)?.[1] ?? "?";
    const result = code === 0 ? "agree" : (out.trim().split("\n").pop() ?? `exit ${code}`);
    rows.push(
      `| ${f.split("/").pop()} | ${(statSync(f).size / 1e6).toFixed(0)} | ${frames} | ${(peakKB / 1024).toFixed(0)} | ${seconds.toFixed(0)} | ${result} |`,
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

const fmt = (s: Stat) => `${s.min.toFixed(2)} / ${s.median.toFixed(2)}`;
const ratio = (a: Stat, b: Stat) => (a.min / b.min).toFixed(2);

async function main(): Promise<void> {
  ensureCaptures();
  const pgbench = join(DIR, "pgbench.pcapng");
  const copy = join(DIR, "copy.pcapng");
  const files = [pgbench, copy];
  const lines: string[] = [];
  const rows: string[] = [];
  const results: Record<string, Record<string, Stat>> = {};
  const packets = async (f: string) => {
    let n = 0;
    for await (const _ of readCapture(f)) n++;
    return n;
  };

  for (const f of files) {
    const name = f.split("/").pop() as string;
    log(`tshark on ${name}`);
    const r: Record<string, Stat> = {};
    r.floor = await timeTshark(["-r", f, "--disable-protocol", "pgsql"]);
    r.builtin = await timeTshark(["-r", f]);
    r.pgwire = await timeTshark(["-X", `lua_script:${PLUGIN}`, "-r", f]);
    r.floorV = await timeTshark(["-r", f, "--disable-protocol", "pgsql", "-V"]);
    r.builtinV = await timeTshark(["-r", f, "-V"]);
    r.pgwireV = await timeTshark(["-X", `lua_script:${PLUGIN}`, "-r", f, "-V"]);
    r.builtinQ = await timeTshark(["-r", f, "-T", "fields", "-e", "pgsql.query"]);
    r.pgwireQ = await timeTshark(["-X", `lua_script:${PLUGIN}`, "-r", f, "-T", "fields", "-e", "pgwire.query"]);
    log(`TS decoder on ${name}`);
    const ts = await tsBench<{ seconds: number[]; messages: number }>("decode", f, String(REPS));
    r.ts = stat(ts.seconds);
    results[name] = r;
    const size = statSync(f).size / 1e6;
    rows.push(
      `| ${name} | ${await packets(f)} | ${size.toFixed(1)} | ${fmt(r.floor)} | ${fmt(r.builtin)} | ${fmt(r.pgwire)} | ${ratio(r.pgwire, r.builtin)} | ${fmt(r.floorV)} | ${fmt(r.builtinV)} | ${fmt(r.pgwireV)} | ${ratio(r.pgwireV, r.builtinV)} | ${fmt(r.builtinQ)} | ${fmt(r.pgwireQ)} |`,
    );
    lines.push(
      `| ${name} | ${fmt(r.ts)} | ${(size / r.ts.min).toFixed(1)} | ${Math.round(ts.messages / r.ts.min)} | ${(r.pgwire.min / r.ts.min).toFixed(1)} | ${(r.pgwireV.min / r.ts.min).toFixed(1)} |`,
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

  const compareTable = await compareMemory(values["no-memory"] ? [pgbench] : [pgbench, join(DIR, "big-1G.pcapng")]);

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
    "| capture | packets | MB | floor | built-in pgsql | pgwire.lua | pgwire / built-in | floor -V | built-in -V | pgwire -V | pgwire / built-in (-V) | built-in -e pgsql.query | pgwire -e pgwire.query |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ];
  const tsTable = [
    "| capture | TS decoder s (min / median) | MB/s | messages/s | tshark+pgwire / TS (summary) | tshark+pgwire -V / TS |",
    "|---|---|---|---|---|---|",
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

### tshark: no PostgreSQL dissector (floor), built-in pgsql, pgwire.lua

${table.join("\n")}

### The TS decoder

${tsTable.join("\n")}

### Parsers on the same reassembled server byte streams (pgbench.pcapng)

${parserTable.join("\n")}

### The TS decoder's peak memory

${memTable.join("\n")}

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
  log(`results written to ${doc} (and ${join(DIR, "results.md")})`);
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
