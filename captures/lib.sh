# shellcheck shell=bash
# Shared by captures/record.sh and captures/values/record.sh (source it, do not run it): the
# throwaway cluster's folders, the cleanup trap, and dumpcap on lo.
# Needs PGBIN, die() and TAG (the scripts' log prefix) before capture_setup.

# capture_setup PREFIX: the cluster's folder (owned by postgres) and a root-owned folder for
# captures in progress (dumpcap gives up root's file-access override once capturing, so it writes
# there; a finished capture is then moved into place, never a half-written file); the traps.
capture_setup() {
  TMPD=$(mktemp -d "/tmp/$1.XXXXXX")
  chown postgres:postgres "$TMPD"
  chmod 0700 "$TMPD"
  DATA="$TMPD/data"
  PCAPTMP=$(mktemp -d "/tmp/$1-pcap.XXXXXX")
  SERVER_UP=0
  STANDBY_UP=0 # a second cluster in $STANDBY_DATA (record.sh's pg-standby)
  DUMPCAP_PID=''
  trap capture_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# On exit: stop dumpcap and the server, show the end of the server log after a failure, remove
# the temp folders.
capture_cleanup() {
  local rc=$?
  set +e
  if [[ -n "$DUMPCAP_PID" ]]; then
    kill -INT "$DUMPCAP_PID" 2>/dev/null
    wait "$DUMPCAP_PID" 2>/dev/null
  fi
  if ((STANDBY_UP)); then
    (cd "$TMPD" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STANDBY_DATA" -m immediate -w stop >/dev/null 2>&1)
  fi
  if ((SERVER_UP)); then
    (cd "$TMPD" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1) ||
      (cd "$TMPD" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1)
  fi
  if ((rc != 0)) && [[ -f "$TMPD/server.log" ]]; then
    echo "[$TAG] last lines of the server log:" >&2
    tail -n 20 "$TMPD/server.log" >&2
  fi
  rm -rf "$TMPD" "$PCAPTMP"
  exit "$rc"
}

as_postgres() { (cd "$TMPD" && runuser -u postgres -- "$@"); }

# start_capture FILE PORT: dumpcap on lo for one TCP port, returning once it really captures.
start_capture() {
  local file=$1 port=$2
  rm -f "$file"
  # A 64 MiB kernel buffer: WAL streaming sends bursts of 64 KB loopback segments.
  dumpcap -i lo -B 64 -f "tcp port $port" -w "$file" -q 2>"$PCAPTMP/dumpcap.err" &
  DUMPCAP_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    # Wait until dumpcap has opened the interface and written the pcapng header.
    if [[ -s "$file" ]] && grep -q 'File:' "$PCAPTMP/dumpcap.err" 2>/dev/null; then break; fi
    kill -0 "$DUMPCAP_PID" 2>/dev/null || die "dumpcap exited early: $(cat "$PCAPTMP/dumpcap.err")"
    sleep 0.1
  done
  [[ -s "$file" ]] || die "dumpcap did not start writing $file: $(cat "$PCAPTMP/dumpcap.err")"
  sleep 1
}

# stop_capture: let the last FIN/ACKs through, stop dumpcap, fail if it dropped packets.
stop_capture() {
  sleep 0.5
  kill -INT "$DUMPCAP_PID"
  wait "$DUMPCAP_PID" || die "dumpcap failed: $(cat "$PCAPTMP/dumpcap.err")"
  DUMPCAP_PID=''
  # "Packets received/dropped on interface 'Loopback: lo': 17/0 (...)"
  local dropped
  dropped=$(sed -n "s|^Packets received/dropped on interface .*: [0-9]*/\([0-9]*\) .*|\1|p" "$PCAPTMP/dumpcap.err")
  [[ "$dropped" == 0 ]] || die "dumpcap dropped packets or did not report: $(cat "$PCAPTMP/dumpcap.err")"
}
