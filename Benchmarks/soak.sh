#!/usr/bin/env bash
# Load and soak of `healthsync serve` (Docs/reliability.md, Docs/performance.md workload 6): starts the release build
# on 127.0.0.1, drives it with wrk (Debian's `wrk` package) and Load/soak.lua — one connection per wrk thread, each
# owning its streams and posting whole snapshots that churn round after round — for a bounded time, samples the
# server's resident memory (VmRSS) every --interval seconds, then stops the server gracefully and checks that
#
#   - no answer was other than 200 and no socket failed;
#   - `healthsync state --format json` holds, for every stream, exactly the check states of the last round it got a
#     200 for (or of the round in flight when wrk stopped), and nothing else;
#   - `PRAGMA integrity_check` is ok.
#
#   Benchmarks/soak.sh [--minutes 5] [--seconds S] [--streams 1000] [--checks 20] [--connections 8] [--port 7178]
#                      [--interval 1] [--dir DIR] [--keep-db] [--populate N] [--no-check]
#
# --keep-db reuses DIR/soak.sqlite as it is (for example one populated by an earlier run with many streams): the
# check then covers the streams this run posted to. --populate N first stores N streams (round 0 of soak.lua's
# snapshots, --checks check states each) with `healthsync replay` of a generated capture (100 messages per
# envelope), then serves that database: workload 6, the memory of serve with many streams stored. Only 127.0.0.1 is targeted; the run stops by itself. Exit status
# 0 when every check passed, 1 otherwise. Needs wrk, curl, python3 and sqlite3. HEALTHSYNC=PATH runs that executable
# instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")"
. ./serve-common.sh

seconds=300 streams=1000 checks=20 connections=8 port=7178 interval=1 dir="${HEALTHSYNC_BENCH_DIR:-}" keep=0 check=1
populate=0
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) seconds=$(($2 * 60)); shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --streams) streams=$2; shift 2 ;;
        --checks) checks=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --keep-db) keep=1; shift ;;
        --populate) populate=$2; keep=1; shift 2 ;;
        --no-check) check=0; shift ;;
        *) sed -n '2,18p' "$0" >&2; exit 2 ;;
    esac
done
for tool in wrk curl python3 sqlite3 /usr/bin/time; do
    command -v "$tool" > /dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 2; }
done
[ -n "$dir" ] || dir=$(mktemp -d /tmp/healthsync-soak.XXXXXX)
mkdir -p "$dir"
db="$dir/soak.sqlite"

healthsync=${HEALTHSYNC:-}
if [ -z "$healthsync" ]; then
    echo "== building"
    (cd .. && swift build -c release --product healthsync 2>&1 | tail -1)
    healthsync=../.build/release/healthsync
fi
[ "$keep" = 1 ] || rm -f "$db" "$db-wal" "$db-shm"
if [ "$populate" -gt 0 ]; then
    rm -f "$db" "$db-wal" "$db-shm"
    # The same check states as round 0 of Load/soak.lua, stamped now (so no timer of serve falls due).
    python3 - "$populate" "$checks" "$dir/populate.jsonl" <<'EOF'
import json, sys, time
streams, checks, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
healths = ["CLEAR", "CLEAR", "DEVIATING", "CLEAR", "CRITICAL"]
now = int(time.time())
with open(path, "w") as out:
    for first in range(0, streams, 100):
        messages = []
        for s in range(first, min(first + 100, streams)):
            states = [{"checkStateId": f"check-{i}", "name": f"check check-{i}", "health": healths[(i * 3 + s) % 5],
                       "topologyElementIdentifier": f"element-{s}-check-{i}", "message": "round 0"}
                      for i in range(checks) if (i + s) % 5 != 0]
            messages.append({"stream": {"urn": f"urn:health:soak:stream-{s}"},
                             "start_snapshot": {"repeat_interval_s": 1800}, "check_states": states,
                             "stop_snapshot": {}})
        out.write(json.dumps({"collection_timestamp": now, "events": {}, "internalHostname": "soak", "metrics": [],
                              "service_checks": [], "topologies": [], "health": messages}) + "\n")
EOF
    echo "== populating: $populate streams of about $((checks * 4 / 5)) check states with healthsync replay"
    /usr/bin/time -f "   %e s, peak resident memory of replay %M KB" "$healthsync" replay --db "$db" "$dir/populate.jsonl" \
        > /dev/null
fi

start_serve "$healthsync" "$db" "$port" "$dir/serve.log" --api-key soak --late-grace 86400

