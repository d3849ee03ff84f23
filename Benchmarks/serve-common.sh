# Sourced by the scripts that drive `healthsync serve` (serve-load.sh, soak.sh).

# start_serve HEALTHSYNC DB PORT LOG [SERVE OPTION…]: starts `HEALTHSYNC serve` on DB at 127.0.0.1:PORT with its log
# in LOG, sets `server` to its pid, stops it when the script exits, and waits up to 60 s for /readyz; exits 1 with the
# log when it does not come up.
start_serve() {
    local healthsync=$1 db=$2 port=$3 log=$4
    shift 4
    "$healthsync" serve --db "$db" --host 127.0.0.1 --port "$port" --log-level error "$@" 2> "$log" &
    server=$!
    trap 'kill -TERM "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true' EXIT
    for _ in $(seq 300); do
        curl -s -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
        sleep 0.2
    done
    echo "serve did not start:" >&2
    cat "$log" >&2
    exit 1
}
