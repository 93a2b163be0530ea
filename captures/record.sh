#!/usr/bin/env bash
# Re-record the fixture captures in this folder from a real PostgreSQL 15 server and real clients
# (node `pg`, psql/libpq, pgbench). See captures/manifest.md for what each capture contains.
#
# Usage (as root, from anywhere):
#   bash captures/record.sh             # record every capture, then check each with tshark
#   bash captures/record.sh --install   # first apt-get install whatever is missing
#   bash captures/record.sh --no-check  # skip the tshark checks at the end
#   bash captures/record.sh only node-binary psql-other-port  # record (and check) only these
#                                       # captures, named with or without .pcapng; the others stay as they are
#
# What it does: initdb a throwaway cluster (as the `postgres` user) in a mktemp -d folder, listening
# on 127.0.0.1:5432 only (so Wireshark's pgsql dissector decodes it by default), with the Unix
# socket in the temp folder; creates roles `app` (MD5 password), `scram_user` (SCRAM-SHA-256) and
# `bench` (trust, for pgbench, database `bench` only), database `company` with a fixed `employees`
# table; then, for each capture, starts `dumpcap -i lo -f 'tcp port 5432'`, runs one client
# scenario, and stops dumpcap with SIGINT. Setup traffic goes over the Unix socket or happens
# between captures, so each file holds exactly one scenario. The server, dumpcap and the temp
# folder are cleaned up on exit (trap). Re-running overwrites the captures (idempotent). With `only`,
# the skipped scenarios' effects on the data that later captures read are reproduced without capturing
# (psql-scram's two COPY rows), so a capture's content does not depend on which ones were recorded.
# psql-other-port.pcapng is recorded with the server restarted on 127.0.0.1:6543 (`tcp port 6543`).
#
# Needs: postgresql-15 (initdb, pg_ctl, psql, pgbench), wireshark-common (dumpcap), tshark, openssl,
# node >= 20 with this repo's node_modules (npm ci), iproute2 (ss), util-linux (runuser).
set -euo pipefail

CAPDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$CAPDIR/.." && pwd)
CLIENTS="$CAPDIR/clients"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
HOST=127.0.0.1
PORT=5432 # fixed on purpose: Wireshark decodes tcp/5432 as pgsql without "Decode As"
OTHER_PORT=6543 # psql-other-port.pcapng only: a non-standard port (tshark needs -d tcp.port==6543,pgsql)
CAPTURE_PORT=$PORT # the port dumpcap captures

# Fixed credentials of the throwaway cluster (they only exist while this script runs).
APP_PASSWORD='app-secret'
WRONG_PASSWORD='not-the-password'
SCRAM_PASSWORD='scram-secret'

# Every capture, in recording order (tls-keylog last: it needs the server restarted with TLS).
ALL_CAPTURES=(ssl-refused seed-md5 seed-wrong-password psql-scram node-extended pgbench-extended
  pgbench-prepared psql-cancel node-binary node-protocol pg-receivewal pg-standby node-pgoutput node-copy
  pgbench-pipeline node-failures psql-other-port tls-keylog)

