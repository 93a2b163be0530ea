// npm run build: the command line as one plain JavaScript file, dist/cli.js, for the npm package
// (npm pack runs it first). src/cli/main.ts and everything it imports are bundled; packages
// (execa) stay imports, installed as the package's dependencies. Paths found from import.meta.url
// (package.json, dissector/pgwire.lua) are two folders up from src/cli/ but one up from dist/:
// src/cli/command.ts (ROOT) tells them apart by the file's extension (.ts or .js).

import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", "cli.js");

rmSync(join(root, "dist"), { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, "src", "cli", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  legalComments: "none",
  banner: { js: "// Built from src/cli/main.ts by scripts/build.mjs (npm run build): do not edit." },
  logLevel: "warning",
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`wrote ${outfile} (${Math.round(bytes / 1024)} KB)`);
