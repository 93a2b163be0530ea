#!/usr/bin/env node
// The pgwire command line. In a git checkout (src/ is there) it runs the TypeScript sources
// through tsx, a devDependency, so what runs is always the code being edited; the npm package
// has no src/ and runs the built JavaScript, dist/cli.js (npm run build; npm pack builds it).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const path = (p) => fileURLToPath(new URL(p, import.meta.url));

/** tsx's loader when it is installed, with the checkout's own tsconfig (not the working directory's). */
async function tsx() {
  try {
    const { register } = await import("tsx/esm/api");
    register({ tsconfig: path("../tsconfig.json") });
    return true;
  } catch {
    return false;
  }
}

try {
  let cli;
  if (existsSync(path("../src/cli.ts")) && (await tsx())) cli = await import("../src/cli.ts");
  else if (existsSync(path("../dist/cli.js"))) cli = await import("../dist/cli.js");
  else {
    process.stderr.write("pgwire: neither tsx (npm install) nor the built dist/cli.js (npm run build) is here\n");
    process.exit(70);
  }
  await cli.run(process.argv.slice(2));
} catch (e) {
  // Only failures to load the command line get here; it reports everything else itself.
  process.stderr.write(`pgwire: internal error: ${String(e instanceof Error ? e.message : e).split("\n")[0]}\n`);
  if (process.env.PGWIRE_DEBUG === "1" && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 70;
}
