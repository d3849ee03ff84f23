#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of the PostgreSQL store.
#
#   .ci/postgres.sh start DIR [PORT]   initializes a cluster under DIR (which must not exist or be empty), starts it on
#                                      127.0.0.1:PORT (a free port when omitted) with its socket in DIR, creates the
#                                      database healthsync_test, and prints the URL the tests read from
#                                      HEALTHSYNC_TEST_POSTGRES_URL
#   .ci/postgres.sh stop DIR           stops the cluster and removes DIR
#
# Run as root (CI), initdb and pg_ctl run as the postgres user (runuser), which owns DIR. The login is the superuser
# postgres with a random password (scram-sha-256 over TCP), so the tests connect as a deployment does. The cluster
# runs with fsync off: it holds nothing worth keeping, and the tests do not measure durability. With
# HEALTHSYNC_PG_DURABLE=1 in the environment it keeps PostgreSQL's defaults (fsync and synchronous_commit on), as the
# benchmarks need (Benchmarks/serve-postgres.sh).
#
# Locally:
#   export HEALTHSYNC_TEST_POSTGRES_URL=$(.ci/postgres.sh start /tmp/healthsync-pg 55432)
#   swift test --filter HealthSyncPostgresTests
#   .ci/postgres.sh stop /tmp/healthsync-pg
set -euo pipefail

usage() {
    echo "usage: $0 start DIR [PORT] | stop DIR" >&2
    exit 2
}

# The directory of initdb and pg_ctl: on the PATH, or Debian's newest /usr/lib/postgresql/N/bin.
bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        # Debian links them into /usr/local/bin or /usr/bin; psql's wrapper in /usr/bin is not the cluster's own.
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z "$found" || ! -x "$found/initdb" ]]; then
        echo "$0: initdb not found: install PostgreSQL (Debian: apt-get install postgresql)" >&2
        exit 1
    fi
    echo "$found"
}

# Runs a command as the postgres user when this script runs as root, else as the current user.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir=$1 port=${2:-}
    [[ -n "$port" ]] || port=$(free_port)
    local bin
    bin=$(bindir)
    mkdir -p "$dir"
    if [[ -n "$(ls -A "$dir")" ]]; then
        echo "$0: $dir is not empty" >&2
        exit 1
    fi
    local password
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$password" >"$dir/password"
    if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$dir"; fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" --auth-host=scram-sha-256 \
        --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    local fsync="-c fsync=off"
    if [[ "${HEALTHSYNC_PG_DURABLE:-0}" == 1 ]]; then fsync=""; fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir $fsync \
            -c max_connections=200" >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    # The database's default collation is a language's (ICU en-US), as most deployments' is: a column that sorts ids
    # without COLLATE "C" then puts "é" next to "e", and the byte-order check of the conformance suite fails.
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE healthsync_test LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' \
            TEMPLATE template0" >/dev/null || {
        as_owner "$bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null || true
        exit 1
    }
    echo "postgres://postgres:$password@127.0.0.1:$port/healthsync_test?sslmode=disable"
}

stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$(bindir)/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start)
    [[ $# -ge 2 ]] || usage
    start "$2" "${3:-}"
    ;;
stop)
    [[ $# -eq 2 ]] || usage
    stop "$2"
    ;;
*) usage ;;
esac
