#!/usr/bin/env bash
# Workload 3 against its bare limit: the same rounds written by HealthProcessor into SQLiteHealthStore
# (`healthsync-load sqlite`) and by a plain C program with prepared sqlite3 statements (Baseline/sqlite_baseline.c),
# one transaction per envelope, envelopes of one message and of many, alternating runs. HealthSync runs twice: one
# `apply` after the other, and pipelined (`stage`/`complete`, as the intake does). Prints the median check states per
# second of each and the ratios, and checks that all wrote the same rows. See Docs/performance.md.
#
#   Benchmarks/compare.sh [--streams N] [--rounds N] [--runs N] [--batches "1 100"] [--dir DIR]
#
# DIR (default: $HEALTHSYNC_BENCH_DIR or a new directory under /tmp) holds the databases; put it on the disk to
# measure. Needs cc, libsqlite3-dev and the Swift toolchain; sqlite3 (the shell) for the row check, if present.
set -euo pipefail
cd "$(dirname "$0")"

streams=1000 rounds=10 runs=3 batches="1 100" dir="${HEALTHSYNC_BENCH_DIR:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --streams) streams=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --batches) batches=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        *) echo "usage: $0 [--streams N] [--rounds N] [--runs N] [--batches \"1 100\"] [--dir DIR]" >&2; exit 2 ;;
    esac
done
[ -n "$dir" ] || dir=$(mktemp -d /tmp/healthsync-compare.XXXXXX)
mkdir -p "$dir"

echo "== building"
cc -O2 -Wall -o "$dir/sqlite_baseline" Baseline/sqlite_baseline.c -lsqlite3
swift build -c release --product HealthSyncLoad 2>&1 | tail -1
load=".build/release/HealthSyncLoad"

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
field() { sed -n "s/.*phase=steady.* $1=\([0-9.]*\).*/\1/p"; }

# The schema (GRDB's migration table aside) and the rows both programs left, in a canonical order: events through
# the view `event`, which spells out their texts, sequences aside (the two order a snapshot's events differently);
# the texts of eventText without their keys (the two may key them in a different order) and the last sequence
# handed out (as many events reserved by each).
dump() {
    sqlite3 "$1" "
        SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name NOT LIKE 'grdb%' ORDER BY type, name;
        SELECT * FROM stream ORDER BY urn;
        SELECT * FROM subStream ORDER BY urn, subStreamId;
        SELECT * FROM checkState ORDER BY urn, subStreamId, checkStateId;
        SELECT at, kind, urn, subStreamId, checkStateId, name, health, topologyElementIdentifier, message,
            previousHealth, deletionReason, errorCode, detail FROM event ORDER BY 1, 2, 3, 4, 5, 7, 10;
        SELECT text FROM eventText ORDER BY text;
        SELECT last FROM eventSequence;
        SELECT * FROM processorState;" | md5sum | cut -d' ' -f1
}

echo "== $streams streams × ~100 check states, $rounds rounds after the first, $runs runs, databases in $dir"
echo "   HealthSync one envelope after the other (apply), and pipelined (stage/complete: the next envelope is"
echo "   processed while the previous one commits); one transaction per envelope in every column"
printf "%-10s %10s %12s %7s %12s %7s\n" "messages" "C" "apply" "ratio" "pipelined" "ratio"
printf "%-10s %10s %12s %7s %12s %7s\n" "/envelope" "states/s" "states/s" "" "states/s" ""
for batch in $batches; do
    : > "$dir/c.txt"
    : > "$dir/swift-off.txt"
    : > "$dir/swift-on.txt"
    for run in $(seq "$runs"); do
        "$dir/sqlite_baseline" "$dir/c.sqlite" "$streams" "$rounds" "$batch" > "$dir/c.out"
        field states_per_s < "$dir/c.out" >> "$dir/c.txt"
        for pipeline in off on; do
            # A context cache that holds the workload's streams, about 110 entries a stream (the C program keeps
            # what it needs in its head); the default holds a fifth of them (Docs/storage.md).
            "$load" sqlite --db "$dir/swift.sqlite" --streams "$streams" --rounds "$rounds" --batch "$batch" \
                --cache $((streams * 110)) --pipeline "$pipeline" > "$dir/swift.out"
            field states_per_s < "$dir/swift.out" >> "$dir/swift-$pipeline.txt"
            for counter in states created updated deleted events; do
                if [ "$(field $counter < "$dir/c.out")" != "$(field $counter < "$dir/swift.out")" ]; then
                    echo "error: the programs disagree on $counter (pipeline $pipeline):" >&2
                    cat "$dir/c.out" "$dir/swift.out" >&2
                    exit 1
                fi
            done
            if [ "$run" = 1 ] && command -v sqlite3 > /dev/null; then
                if [ "$(dump "$dir/c.sqlite")" != "$(dump "$dir/swift.sqlite")" ]; then
                    echo "error: the databases differ (batch $batch, pipeline $pipeline)" >&2
                    exit 1
                fi
            fi
        done
    done
    c=$(median < "$dir/c.txt")
    off=$(median < "$dir/swift-off.txt")
    on=$(median < "$dir/swift-on.txt")
    ratio() { awk -v s="$1" -v c="$c" 'BEGIN { printf "%.2f", s / c }'; }
    printf "%-10s %10s %12s %7s %12s %7s\n" "$batch" "$c" "$off" "$(ratio "$off")" "$on" "$(ratio "$on")"
    echo "   runs: C $(tr '\n' ' ' < "$dir/c.txt")| apply $(tr '\n' ' ' < "$dir/swift-off.txt")| pipelined $(tr '\n' ' ' < "$dir/swift-on.txt")"
done
grep 'phase=size' "$dir/c.out" "$dir/swift.out" | sed 's/.*impl=/   database size after the last run: /'