# Resident memory every $interval seconds: seconds since start, VmRSS in KiB.
(
    start=$(date +%s%N)
    while [ -r "/proc/$server/status" ]; do
        rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$server/status" 2> /dev/null || true)
        [ -n "$rss" ] && printf "%d.%03d\t%s\n" $(( ($(date +%s%N) - start) / 1000000000 )) \
            $(( ($(date +%s%N) - start) / 1000000 % 1000 )) "$rss"
        sleep "$interval"
    done
) > "$dir/rss.tsv" &
sampler=$!

echo "== $connections connections, $streams streams of $checks check states, ${seconds} s, database in $dir"
out=$(STREAMS="$streams" CHECKS="$checks" THREADS="$connections" API_KEY=soak EXPECTED="$dir/expected.tsv" \
    wrk -t"$connections" -c"$connections" -d"${seconds}s" --timeout 30s -s Load/soak.lua \
    "http://127.0.0.1:$port" | grep '^RESULT')
echo "$out"
peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$server/status")
kill -TERM "$server"
status=0
wait "$server" || status=$?
trap - EXIT
wait "$sampler" 2> /dev/null || true
[ "$status" = 0 ] || { echo "FAIL: serve exited with status $status" >&2; cat "$dir/serve.log" >&2; exit 1; }

python3 - "$dir/rss.tsv" "$peak" "$out" <<'EOF'
import statistics, sys
samples = [line.split("\t") for line in open(sys.argv[1]) if line.strip()]
rss = [int(kb) / 1024 for _, kb in samples]
times = [float(t) for t, _ in samples]
n = len(rss)
print(f"== resident memory (VmRSS, MB), {n} samples over {times[-1]:.0f} s")
print(f"start {rss[0]:.1f}  after 10 % {rss[n // 10]:.1f}  median {statistics.median(rss):.1f}  "
      f"end {rss[-1]:.1f}  max {max(rss):.1f}  peak (VmHWM) {int(sys.argv[2]) / 1024:.1f}")
for fraction in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
    i = min(n - 1, int(fraction * (n - 1)))
    print(f"  t={times[i]:6.0f} s  {rss[i]:7.1f} MB")
EOF

failed=0
non200=$(sed 's/.*non_200=\([0-9]*\).*/\1/' <<< "$out")
socket=$(sed 's/.*socket_errors=\([0-9]*\).*/\1/' <<< "$out")
[ "$non200" = 0 ] && [ "$socket" = 0 ] || { echo "FAIL: $non200 answers other than 200, $socket socket errors"; failed=1; }

integrity=$(sqlite3 "$db" "PRAGMA integrity_check")
[ "$integrity" = ok ] || { echo "FAIL: integrity_check: $integrity"; failed=1; }

if [ "$check" = 1 ]; then
    "$healthsync" state --db "$db" --format json > "$dir/state.json"
    python3 - "$dir/expected.tsv" "$dir/state.json" <<'EOF' || failed=1
import json, sys
rounds, expected = {}, {}
for line in open(sys.argv[1]):
    fields = line.rstrip("\n").split("\t")
    if fields[0] == "stream":
        rounds[fields[1]] = [int(r) for r in fields[2].split(",")]
    else:
        _, urn, r, checkstate, health, message = fields
        expected.setdefault((urn, int(r)), set()).add((checkstate, health, message))
stored = {}
for entry in json.load(open(sys.argv[2]))["checkStates"]:
    stored.setdefault(entry["urn"], set()).add((entry["checkStateId"], entry["health"], entry.get("message")))
bad = []
for urn, candidates in rounds.items():
    actual = stored.get(urn, set())
    if not any(actual == expected.get((urn, r), set()) for r in candidates):
        bad.append(f"{urn}: holds {len(actual)} check states, matching none of rounds {candidates}")
in_flight = sum(1 for c in rounds.values() if len(c) > 1)
print(f"== state: {len(rounds)} streams posted to ({in_flight} with a post in flight at the end), "
      f"{sum(len(stored.get(u, ())) for u in rounds)} of their check states stored, "
      f"{sum(len(v) for v in stored.values())} check states in all")
for line in bad[:10]:
    print("FAIL:", line)
sys.exit(1 if bad else 0)
EOF
fi
ls -l "$db"* | awk '{ s += $5 } END { printf "== database: %.0f MB\n", s / 1e6 }'
[ "$failed" = 0 ] && echo "PASS" || { echo "FAIL"; exit 1; }
