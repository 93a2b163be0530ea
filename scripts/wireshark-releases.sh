#!/usr/bin/env bash
# Builds the Debian chroots that hold the tshark of other Wireshark releases, for the cross-version
# test (test/decoder/releases.test.ts, test/helpers/releases.ts):
#
#   bullseye  Wireshark 3.4  Lua 5.2
#   trixie    Wireshark 4.4  Lua 5.4
#   sid       Wireshark 4.6  Lua 5.4
#
# Each is `debootstrap --variant=minbase` with tshark from the suite's own packages and a user
# `pgwire`: Wireshark 4.4 and later ignore Lua plugins when run as root. The three are built in
# parallel, each logged to CACHE/SUITE.log; a finished one has the marker CACHE/SUITE/.pgwire-ready
# (tshark's and Lua's versions). One with the marker is left as it is; one without (half built,
# broken) is removed and built again. Needs root (re-runs itself with sudo otherwise); installs
# debootstrap with apt if missing.
#
# Usage: bash scripts/wireshark-releases.sh [SUITE...]     (default: all three)
# Environment:
#   PGWIRE_WIRESHARK_CACHE  where the chroots go (default /var/cache/pgwire-dissector/wireshark)
#   PGWIRE_DEBIAN_MIRROR    the Debian mirror (default: debootstrap's own)
# Exit codes: 0 every chroot ready; 1 a build failed (its log is named); 2 usage;
#   69 Debian's packages cannot be reached (one line says so; CACHE/SUITE.unreachable records it,
#   and the test skips that release).
set -euo pipefail

CACHE="${PGWIRE_WIRESHARK_CACHE:-/var/cache/pgwire-dissector/wireshark}"
MIRROR="${PGWIRE_DEBIAN_MIRROR:-}"
USER_NAME=pgwire
MARKER=.pgwire-ready
ALL=(bullseye trixie sid)
EXIT_UNREACHABLE=69
# What apt and debootstrap print when the mirror cannot be reached.
UNREACHABLE='Failed getting release file|Couldn.t download|Temporary failure resolving|Could not resolve|Could not connect|Unable to connect|Failed to fetch|Network is unreachable|Connection timed out|Connection refused'

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${ALL[@]}")
for s in "${suites[@]}"; do
  case " ${ALL[*]} " in
  *" $s "*) ;;
  *)
    echo "wireshark-releases: unknown suite '$s' (known: ${ALL[*]})" >&2
    exit 2
    ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "wireshark-releases: needs root (debootstrap, chroot)" >&2
    exit 2
  }
  exec sudo PGWIRE_WIRESHARK_CACHE="$CACHE" PGWIRE_DEBIAN_MIRROR="$MIRROR" bash "$0" "$@"
fi

mkdir -p "$CACHE"
# One build at a time per cache (setup.sh run twice at once).
exec 9>"$CACHE/.lock"
flock 9

unreachable() { # SUITE LINE
  printf '%s\n' "$2" >"$CACHE/$1.unreachable"
}

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "wireshark-releases: installing debootstrap with apt" >&2
  log="$CACHE/debootstrap-install.log"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    debootstrap; } >"$log" 2>&1; then
    if grep -Eq "$UNREACHABLE" "$log"; then
      line="$(grep -Em1 "$UNREACHABLE" "$log")"
      for s in "${suites[@]}"; do unreachable "$s" "$line"; done
      echo "wireshark-releases: Debian's packages cannot be reached (installing debootstrap: $line)" >&2
      exit $EXIT_UNREACHABLE
    fi
    echo "wireshark-releases: installing debootstrap failed, see $log" >&2
    exit 1
  fi
fi

# Nothing may be mounted inside a chroot that is removed: rm -rf would go on into a bind-mounted
# host folder. test/helpers/releases.ts mounts only in private mount namespaces, but a mount made
# by hand may be left behind.
unmount_inside() { # DIR
  local mp
  awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mp; do
    umount -R "$mp" 2>/dev/null || umount -l "$mp"
  done
  if awk -v d="$1/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    echo "something is still mounted inside $1: not removing it" >&2
    return 1
  fi
}

