#!/usr/bin/env bash
# Workloads 5 and 6 against `healthsync serve` on loopback: starts the release build on a new database, drives it with
# wrk (Debian's `wrk` package) for a bounded time per envelope size, and prints acknowledged check states per second
# (every 200 is an envelope committed with `synchronous = FULL`), the server's peak resident memory, and its CPU time
# (user + system) per acknowledged check state.
#
#   Benchmarks/serve-load.sh [--seconds 15] [--connections 16] [--sizes "1 10 100 1000"] [--port 7177] [--dir DIR]
#                            [--spread] [--churn]
#
# The two wrk threads post the 64 bodies (64 streams) round-robin; by default both start at the first, with --spread
# the second starts half-way through (see Load/post.lua). By default a stream's snapshot repeats unchanged; with
# --churn each stream cycles through four variants, so that consecutive snapshots differ in about a fifth of their
# check states (updates and their events).
#
# HEALTHSYNC=PATH runs that executable instead of building the release one (to compare two builds). Only 127.0.0.1
# is targeted. See Docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")"
. ./serve-common.sh

seconds=15 connections=16 sizes="1 10 100 1000" port=7177 dir="${HEALTHSYNC_BENCH_DIR:-}" spread=0 variants=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --spread) spread=1; shift ;;
        --churn) variants=4; shift ;;
        *) echo "usage: $0 [--seconds N] [--connections N] [--sizes \"1 10 100 1000\"] [--port N] [--dir DIR] [--spread] [--churn]" >&2
           exit 2 ;;
    esac
done
command -v wrk > /dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
[ -n "$dir" ] || dir=$(mktemp -d /tmp/healthsync-serve-load.XXXXXX)
mkdir -p "$dir/bodies"

echo "== building"
healthsync=${HEALTHSYNC:-}
if [ -z "$healthsync" ]; then
    (cd .. && swift build -c release --product healthsync 2>&1 | tail -1)
    healthsync=../.build/release/healthsync
fi
swift build -c release --product HealthSyncLoad 2>&1 | tail -1
for size in $sizes; do
    .build/release/HealthSyncLoad bodies --out "$dir/bodies" --check-states "$size" --count 64 --variants "$variants"
done

rm -f "$dir/serve.sqlite" "$dir/serve.sqlite-wal" "$dir/serve.sqlite-shm"
start_serve "$healthsync" "$dir/serve.sqlite" "$port" "$dir/serve.log" --api-key bench

echo "== $connections connections, $seconds s per size, 64 streams round-robin (spread: $spread, snapshot variants per"\
    "stream: $variants), database in $dir"
printf "%-26s %12s %16s %10s %10s %8s %12s %14s\n" "check states per envelope" "envelopes/s" "check states/s" "p50 ms" \
    "p99 ms" "non-200" "peak RSS MB" "serve CPU µs/cs"
# The server's CPU time (user + system) in clock ticks, from /proc/PID/stat.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
ticks_per_second=$(getconf CLK_TCK)
for size in $sizes; do
    cpu_before=$(cpu_ticks)
    out=$(BODIES="$dir/bodies" CHECKS="$size" COUNT=$((64 * variants)) STREAMS=64 SPREAD=$spread wrk -t2 -c"$connections" -d"${seconds}s" \
        -s Load/post.lua "http://127.0.0.1:$port" | grep '^RESULT')
    requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<< "$out")
    duration=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<< "$out")
    rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
    cpu=$(( $(cpu_ticks) - cpu_before ))
    awk -v r="$requests" -v d="$duration" -v s="$size" -v o="$out" -v rss="$rss" -v cpu="$cpu" -v hz="$ticks_per_second" 'BEGIN {
        match(o, /non_2xx=[0-9]+/); bad = substr(o, RSTART + 8, RLENGTH - 8)
        match(o, /p50_ms=[0-9.]+/); p50 = substr(o, RSTART + 7, RLENGTH - 7)
        match(o, /p99_ms=[0-9.]+/); p99 = substr(o, RSTART + 7, RLENGTH - 7)
        printf "%-26s %12.0f %16.0f %10s %10s %8s %12s %14.2f\n", s, r / d, r * s / d, p50, p99, bad, rss,
            (r > 0 ? cpu / hz * 1e6 / (r * s) : 0) }'
done
