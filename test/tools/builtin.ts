// The differential against Wireshark's built-in pgsql dissector: per frame the same messages in
// the same order, and in every field both decode (pgsql.X and pgwire.X) the same values.
// Where the built-in is wrong, the difference is listed here with its reason (and in the README).

import { BUILTIN_MISSING, KNOWN_DIFFERENCES } from "../../spec/builtin.ts";
import {
  type CmpFrame,
  type CmpItem,
  parsePdml,
  runTshark,
  type TsharkOptions,
  tsharkArgs,
} from "../../src/compare.ts";

export { BUILTIN_MISSING, KNOWN_DIFFERENCES } from "../../spec/builtin.ts";

export interface BuiltinDiff {
  frames: number;
  messages: number;
  values: number;
  differences: string[];
}

function values(item: CmpItem, name: string): string[] {
  return item.fields.filter((f) => f.name === name).map((f) => f.show);
}

/** Compares the plugin's items with the built-in's, frame by frame. */
export function diffBuiltin(pgwire: Map<number, CmpFrame>, pgsql: Map<number, CmpFrame>, limit = 50): BuiltinDiff {
  const differences: string[] = [];
  let messages = 0;
  let compared = 0;
  const frames = [...new Set([...pgwire.keys(), ...pgsql.keys()])].sort((a, b) => a - b);
  for (const n of frames) {
    if (differences.length >= limit) break;
    // Items pgwire adds for bytes it could not decode have no built-in counterpart.
    const a = (pgwire.get(n)?.items ?? []).filter((i) => {
      const msg = i.fields.find((f) => f.name === "pgwire.msg")?.show;
      return msg !== undefined && !BUILTIN_MISSING.includes(msg);
    });
    const b = pgsql.get(n)?.items ?? [];
    if (a.length !== b.length) {
      differences.push(`frame ${n}: pgwire shows ${a.length} messages, pgsql ${b.length}`);
      continue;
    }
    messages += a.length;
    a.forEach((ia, i) => {
      const ib = b[i];
      const names = new Set(ib.fields.map((f) => f.name));
      const msg = ia.fields.find((f) => f.name === "pgwire.msg")?.show ?? "";
      for (const name of names) {
        if (KNOWN_DIFFERENCES.some((k) => k.field === name && (!k.in || k.in.includes(msg)))) continue;
        const mine = values(ia, `pgwire.${name.slice("pgsql.".length)}`);
        const theirs = values(ib, name);
        compared += theirs.length;
        if (mine.join("\u0000") !== theirs.join("\u0000")) {
          differences.push(
            `frame ${n} message ${i + 1} (${msg}): ${name} = ${JSON.stringify(theirs)}, pgwire = ${JSON.stringify(mine)}`,
          );
        }
      }
    });
  }
  return { frames: frames.length, messages, values: compared, differences };
}

export async function builtinSide(file: string, opts: TsharkOptions = {}): Promise<Map<number, CmpFrame>> {
  const args = ["-n", "-r", file, "-T", "pdml"];
  // The built-in has no heuristic: tell it the other server ports.
  for (const port of opts.ports ?? []) if (port !== 5432) args.push("-d", `tcp.port==${port},pgsql`);
  if (opts.keylog) args.push("-o", `tls.keylog_file:${opts.keylog}`);
  const { stdout } = await runTshark(args);
  return parsePdml(stdout, "pgsql").frames;
}

export async function compareBuiltin(file: string, opts: TsharkOptions = {}): Promise<BuiltinDiff> {
  const [mine, theirs] = await Promise.all([
    runTshark(tsharkArgs(file, opts, ["-T", "pdml"])).then((r) => parsePdml(r.stdout).frames),
    builtinSide(file, opts),
  ]);
  return diffBuiltin(mine, theirs);
}
