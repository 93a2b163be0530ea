#!/usr/bin/env bash
# The plugin in the real Wireshark GUI: starts Wireshark under Xvfb with the plugin, opens a
# capture with the display filter `pgwire`, selects a frame, expands its details and takes a
# screenshot of the window. Fails (exit 1) when Wireshark does not show the capture, which is
# what happens when the plugin raises a Lua error while loading (Wireshark then shows its
# "Lua: Error during loading" dialog instead) or when the filter `pgwire` is unknown.
#
# Usage: bash scripts/gui-screenshot.sh [OUT.png]     (default docs/wireshark.png)
#   PGWIRE_PLUGIN=path/to/pgwire.lua   the plugin to load (default dissector/pgwire.lua)
#   CAPTURE=captures/seed-md5.pcapng   the capture to open
#   FRAME=12                           the frame to select (the seed's rows)
#   ITEM=6                             the item of its details to expand (6: the first DataRow)
#   PROFILE=PostgreSQL                 install pgwire's profile (pgwire install --profile) in the
#                                      fresh home and open Wireshark with it; fails (exit 1) when
#                                      Wireshark warns about one of its files
#   PROFILE_PREFS_EXTRA='gui.x: 1'     a line added to that profile's preferences (to see the
#                                      check above fail)
#   STATS=queries                      open Statistics > PostgreSQL/Queries (errors: Errors by
#                                      SQLSTATE, conns: Connections) and take the screenshot of its
#                                      window; fails (exit 1) when that window does not open
# Needs: wireshark (the Qt GUI), xvfb, xdotool, imagemagick (import). scripts/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-docs/wireshark.png}
PLUGIN=$(realpath "${PGWIRE_PLUGIN:-dissector/pgwire.lua}")
CAPTURE=${CAPTURE:-captures/seed-md5.pcapng}
FRAME=${FRAME:-12}
WAIT=${WAIT:-30}

for cmd in wireshark Xvfb xdotool import; do
  command -v "$cmd" >/dev/null || {
    echo "gui-screenshot: $cmd not found (bash scripts/setup.sh installs it)" >&2
    exit 2
  }
done

TMP=$(mktemp -d)
XPID='' WPID=''
cleanup() {
  [[ -n $WPID ]] && kill "$WPID" 2>/dev/null || true
  [[ -n $XPID ]] && kill "$XPID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# A free display number, and a fresh home: no personal preferences or plugins of this machine.
DISP=99
while [[ -e /tmp/.X11-unix/X$DISP || -e /tmp/.X$DISP-lock ]]; do DISP=$((DISP + 1)); done
Xvfb ":$DISP" -screen 0 1400x900x24 -nolisten tcp >"$TMP/xvfb.log" 2>&1 &
XPID=$!
export DISPLAY=":$DISP" HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
for _ in $(seq 50); do xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done

PROFILE_ARGS=()
if [[ -n ${PROFILE:-} ]]; then
  # The plugin comes from -X below: the copy install makes goes to a folder Wireshark never reads.
  node bin/pgwire.cjs install --profile --dir "$TMP/plugins" --config-dir "$HOME/.config/wireshark" >/dev/null
  if [[ -n ${PROFILE_PREFS_EXTRA:-} ]]; then
    echo "$PROFILE_PREFS_EXTRA" >>"$HOME/.config/wireshark/profiles/$PROFILE/preferences"
  fi
  PROFILE_ARGS=(-C "$PROFILE")
fi

wireshark "${PROFILE_ARGS[@]}" -X "lua_script:$PLUGIN" -r "$CAPTURE" -Y pgwire -g "$FRAME" >"$TMP/wireshark.log" 2>&1 &
WPID=$!

# The main window takes the capture's file name as its title once the capture is loaded.
NAME=$(basename "$CAPTURE")
WID=''
for _ in $(seq $((WAIT * 5))); do
  WID=$(xdotool search --name "^$NAME" 2>/dev/null | head -n 1 || true)
  [[ -n $WID ]] && break
  kill -0 "$WPID" 2>/dev/null || break
  sleep 0.2
done
mkdir -p "$(dirname "$OUT")"
if [[ -z $WID ]]; then
  import -window root "$OUT"
  echo "gui-screenshot: Wireshark did not show $NAME within ${WAIT}s (a Lua error while loading the plugin?); screen saved to $OUT" >&2
  exit 1
fi
xdotool windowmove "$WID" 0 0 windowsize "$WID" 1400 900
sleep 1
# In the details pane (its first line is at about y=495): collapse all, go down to the frame's
# ITEM-th item (Frame, Ethernet, IP, TCP, then the PostgreSQL messages) and expand it.
ITEM=${ITEM:-6}
xdotool windowactivate --sync "$WID" 2>/dev/null || xdotool windowfocus --sync "$WID"
xdotool mousemove --window "$WID" 200 495 click 1
sleep 0.5
xdotool key ctrl+Left Home
for _ in $(seq $((ITEM - 1))); do xdotool key Down; done
xdotool key Right
sleep 1
if [[ -n ${STATS:-} ]]; then
  # The plugin's items in Wireshark 4.0's Statistics menu (alphabetical among the unsorted ones,
  # after Capture File Properties ... ONC-RPC Programs): Connections, Errors by SQLSTATE, Queries.
  case $STATS in
    conns) DOWN=11 TITLE='PostgreSQL connections' ;;
    errors) DOWN=12 TITLE='PostgreSQL errors' ;;
    queries) DOWN=13 TITLE='PostgreSQL queries' ;;
    *) echo "gui-screenshot: STATS is queries, errors or conns, not $STATS" >&2 && exit 2 ;;
  esac
  xdotool key alt+s
  sleep 1
  for _ in $(seq "$DOWN"); do xdotool key Down; done
  xdotool key Return
  TW=''
  for _ in $(seq $((WAIT * 5))); do
    TW=$(xdotool search --name "$TITLE \\(pgwire\\)$" 2>/dev/null | head -n 1 || true)
    [[ -n $TW ]] && break
    sleep 0.2
  done
  if [[ -z $TW ]]; then
    import -window root "$OUT"
    echo "gui-screenshot: Statistics > PostgreSQL did not open \"$TITLE (pgwire)\" within ${WAIT}s; screen saved to $OUT" >&2
    exit 1
  fi
  xdotool windowmove "$TW" 20 120 windowsize "$TW" 1360 620
  sleep 1
fi
import -window root -crop 1400x900+0+0 "$OUT"
# What Wireshark says about a profile's file it cannot use: a preference it does not know, a
# colouring rule or filter button that does not compile.
if [[ -n ${PROFILE:-} ]] && grep -Ei 'preference|colorfilters|dfilter_buttons|could not compile|profile' "$TMP/wireshark.log" >&2; then
  echo "gui-screenshot: Wireshark warned about the profile $PROFILE (above); screen saved to $OUT" >&2
  exit 1
fi
echo "gui-screenshot: wrote $OUT (Wireshark $(wireshark --version 2>/dev/null | head -n 1 | awk '{print $2}'), $NAME frame $FRAME${PROFILE:+, profile $PROFILE}${STATS:+, $TITLE})"
