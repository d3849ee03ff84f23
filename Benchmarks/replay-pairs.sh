#!/usr/bin/env bash
# Two builds of `healthsync replay` on one capture, in alternating runs (A, B, A, B, ...), each into a new SQLite
# file: the wall time and the CPU (user + system) of every run, the medians, in how many pairs B was faster and used
# less CPU, and whether the two builds left the same database (`sqlite3 FILE .dump`, byte for byte; exit 1 if not).
# On a shared, noisy machine, a difference shows as B winning most pairs; one run each proves nothing. See
# Docs/performance.md.
#
#   Benchmarks/replay-pairs.sh BINARY_A BINARY_B CAPTURE [--pairs N] [--dir DIR]
#
# CAPTURE: JSON Lines, for example `healthsync-load capture --out FILE` or the capture of
# /work/shared/bench/replay-vs-c.sh. DIR (default: a new directory under /tmp) holds the databases; put it on the disk
# to measure. Needs GNU time (/usr/bin/time); sqlite3 (the shell) for the database check, if present.
set -euo pipefail

usage() { echo "usage: $0 BINARY_A BINARY_B CAPTURE [--pairs N] [--dir DIR]" >&2; exit 2; }
[ $# -ge 3 ] || usage
a=$(readlink -f "$1") b=$(readlink -f "$2") capture=$(readlink -f "$3")
shift 3
pairs=6 dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) pairs=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        *) usage ;;
    esac
done
for file in "$a" "$b"; do [ -x "$file" ] || { echo "$file is not an executable" >&2; exit 2; }; done
[ -s "$capture" ] || { echo "$capture is missing or empty" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian: apt-get install time)" >&2; exit 2; }
[ -n "$dir" ] || dir=$(mktemp -d /tmp/healthsync-replay-pairs.XXXXXX)
mkdir -p "$dir"

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One replay of `binary` into a new file `name`.sqlite: writes "wall cpu" into $dir/last.
run() {
    local binary=$1 name=$2
    rm -f "$dir/$name".sqlite*
    if ! /usr/bin/time -f "%e %U %S" -o "$dir/time" \
        "$binary" replay --db "$dir/$name.sqlite" "$capture" >/dev/null 2>"$dir/$name.err"; then
        echo "replay with $binary failed:" >&2
        cat "$dir/$name.err" >&2
        exit 1
    fi
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$dir/time" >"$dir/last"
}

echo "== $pairs pairs, A = $a, B = $b, capture $capture ($(du -h "$capture" | cut -f1)), databases in $dir"
printf "%-6s %8s %8s %8s %8s\n" "pair" "A wall" "A cpu" "B wall" "B cpu"
: >"$dir/results"
for pair in $(seq "$pairs"); do
    run "$a" a
    read -r awall acpu <"$dir/last"
    run "$b" b
    read -r bwall bcpu <"$dir/last"
    printf "%-6s %8s %8s %8s %8s\n" "$pair" "$awall" "$acpu" "$bwall" "$bcpu"
    echo "$awall $acpu $bwall $bcpu" >>"$dir/results"
done
printf "%-6s %8s %8s %8s %8s\n" "median" \
    "$(cut -d' ' -f1 "$dir/results" | median)" "$(cut -d' ' -f2 "$dir/results" | median)" \
    "$(cut -d' ' -f3 "$dir/results" | median)" "$(cut -d' ' -f4 "$dir/results" | median)"
awk -v n="$pairs" '$3 < $1 { wall++ } $4 < $2 { cpu++ }
    END { printf "B faster in %d of %d pairs, B used less CPU in %d of %d\n", wall, n, cpu, n }' "$dir/results"
if command -v sqlite3 >/dev/null; then
    da=$(sqlite3 "$dir/a.sqlite" .dump | md5sum | cut -d' ' -f1)
    db=$(sqlite3 "$dir/b.sqlite" .dump | md5sum | cut -d' ' -f1)
    [ "$da" = "$db" ] || { echo "databases DIFFER: A $da, B $db" >&2; exit 1; }
    echo "databases: the same .dump ($da)"
fi
