#!/usr/bin/env bash
# For changes that must not change what users see (a refactoring, a move): compares this checkout
# with an earlier revision on every capture in captures/, output by output:
#   the command line    decode (text), decode --json, explain --json, stats --json
#   the plugin          tshark's summary, -V and -2 -V (when tshark is installed)
# Each side runs its own command line (bin/pgwire.cjs) and its own dissector/pgwire.lua; captures
# with a key log (NAME.keys beside NAME.pcapng) get it on both sides.
#
#   bash scripts/same-output.sh REV [CAPTURE...]
#
# Exit 0 when every output is the same, 1 when some differ (listed, with the folder that keeps
# both sides), 2 on bad usage.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: bash scripts/same-output.sh REV [CAPTURE...]" >&2
  exit 2
fi
rev=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
git rev-parse --verify --quiet "$rev^{commit}" >/dev/null || { echo "same-output: no revision $rev" >&2; exit 2; }

if [ $# -gt 0 ]; then captures=("$@"); else mapfile -t captures < <(find captures -name '*.pcapng' | sort); fi

work=$(mktemp -d)
old="$work/old"
cleanup() { git -C "$root" worktree remove --force "$old" >/dev/null 2>&1 || true; }
trap cleanup EXIT
git worktree add --detach --quiet "$old" "$rev"
ln -s "$root/node_modules" "$old/node_modules"

have_tshark=false
if command -v tshark >/dev/null; then have_tshark=true; else echo "same-output: no tshark, the plugin is not compared" >&2; fi

# Every output of one side (its checkout $1) into the folder $2.
outputs() {
  local tree=$1 out=$2 f n keys
  mkdir -p "$out"
  for f in "${captures[@]}"; do
    n=$(echo "$f" | tr / _)
    keys=()
    tls=()
    if [ -f "${f%.pcapng}.keys" ]; then keys=(--keylog "${f%.pcapng}.keys"); tls=(-o "tls.keylog_file:${f%.pcapng}.keys"); fi
    node "$tree/bin/pgwire.cjs" decode "${keys[@]}" "$f" >"$out/$n.decode.txt" 2>&1 || true
    node "$tree/bin/pgwire.cjs" decode --json "${keys[@]}" "$f" >"$out/$n.decode.json" 2>&1 || true
    node "$tree/bin/pgwire.cjs" explain --json "${keys[@]}" "$f" >"$out/$n.explain.json" 2>&1 || true
    node "$tree/bin/pgwire.cjs" stats --json "${keys[@]}" "$f" >"$out/$n.stats.json" 2>&1 || true
    if $have_tshark; then
      local lua=(-X "lua_script:$tree/dissector/pgwire.lua" "${tls[@]}")
      tshark -r "$f" "${lua[@]}" >"$out/$n.summary" 2>&1 || true
      tshark -r "$f" "${lua[@]}" -V >"$out/$n.V" 2>&1 || true
      tshark -r "$f" "${lua[@]}" -2 -V >"$out/$n.2V" 2>&1 || true
    fi
  done
}

outputs "$old" "$work/was"
outputs "$root" "$work/now"

differ=0
total=0
for a in "$work/was"/*; do
  b="$work/now/$(basename "$a")"
  total=$((total + 1))
  if ! cmp -s "$a" "$b"; then
    echo "differs: $(basename "$a")"
    differ=$((differ + 1))
  fi
done
if [ "$differ" -gt 0 ]; then
  trap - EXIT
  cleanup
  echo "same-output: $differ of $total outputs differ from $rev (both sides kept in $work/was and $work/now)" >&2
  exit 1
fi
rm -rf "$work"
echo "same-output: all $total outputs the same as $rev (${#captures[@]} captures)"
