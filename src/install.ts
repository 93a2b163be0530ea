// `pgwire install`: the plugin into Wireshark's personal Lua plugins folder, found as Wireshark
// finds it (tshark -G folders when tshark is there, else the folder Wireshark uses on the
// operating system).

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CaptureError } from "./capture/types.ts";

/** The plugin file this package installs. */
export const PLUGIN_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "dissector", "pgwire.lua");

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
