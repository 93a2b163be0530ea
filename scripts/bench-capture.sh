#!/usr/bin/env bash
# Record the benchmark's captures from a throwaway PostgreSQL 15 cluster on 127.0.0.1:5432 (trust
# auth, fsync off), with dumpcap on lo (snap length 65535, a ring buffer big enough to lose nothing):
#   OUTDIR/pgbench.pcapng  pgbench -M extended then -M prepared, 4 clients, TRANSACTIONS each (fixed
#                          seed): at least 200,000 packets
#   OUTDIR/copy.pcapng     pgbench -i -s SCALE: the tables filled with COPY FROM STDIN (COPY-heavy)
# The messages are the same from run to run, the bytes are not (times, ports, PIDs, keys).
#
# Usage (as root):  bash scripts/bench-capture.sh OUTDIR [TRANSACTIONS=2000] [SCALE=5]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OUT=${1:?usage: bench-capture.sh OUTDIR [TRANSACTIONS] [SCALE]}
TX=${2:-2000}
SCALE=${3:-5}
PORT=5432
TAG=bench

die() {
  printf '[bench] ERROR: %s\n' "$*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || die "run as root (runuser to the postgres user, dumpcap on lo)"
[[ -x "$PGBIN/initdb" ]] || die "no $PGBIN/initdb (install postgresql-15)"
command -v dumpcap >/dev/null || die "no dumpcap (install wireshark-common or tshark)"
if ss -Hltn "sport = :$PORT" | grep -q .; then die "TCP port $PORT is already in use"; fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

while read -r v; do
  if [[ $v == PG* && $v != PGBIN ]]; then unset "$v"; fi
done < <(compgen -e)

# shellcheck source=captures/lib.sh
source "$REPO/captures/lib.sh"
capture_setup pgbench

as_postgres "$PGBIN/initdb" -D "$DATA" -E UTF8 --auth=trust -U postgres --no-sync >"$TMPD/initdb.log" 2>&1 ||
  die "initdb failed: $(cat "$TMPD/initdb.log")"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$TMPD/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TMPD -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
SERVER_UP=1

bench() { PGSSLMODE=disable PGGSSENCMODE=disable "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }

echo "[bench] pgbench -i -s 1 (not captured)" >&2
bench -i -s 1 -q postgres >"$TMPD/init.log" 2>&1 || die "pgbench -i failed: $(cat "$TMPD/init.log")"

echo "[bench] recording pgbench.pcapng: -M extended and -M prepared, 4 clients x $TX transactions" >&2
start_capture "$PCAPTMP/pgbench.pcapng" "$PORT"
bench -n --random-seed=1 -M extended -c 4 -j 2 -t "$TX" postgres >"$TMPD/run1.log" 2>&1 ||
  die "pgbench failed: $(cat "$TMPD/run1.log")"
bench -n --random-seed=2 -M prepared -c 4 -j 2 -t "$TX" postgres >"$TMPD/run2.log" 2>&1 ||
  die "pgbench failed: $(cat "$TMPD/run2.log")"
stop_capture
install -m 0644 "$PCAPTMP/pgbench.pcapng" "$OUT/pgbench.pcapng"

echo "[bench] recording copy.pcapng: pgbench -i -s $SCALE" >&2
start_capture "$PCAPTMP/copy.pcapng" "$PORT"
bench -i -s "$SCALE" -q postgres >"$TMPD/init2.log" 2>&1 || die "pgbench -i failed: $(cat "$TMPD/init2.log")"
stop_capture
install -m 0644 "$PCAPTMP/copy.pcapng" "$OUT/copy.pcapng"

for f in pgbench copy; do
  echo "[bench] $OUT/$f.pcapng: $(stat -c %s "$OUT/$f.pcapng") bytes" >&2
done
