#!/usr/bin/env bash
# Sets up a Debian 12 (or Ubuntu) machine for pgwire-dissector: tshark, the four Lua interpreters
# and luacheck from apt, PostgreSQL 15, Chromium and Wireshark's GUI for the command line's tests,
# openssl for the TLS test, then the npm packages, and the chroots with Wireshark 3.4, 4.4 and 4.6
# for the cross-version test (scripts/wireshark-releases.sh). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
  # Asks for the password now, not in the background below.
  sudo -v
fi

updated=0
# The chroots take minutes (three debootstraps): they are built in the background while the rest
# installs. debootstrap comes first, so that the script does not need apt while apt runs below.
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "setup: installing debootstrap with apt" >&2
  $SUDO apt-get update -qq && updated=1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap >/dev/null || true
fi
releases_log="$(mktemp)"
bash scripts/wireshark-releases.sh >"$releases_log" 2>&1 &
releases_pid=$!

need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
for v in 5.1 5.2 5.3 5.4; do command -v "luac$v" >/dev/null 2>&1 || need+=("lua$v"); done
command -v luacheck >/dev/null 2>&1 || need+=(lua-check)
# pgwire watch's test runs a throwaway PostgreSQL 15 server and captures with dumpcap.
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v dumpcap >/dev/null 2>&1 || need+=(wireshark-common)
# pgwire report's test renders the HTML in headless Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The GUI test (scripts/gui-screenshot.sh): Wireshark's Qt GUI under Xvfb.
command -v wireshark >/dev/null 2>&1 || need+=(wireshark-qt)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
command -v import >/dev/null 2>&1 || need+=(imagemagick)
# The TLS test makes a throwaway certificate with the openssl command.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# pgwire log's test reads the log with pgBadger.
command -v pgbadger >/dev/null 2>&1 || need+=(pgbadger)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt" >&2
  [ $updated -eq 1 ] || $SUDO apt-get update -qq
  # wireshark-common asks whether non-root users may capture: answer with the default.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian's package starts a `main` cluster on port 5432: the tests run their own servers.
  if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
    $SUDO pg_ctlcluster 15 main stop || true
  fi
fi
# A node_modules that is a symlink (a git worktree sharing another checkout's packages) is left
# alone: npm ci would empty the folder it points to.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund
fi

releases=0
wait "$releases_pid" || releases=$?
sed 's/^/setup: /' "$releases_log" >&2
rm -f "$releases_log"
case $releases in
0) ;;
69) echo "setup: without Debian's packages the cross-version test (test/decoder/releases.test.ts) skips" >&2 ;;
*) echo "setup: the Wireshark chroots were not built (above): the cross-version test fails in CI (PGWIRE_STRICT=1)" >&2 ;;
esac
