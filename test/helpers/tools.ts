// The outside programs the tests run, asked for in one place and by one name each.
//
// A test that needs a tool guards itself with missing() (for skipIf) or present() (for a part of a
// test that runs only with the tool). On a developer's machine a missing tool skips the test, as it
// always did. In strict mode (PGWIRE_STRICT=1, which .ci/run sets) the test is skipped all the same,
// but the file also gets one failing test per missing tool, "strict mode: TOOL is installed", whose
// error names the tool, the tests that needed it and the package scripts/setup.sh installs it from:
// CI installs every tool below, so there a missing one is a broken setup, not a choice.
//
// Call missing() and present() while the file's tests are being collected (at the top of the file
// or in a describe's body), never inside a running test: they may register a test.
//
// Each tool is looked for once and the answer kept. Vitest loads this module afresh for every test
// file (its default, isolate), so that is once per file, and the failing tests are one per tool and
// file.

import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { delimiter, join, relative } from "node:path";
import { expect, it } from "vitest";
import { PGBIN } from "./pgserver.ts";

/** Every tool a test may need, with the Debian package that scripts/setup.sh installs it from. */
const TOOLS = {
  tshark: "tshark",
  editcap: "wireshark-common",
  dumpcap: "wireshark-common",
  "lua5.1": "lua5.1",
  "lua5.2": "lua5.2",
  "lua5.3": "lua5.3",
  "lua5.4": "lua5.4",
  "luac5.1": "lua5.1",
  "luac5.2": "lua5.2",
  "luac5.3": "lua5.3",
  "luac5.4": "lua5.4",
  luacheck: "lua-check",
  /** PostgreSQL 15's server programs in PGBIN, and the user `postgres` they run as. */
  postgresql: "postgresql-15",
  /** chromium or chromium-browser (Ubuntu's name). */
  chromium: "chromium",
  openssl: "openssl",
  pgbadger: "pgbadger",
  /** Wireshark's Qt GUI, and what scripts/gui-screenshot.sh drives it with. */
  wireshark: "wireshark-qt",
  Xvfb: "xvfb",
  xdotool: "xdotool",
  import: "imagemagick",
  debootstrap: "debootstrap",
} as const;

export type Tool = keyof typeof TOOLS;

/** Strict mode: a missing tool fails the run instead of skipping its tests. */
export const STRICT = process.env.PGWIRE_STRICT === "1";

/**
 * Whether the tests run as root. Not a tool: a test that needs root (runuser, capturing on lo,
 * chroot) is skipped otherwise, in strict mode too. CI runs as root.
 */
export const AS_ROOT = process.getuid?.() === 0;

const REPO = join(import.meta.dirname, "..", "..");

/** The executable file `name` in one of PATH's folders, as a shell's `command -v` finds it. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function probe(tool: Tool): string | undefined {
  switch (tool) {
    case "chromium":
      return onPath("chromium") ?? onPath("chromium-browser");
    case "postgresql": {
      if (!existsSync(join(PGBIN, "initdb"))) return undefined;
      try {
        execFileSync("id", ["postgres"], { stdio: "ignore" });
        return PGBIN;
      } catch {
        return undefined;
      }
    }
    default:
      return onPath(tool);
  }
}

const found = new Map<Tool, string | undefined>();

/**
 * Where the tool is: its executable (for postgresql, PGBIN), or undefined when it is missing.
 * A plain question: it registers nothing, in strict mode neither (guards use missing()).
 */
export function locate(tool: Tool): string | undefined {
  if (!found.has(tool)) found.set(tool, probe(tool));
  return found.get(tool);
}

/** In strict mode, the tools found missing so far in this file and the tests that needed them. */
const wanted = new Map<Tool, string[]>();

function demand(tool: Tool, by: string): void {
  const known = wanted.get(tool);
  if (known) {
    if (!known.includes(by)) known.push(by);
    return;
  }
  const needers = [by];
  wanted.set(tool, needers);
  // Runs after the whole file is collected: needers then holds every test that asked.
  it(`strict mode: ${tool} is installed`, () => {
    const path = expect.getState().testPath;
    const file = path ? `${relative(REPO, path)}: ` : "";
    const error = new Error(
      `strict mode (PGWIRE_STRICT=1): ${tool} is not installed, needed by ${file}` +
        `${needers.map((n) => JSON.stringify(n)).join(", ")}; scripts/setup.sh installs it (apt package ${TOOLS[tool]})`,
    );
    // The message says it all: no stack, so that vitest shows no code of this module under it.
    error.stack = `${error.name}: ${error.message}`;
    throw error;
  });
}

/**
 * True when one of the tools is missing: the guard of the test (or describe) named by, for
 * skipIf. In strict mode each missing tool also gets its failing test (see above).
 */
export function missing(tools: Tool | readonly Tool[], by: string): boolean {
  const absent = (typeof tools === "string" ? [tools] : tools).filter((t) => locate(t) === undefined);
  if (STRICT) for (const t of absent) demand(t, by);
  return absent.length > 0;
}

/** True when every tool is there: for a part of a test that needs them (by names that part). */
export function present(tools: Tool | readonly Tool[], by: string): boolean {
  return !missing(tools, by);
}
