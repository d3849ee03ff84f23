#!/bin/sh
# Renders `healthsync audit --format html` in headless Chromium and saves screenshots, for the audit of
#
#   1. a generated day of one-minute snapshots of 1,000 check states (Docs/audit-sample.py), timed;
#   2. a bundled fixture with a missing stop, a suspicious deletion and late windows
#      (Fixtures/scenarios/03-snapshot-timers).
#
# Needs python3 and Chromium (Debian: apt-get install -y chromium). Writes to $OUT (default /tmp/healthsync-audit):
# day.jsonl, day.txt, day.html, day.png, day-top.png, fixture.html, fixture.png. Look at the PNGs; see Docs/audit.md.
#
#   Docs/render-audit-screenshot.sh            # 1,000 check states
#   CHECKS=200 Docs/render-audit-screenshot.sh # smaller
set -eu

cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/healthsync-audit}
CHECKS=${CHECKS:-1000}
mkdir -p "$OUT"

swift build -c release --product healthsync >&2
BIN="$(swift build -c release --show-bin-path)/healthsync"
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome)

shot() { # shot HTML PNG HEIGHT
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
        --window-size=1400,"$3" --screenshot="$2" "file://$1" 2>/dev/null
}

python3 Docs/audit-sample.py --checks "$CHECKS" > "$OUT/day.jsonl"
echo "day.jsonl: $(wc -c < "$OUT/day.jsonl") bytes, $(wc -l < "$OUT/day.jsonl") envelopes" >&2

echo "audit of the day (replay into memory and analysis), text:" >&2
/usr/bin/time -f "  %e s elapsed, %M KiB peak memory" "$BIN" audit "$OUT/day.jsonl" > "$OUT/day.txt"
echo "audit of the day, html:" >&2
/usr/bin/time -f "  %e s elapsed, %M KiB peak memory" \
    "$BIN" audit --format html --output "$OUT/day.html" "$OUT/day.jsonl" >&2
shot "$OUT/day.html" "$OUT/day-top.png" 1800
shot "$OUT/day.html" "$OUT/day.png" 5200

"$BIN" audit --format html --output "$OUT/fixture.html" --until 1700300330 \
    Fixtures/scenarios/03-snapshot-timers/payload.jsonl >&2
shot "$OUT/fixture.html" "$OUT/fixture.png" 1600

ls -l "$OUT" >&2
