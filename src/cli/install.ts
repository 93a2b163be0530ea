// `pgwire install`: the plugin into Wireshark's personal Lua plugins folder and, with --profile,
// the configuration profile PostgreSQL (dissector/profile) into its personal configuration
// folder; each folder found as Wireshark finds it (tshark -G folders when tshark is there, else
// the folder Wireshark uses on the operating system).

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CaptureError } from "../capture/types.ts";
import { parseArgs, UsageError } from "./args.ts";
import { type Command, EXIT, EXIT_HELP, ROOT } from "./command.ts";
import type { Output } from "./output.ts";

const INSTALL_HELP = `Usage: pgwire install [--dir DIR] [--profile [--config-dir DIR]] [--force]

Copies the Wireshark plugin (dissector/pgwire.lua) into Wireshark's personal Lua plugins
folder, found as Wireshark finds it: from \`tshark -G folders\` when tshark is installed, else
~/.local/lib/wireshark/plugins (Linux, macOS) or %APPDATA%\\Wireshark\\plugins (Windows).
Prints where it went. Restart Wireshark (or Analyze > Reload Lua Plugins) to load it.

With --profile, also the configuration profile PostgreSQL into Wireshark's personal
configuration folder (profiles/PostgreSQL): columns for the messages, response time, rows and
SQLSTATE; colouring rules for errors, security findings and slow responses (before Wireshark's
own rules); filter buttons for queries, errors, slow responses, authentication and replication.
Select it in Wireshark (Edit > Configuration Profiles, or the status bar) or with tshark -C
PostgreSQL.

Options:
  --dir DIR          install the plugin into DIR instead
  --profile          install the profile PostgreSQL too
  --config-dir DIR   Wireshark's personal configuration folder to put the profile in
  --force            replace a pgwire.lua, or a profile file, there that differs from this one
  -h, --help         show this help

${EXIT_HELP}

Examples:
  pgwire install
  pgwire install --profile
  pgwire install --dir ~/.local/lib/wireshark/plugins --force
`;

/** The plugin file this package installs. */
export const PLUGIN_FILE = fileURLToPath(new URL("dissector/pgwire.lua", ROOT));

/** The profile's files, as this package has them (colorfilters gets Wireshark's own rules appended). */
export const PROFILE_DIR = fileURLToPath(new URL("dissector/profile", ROOT));
export const PROFILE_FILES = ["preferences", "colorfilters", "dfilter_buttons"] as const;
export const PROFILE_NAME = "PostgreSQL";

/** What `tshark -G folders` printed for an environment (tshark asked once per environment). */
const folderLists = new WeakMap<NodeJS.ProcessEnv, string>();

/** A folder `tshark -G folders` names ("Personal Lua Plugins", ...); undefined without tshark. */
function tsharkFolder(name: string, env: NodeJS.ProcessEnv): string | undefined {
  let out = folderLists.get(env);
  if (out === undefined) {
    try {
      out = execFileSync("tshark", ["-G", "folders"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env });
    } catch {
      out = ""; // no tshark
    }
    folderLists.set(env, out);
  }
  const line = out.split("\n").find((l) => l.startsWith(`${name}:`));
  return line?.split("\t").at(-1)?.trim() || undefined;
}

/** Wireshark's personal folder on Windows, %APPDATA%\Wireshark: its configuration, and plugins in it. */
function windowsFolder(env: NodeJS.ProcessEnv): string {
  return join(env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "Wireshark");
}

/** Where Wireshark looks for personal Lua plugins, and how that was found. */
export function personalLuaPlugins(env: NodeJS.ProcessEnv = process.env): { dir: string; from: string } {
  const dir = tsharkFolder("Personal Lua Plugins", env);
  if (dir !== undefined) return { dir, from: "tshark -G folders" };
  if (process.platform === "win32") {
    return { dir: join(windowsFolder(env), "plugins"), from: "Wireshark's folder on Windows (%APPDATA%)" };
  }
  // Linux, the BSDs and macOS (Wireshark 2.5 and later): ~/.local/lib/wireshark/plugins.
  return {
    dir: join(env.HOME ?? homedir(), ".local", "lib", "wireshark", "plugins"),
    from: "Wireshark's personal plugins folder",
  };
}

