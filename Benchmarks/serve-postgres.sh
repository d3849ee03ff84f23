#!/usr/bin/env bash
# `healthsync serve` on PostgreSQL, with one and with two replicas on one database, next to one `serve` on SQLite, in
# one run (issue 16, Docs/scaling.md). Each configuration starts on a new database and is driven by wrk on loopback
# with envelopes of 100 check states (64 streams, round-robin); every 200 is an envelope durably committed: SQLite with
# `synchronous = FULL`, PostgreSQL with fsync and `synchronous_commit = on` (a throwaway cluster started by
# .ci/postgres.sh with HEALTHSYNC_PG_DURABLE=1, on this machine too).
#
#   Benchmarks/serve-postgres.sh [--seconds 20] [--connections 16] [--check-states 100] [--port 7277] [--rounds 1]
#                                [--churn] [--same-streams] [--dir DIR]
#
# With two replicas, each has its own wrk with half the connections, both posting all 64 streams round-robin, each
# wrk thread from its own quarter of them, as independent agents behind a load balancer do. With --same-streams the
# two replicas' wrks post the same streams at the same moments: every envelope meets one of the same stream on the
# other replica, which the versions of the store serialize (one waits for the other's row lock and retries), the
# worst case of a load balancer that spreads one source's envelopes over replicas.
#
# Per configuration it prints acknowledged check states and envelopes per second, latency percentiles of wrk, the
# answers other than 200, the CPU time (user + system) per acknowledged check state of the replicas and of the
# PostgreSQL server (all its processes), the WAL PostgreSQL wrote per check state, and what the server's active
# sessions waited for (sampled every 100 ms). --rounds N repeats the three configurations N times, alternating, so that
# medians can be taken on a noisy machine. Runs as root (PostgreSQL runs as the postgres user) or as a user who can
# run initdb.
set -euo pipefail
cd "$(dirname "$0")"
. ./serve-common.sh

seconds=20 connections=16 checks=100 port=7277 rounds=1 variants=1 same=0 dir="${HEALTHSYNC_BENCH_DIR:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --check-states) checks=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --churn) variants=4; shift ;;
        --same-streams) same=1; shift ;;
        --dir) dir=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds N] [--connections N] [--check-states N] [--port N] [--rounds N] [--churn] [--same-streams] [--dir DIR]" >&2
           exit 2 ;;
    esac
done
command -v wrk > /dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
command -v psql > /dev/null || { echo "needs psql and a PostgreSQL server (apt-get install postgresql)" >&2; exit 2; }
[ -n "$dir" ] || dir=$(mktemp -d /tmp/healthsync-serve-postgres.XXXXXX)
mkdir -p "$dir/bodies"

echo "== building"
healthsync=${HEALTHSYNC:-}
if [ -z "$healthsync" ]; then
    (cd .. && swift build -c release --product healthsync 2>&1 | tail -1)
    healthsync=$(cd .. && pwd)/.build/release/healthsync
fi
swift build -c release --product HealthSyncLoad 2>&1 | tail -1
.build/release/HealthSyncLoad bodies --out "$dir/bodies" --check-states "$checks" --count 64 --variants "$variants"

pgdir="$dir/postgres"
rm -rf "$pgdir"
url=$(HEALTHSYNC_PG_DURABLE=1 ../.ci/postgres.sh start "$pgdir" "$((port + 100))")
postmaster=$(head -n 1 "$pgdir/data/postmaster.pid")
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2> /dev/null || true; done
    ../.ci/postgres.sh stop "$pgdir"
}
trap cleanup EXIT
echo "== PostgreSQL $(psql "$url" -At -c 'SHOW server_version') (fsync $(psql "$url" -At -c 'SHOW fsync'),"\
    "synchronous_commit $(psql "$url" -At -c 'SHOW synchronous_commit')) in $pgdir"

ticks_per_second=$(getconf CLK_TCK)
# The CPU time (user + system) in clock ticks of the processes given, from /proc/PID/stat.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    echo "$total"
}
# The PostgreSQL server's processes: the postmaster and its children (backends, WAL writer, checkpointer).
postgres_pids() { echo "$postmaster" $(ps --ppid "$postmaster" -o pid=); }

# serve_on DB PORT: starts a replica and appends its pid to `servers`; waits for /readyz.
serve_on() {
    local db=$1 replica_port=$2
    "$healthsync" serve --db "$db" --host 127.0.0.1 --port "$replica_port" --log-level error --api-key bench \
        2>> "$dir/serve-$replica_port.log" &
    servers+=($!)
    for _ in $(seq 300); do
        curl -s -o /dev/null "http://127.0.0.1:$replica_port/readyz" && return 0
        sleep 0.2
    done
    echo "serve did not start:" >&2
    cat "$dir/serve-$replica_port.log" >&2
    exit 1
}

stop_servers() {
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2> /dev/null || true; done
    servers=()
}

