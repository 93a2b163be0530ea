// pgwire generate: the generated files regenerated from the spec, in a git checkout.

import { existsSync } from "node:fs";
import { CaptureError } from "../capture/types.ts";
import { parseArgs, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP, ROOT } from "./command.ts";
import type { Output } from "./output.ts";

const GENERATE_HELP = `Usage: pgwire generate [--check]

Regenerates dissector/pgwire.lua, dissector/pgwire.ts and docs/fields.md from the spec
(spec/), as \`npm run generate\` does, and prints what changed. It runs in a git checkout of
pgwire-dissector: the npm package leaves the spec and the generator out.

Options:
  --check            write nothing; exit status 1 when a generated file is out of date
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire generate
  pgwire generate --check
`;

async function generateCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("generate", args, { "--check": { key: "check", value: false } });
  if (p.help) {
    out.write(GENERATE_HELP);
    return EXIT.ok;
  }
  if (p.positional.length > 0) throw new UsageError(`generate takes no FILE, got '${p.positional[0]}'`, "generate");
  const check = p.options.has("check");
  // The generator, its templates and the spec are part of the repository, not of the npm package,
  // whose command line is built JavaScript (dist/): generate runs only from the sources.
  const generator = new URL("generator/generate.ts", ROOT);
  if (!import.meta.url.endsWith(".ts") || !existsSync(generator))
    throw new CaptureError(
      "generate needs the spec and the generator, which the npm package leaves out: run it in a git checkout of pgwire-dissector (npm run generate)",
    );
  const { generate } = (await import(generator.href)) as typeof import("../../generator/generate.ts");
  const changed = generate(check);
  for (const f of changed) out.write(check ? `out of date: ${f}\n` : `wrote ${f}\n`);
  if (changed.length === 0) out.write("pgwire: the generated files are up to date\n");
  return check && changed.length > 0 ? EXIT.differences : EXIT.ok;
}

export const command: Command = { name: "generate", help: GENERATE_HELP, run: generateCommand };
