#!/usr/bin/env node
// The pgwire command line: loads the TypeScript sources through tsx and runs src/cli.ts.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// Use the package's own tsconfig, not one found in the user's working directory.
const tsconfig = fileURLToPath(new URL("../tsconfig.json", import.meta.url));
register({ tsconfig: existsSync(tsconfig) ? tsconfig : false });

try {
  const { run } = await import("../src/cli.ts");
  await run(process.argv.slice(2));
} catch (e) {
  // Only failures to load the sources get here; src/cli.ts reports everything else itself.
  process.stderr.write(`pgwire: internal error: ${String(e instanceof Error ? e.message : e).split("\n")[0]}\n`);
  if (process.env.PGWIRE_DEBUG === "1" && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 70;
}
