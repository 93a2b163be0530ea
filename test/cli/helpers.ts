// What the command line's tests share: running `node bin/pgwire.cjs` as a user runs it.

import { join } from "node:path";
import { execa } from "execa";
import { ROOT } from "../decoder/helpers.ts";

export { ROOT };
export const BIN = join(ROOT, "bin", "pgwire.cjs");

/** `pgwire ARGS` from the repository, stdin closed; env adds to (or overrides) the environment. */
export function pgwire(args: readonly string[], env?: Record<string, string>) {
  return execa(process.execPath, [BIN, ...args], { cwd: ROOT, reject: false, stdin: "ignore", env, maxBuffer: 1e9 });
}
