#!/usr/bin/env bash
# The main job: the lecture's session, decoded by the pgwire plugin through tshark.
# First every packet of the session (TCP handshake, startup, MD5, query, rows, Terminate, FIN),
# then the PostgreSQL details (two passes, so requests link forward to their responses), then the
# expert infos (what leaks without TLS); the same for the failed login, whose error names the
# server's source file, line and routine.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=(-n -X lua_script:dissector/pgwire.lua)
for cap in captures/seed-md5.pcapng captures/seed-wrong-password.pcapng; do
  echo "=== $cap: every packet"
  tshark "${plugin[@]}" -r "$cap" 2>/dev/null
  echo
  echo "=== $cap: PostgreSQL messages in detail"
  tshark "${plugin[@]}" -2 -r "$cap" -Y pgwire -O pgwire 2>/dev/null | grep -v '^\(Frame\|Ethernet\|Internet\|Transmission\) '
  echo
  echo "=== $cap: expert infos (errors, notices, security findings)"
  tshark "${plugin[@]}" -r "$cap" -q -z expert,note 2>/dev/null | grep -v '^$'
  echo
done