as_user() { # DIR CMD...: CMD inside the chroot as the unprivileged user, with a clean environment
  # In a mount namespace of its own, with /proc (setpriv of bullseye reads it): gone when CMD ends.
  # shellcheck disable=SC2016 # expanded by the inner sh
  unshare --mount --propagation private -- sh -c 'd=$1 u=$2
    shift 2
    mount -t proc proc "$d/proc"
    exec chroot "$d" setpriv --reuid="$u" --regid="$u" --clear-groups \
      env -i HOME="/home/$u" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"' sh "$1" "$USER_NAME" "${@:2}"
}

ready() { # DIR: the marker is there and tshark runs as the user
  [ -s "$1/$MARKER" ] && as_user "$1" tshark -v >/dev/null 2>&1
}

SUITE="" LOG=""

step() { # NAME CMD...: runs CMD into the suite's log; on failure returns 69 (out of reach: noted for
  # the summary) or says where it failed and returns 1
  local name="$1" line
  shift
  echo "== $name" >>"$LOG"
  if "$@" >>"$LOG" 2>&1; then return 0; fi
  line="$(grep -Em1 "$UNREACHABLE" "$LOG" || true)"
  if [ -n "$line" ]; then
    unreachable "$SUITE" "$line"
    return $EXIT_UNREACHABLE
  fi
  echo "$SUITE: FAILED at '$name', see $LOG"
  return 1
}

build() { # SUITE: returns 0 (ready), 69 (unreachable) or 1; run in a subshell of its own
  SUITE="$1" LOG="$CACHE/$1.log"
  local dir="$CACHE/$1"
  rm -f "$CACHE/$SUITE.unreachable"
  if [ -d "$dir" ] && ready "$dir"; then
    echo "$SUITE: ready, $(cat "$dir/$MARKER") ($dir)"
    return 0
  fi
  : >"$LOG"
  if [ -e "$dir" ]; then
    echo "$SUITE: removing the unfinished chroot $dir" >>"$LOG"
    unmount_inside "$dir" >>"$LOG" 2>&1 || {
      echo "$SUITE: FAILED, something is mounted inside $dir (see $LOG)"
      return 1
    }
    rm -rf --one-file-system "$dir"
  fi
  # shellcheck disable=SC2086 # an empty MIRROR is no argument: debootstrap's default
  step debootstrap debootstrap --variant=minbase "$SUITE" "$dir" $MIRROR || return $?
  # sid's Release file may be past its Valid-Until between two pushes of the archive.
  step "apt-get install tshark" chroot "$dir" sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark && apt-get clean' ||
    return $?
  step "useradd $USER_NAME" chroot "$dir" sh -c "id $USER_NAME >/dev/null 2>&1 || useradd -m -s /bin/sh $USER_NAME" ||
    return $?
  local v ws lua
  if ! v="$(as_user "$dir" tshark -v 2>>"$LOG")"; then
    echo "$SUITE: FAILED at 'tshark -v as $USER_NAME', see $LOG"
    return 1
  fi
  # "TShark (Wireshark) 4.6.9." and, wrapped over lines, "with Lua 5.4.9".
  ws="$(printf '%s\n' "$v" | head -1 | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)"
  lua="$(printf '%s\n' "$v" | tr '\n' ' ' | grep -Eo 'Lua[[:space:]]+[0-9]+\.[0-9]+' | head -1 | grep -Eo '[0-9.]+$' || true)"
  if [ -z "$ws" ] || [ -z "$lua" ]; then
    printf '%s\n' "$v" >>"$LOG"
    echo "$SUITE: FAILED, cannot read the versions from tshark -v, see $LOG"
    return 1
  fi
  printf 'tshark %s lua %s\n' "$ws" "$lua" >"$dir/$MARKER"
  echo "$SUITE: ready, tshark $ws lua $lua ($dir)"
}

pids=()
for s in "${suites[@]}"; do
  build "$s" &
  pids+=($!)
done
codes=()
for i in "${!pids[@]}"; do
  code=0
  wait "${pids[$i]}" || code=$?
  codes+=("$code")
done

failed=0
missing=()
for i in "${!codes[@]}"; do
  case "${codes[$i]}" in
  0) ;;
  "$EXIT_UNREACHABLE") missing+=("${suites[$i]}") ;;
  *) failed=1 ;;
  esac
done
[ $failed -eq 0 ] || exit 1
if [ ${#missing[@]} -gt 0 ]; then
  echo "wireshark-releases: Debian's packages cannot be reached, ${missing[*]} not built: $(cat "$CACHE/${missing[0]}.unreachable")" >&2
  exit $EXIT_UNREACHABLE
fi
