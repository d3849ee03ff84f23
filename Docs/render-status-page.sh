#!/bin/sh
# Starts `healthsync serve` (release build) on a scratch database, posts sample streams and
#
#   1. saves screenshots of GET /status at desktop (1280 px) and phone (390 px) widths as
#      Docs/status-page-desktop.png and Docs/status-page-phone.png (headless Chromium);
#   2. with CHECKS=N (e.g. CHECKS="10000 100000"), posts N check states over 100 streams and times GET /status and
#      GET /status.json (curl's time_total, best and median of 10), the figures of Docs/status-page.md.
#
# Needs python3, curl and Chromium (Debian: apt-get install -y chromium).
#
#   Docs/render-status-page.sh                        # screenshots
#   SHOTS=no CHECKS="10000 100000" Docs/render-status-page.sh   # render times only
set -eu

cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/healthsync-status-page}
SHOTS=${SHOTS:-yes}
CHECKS=${CHECKS:-}
PORT=${PORT:-17077}
KEY=status-page-key
mkdir -p "$OUT"

swift build -c release --product healthsync >&2
BIN="$(swift build -c release --show-bin-path)/healthsync"

serve() { # serve DB: starts serve in the background, waits until it answers
    rm -f "$1" "$1-wal" "$1-shm"
    "$BIN" serve --db "$1" --port "$PORT" --api-key "$KEY" --status-title "Shop status" --log-level warning --max-body-bytes 268435456 \
        2> "$OUT/serve.log" &
    SERVE=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null && return 0; sleep 0.1; done
    echo "serve did not start: $(cat "$OUT/serve.log")" >&2
    exit 1
}

post() { # post FILE
    curl -fsS -o /dev/null -H 'content-type: application/json' --data-binary "@$1" \
        "http://127.0.0.1:$PORT/stsAgent/intake?api_key=$KEY"
}

# envelope.py STREAMS CHECKS: a snapshot of CHECKS check states spread over STREAMS streams, a few of them
# DEVIATING or CRITICAL, one message hostile.
cat > "$OUT/envelope.py" <<'PY'
import json, sys
streams, checks = int(sys.argv[1]), int(sys.argv[2])
per = max(1, checks // streams)
health = []
for s in range(streams):
    urn = f"urn:health:shop:service-{s:03d}"
    states = []
    for c in range(per):
        h = "CRITICAL" if (s * per + c) % 997 == 0 else "DEVIATING" if (s * per + c) % 211 == 0 else "CLEAR"
        state = {"checkStateId": f"check-{c:05d}", "name": f"check {c} of service {s}", "health": h,
                 "topologyElementIdentifier": f"urn:host:/service-{s:03d}-{c % 7}"}
        if c == 0:
            state["message"] = "<script>alert(1)</script> [runbook](javascript:alert(2))"
        states.append(state)
    health.append({"consistency_model": "REPEAT_SNAPSHOTS", "stream": {"urn": urn},
                   "start_snapshot": {"repeat_interval_s": 300}, "check_states": states, "stop_snapshot": {}})
print(json.dumps({"events": {}, "internalHostname": "bench", "metrics": [], "service_checks": [],
                  "topologies": [], "health": health}))
PY

if [ "$SHOTS" = yes ]; then
    serve "$OUT/shots.sqlite"
    trap 'kill $SERVE 2>/dev/null' EXIT
    cat > "$OUT/sample.json" <<'JSON'
{"events":{},"internalHostname":"docs","metrics":[],"service_checks":[],"topologies":[],"health":[
{"consistency_model":"REPEAT_SNAPSHOTS","stream":{"urn":"urn:health:shop:payments"},
 "start_snapshot":{"repeat_interval_s":300},"stop_snapshot":{},"check_states":[
 {"checkStateId":"db-primary","name":"Database primary","health":"CRITICAL","topologyElementIdentifier":"urn:host:/db-1",
  "message":"replication lag 48 s; <script>alert(1)</script> [runbook](javascript:alert(2))"},
 {"checkStateId":"api-latency","name":"API latency p99","health":"DEVIATING","topologyElementIdentifier":"urn:service:/payments-api","message":"p99 1.4 s (threshold 1 s)"},
 {"checkStateId":"cpu","name":"CPU","health":"CLEAR","topologyElementIdentifier":"urn:host:/api-1"}]},
{"consistency_model":"REPEAT_STATES","stream":{"urn":"urn:health:shop:search","sub_stream_id":"eu-west-1"},
 "expiry":{"repeat_interval_s":60,"expiry_interval_s":600},"check_states":[
 {"checkStateId":"index-age","name":"Index age","health":"DEVIATING","topologyElementIdentifier":"urn:service:/search-indexer","message":"last full index 26 h ago"},
 {"checkStateId":"queries","name":"Query errors","health":"CLEAR","topologyElementIdentifier":"urn:service:/search"}]},
{"consistency_model":"REPEAT_SNAPSHOTS","stream":{"urn":"urn:health:shop:checkout"},
 "start_snapshot":{"repeat_interval_s":300},"stop_snapshot":{},"check_states":[
 {"checkStateId":"cart","name":"Cart service","health":"CLEAR","topologyElementIdentifier":"urn:service:/cart"},
 {"checkStateId":"tax","name":"Tax rates","health":"PURPLE","topologyElementIdentifier":"urn:service:/tax"}]},
{"consistency_model":"REPEAT_SNAPSHOTS","stream":{"urn":"urn:health:jobs:batch"},
 "start_snapshot":{"repeat_interval_s":1800},"stop_snapshot":{},"check_states":[
 {"checkStateId":"nightly","name":"Nightly export","health":"CLEAR","topologyElementIdentifier":"urn:job:/nightly"},
 {"checkStateId":"weekly","name":"Weekly report","health":"CLEAR","topologyElementIdentifier":"urn:job:/weekly"}]}
]}
JSON
    post "$OUT/sample.json"
    CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
    for shot in desktop:1280,1100 phone:390,1400; do
        "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
            --user-data-dir="$OUT/chromium" --window-size="${shot#*:}" \
            --screenshot="Docs/status-page-${shot%%:*}.png" "http://127.0.0.1:$PORT/status" 2>/dev/null
    done
    kill $SERVE; wait $SERVE 2>/dev/null || true
    trap - EXIT
    ls -l Docs/status-page-*.png >&2
fi

for n in $CHECKS; do
    python3 "$OUT/envelope.py" 100 "$n" > "$OUT/envelope-$n.json"
    serve "$OUT/render-$n.sqlite"
    trap 'kill $SERVE 2>/dev/null' EXIT
    post "$OUT/envelope-$n.json"
    for path in status status.json; do
        times=$(for _ in $(seq 10); do
            curl -fs -o "$OUT/page-$n" -w '%{time_total}\n' "http://127.0.0.1:$PORT/$path"
        done | sort -n)
        echo "$n check states, GET /$path: best $(echo "$times" | head -1) s, median $(echo "$times" | sed -n 5p) s," \
            "$(wc -c < "$OUT/page-$n") bytes" >&2
    done
    kill $SERVE; wait $SERVE 2>/dev/null || true
    trap - EXIT
done