# drive NAME REPLICAS: one wrk per replica (ports port, port + 1, …) for `seconds`, connections split among them;
# prints one row.
drive() {
    local name=$1 replicas=$2 i outputs=() pids=()
    local per=$((connections / replicas))
    local serve_before pg_before
    serve_before=$(cpu_ticks "${servers[@]}")
    pg_before=$(cpu_ticks $(postgres_pids))
    local wal_before
    wal_before=$(psql "$url" -At -c "SELECT pg_current_wal_lsn()")
    # Sample what the server's active sessions wait for, every 100 ms, while wrk runs (PostgreSQL only).
    local sampler=""
    if [ "$name" != sqlite ]; then
        (while :; do
            psql "$url" -At -F ' ' -c "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '-') FROM pg_stat_activity
                WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()" 2> /dev/null
            sleep 0.1
        done) > "$dir/waits.txt" &
        sampler=$!
    fi
    for ((i = 0; i < replicas; i++)); do
        # A replica's wrk threads start at their own quarter of the streams (Load/post.lua: SPREAD=1 puts the two
        # threads half-way apart, OFFSET moves the second replica's a quarter on), unless --same-streams.
        BODIES="$dir/bodies" CHECKS="$checks" COUNT=$((64 * variants)) STREAMS=64 SPREAD=1 \
            OFFSET=$(( same ? 0 : i * 64 / (2 * replicas) )) \
            wrk -t2 -c"$per" -d"${seconds}s" -s Load/post.lua "http://127.0.0.1:$((port + i))" \
            > "$dir/wrk-$i.out" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    if [ -n "$sampler" ]; then
        kill "$sampler" 2> /dev/null || true
        wait "$sampler" 2> /dev/null || true
        # The most frequent waits of the active sessions, as a share of the samples.
        sort "$dir/waits.txt" | uniq -c | sort -rn | head -n 4 | awk -v total="$(wc -l < "$dir/waits.txt")" \
            '{ printf "%s%s:%s %.0f%%", (NR > 1 ? ", " : "    active sessions: "), $2, $3, 100 * $1 / total } END { print "" }' \
            > "$dir/waits.summary"
    fi
    local serve_cpu=$(( $(cpu_ticks "${servers[@]}") - serve_before ))
    local pg_cpu=$(( $(cpu_ticks $(postgres_pids)) - pg_before ))
    # WAL written meanwhile (the SQLite run writes none to PostgreSQL's).
    local wal
    wal=$(psql "$url" -At -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal_before')")
    cat "$dir"/wrk-*.out | grep '^RESULT' | awk -v name="$name" -v s="$checks" -v scpu="$serve_cpu" \
        -v pcpu="$pg_cpu" -v wal="$wal" -v hz="$ticks_per_second" -v pg="$([ "$name" = sqlite ] && echo 0 || echo 1)" '
        function field(line, key,    m) { match(line, key "=[0-9.]+"); return substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) }
        { requests += field($0, "requests"); seconds = field($0, "seconds") > seconds ? field($0, "seconds") : seconds
          bad += field($0, "non_2xx") + field($0, "socket_errors")
          p50 = field($0, "p50_ms") > p50 ? field($0, "p50_ms") : p50; p99 = field($0, "p99_ms") > p99 ? field($0, "p99_ms") : p99 }
        END {
            states = requests * s
            printf "%-22s %12.0f %16.0f %9s %9s %8d %16.1f %16s %12s\n", name, requests / seconds, states / seconds, p50, p99,
                bad, (states > 0 ? scpu / hz * 1e6 / states : 0), (pg ? sprintf("%.1f", states > 0 ? pcpu / hz * 1e6 / states : 0) : "-"),
                (pg ? sprintf("%.0f", states > 0 ? wal / states : 0) : "-")
        }'
    rm -f "$dir"/wrk-*.out
    if [ -n "$sampler" ]; then cat "$dir/waits.summary"; fi
}

echo "== $connections connections, $seconds s per configuration, $checks check states per envelope, 64 streams" \
    "(snapshot variants per stream: $variants), $rounds round(s)"
printf "%-22s %12s %16s %9s %9s %8s %16s %16s %12s\n" "configuration" "envelopes/s" "check states/s" "p50 ms" "p99 ms" \
    "non-200" "serve CPU µs/cs" "PG CPU µs/cs" "WAL B/cs"
for ((round = 1; round <= rounds; round++)); do
    rm -f "$dir"/serve.sqlite*
    serve_on "$dir/serve.sqlite" "$port"
    drive sqlite 1
    stop_servers

    for replicas in 1 2; do
        database="bench_${round}_$replicas"
        psql "$url" -q -c "CREATE DATABASE $database" > /dev/null
        db_url=${url/\/healthsync_test/\/$database}
        for ((i = 0; i < replicas; i++)); do serve_on "$db_url" $((port + i)); done
        drive "postgres, $replicas replica$([ "$replicas" -gt 1 ] && echo s || true)" "$replicas"
        stop_servers
    done
done
