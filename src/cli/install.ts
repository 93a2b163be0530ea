// `pgwire install`: the plugin into Wireshark's personal Lua plugins folder, found as Wireshark
// finds it (tshark -G folders when tshark is there, else the folder Wireshark uses on the
// operating system).

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CaptureError } from "../capture/types.ts";
import { parseArgs, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP, ROOT } from "./command.ts";
import type { Output } from "./output.ts";

const INSTALL_HELP = `Usage: pgwire install [--dir DIR] [--force]

Copies the Wireshark plugin (dissector/pgwire.lua) into Wireshark's personal Lua plugins
folder, found as Wireshark finds it: from \`tshark -G folders\` when tshark is installed, else
~/.local/lib/wireshark/plugins (Linux, macOS) or %APPDATA%\\Wireshark\\plugins (Windows).
Prints where it went. Restart Wireshark (or Analyze > Reload Lua Plugins) to load it.

Options:
  --dir DIR          install into DIR instead
  --force            replace a pgwire.lua there that differs from this one
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire install
  pgwire install --dir ~/.local/lib/wireshark/plugins --force
`;

/** The plugin file this package installs. */
export const PLUGIN_FILE = fileURLToPath(new URL("dissector/pgwire.lua", ROOT));

/** Where Wireshark looks for personal Lua plugins, and how that was found. */
export function personalLuaPlugins(env: NodeJS.ProcessEnv = process.env): { dir: string; from: string } {
  try {
    const out = execFileSync("tshark", ["-G", "folders"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      env,
    });
    const line = out.split("\n").find((l) => l.startsWith("Personal Lua Plugins:"));
    if (line) return { dir: line.split("\t").at(-1)?.trim() ?? "", from: "tshark -G folders" };
  } catch {
    // no tshark: the operating system's default below
  }
  if (process.platform === "win32") {
    const appdata = env.APPDATA ?? join(homedir(), "AppData", "Roaming");
    return { dir: join(appdata, "Wireshark", "plugins"), from: "Wireshark's folder on Windows (%APPDATA%)" };
  }
  // Linux, the BSDs and macOS (Wireshark 2.5 and later): ~/.local/lib/wireshark/plugins.
  return {
    dir: join(env.HOME ?? homedir(), ".local", "lib", "wireshark", "plugins"),
    from: "Wireshark's personal plugins folder",
  };
}

export type InstallResult = { path: string; status: "installed" | "updated" | "unchanged" };

/**
 * Copies the plugin into dir as pgwire.lua. A different pgwire.lua already there is kept unless
 * force (CaptureError: the command line's one-line input error).
 */
export function install(dir: string, force: boolean): InstallResult {
  const target = join(dir, "pgwire.lua");
  const plugin = readFileSync(PLUGIN_FILE);
  let status: InstallResult["status"] = "installed";
  if (existsSync(target)) {
    if (readFileSync(target).equals(plugin)) return { path: target, status: "unchanged" };
    if (!force) throw new CaptureError(`${target} exists and differs from this plugin; use --force to replace it`);
    status = "updated";
  }
  try {
    mkdirSync(dir, { recursive: true });
    // Written beside it, then renamed: never a half-written plugin in Wireshark's folder.
    const tmp = `${target}.tmp-${process.pid}`;
    copyFileSync(PLUGIN_FILE, tmp);
    renameSync(tmp, target);
  } catch (e) {
    throw new CaptureError(`cannot write ${target}: ${(e as Error).message}`);
  }
  return { path: target, status };
}

async function installCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("install", args, {
    "--dir": { key: "dir", value: true },
    "--force": { key: "force", value: false },
  });
  if (p.help) {
    out.write(INSTALL_HELP);
    return EXIT.ok;
  }
  if (p.positional.length > 0) throw new UsageError(`install takes no FILE, got '${p.positional[0]}'`, "install");
  const given = p.options.get("dir")?.at(-1);
  const where = given !== undefined ? { dir: given, from: "--dir" } : personalLuaPlugins();
  const r = install(where.dir, p.options.has("force"));
  const what = {
    installed: "installed",
    updated: "replaced the different",
    unchanged: "already installed, unchanged:",
  }[r.status];
  out.write(`pgwire: ${what} ${r.path} (folder from ${where.from})\n`);
  return EXIT.ok;
}

export const command: Command = { name: "install", help: INSTALL_HELP, run: installCommand };
