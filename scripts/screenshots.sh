#!/usr/bin/env bash
# The README's pictures: docs/report.png (`pgwire report` on the seed's capture, rendered by
# headless Chromium) and docs/wireshark.png (the plugin in the Wireshark GUI, scripts/gui-screenshot.sh).
# Usage: bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
node bin/pgwire.cjs report captures/seed-md5.pcapng -o "$TMP/seed.html"
CHROMIUM=$(command -v chromium || command -v chromium-browser)
"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1700 \
  --screenshot="$PWD/docs/report.png" "file://$TMP/seed.html" 2>/dev/null
echo "screenshots: wrote docs/report.png"
bash scripts/gui-screenshot.sh docs/wireshark.png
