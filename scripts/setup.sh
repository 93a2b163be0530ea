#!/usr/bin/env bash
# Sets up a Debian 12 (or Ubuntu) machine for pgwire-dissector: tshark, the four Lua interpreters
# and luacheck from apt, then the npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
for v in 5.1 5.2 5.3 5.4; do command -v "luac$v" >/dev/null 2>&1 || need+=("lua$v"); done
command -v luacheck >/dev/null 2>&1 || need+=(lua-check)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt" >&2
  $SUDO apt-get update -qq
  # wireshark-common asks whether non-root users may capture: answer with the default.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
