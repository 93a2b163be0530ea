#!/usr/bin/env bash
# Record the value oracle for test/runtime/values: a throwaway PostgreSQL 15 cluster on 127.0.0.1:55432,
# captures/values/query.ts runs one query of literals of every supported type in text and in binary
# result format (plus per-type queries over deterministic pseudo-random values), and writes
# test/runtime/values/fixtures.json: per column PostgreSQL's text output and the binary bytes. A session with
# the same literal query (text and binary; without the random-value queries, to keep it small) is
# captured with dumpcap into captures/values/binary.pcapng (tcp port 55432).
#
# Usage (as root, from anywhere):  bash captures/values/record.sh [--no-pcap]
#
# The cluster: `initdb -E UTF8 --auth=trust` with the machine's locale as initdb sees it (here
# C.UTF-8, so lc_monetary = C.UTF-8: money prints as "$1,234.56" / "-$1,234.56"); fixtures.json
# records server_version, lc_monetary and the output GUCs it ran with. The server, dumpcap and the
# temp folders are removed on exit (trap). Re-running overwrites both outputs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PORT=55432
PCAP=1
[[ "${1:-}" == "--no-pcap" ]] && PCAP=0

die() {
  printf '[values] ERROR: %s\n' "$*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || die "run as root (runuser to the postgres user, dumpcap on lo)"
[[ -x "$PGBIN/initdb" ]] || die "no $PGBIN/initdb (install postgresql-15)"
id postgres >/dev/null 2>&1 || die "no 'postgres' user"
if ((PCAP)) && ! command -v dumpcap >/dev/null; then
  echo "[values] no dumpcap: recording without a capture" >&2
  PCAP=0
fi
if ss -Hltn "sport = :$PORT" | grep -q .; then die "TCP port $PORT is already in use"; fi

# Clean client environment.
while read -r v; do
  if [[ $v == PG* && $v != PGBIN ]]; then unset "$v"; fi
done < <(compgen -e)
unset NODE_OPTIONS

TAG=values
# shellcheck source=captures/lib.sh
source "$HERE/../lib.sh"
capture_setup pgvalues

echo "[values] initdb in $TMPD (locale from the environment: LANG=${LANG:-unset} LC_ALL=${LC_ALL:-unset})" >&2
as_postgres "$PGBIN/initdb" -D "$DATA" -E UTF8 --auth=trust -U postgres >"$TMPD/initdb.log" 2>&1 ||
  die "initdb failed: $(cat "$TMPD/initdb.log")"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$TMPD/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TMPD" start >/dev/null
SERVER_UP=1

if ((PCAP)); then start_capture "$PCAPTMP/binary.pcapng" "$PORT"; fi

if ((PCAP)); then
  # The capture holds one session without the (large) random-value queries: the settings and the
  # literal query in text and in binary format. The fixture is recorded by the full run below.
  (cd "$REPO" && npx tsx captures/values/query.ts 127.0.0.1 "$PORT" "$PCAPTMP/literals.json" --no-random)
  stop_capture
  install -m 0644 "$PCAPTMP/binary.pcapng" "$HERE/binary.pcapng"
  echo "[values] $HERE/binary.pcapng: $(stat -c %s "$HERE/binary.pcapng") bytes" >&2
fi

(cd "$REPO" && npx tsx captures/values/query.ts 127.0.0.1 "$PORT" test/runtime/values/fixtures.json)
(cd "$REPO" && npx biome format --write test/runtime/values/fixtures.json >/dev/null 2>&1) || die "biome format failed" # the repository's JSON style
