#!/usr/bin/env bash
# Sets up a Debian 12 (or Ubuntu) machine for pgwire-dissector: tshark, the four Lua interpreters
# and luacheck from apt, PostgreSQL 15, Chromium and Wireshark's GUI for the command line's tests,
# then the npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

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
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt" >&2
  $SUDO apt-get update -qq
  # wireshark-common asks whether non-root users may capture: answer with the default.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  # Debian's package starts a `main` cluster on port 5432: the tests run their own servers.
  if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
    $SUDO pg_ctlcluster 15 main stop || true
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
