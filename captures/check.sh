#!/usr/bin/env bash
# Check the fixture captures in this folder with tshark's built-in pgsql dissector (Wireshark
# decodes tcp/5432 as PostgreSQL by default; psql-other-port.pcapng is on tcp/6543 and is read with
# `-d tcp.port==6543,pgsql`): each file must hold the PostgreSQL messages its scenario produces (see
# manifest.md), only traffic on its server port, the expected number of TCP connections, and no
# malformed or lost packets. Run by record.sh after recording; can be run alone:
#   bash captures/check.sh                              # every capture
#   bash captures/check.sh node-binary psql-other-port  # only these (with or without .pcapng)
set -euo pipefail

CAPDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEYS="$CAPDIR/tls-keylog.keys"
command -v tshark >/dev/null || {
  echo "check.sh: tshark not found (apt-get install tshark)" >&2
  exit 1
}

FAILS=0
FILE=''
SPORT=5432    # the current file's server port
DECODE_AS=()  # extra tshark options for the current file (Decode As for a non-standard port)
declare -A TYPES=()

# Which captures to check: all (no arguments) or the ones named.
declare -A WANTED=() CHECKED=()
for arg in "$@"; do
  arg=${arg##*/}
  WANTED[${arg%.pcapng}]=1
done

fail() {
  printf '  FAIL %s: %s\n' "${FILE##*/}" "$*" >&2
  FAILS=$((FAILS + 1))
}
# tshark on the current file; the TLS key log is always given (harmless for clear-text files).
tsh() { tshark -r "$FILE" -o "tls.keylog_file:$KEYS" "${DECODE_AS[@]}" "$@" 2>/dev/null; }
# frames FILTER: how many frames match (-1 when tshark rejects the filter, so that checks fail).
frames() {
  local out
  out=$(tsh -Y "$1" -T fields -e frame.number) || {
    echo "  tshark failed on filter: $1" >&2
    echo -1
    return 0
  }
  grep -c . <<<"$out" || true
}

# begin FILE STREAMS [PORT]: open a capture (server on PORT, default 5432: other ports are decoded
# as pgsql with -d), check the basics, count the pgsql message types in it. Returns 1 (skip the
# file's checks) when the file is missing or was not named on the command line.
begin() {
  if ((${#WANTED[@]})) && [[ -z ${WANTED[${1%.pcapng}]:-} ]]; then return 1; fi
  CHECKED[${1%.pcapng}]=1
  FILE="$CAPDIR/$1"
  SPORT=${3:-5432}
  DECODE_AS=()
  if ((SPORT != 5432)); then DECODE_AS=(-d "tcp.port==$SPORT,pgsql"); fi
  TYPES=()
  if [[ ! -s "$FILE" ]]; then
    fail "missing"
    return 1
  fi
  local n
  n=$(tsh -T fields -e tcp.stream | sort -u | grep -c . || true)
  ((n == $2)) || fail "$n TCP connections, expected $2"
  n=$(frames "!(tcp.port == $SPORT)")
  ((n == 0)) || fail "$n frames that are not tcp/$SPORT"
  n=$(frames '_ws.malformed || _ws.expert.severity == "Error"')
  ((n == 0)) || fail "$n malformed frames"
  n=$(frames 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.retransmission')
  ((n == 0)) || fail "$n lost or retransmitted segments"
  local t
  while read -r t; do
    [[ -n "$t" ]] && TYPES[$t]=$((${TYPES[$t]:-0} + 1))
  done < <(tsh -T fields -E occurrence=a -E aggregator=$'\n' -e pgsql.type)
  return 0
}

# has TYPE [N]: at least one message of that type (or exactly N).
has() {
  local c=${TYPES[$1]:-0}
  if (($# > 1)); then
    ((c == $2)) || fail "$c × '$1', expected $2"
  else
    ((c > 0)) || fail "no '$1' message"
  fi
}
lacks() { ((${TYPES[$1]:-0} == 0)) || fail "unexpected '$1' message (${TYPES[$1]})"; }
# match DESCRIPTION FILTER [N]: at least one frame (or exactly N frames) match the display filter.
match() {
  local c
  c=$(frames "$2")
  if (($# > 2)); then
    ((c == $3)) || fail "$1: $c frames match '$2', expected $3"
  else
    ((c > 0)) || fail "$1: no frame matches '$2'"
  fi
}
# values FILTER FIELD: every occurrence of FIELD in the frames matching FILTER, one per line.
values() { tsh -Y "$1" -T fields -E occurrence=a -E aggregator=$'\n' -e "$2" | grep . || true; }
# pgoutput NAME LETTER [N]: at least one (or exactly N) XLogData from the server whose pgoutput
# message (the byte after XLogData's 25-byte header) has this type letter.
pgoutput() {
  local hex c
  hex=$(printf '%02x' "'$2")
  c=$(values "tcp.srcport == $SPORT" pgsql.copydata | grep -c "^77.\{48\}$hex" || true)
  if (($# > 2)); then
    ((c == $3)) || fail "$c × pgoutput $1, expected $3"
  else
    ((c > 0)) || fail "no pgoutput $1"
  fi
}
summary() {
  local t out=''
  for t in "${!TYPES[@]}"; do out+="$t×${TYPES[$t]}, "; done
  printf '  %-28s %7s bytes  %s\n' "${FILE##*/}" "$(stat -c %s "$FILE")" "$(tr ',' '\n' <<<"${out%, }" | sed 's/^ //' | sort | paste -sd, | sed 's/,/, /g')"
}

COMMON_STARTUP=("Startup message" "Authentication request" "Parameter status" "Backend key data" "Ready for query")
# What both pgbench modes (extended, prepared) send and receive.
PGBENCH_TYPES=("Startup message" "Authentication request" "Simple query" "Parse" "Bind" "Describe" "Execute"
  "Sync" "Parse completion" "Bind completion" "No data" "Row description" "Data row" "Command completion"
  "Termination")

echo "checking captures in $CAPDIR"

if begin ssl-refused.pcapng 1; then
  for t in "SSL request" "${COMMON_STARTUP[@]}" "Password message" "Simple query" "Row description" \
    "Data row" "Command completion" "Termination"; do has "$t"; done
  has "SSL request" 1
  match "server refuses TLS with 'N'" 'tcp.srcport == 5432 && tcp.payload == 4e' 1
  match "MD5 challenge" 'pgsql.authtype == 5 && pgsql.salt' 1
  summary
fi

if begin seed-md5.pcapng 1; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Simple query" "Row description" \
    "Command completion" "Termination"; do has "$t"; done
  has "Data row" 5
  lacks "SSL request"
  match "MD5 challenge" 'pgsql.authtype == 5 && pgsql.salt' 1
  match "the lecture's query" 'pgsql.query == "SELECT * FROM employees"' 1
  match "client FIN after Terminate" 'tcp.dstport == 5432 && tcp.flags.fin == 1' 1
  summary
fi

if begin seed-wrong-password.pcapng 1; then
  has "Startup message"
  has "Authentication request" 1
  has "Password message" 1
  has "Error" 1
  lacks "Ready for query"
  lacks "Termination"
  match "FATAL 28P01 with F/L/R fields" \
    'pgsql.severity == "FATAL" && pgsql.code == "28P01" && pgsql.file && pgsql.line && pgsql.routine' 1
  summary
fi

if begin psql-scram.pcapng 1; then
  for t in "${COMMON_STARTUP[@]}" "SASLInitialResponse message" "SASLResponse message" "Simple query" \
    "Error" "Notice" "Empty query" "Notification" "Row description" "Data row" "Command completion" \
    "CopyOut response" "CopyIn response" "Copy data" "Copy completion" "Termination"; do has "$t"; done
  match "SASL, SASL continue, SASL final" 'pgsql.authtype == 10 || pgsql.authtype == 11 || pgsql.authtype == 12' 3
  match "SCRAM-SHA-256 mechanism" 'pgsql.auth.sasl.mech == "SCRAM-SHA-256"' 2
  match "division by zero" 'pgsql.code == "22012"' 2
  match "syntax error" 'pgsql.code == "42601"' 1
  match "NOTICE hello" 'pgsql.severity == "NOTICE" && pgsql.message == "hello"' 1
  match "ParameterStatus application_name" \
    'pgsql.parameter_name == "application_name" && pgsql.parameter_value == "pgwire-capture"' 1
  match "two result sets in one Query" 'pgsql.query contains "SELECT 1 AS one"' 1
  match "ReadyForQuery in transaction (T)" 'pgsql.status == 84'
  match "ReadyForQuery in failed transaction (E)" 'pgsql.status == 69'
  match "a DataRow over 100 kB, reassembled from many segments" \
    'pgsql.type == "Data row" && tcp.reassembled.length > 100000' 1
  ((${TYPES["Data row"]:-0} >= 2000)) || fail "expected ≥ 2000 DataRows (generate_series)"
  summary
fi

if begin node-extended.pcapng 1; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Parse" "Bind" "Describe" "Execute" "Sync" \
    "Parse completion" "Bind completion" "Row description" "Data row" "Command completion" "Error" \
    "Simple query" "Termination"; do has "$t"; done
  match "MD5 challenge" 'pgsql.authtype == 5' 1
  match "named statement parsed once" 'pgsql.type == "Parse" && pgsql.statement == "emp_by_id"' 1
  match "named statement bound twice" 'pgsql.type == "Bind" && pgsql.statement == "emp_by_id"' 2
  match "NULL parameter" 'pgsql.type == "Bind" && pgsql.val.length == -1' 1
  match "binary result format requested" 'pgsql.type == "Bind" && pgsql.format == 1' 1
  match "error at Parse" 'pgsql.code == "42P01"' 1
  match "error at Execute" 'pgsql.code == "22012"' 1
  summary
fi

if begin pgbench-extended.pcapng 3; then
  for t in "${PGBENCH_TYPES[@]}"; do has "$t"; done
  lacks "SSL request"
  lacks "Password message"
  has "Execute" 280
  ((${TYPES[Parse]:-0} == ${TYPES[Execute]:-0})) || fail "extended mode: one Parse per Execute expected"
  match "trust: AuthenticationOk at once" 'pgsql.authtype == 0' 3
  match "unnamed statements only" 'pgsql.type == "Parse" && pgsql.statement matches "."' 0
  summary
fi

if begin pgbench-prepared.pcapng 3; then
  for t in "${PGBENCH_TYPES[@]}"; do has "$t"; done
  lacks "SSL request"
  has "Execute" 280
  has "Parse" 14
  match "named statements P_0..P_6" 'pgsql.type == "Parse" && pgsql.statement matches "^P_[0-6]$"'
  summary
fi

if begin psql-cancel.pcapng 2; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Simple query" "Error" "Termination"; do has "$t"; done
  has "Cancel request" 1
  match "CancelRequest on its own connection" 'pgsql.type == "Cancel request" && tcp.stream == 1' 1
  match "query canceled (57014)" 'pgsql.code == "57014"' 1
  summary
fi

if begin node-binary.pcapng 1; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Parse completion" "Bind completion" \
    "Command completion" "Termination"; do has "$t"; done
  for t in Parse Bind Describe Execute Sync "Row description"; do has "$t" 2; done
  has "Data row" 8
  lacks "Simple query"
  match "MD5 challenge" 'pgsql.authtype == 5' 1
  match "the lecture's query, extended protocol" 'pgsql.type == "Parse" && pgsql.query == "SELECT * FROM employees"' 1
  match "Bind asks for binary results" 'pgsql.type == "Bind" && pgsql.format == 1' 2
  formats=$(values 'tcp.srcport == 5432 && pgsql.type == "Row description"' pgsql.format | sort | uniq -c | xargs)
  [[ "$formats" == "16 1" ]] || fail "RowDescription formats: '$formats', expected 16 columns (5 + 11) all 1 (binary)"
  match "binary int8 9007199254740993" 'pgsql.type == "Data row" && pgsql.val.data == 00:20:00:00:00:00:00:01' 1
  match "binary float8 -1.5" 'pgsql.type == "Data row" && pgsql.val.data == bf:f8:00:00:00:00:00:00' 1
  match "binary uuid (16 bytes)" \
    'pgsql.type == "Data row" && pgsql.val.data == a0:ee:bc:99:9c:0b:4e:f8:bb:6d:6b:b9:bd:38:0a:11' 1
  match "binary int4 ids (4 bytes)" 'pgsql.type == "Data row" && pgsql.val.data == 00:00:00:07' 1
  # pgsql.val.length is also RowDescription's column length (-1 for numeric, bytea, text[]): count
  # the -1 lengths inside the DataRow of the literals only.
  n=$(tsh -V -Y 'pgsql.val.data == a0:ee:bc:99:9c:0b:4e:f8:bb:6d:6b:b9:bd:38:0a:11' |
    awk '/^ +Type: / { t = $0 } /Column length: -1$/ && t ~ /Data row/ { c++ } END { print c + 0 }')
  ((n == 1)) || fail "$n NULL values (length -1) in the literals' DataRow, expected 1"
  summary
fi

if begin node-protocol.pcapng 2; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Row description" "Data row" "Termination"; do has "$t"; done
  has "Parameter description" 2 # Describe S "typed" and "pair"
  has Bind 3
  has Execute 3
  has "CopyIn response" 3
  has "CopyOut response" 2
  has "Copy completion" 4 # client: after the dropped COPY and the w/k rows; server: two COPY TO STDOUT
  has Error 3
  lacks "Function call"
  match "Bind with three binary parameters" 'pgsql.type == "Bind" && pgsql.val.data == 00:00:00:28' 1
  match "portal a asks for binary results" 'pgsql.type == "Bind" && pgsql.portal == "a" && pgsql.format == 1' 1
  match "the bad COPY row" 'pgsql.code == "22P02"' 1
  match "the Query in the middle of COPY and the FATAL after it" 'pgsql.code == "08P01"' 2
  match "CopyData after the error (dropped by the server)" 'tcp.dstport == 5432 && pgsql.copydata == 37:09:73:65:76:65:6e:0a' 1
  match "COPY rows that start with w and k (client)" 'tcp.dstport == 5432 && pgsql.copydata matches "^(walrus|kiwi)"' 2
  match "COPY rows that start with w, r, k and h (server)" 'tcp.srcport == 5432 && pgsql.copydata matches "^(walrus|rhubarb|kiwi|hops)"' 1
  summary
fi

if begin pg-receivewal.pcapng 1; then
  for t in "SSL request" "Startup message" "Authentication request" "Simple query" "Row description" "Data row" \
    "Command completion" "Ready for query" "Copy data" "Copy completion" "Termination"; do has "$t"; done
  has "Unknown" 1 # CopyBothResponse ('W'): Wireshark 4.0's pgsql does not know it
  match "CopyBothResponse" 'tcp.srcport == 5432 && pgsql.type == "Unknown" && frame contains "W"' 1
  has "Copy completion" 2 # the client's CopyDone (SIGINT), then the server's
  lacks "Password message"
  match "START_REPLICATION" 'pgsql.query matches "^START_REPLICATION [0-9A-F]+/[0-9A-F]+ TIMELINE 1$"' 1
  match "IDENTIFY_SYSTEM" 'pgsql.query == "IDENTIFY_SYSTEM"'
  # Copy data inside copy-both: XLogData ('w') and keepalives ('k') from the server, status updates ('r') from the client.
  match "XLogData" 'tcp.srcport == 5432 && pgsql.copydata[0] == 0x77'
  match "keepalive" 'tcp.srcport == 5432 && pgsql.copydata[0] == 0x6b'
  match "standby status update" 'tcp.dstport == 5432 && pgsql.copydata[0] == 0x72'
  match "the stream ends with START_STREAMING and START_REPLICATION" 'pgsql.tag == "START_STREAMING"' 1
  summary
fi

if begin pg-standby.pcapng 1; then
  for t in "Startup message" "Authentication request" "Simple query" "Row description" "Data row" \
    "Command completion" "Ready for query" "Copy data" "Termination"; do has "$t"; done
  has "Unknown" 1 # CopyBothResponse ('W'): Wireshark 4.0's pgsql does not know it
  lacks "Password message"
  match "the walreceiver's application_name" 'pgsql.parameter_value == "pgwire_standby"'
  match "IDENTIFY_SYSTEM" 'pgsql.query == "IDENTIFY_SYSTEM"' 1
  match "START_REPLICATION" 'pgsql.query matches "^START_REPLICATION [0-9A-F]+/[0-9A-F]+ TIMELINE 1$"' 1
  match "XLogData" 'tcp.srcport == 5432 && pgsql.copydata[0] == 0x77'
  match "keepalive" 'tcp.srcport == 5432 && pgsql.copydata[0] == 0x6b'
  match "standby status update" 'tcp.dstport == 5432 && pgsql.copydata[0] == 0x72'
  match "hot standby feedback with an xmin" 'tcp.dstport == 5432 && pgsql.copydata[0] == 0x68 && pgsql.copydata[9:4] != 00:00:00:00'
  summary
fi

if begin node-copy.pcapng 1; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Simple query" "Copy data" "Copy completion" \
    "Command completion" "Termination"; do has "$t"; done
  match "COPY statements" 'pgsql.query matches "^COPY "' 9
  has "CopyIn response" 5  # CSV, text, binary, old syntax, look-alike rows
  has "CopyOut response" 4 # CSV, text, binary, look-alike rows
  match "rows that start with B, I, U, w, k (client, one CopyData)" 'tcp.dstport == 5432 && pgsql.copydata matches "^Begin\t10\nInsert\t11\nUpdate\t12\nwal\t13\nkeep\t14\n$"' 1
  match "rows that start with B, I, U, w, k (server)" 'tcp.srcport == 5432 && pgsql.copydata matches "^(Begin|Insert|Update|wal|keep)\n$"' 1
  match "CSV in: the header line, cut after 7 bytes" 'tcp.dstport == 5432 && pgsql.copydata == "id;name"' 1
  match "text in: a row ends exactly at a CopyData's end" 'tcp.dstport == 5432 && pgsql.copydata == 5c:4e:0a' 1
  match "CSV out starts with its header line" 'tcp.srcport == 5432 && pgsql.copydata == "id,name,note,amount\n"' 1
  match "binary out starts with the PGCOPY signature" 'tcp.srcport == 5432 && pgsql.copydata[0:11] == 50:47:43:4f:50:59:0a:ff:0d:0a:00' 1
  match "binary in starts with the signature's first 5 bytes" 'tcp.dstport == 5432 && pgsql.copydata == "PGCOP"' 1
  match "the binary trailer" 'tcp.srcport == 5432 && pgsql.copydata == ff:ff' 1
  n=$(values 'pgsql.tag' pgsql.tag | grep -c '^COPY ')
  ((n == 9)) || fail "$n COPY command tags, expected 9"
  lacks Error
  summary
fi

if begin node-pgoutput.pcapng 4; then
  # The app connection that makes the changes, and three replication connections (pgoutput 1, 2, 3).
  for t in "${COMMON_STARTUP[@]}" "Password message" "Simple query" "Row description" "Data row" \
    "Command completion" "Copy data" "Copy completion" "Termination"; do has "$t"; done
  has "Unknown" 3 # CopyBothResponse ('W'): Wireshark 4.0's pgsql does not know it
  match "three replication connections" 'pgsql.parameter_value == "database"' 3
  match "CREATE_REPLICATION_SLOT with pgoutput, once with two-phase" 'pgsql.query matches "^CREATE_REPLICATION_SLOT slot_v[123] LOGICAL pgoutput"' 3
  for v in 1 2 3; do
    match "START_REPLICATION with proto_version $v" "pgsql.query matches \"^START_REPLICATION SLOT slot_v$v LOGICAL 0/0 \\\\(proto_version '$v', publication_names\"" 1
  done
  # Version 1: ten transactions (the INSERT of three rows, two UPDATEs and a DELETE on lr_items,
  # the same on lr_full, the one with a transactional message, the TRUNCATE, the one from another
  # origin); every change.
  pgoutput Begin B 11 # and the one of version 2 (its TRUNCATE, not streamed)
  pgoutput Commit C 11
  pgoutput Type Y 2 # the enum mood, before lr_items in versions 1 and 3
  pgoutput Update U 3
  pgoutput Delete D 3 # two in version 1, one prepared then rolled back in version 3
  pgoutput Message M 2 # one transactional, one not
  pgoutput Truncate T 2
  pgoutput Insert I
  pgoutput Relation R
  # Version 2: streaming; version 3: two-phase.
  for m in "Stream Start:S" "Stream Stop:E" "Stream Commit:c" "Stream Abort:A" "Begin Prepare:b" "Prepare:P" \
    "Commit Prepared:K" "Rollback Prepared:r" "Stream Prepare:p"; do pgoutput "${m%:*}" "${m#*:}"; done
  pgoutput Origin O 1 # the transaction app marked as coming from origin "upstream"
  summary
fi

if begin pgbench-pipeline.pcapng 2; then
  for t in "Startup message" "Authentication request" "Parameter status" "Backend key data" \
    "Row description" "Data row" "No data" "Termination"; do has "$t"; done
  for t in Parse Bind Describe Execute "Parse completion" "Bind completion" "Command completion"; do has "$t" 20; done
  has Sync 5
  has "Ready for query" 7 # 2 after startup, 1 per pipeline
  has "No data" 5         # the UPDATE
  has "Data row" 15       # the three SELECTs
  lacks "Simple query"
  lacks "Password message"
  lacks "SSL request"
  # In message order: the four P/B/D/E of a pipeline go out before any answer, then one Sync.
  read -r syncs bad before < <(tsh -T fields -E occurrence=a -E aggregator=';' -e tcp.srcport -e pgsql.type |
    awk -F'\t' '$2 != "" {
      n = split($2, m, ";")
      for (i = 1; i <= n; i++) {
        if ($1 != 5432 && m[i] == "Execute") { ex++; total++ }
        if ($1 != 5432 && m[i] == "Sync") { syncs++; if (ex != 4) bad++; ex = 0 }
        if ($1 == 5432 && m[i] == "Parse completion" && before == "") before = total
      }
    } END { print syncs + 0, bad + 0, before + 0 }')
  ((syncs == 5 && bad == 0)) || fail "$syncs Syncs, $bad of them not after exactly 4 Executes"
  ((before == 4)) || fail "$before Executes before the first ParseComplete, expected 4 (pipelined)"
  match "one segment per pipeline: P/B/D/E ×4 + Sync" \
    'tcp.dstport == 5432 && pgsql.type == "Sync" && count(pgsql.type) == 17' 5
  summary
fi

if begin node-failures.pcapng 2; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Simple query" Parse Bind Describe Execute Sync; do has "$t"; done
  has Error 4
  match "the Bind that fails ('abc' is no integer)" 'pgsql.code == "22P02"' 1
  match "the duplicate key, with its detail, table and constraint" \
    'pgsql.code == "23505" && pgsql.detail && pgsql.table_name && pgsql.constraint_name' 1
  match "the unknown function, with its hint and position" 'pgsql.code == "42883" && pgsql.hint && pgsql.position' 1
  match "the FATAL of pg_terminate_backend" 'pgsql.code == "57P01" && pgsql.severity == "FATAL"' 1
  has Execute 4 # three in the pipeline, one for pg_terminate_backend($1)
  has Sync 3
  match "the query the server ends" 'pgsql.query == "SELECT pg_sleep(10)"' 1
  has Termination 1 # the second connection's; the server closes the first one
  summary
fi

if begin psql-other-port.pcapng 1 6543; then
  for t in "${COMMON_STARTUP[@]}" "Password message" "Termination"; do has "$t"; done
  has "Simple query" 2
  has "Row description" 2
  has "Data row" 4
  has "Command completion" 2
  match "MD5 challenge" 'pgsql.authtype == 5' 1
  match "inet_server_port() = 6543" 'tcp.srcport == 6543 && pgsql.type == "Data row" && pgsql.val.data == 36:35:34:33' 1
  n=$(tshark -r "$FILE" -Y pgsql 2>/dev/null | wc -l)
  ((n == 0)) || fail "$n frames decoded as pgsql without -d tcp.port==6543,pgsql (expected none)"
  summary
fi

if begin tls-keylog.pcapng 1; then
  [[ -s "$KEYS" ]] || fail "tls-keylog.keys missing"
  for t in "SSL request" "${COMMON_STARTUP[@]}" "Password message" "Simple query" "Row description" \
    "Data row" "Command completion" "Termination"; do has "$t"; done
  match "server accepts TLS with 'S'" 'tcp.srcport == 5432 && tcp.payload == 53' 1
  match "one ClientHello" 'tls.handshake.type == 1' 1
  match "one ServerHello (no HelloRetryRequest)" 'tls.handshake.type == 2' 1
  match "decrypted query inside TLS" 'tls && pgsql.type == "Simple query"' 1
  n=$(tshark -r "$FILE" -Y 'pgsql.type == "Startup message"' 2>/dev/null | wc -l)
  ((n == 0)) || fail "StartupMessage readable without the key log?"
  summary
fi

for n in "${!WANTED[@]}"; do
  [[ -n ${CHECKED[$n]:-} ]] || fail "no checks for '$n' (unknown capture name)"
done

if ((FAILS)); then
  echo "check.sh: $FAILS problem(s)" >&2
  exit 1
fi
echo "check.sh: all captures look right"
