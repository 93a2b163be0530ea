// What the commands share: the shape main.ts dispatches through, the exit statuses and their
// help text, the package's folder, and the search for the programs they run (tshark, dumpcap).

import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Output } from "./output.ts";

/** Exit statuses, as the help texts document them. */
export const EXIT = { ok: 0, differences: 1, usage: 2, input: 3, internal: 70 } as const;

export const EXIT_HELP = `Exit status:
  0   success
  1   compare: the plugin and the decoder differ, or tshark reported a Lua error or a malformed packet
  2   usage error (unknown command or option, missing or extra argument)
  3   input error (missing or unreadable file, not a pcap/pcapng capture, truncated capture,
      unsupported link type, tshark missing or failing or not loading the plugin,
      output cannot be written)
  70  internal error (set PGWIRE_DEBUG=1 for a stack trace)`;

/** A command of the command line: main.ts runs it for `pgwire NAME ...`. */
export interface Command {
  /** What follows pgwire on the command line. */
  name: string;
  /** Its help text (pgwire NAME --help, pgwire help NAME). */
  help: string;
  /** Runs it with the arguments after its name; returns the exit status. */
  run: (args: readonly string[], out: Output) => Promise<number>;
}

/**
 * The package's folder, the one with package.json and dissector/pgwire.lua: two folders up from
 * src/cli/ in a checkout (run through tsx), one up from dist/cli.js in the npm package, where the
 * whole command line is bundled into that one file (scripts/build.mjs).
 */
export const ROOT = new URL(import.meta.url.endsWith(".ts") ? "../../" : "../", import.meta.url);

/** Whether an executable `cmd` is in a folder of PATH (with PATHEXT's extensions on Windows). */
export function onPath(cmd: string): boolean {
  const exts = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE").split(";") : [""];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = join(dir, cmd + ext);
      try {
        if (!statSync(file).isFile()) continue;
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}
