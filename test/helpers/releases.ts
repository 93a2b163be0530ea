// Other Wireshark releases than the host's: Debian chroots with their tshark, built by
// scripts/wireshark-releases.sh (bullseye: 3.4, trixie: 4.4, sid: 4.6), and how to run tshark in
// one. Used by the cross-version test (test/decoder/releases.test.ts); scripts/bench.ts can time a
// release's tshark through tsharkCommand() too.
//
// tshark runs as the chroot's user `pgwire`: Wireshark 4.4 and later ignore Lua plugins when run
// as root, without a word. It sees the host's folders that the tests name (the repository, the
// temporary folder) at the same paths, so tshark's arguments need no rewriting.
//
// Mounting: each tshark run gets a private mount namespace of its own (`unshare --mount`),
// bind-mounts the folders (and /proc) into the chroot there, and chroots. The mounts exist only for
// that one tshark and vanish when it ends, even when vitest was killed: nothing is shared between
// vitest's parallel workers or concurrent tests (no lock, no counting of users, no unmounting),
// and no mount is ever left inside a chroot for a later `rm -rf` of the cache to follow into the
// host's files. It costs a few milliseconds per run; it needs root, as chroot does.
//
// Reading: the user gets one capability, CAP_DAC_READ_SEARCH (read any file), so that folders the
// tests make with mkdtemp (mode 0700, root's) and a repository under a closed home are readable.
// Wireshark decides "running as root" by the user and group ids alone, so the plugin still loads.

import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export const ROOT = join(import.meta.dirname, "..", "..");

export interface Release {
  /** Debian suite of the chroot. */
  suite: string;
  /** Wireshark's major.minor there. */
  wireshark: string;
  /** The Lua that Debian's Wireshark embeds. */
  lua: string;
}

export const RELEASES: readonly Release[] = [
  { suite: "bullseye", wireshark: "3.4", lua: "5.2" },
  { suite: "trixie", wireshark: "4.4", lua: "5.4" },
  { suite: "sid", wireshark: "4.6", lua: "5.4" },
];

export function release(wireshark: string): Release {
  const r = RELEASES.find((x) => x.wireshark === wireshark);
  if (!r)
    throw new Error(`no chroot for Wireshark ${wireshark} (known: ${RELEASES.map((x) => x.wireshark).join(", ")})`);
  return r;
}

/** Where the script puts the chroots (as it decides it: the same variable, the same default). */
export const CACHE = process.env.PGWIRE_WIRESHARK_CACHE || "/var/cache/pgwire-dissector/wireshark";
export const BUILD_SCRIPT = join(ROOT, "scripts", "wireshark-releases.sh");
/** The unprivileged user the script makes in each chroot. */
export const USER = "pgwire";
/** The script's marker of a finished chroot: "tshark 4.6.9 lua 5.4". */
const MARKER = ".pgwire-ready";

export const chrootDir = (r: Release, cache = CACHE): string => join(cache, r.suite);

export type ReleaseState =
  | { ready: true; dir: string; tshark: string; lua: string }
  /** unreachable: the script's note that Debian's packages could not be reached, else null. */
  | { ready: false; reason: string; unreachable: string | null };

/** Whether a release's chroot is built and can be used from this process. */
export function releaseState(r: Release, cache = CACHE): ReleaseState {
  const dir = chrootDir(r, cache);
  const unreachableFile = join(cache, `${r.suite}.unreachable`);
  const unreachable = existsSync(unreachableFile) ? readFileSync(unreachableFile, "utf8").trim() : null;
  const marker = join(dir, MARKER);
  if (!existsSync(marker)) {
    return {
      ready: false,
      reason: unreachable
        ? `Debian's packages could not be reached when building ${dir}: ${unreachable}`
        : `${dir} is not built (sudo bash scripts/wireshark-releases.sh)`,
      unreachable,
    };
  }
  const m = /^tshark (\S+) lua (\S+)$/.exec(readFileSync(marker, "utf8").trim());
  if (!m) return { ready: false, reason: `${marker} is not the script's marker`, unreachable: null };
  if (process.getuid?.() !== 0)
    return { ready: false, reason: "running tshark in the chroots needs root (chroot, mount)", unreachable: null };
  return { ready: true, dir, tshark: m[1], lua: m[2] };
}

export interface RunOptions {
  /** Host folders to see at the same path inside (default: the repository and the temporary folder). */
  mounts?: readonly string[];
  /** Run tshark as root instead of the user (to see what Wireshark does then). */
  asRoot?: boolean;
}

// $1 chroot, $2 user ("" for root), then the folders to mount, "--", then tshark's arguments.
// tshark starts in the same working directory when that is inside a mounted folder (relative
// paths then work as on the host), else in /.
const IN_CHROOT = `set -e
root=$1 user=$2 dir=/
shift 2
while [ "$1" != -- ]; do
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
  case "$PWD/" in "\${1%/}"/*) dir=$PWD ;; esac
  shift
done
shift
# setpriv (bullseye's) reads /proc.
mount -t proc proc "$root/proc"
if [ -z "$user" ]; then
  exec chroot "$root" env -i -C "$dir" HOME=/root PATH="$P" LANG=C.UTF-8 TZ="$TZ" tshark "$@"
fi
exec chroot "$root" setpriv --reuid="$user" --regid="$user" --clear-groups \\
  --inh-caps=+dac_read_search --ambient-caps=+dac_read_search \\
  env -i -C "$dir" HOME="/home/$user" PATH="$P" LANG=C.UTF-8 TZ="$TZ" tshark "$@"`;

/**
 * The command that runs a release's tshark, its arguments to be appended: for TsharkOptions.tshark
 * of src/compare.ts, or `const cmd = tsharkCommand(release("4.6")); execa(cmd[0], [...cmd.slice(1),
 * ...args])`. Check releaseState() first.
 */
export function tsharkCommand(r: Release, opts: RunOptions = {}): string[] {
  // Parents before children, or a later mount would hide an earlier one.
  const mounts = [...new Set(opts.mounts ?? [ROOT, tmpdir()])].sort((a, b) => a.length - b.length);
  // The host's time zone, so that absolute times show as on the host's tshark.
  const tz = process.env.TZ || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return [
    "env",
    `TZ=${tz}`,
    "P=/usr/sbin:/usr/bin:/sbin:/bin",
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    IN_CHROOT,
    "sh",
    chrootDir(r),
    opts.asRoot ? "" : USER,
    ...mounts,
    "--",
  ];
}

/** Runs a release's tshark; never rejects on tshark's exit code. */
export async function runReleaseTshark(
  r: Release,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const [cmd, ...pre] = tsharkCommand(r, opts);
  const p = await execa(cmd, [...pre, ...args], { reject: false });
  return { stdout: p.stdout, stderr: p.stderr, exitCode: p.exitCode };
}

/** Wireshark's and Lua's versions as a release's tshark -v says them ("4.6.9", "5.4"). */
export async function releaseVersions(r: Release, opts: RunOptions = {}): Promise<{ tshark: string; lua: string }> {
  const { stdout, stderr, exitCode } = await runReleaseTshark(r, ["-v"], opts);
  const tshark = /^TShark \(Wireshark\) (\d+\.\d+\.\d+)/m.exec(stdout)?.[1];
  // "with Lua 5.2.4" may be wrapped over two lines.
  const lua = /\bLua\s+(\d+\.\d+)/.exec(stdout)?.[1];
  if (exitCode !== 0 || !tshark || !lua)
    throw new Error(`tshark -v in ${chrootDir(r)} (exit ${exitCode}): ${stderr.trim() || stdout.slice(0, 200)}`);
  return { tshark, lua };
}