/** Wireshark's personal configuration folder (where profiles/ is), and how that was found. */
export function personalConfiguration(env: NodeJS.ProcessEnv = process.env): { dir: string; from: string } {
  const dir = tsharkFolder("Personal configuration", env);
  if (dir !== undefined) return { dir, from: "tshark -G folders" };
  if (process.platform === "win32") {
    return { dir: windowsFolder(env), from: "Wireshark's folder on Windows (%APPDATA%)" };
  }
  // Linux, the BSDs and macOS: ~/.wireshark when it exists (Wireshark keeps using an old one),
  // else $XDG_CONFIG_HOME/wireshark, ~/.config/wireshark without it.
  const home = env.HOME ?? homedir();
  const old = join(home, ".wireshark");
  if (existsSync(old)) return { dir: old, from: "the old ~/.wireshark, which Wireshark keeps using" };
  const base = env.XDG_CONFIG_HOME || join(home, ".config");
  return { dir: join(base, "wireshark"), from: "Wireshark's personal configuration folder" };
}

/** The colouring rules of Wireshark's global configuration (its defaults), when tshark says where. */
function defaultColorRules(env: NodeJS.ProcessEnv): string {
  const global = tsharkFolder("Global configuration", env);
  if (global === undefined) return "";
  try {
    const rules = readFileSync(join(global, "colorfilters"), "utf8")
      .split(/\r?\n/)
      .filter((l) => l.startsWith("@") || l.startsWith("!@"));
    return rules.length ? `# Wireshark's default rules (${join(global, "colorfilters")}):\n${rules.join("\n")}\n` : "";
  } catch {
    return "";
  }
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

/**
 * Writes the profile PostgreSQL into configDir/profiles/PostgreSQL: this package's files, the
 * colouring rules followed by Wireshark's defaults (`defaults`). Files there that differ are kept
 * unless force (CaptureError, nothing written); other files there (Wireshark's recent, ...) stay.
 */
export function installProfile(configDir: string, force: boolean, defaults = ""): InstallResult {
  const target = join(configDir, "profiles", PROFILE_NAME);
  const files = PROFILE_FILES.map((name) => {
    let text = readFileSync(join(PROFILE_DIR, name), "utf8");
    if (name === "colorfilters") text += defaults;
    return { name, path: join(target, name), text };
  });
  const differ = files.filter((f) => existsSync(f.path) && readFileSync(f.path, "utf8") !== f.text);
  const missing = files.filter((f) => !existsSync(f.path));
  if (differ.length === 0 && missing.length === 0) return { path: target, status: "unchanged" };
  if (differ.length > 0 && !force) {
    throw new CaptureError(`${differ[0].path} exists and differs from this profile's; use --force to replace it`);
  }
  const tmp = (f: (typeof files)[number]) => `${f.path}.tmp-${process.pid}`;
  try {
    mkdirSync(target, { recursive: true });
    // Every file written beside its place first, then all renamed: no profile half new, half old
    // because a write failed.
    for (const f of files) writeFileSync(tmp(f), f.text);
    for (const f of files) renameSync(tmp(f), f.path);
  } catch (e) {
    for (const f of files) rmSync(tmp(f), { force: true });
    throw new CaptureError(`cannot write the profile in ${target}: ${(e as Error).message}`);
  }
  return { path: target, status: differ.length > 0 ? "updated" : "installed" };
}

async function installCommand(args: readonly string[], out: Output): Promise<number> {
  const p = parseArgs("install", args, {
    "--dir": { key: "dir", value: true },
    "--profile": { key: "profile", value: false },
    "--config-dir": { key: "configDir", value: true },
    "--force": { key: "force", value: false },
  });
  if (p.help) {
    out.write(INSTALL_HELP);
    return EXIT.ok;
  }
  if (p.positional.length > 0) throw new UsageError(`install takes no FILE, got '${p.positional[0]}'`, "install");
  const profile = p.options.has("profile");
  const configGiven = p.options.get("configDir")?.at(-1);
  if (configGiven !== undefined && !profile) throw new UsageError("--config-dir goes with --profile", "install");
  const force = p.options.has("force");
  const given = p.options.get("dir")?.at(-1);
  const where = given !== undefined ? { dir: given, from: "--dir" } : personalLuaPlugins();
  const r = install(where.dir, force);
  const what = {
    installed: "installed",
    updated: "replaced the different",
    unchanged: "already installed, unchanged:",
  }[r.status];
  out.write(`pgwire: ${what} ${r.path} (folder from ${where.from})\n`);
  if (profile) {
    const config = configGiven !== undefined ? { dir: configGiven, from: "--config-dir" } : personalConfiguration();
    const pr = installProfile(config.dir, force, defaultColorRules(process.env));
    const done = {
      installed: "installed the profile PostgreSQL in",
      updated: "replaced the different profile PostgreSQL in",
      unchanged: "the profile PostgreSQL is already installed, unchanged:",
    }[pr.status];
    out.write(
      `pgwire: ${done} ${pr.path} (folder from ${config.from}); select it in Wireshark or with tshark -C ${PROFILE_NAME}\n`,
    );
  }
  return EXIT.ok;
}

export const command: Command = { name: "install", help: INSTALL_HELP, run: installCommand };