INSTALL=0
CHECK=1
ONLY_ARGS=0
declare -A ONLY=() # empty: record everything
for arg in "$@"; do
  case "$arg" in
    --install) INSTALL=1 ;;
    --no-check) CHECK=0 ;;
    -h | --help)
      sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    only | --only) ONLY_ARGS=1 ;;
    *)
      name=${arg##*/}
      name=${name%.pcapng}
      if ((ONLY_ARGS)) && [[ " ${ALL_CAPTURES[*]} " == *" $name "* ]]; then
        ONLY[$name]=1
      elif ((ONLY_ARGS)) && [[ $arg != -* ]]; then
        echo "record.sh: unknown capture: $arg (known: ${ALL_CAPTURES[*]})" >&2
        exit 2
      else
        echo "record.sh: unknown argument: $arg (try --help)" >&2
        exit 2
      fi
      ;;
  esac
done
if ((ONLY_ARGS && ${#ONLY[@]} == 0)); then
  echo "record.sh: 'only' needs at least one capture name (known: ${ALL_CAPTURES[*]})" >&2
  exit 2
fi
# selected NAME: is this capture to be recorded in this run?
selected() { ((${#ONLY[@]} == 0)) || [[ -n ${ONLY[$1]:-} ]]; }

log() { printf '\n[record] %s\n' "$*" >&2; }
die() {
  printf '[record] ERROR: %s\n' "$*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "run as root (dumpcap on lo, runuser to the postgres user)"

# ---------------------------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------------------------
missing_packages() {
  local -a pkgs=()
  [[ -x "$PGBIN/initdb" && -x "$PGBIN/pgbench" ]] || pkgs+=(postgresql-15)
  [[ -x "$PGBIN/psql" ]] || pkgs+=(postgresql-client-15)
  command -v dumpcap >/dev/null || pkgs+=(wireshark-common)
  command -v tshark >/dev/null || pkgs+=(tshark)
  command -v openssl >/dev/null || pkgs+=(openssl)
  command -v node >/dev/null || pkgs+=(nodejs)
  command -v ss >/dev/null || pkgs+=(iproute2)
  command -v runuser >/dev/null || pkgs+=(util-linux)
  command -v timeout >/dev/null || pkgs+=(coreutils)
  printf '%s\n' "${pkgs[@]}" | sort -u | grep . || true
}

mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]})); then
  if ((INSTALL)); then
    log "installing: ${MISSING[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${MISSING[@]}"
    # The Debian package starts a `main` cluster on 5432: stop it, we need the port.
    if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
      pg_ctlcluster 15 main stop || true
    fi
  else
    die "missing packages: ${MISSING[*]} (re-run with --install to apt-get install them)"
  fi
fi
id postgres >/dev/null 2>&1 || die "no 'postgres' user (is postgresql-15 installed?)"
"$PGBIN/postgres" --version | grep -q ' 15\.' || die "$PGBIN/postgres is not PostgreSQL 15: $("$PGBIN/postgres" --version)"
if [[ ! -f "$REPO/node_modules/pg/package.json" ]]; then
  if ((INSTALL)); then
    log "installing node_modules (npm ci)"
    (cd "$REPO" && npm ci)
  else
    die "node package 'pg' not found in $REPO/node_modules (run 'npm ci', or re-run with --install)"
  fi
fi

# A clean client environment: no PG* variables, no ~/.psqlrc, no NODE_OPTIONS from the caller.
while read -r v; do
  if [[ $v == PG* && $v != PGBIN ]]; then unset "$v"; fi
done < <(compgen -e)
unset NODE_OPTIONS
export PGCLIENTENCODING=UTF8 # psql would otherwise derive client_encoding from the locale
export TZ=UTC

# ---------------------------------------------------------------------------------------------
# Port check, temp folder, cleanup
# ---------------------------------------------------------------------------------------------
if ss -Hltn "sport = :$PORT" | grep -q .; then
  die "TCP port $PORT is already in use (stop the local PostgreSQL first, e.g. 'pg_ctlcluster 15 main stop'):
$(ss -Hltnp "sport = :$PORT")"
fi
if selected psql-other-port && ss -Hltn "sport = :$OTHER_PORT" | grep -q .; then
  die "TCP port $OTHER_PORT (for psql-other-port.pcapng) is already in use:
$(ss -Hltnp "sport = :$OTHER_PORT")"
fi

TAG=record
# shellcheck source=captures/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
capture_setup pgcapture
# Admin SQL goes over the Unix socket in the temp folder: it never shows up on lo.
psql_admin() { as_postgres "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMPD" -p "$PORT" -U postgres "$@"; }
pg_ctl_() { as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$TMPD/server.log" -w -t 60 "$@" >/dev/null; }
# pg-standby's hot standby: its data folder and port (Unix socket only); capture_cleanup stops it.
STANDBY_DATA="$TMPD/standby"
STANDBY_PORT=5434
pg_ctl_standby() { as_postgres "$PGBIN/pg_ctl" -D "$STANDBY_DATA" -l "$TMPD/standby.log" -w -t 60 "$@" >/dev/null; }

# libpq connection strings for the captured clients (gssencmode=disable: no GSSENCRequest probe).
conninfo() { echo "host=$HOST port=${4:-$PORT} user=$1 dbname=$2 sslmode=$3 gssencmode=disable"; }

# ---------------------------------------------------------------------------------------------
# Capturing
# ---------------------------------------------------------------------------------------------
# record NAME.pcapng FUNCTION: one capture = one scenario (skipped when not selected with `only`).
record() {
  local name=$1 scenario=$2
  if ! selected "${name%.pcapng}"; then
    log "skipping $name (not selected)"
    return 0
  fi
  log "recording $name"
  start_capture "$PCAPTMP/$name" "$CAPTURE_PORT"
  "$scenario"
  stop_capture
  install -m 0644 "$PCAPTMP/$name" "$CAPDIR/$name"
  rm -f "$PCAPTMP/$name"
  printf '[record] %s: %s bytes\n' "$name" "$(stat -c %s "$CAPDIR/$name")" >&2
}

# ---------------------------------------------------------------------------------------------
# The throwaway cluster
# ---------------------------------------------------------------------------------------------
T0=$SECONDS
log "initdb in $DATA"
as_postgres "$PGBIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --auth-local=peer --auth-host=reject \
  --no-sync >"$TMPD/initdb.log" || die "initdb failed: $(cat "$TMPD/initdb.log")"

cat >>"$DATA/postgresql.conf" <<EOF

# --- captures/record.sh ---
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$TMPD'
password_encryption = 'scram-sha-256'   # app's MD5 password is set with SET password_encryption = 'md5'
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'ISO, MDY'
ssl = off
max_connections = 20
fsync = off
synchronous_commit = off
full_page_writes = off
wal_sender_timeout = '2s'               # pg-receivewal: the server's keepalives come after 1 s idle
wal_level = logical                     # node-pgoutput: logical replication slots
max_prepared_transactions = 4           # node-pgoutput: two-phase transactions
logical_decoding_work_mem = '64kB'      # node-pgoutput: large transactions are streamed
EOF

cat >"$DATA/pg_hba.conf" <<EOF
# TYPE  DATABASE  USER        ADDRESS        METHOD
local   all       postgres                   peer
# pg-standby's base backup, taken over the Unix socket (not captured).
local   replication postgres                 peer
host    all       app         $HOST/32   md5
host    all       scram_user  $HOST/32   scram-sha-256
# pgbench's user: trust, and only for its own database (throwaway cluster on loopback only).
host    bench     bench       $HOST/32   trust
# pg_receivewal's user: physical replication only.
host    replication  repl     $HOST/32   trust
# ... and logical replication from database company (node-pgoutput).
host    company   repl        $HOST/32   trust
EOF

SERVER_UP=1 # from here on, the trap stops the server (harmless if it did not start)
pg_ctl_ start

log "creating roles, databases, table employees"
psql_admin -d postgres <<SQL
SET password_encryption = 'md5';
CREATE ROLE app LOGIN PASSWORD '$APP_PASSWORD';
SET password_encryption = 'scram-sha-256';
CREATE ROLE scram_user LOGIN PASSWORD '$SCRAM_PASSWORD';
CREATE ROLE bench LOGIN;
CREATE ROLE repl LOGIN REPLICATION;
CREATE DATABASE company OWNER app;
CREATE DATABASE bench OWNER bench;
SQL
psql_admin -d company <<'SQL'
SET ROLE app;
CREATE TABLE employees (
  id serial PRIMARY KEY,
  name text,
  title text,
  salary numeric(10, 2),
  hired date
);
INSERT INTO employees (name, title, salary, hired) VALUES
  ('Alice Johnson', 'Engineer', 85000.00, '2019-03-15'),
  ('Bob Smith', 'Manager', 95000.00, '2017-07-01'),
  ('Carol White', 'Engineer', 78000.50, '2021-01-10'),
  ('Dave Brown', 'Analyst', 62000.00, '2022-05-23'),
  ('Eve Davis', 'Director', 120000.00, '2015-11-30');
GRANT SELECT, INSERT ON employees TO scram_user;
GRANT USAGE ON SEQUENCE employees_id_seq TO scram_user;
SQL
# node-pgoutput: app marks one transaction as replicated from another origin (pgoutput's Origin).
psql_admin -d company <<'SQL'
GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_drop(text),
  pg_replication_origin_session_setup(text), pg_replication_origin_session_reset(),
  pg_replication_origin_xact_setup(pg_lsn, timestamptz) TO app;
SQL
hashes=$(psql_admin -d postgres -At -c \
  "SELECT rolname || ':' || left(rolpassword, 13) FROM pg_authid WHERE rolname IN ('app', 'scram_user') ORDER BY 1")
grep -q '^app:md5' <<<"$hashes" || die "app does not have an MD5 password: $hashes"
grep -q '^scram_user:SCRAM-SHA-256' <<<"$hashes" || die "scram_user does not have a SCRAM password: $hashes"

# pgbench's tables, made now so that the captures hold only the benchmark runs.
pgbench_init() {
  log "pgbench -i -s 1 (not captured)"
  PGSSLMODE=disable PGGSSENCMODE=disable "$PGBIN/pgbench" -i -s 1 -q -h "$HOST" -p "$PORT" -U bench bench \
    >"$TMPD/pgbench-init.log" 2>&1 || die "pgbench -i failed: $(cat "$TMPD/pgbench-init.log")"
}
pgbench_init

# ---------------------------------------------------------------------------------------------
# Scenarios (server without SSL)
# ---------------------------------------------------------------------------------------------
scenario_ssl_refused() {
  # libpq asks for TLS (SSLRequest), the server answers 'N', libpq goes on in clear text on the
  # same connection: StartupMessage, MD5 auth, one query, Terminate.
  PGPASSWORD=$APP_PASSWORD "$PGBIN/psql" -X "$(conninfo app company prefer)" \
    -c "SELECT count(*) AS employees FROM employees"
}

scenario_seed_md5() {
  node "$CLIENTS/seed.mjs" "$APP_PASSWORD"
}

scenario_seed_wrong_password() {
  if node "$CLIENTS/seed.mjs" "$WRONG_PASSWORD"; then
    die "seed.mjs with a wrong password unexpectedly succeeded"
  fi
}

scenario_psql_scram() {
  local sql="$TMPD/psql-scram.sql"
  # The COPY data lines below are tab-separated (text format); printf writes the tabs.
  {
    cat <<'SQL'
SET application_name = 'pgwire-capture';
SELECT 1 / 0;
SELEC 1;
DO $$ BEGIN RAISE NOTICE 'hello'; END $$;
/* an empty query: EmptyQueryResponse */ ;
LISTEN chan;
NOTIFY chan, 'payload';
SELECT 1 AS one \; SELECT 2 AS two;
SELECT repeat('x', 100000) AS big;
SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
BEGIN;
INSERT INTO employees (name, title, salary, hired) VALUES ('Temp', 'Temp', 1.00, '2024-01-01');
SELECT 1 / 0;
ROLLBACK;
BEGIN;
SELECT count(*) FROM employees;
COMMIT;
COPY employees TO STDOUT;
COPY employees (name, title, salary, hired) FROM STDIN;
SQL
    printf '%s\t%s\t%s\t%s\n' 'Frank Miller' 'Intern' '31000.00' '2023-06-01' 'Grace Lee' 'Engineer' '88000.25' '2023-09-18'
    # Kept last: psql 15 silently stops reading a -f script when an empty query directly follows
    # the COPY data, and the final SELECT shows that the session goes on after COPY FROM STDIN.
    cat <<'SQL'
\.
SELECT count(*) FROM employees;
SQL
  } >"$sql"
  # Big results go to /dev/null; the rest of psql's output is shown.
  PGPASSWORD=$SCRAM_PASSWORD "$PGBIN/psql" -X -v ON_ERROR_STOP=0 "$(conninfo scram_user company disable)" \
    -f "$sql" -o /dev/null
}

scenario_node_extended() {
  node "$CLIENTS/extended.mjs" "$APP_PASSWORD"
}

pgbench_run() {
  # -n: no VACUUM before the run; fixed seed. Trust auth for `bench` (no password exchange).
  # No SSLRequest/GSSENCRequest probe (ssl-refused.pcapng shows that one).
  PGSSLMODE=disable PGGSSENCMODE=disable "$PGBIN/pgbench" -n --random-seed=1 -M "$1" -c 2 -t 20 -h "$HOST" -p "$PORT" -U bench bench
}
scenario_pgbench_extended() { pgbench_run extended; }
scenario_pgbench_prepared() { pgbench_run prepared; }

scenario_psql_cancel() {
  # psql gets SIGINT after 1 s and sends a CancelRequest on a second connection.
  local rc=0
  PGPASSWORD=$APP_PASSWORD timeout -s INT 1 "$PGBIN/psql" -X "$(conninfo app company disable)" \
    -c "SELECT pg_sleep(5)" || rc=$?
  ((rc == 124)) || die "psql was not interrupted by timeout (exit $rc)"
}

scenario_tls_keylog() {
  local keys="$PCAPTMP/tls-keylog.keys"
  rm -f "$keys"
  NODE_OPTIONS="--tls-keylog=$keys" node "$CLIENTS/tls.mjs" "$APP_PASSWORD" "$TLS_VERSION"
  [[ -s "$keys" ]] || die "node wrote no TLS key log"
  install -m 0644 "$keys" "$CAPDIR/tls-keylog.keys"
}

scenario_node_binary() {
  node "$CLIENTS/binary.mjs" "$APP_PASSWORD"
}

scenario_node_protocol() {
  node "$CLIENTS/protocol.mjs" "$APP_PASSWORD"
}

scenario_node_failures() {
  node "$CLIENTS/failures.mjs" "$APP_PASSWORD"
}

scenario_pg_receivewal() {
  # Physical streaming replication: IDENTIFY_SYSTEM and the rest as simple queries on a
  # replication connection, START_REPLICATION, then copy-both: XLogData from the server, a status
  # update from the client every second, keepalives when idle; SIGINT ends it with CopyDone.
  local dir="$TMPD/wal"
  # A fresh WAL segment: pg_receivewal starts at the segment's start, so little old WAL is sent.
  psql_admin -d postgres -c "SELECT pg_switch_wal()" >/dev/null
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  as_postgres "$PGBIN/pg_receivewal" -h "$HOST" -p "$PORT" -U repl -D "$dir" --status-interval=1 --no-loop \
    >"$TMPD/receivewal.log" 2>&1 &
  local pid=$!
  sleep 1.5
  psql_admin -d company -c "CREATE TABLE wal_demo AS SELECT g FROM generate_series(1, 200) g" >/dev/null
  sleep 2.5
  # $! is the subshell around runuser: signal pg_receivewal itself (SIGINT: stop streaming cleanly).
  pkill -INT -x pg_receivewal
  wait "$pid" || die "pg_receivewal failed: $(cat "$TMPD/receivewal.log")"
  psql_admin -d company -c "DROP TABLE wal_demo" >/dev/null
}

scenario_pg_standby() {
  # A hot standby (port 5434, Unix socket only) that streams from this server over TCP, with
  # hot_standby_feedback on and a status every second: the walreceiver's IDENTIFY_SYSTEM and
  # START_REPLICATION, then XLogData, keepalives, status updates and hot standby feedback. The base
  # backup was taken before the capture started; a fast shutdown of the standby ends it.
  STANDBY_UP=1
  pg_ctl_standby start
  sleep 2
  psql_admin -d company -c "CREATE TABLE standby_demo AS SELECT g FROM generate_series(1, 100) g" >/dev/null
  # A query on the standby holds its xmin for a moment: the feedback reports it. First wait until
  # the standby has replayed the table.
  local i
  for ((i = 0; i < 50; i++)); do
    [[ $(as_postgres "$PGBIN/psql" -X -At -h "$TMPD" -p "$STANDBY_PORT" -U postgres -d company \
      -c "SELECT count(*) FROM pg_class WHERE relname = 'standby_demo'") == 1 ]] && break
    sleep 0.1
  done
  as_postgres "$PGBIN/psql" -X -q -h "$TMPD" -p "$STANDBY_PORT" -U postgres -d company \
    -c "SELECT count(*), pg_sleep(2) FROM standby_demo" >/dev/null
  pg_ctl_standby stop -m fast
  STANDBY_UP=0
  psql_admin -d company -c "DROP TABLE standby_demo" >/dev/null
}

scenario_node_copy() {
  # COPY in text, CSV and binary, in and out, cut into CopyData at awkward places (see the script).
  node "$CLIENTS/copy.mjs" "$APP_PASSWORD"
}

scenario_node_pgoutput() {
  # Logical replication: three pgoutput sessions (protocol versions 1, 2 and 3), see the script.
  node "$CLIENTS/pgoutput.mjs" "$APP_PASSWORD"
}

scenario_pgbench_pipeline() {
  # One client, five runs of a script with four statements between \startpipeline and \endpipeline.
  PGSSLMODE=disable PGGSSENCMODE=disable "$PGBIN/pgbench" -n --random-seed=1 -M extended -c 1 -t 5 \
    -f "$CLIENTS/pipeline.sql" -h "$HOST" -p "$PORT" -U bench bench
}

scenario_psql_other_port() {
  # The server listens on 6543 for this capture only (see below); two -c: two simple Queries.
  PGPASSWORD=$APP_PASSWORD "$PGBIN/psql" -X "$(conninfo app company disable "$OTHER_PORT")" \
    -c "SELECT inet_server_port() AS port, current_setting('port') AS setting" \
    -c "SELECT id, name, title FROM employees ORDER BY id LIMIT 3"
}

record ssl-refused.pcapng scenario_ssl_refused
record seed-md5.pcapng scenario_seed_md5
record seed-wrong-password.pcapng scenario_seed_wrong_password
record psql-scram.pcapng scenario_psql_scram
if ! selected psql-scram; then
  # What psql-scram leaves in the table for the later captures: id 6 used by its rolled-back INSERT,
  # two rows (ids 7 and 8) added by its COPY FROM STDIN. Over the Unix socket, not captured.
  log "adding psql-scram's two rows without capturing"
  psql_admin -d company <<'SQL'
SET ROLE app;
SELECT nextval('employees_id_seq') \g /dev/null
INSERT INTO employees (name, title, salary, hired) VALUES
  ('Frank Miller', 'Intern', 31000.00, '2023-06-01'),
  ('Grace Lee', 'Engineer', 88000.25, '2023-09-18');
SQL
fi
record node-extended.pcapng scenario_node_extended
record pgbench-extended.pcapng scenario_pgbench_extended
record pgbench-prepared.pcapng scenario_pgbench_prepared
record psql-cancel.pcapng scenario_psql_cancel
record node-binary.pcapng scenario_node_binary
record node-protocol.pcapng scenario_node_protocol
record pg-receivewal.pcapng scenario_pg_receivewal
if selected pg-standby; then
  log "pg_basebackup for the standby (over the Unix socket, not captured)"
  as_postgres "$PGBIN/pg_basebackup" -h "$TMPD" -p "$PORT" -U postgres -D "$STANDBY_DATA" -X fetch -c fast \
    --no-sync >"$TMPD/basebackup.log" 2>&1 || die "pg_basebackup failed: $(cat "$TMPD/basebackup.log")"
  as_postgres touch "$STANDBY_DATA/standby.signal"
  cat >>"$STANDBY_DATA/postgresql.auto.conf" <<EOF
port = $STANDBY_PORT
listen_addresses = ''
hot_standby_feedback = on
wal_receiver_status_interval = '1s'
primary_conninfo = 'host=$HOST port=$PORT user=repl application_name=pgwire_standby sslmode=disable gssencmode=disable'
EOF
  record pg-standby.pcapng scenario_pg_standby
fi
record node-pgoutput.pcapng scenario_node_pgoutput
record node-copy.pcapng scenario_node_copy
if selected pgbench-pipeline; then
  pgbench_init # fresh pgbench tables: the balances it reads do not depend on the runs above
  record pgbench-pipeline.pcapng scenario_pgbench_pipeline
fi
record node-failures.pcapng scenario_node_failures

# ---------------------------------------------------------------------------------------------
# psql-other-port: the same server restarted on a non-standard port, then back on 5432
# ---------------------------------------------------------------------------------------------
if selected psql-other-port; then
  log "restarting the server on port $OTHER_PORT"
  pg_ctl_ restart -o "-p $OTHER_PORT"
  CAPTURE_PORT=$OTHER_PORT
  record psql-other-port.pcapng scenario_psql_other_port
  CAPTURE_PORT=$PORT
  log "restarting the server on port $PORT"
  pg_ctl_ restart -o "-p $PORT"
fi

# ---------------------------------------------------------------------------------------------
# Restart with TLS on (self-signed certificate) for the key-log capture
# ---------------------------------------------------------------------------------------------
if selected tls-keylog; then
  TLS_VERSION=${CAPTURE_TLS_VERSION:-TLSv1.3}
  log "restarting the server with ssl = on ($TLS_VERSION)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
    -keyout "$TMPD/server.key" -out "$TMPD/server.crt" 2>"$TMPD/openssl.log" ||
    die "openssl failed: $(cat "$TMPD/openssl.log")"
  chown postgres:postgres "$TMPD/server.key" "$TMPD/server.crt"
  chmod 0600 "$TMPD/server.key"
  cat >>"$DATA/postgresql.conf" <<EOF
ssl = on
ssl_cert_file = '$TMPD/server.crt'
ssl_key_file = '$TMPD/server.key'
ssl_min_protocol_version = '$TLS_VERSION'
ssl_max_protocol_version = '$TLS_VERSION'
EOF
  pg_ctl_ restart

  record tls-keylog.pcapng scenario_tls_keylog
fi

pg_ctl_ stop
SERVER_UP=0
if ((${#ONLY[@]})); then
  log "recorded ${!ONLY[*]} in $((SECONDS - T0)) s"
else
  log "recorded all captures in $((SECONDS - T0)) s"
fi

# ---------------------------------------------------------------------------------------------
# Checks: every capture has the PostgreSQL messages its scenario should produce, nothing else
# ---------------------------------------------------------------------------------------------
if ((CHECK)); then
  log "checking captures with tshark"
  # With `only`, check just the captures recorded now.
  mapfile -t CHECK_NAMES < <(for n in "${ALL_CAPTURES[@]}"; do if ((${#ONLY[@]})) && selected "$n"; then echo "$n"; fi; done)
  bash "$CAPDIR/check.sh" "${CHECK_NAMES[@]}"
fi
