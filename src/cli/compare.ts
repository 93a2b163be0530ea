// pgwire compare: the Lua plugin under tshark checked against the TypeScript decoder (the
// comparison itself is src/compare.ts).

import { accessSync, constants, statSync } from "node:fs";
import { readCaptureBatches } from "../capture/pcap.ts";
import { CaptureError } from "../capture/types.ts";
import { compare } from "../compare.ts";
import { oneFile, parseArgs, parsePorts, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP, onPath } from "./command.ts";
import type { Output } from "./output.ts";

const COMPARE_HELP = `Usage: pgwire compare FILE [--keylog FILE] [--port P[,P...]] [--one-pass]

Runs tshark with the Lua plugin (dissector/pgwire.lua) over the capture and decodes it with
the TypeScript reference decoder, then compares both frame by frame: each item's label, each
field's name, shown value, offset and length, and the Info column. Prints a summary line,
then every difference and every problem (Lua errors, malformed packets). Needs tshark on PATH;
Wireshark 4.4 and later ignore Lua plugins when run as root, so run it as a normal user there.
When tshark does not load the plugin (as root, or a Lua error in it), compare says why in one
line and exits 3.

Options:
  --keylog FILE      TLS key log: tshark and the TypeScript decoder both decrypt TLS with it,
                     and the decrypted messages are compared like the rest
  --port P[,P...]    server ports to decode as PostgreSQL (default 5432); may be repeated
  --no-heuristic     decode only the server ports (tshark: -o pgwire.heuristic:FALSE)
  --one-pass         run tshark in one pass (the default is two passes, -2, as links
                     to later frames such as pgwire.response_in need them); the TS
                     decoder's links to later frames are then not compared
  -h, --help         show this help

Exit status 0 only when there is no difference and no problem; 1 otherwise.

${EXIT_HELP}

Examples:
  pgwire compare captures/seed-md5.pcapng
  pgwire compare -2 captures/pgbench-extended.pcapng
  pgwire compare captures/tls-keylog.pcapng --keylog captures/tls-keylog.keys
`;

/** Opens the capture and reads its header and first frame, so bad input fails with the decoder's own message. */
async function checkCapture(file: string): Promise<void> {
  const it = readCaptureBatches(file);
  try {
    await it.next();
  } finally {
    await it.return(undefined);
  }
}

async function compareCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("compare", args, {
    "--keylog": { key: "keylog", value: true },
    "--port": { key: "port", value: true },
    "--no-heuristic": { key: "noHeuristic", value: false },
    "--one-pass": { key: "onePass", value: false },
  });
  if (p.help) {
    out.write(COMPARE_HELP);
    return EXIT.ok;
  }
  const file = oneFile("compare", p);
  const ports = parsePorts("compare", p.options.get("port"));
  const keylogs = p.options.get("keylog");
  if (keylogs && keylogs.length > 1) throw new UsageError("option '--keylog' given more than once", "compare");
  const keylog = keylogs?.[0];
  await checkCapture(file);
  if (keylog !== undefined) {
    try {
      if (!statSync(keylog).isFile()) throw new CaptureError(`key log ${keylog} is not a file`);
      accessSync(keylog, constants.R_OK);
    } catch (e) {
      if (e instanceof CaptureError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new CaptureError(
        code === "ENOENT" ? `key log file ${keylog} does not exist` : `cannot read key log file ${keylog}`,
      );
    }
  }
  if (!onPath("tshark"))
    throw new CaptureError("tshark not found on PATH; compare needs it (Debian/Ubuntu: apt-get install tshark)");
  const r = await compare(file, {
    keylog,
    ports,
    heuristic: !p.options.has("noHeuristic"),
    twoPass: p.options.has("onePass") ? false : undefined,
  });
  out.write(`${file}: compared ${r.frames} frames, ${r.items} items, ${r.fields} fields\n`);
  for (const d of r.differences) out.write(`difference: ${d}\n`);
  if (r.differences.length >= 50) out.write("(differences stop at the first 50)\n");
  for (const pr of r.problems) out.write(`problem: ${pr}\n`);
  const ok = r.differences.length === 0 && r.problems.length === 0;
  out.write(
    ok
      ? "OK: the Lua plugin and the TypeScript decoder agree\n"
      : `FAILED: ${r.differences.length} difference${r.differences.length === 1 ? "" : "s"}, ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}\n`,
  );
  return ok ? EXIT.ok : EXIT.differences;
}

export const command: Command = { name: "compare", help: COMPARE_HELP, run: compareCommand };
