#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the tests and the launcher (never the system's
# service): its data directory lives under .build/postgres (or, when the tests run as root and
# the checkout is not reachable by the `postgres` user, in a private directory under /tmp
# recorded there), on a free port of 127.0.0.1, with a superuser `wirecodec` (password
# `secret`, SCRAM over TCP) and a database `feed`.
#
#   bash Tests/Scripts/postgres.sh start      # init if needed, start; prints `export WIRECODEC_POSTGRES_URL=...`
#   bash Tests/Scripts/postgres.sh url        # the URL of the running server
#   bash Tests/Scripts/postgres.sh stop [fast|immediate]   # stop (immediate: as after a crash)
#   bash Tests/Scripts/postgres.sh restart [fast|immediate] [PAUSE_SECONDS]
#   bash Tests/Scripts/postgres.sh createdb NAME   # a fresh database (dropped first if it exists)
#   bash Tests/Scripts/postgres.sh destroy    # stop and delete the data directory
#
# WIRECODEC_POSTGRES_FSYNC=off (read by `start` when it starts the server; `restart` keeps the
# setting): fsync off, for the tests (test-all.sh and the test helpers set it). A crash of the
# server alone (`stop immediate`, as the tests do) still loses nothing committed — the WAL is
# in the kernel's cache, only a crash of the machine would lose it — and recovery then skips
# syncing the whole data directory, which took 10-20 s on a loaded machine. Measurements keep
# the default, on.
#
# PostgreSQL refuses to run as root: as root, initdb, pg_ctl and psql run as the `postgres`
# user (runuser), which Debian's postgresql package creates.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD/.build/postgres"
state="$root/state"
mkdir -p "$root"

pgbin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
    echo "postgres.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2
    exit 1
}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

load_state() {
    [ -f "$state" ] || return 1
    # shellcheck disable=SC1090
    source "$state"
}

running() {
    load_state || return 1
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

url() {
    load_state
    echo "postgres://wirecodec:secret@127.0.0.1:$PGPORT/feed?sslmode=disable"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

init() {
    local bin base
    bin="$(pgbin)"
    # The cluster's directory (its data and its log) belongs to whoever runs the server.
    base="$root/cluster"
    rm -rf "$base"
    mkdir -p "$base"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "postgres.sh: running as root needs the postgres user" >&2; exit 1; }
        chown postgres "$base"
        if ! runuser -u postgres -- test -w "$base"; then
            rm -rf "$base"
            base="$(mktemp -d /tmp/wirecodec-postgres.XXXXXX)"
            chown postgres "$base"
        fi
    fi
    local pwfile
    pwfile="$base/pwfile"
    echo secret >"$pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
    as_owner "$bin/initdb" -D "$base/data" -U wirecodec --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 || {
        rm -f "$pwfile"; cat "$root/initdb.log" >&2; exit 1; }
    rm -f "$pwfile"
    cat >"$state" <<EOF
PGBIN='$bin'
PGBASE='$base'
PGDATA='$base/data'
PGPORT='$(free_port)'
EOF
}

# Closes every descriptor but 0-2 of this shell: the server outlives it and must not hold a
# caller's pipes or sockets open (a test waiting for the end of its child's output would wait
# for the server instead; Foundation's Process learns that a child exited from such a socket).
close_inherited_fds() {
    local fd
    for fd in $(ls /proc/$$/fd 2>/dev/null); do
        [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    return 0
}

start_server() {
    load_state
    close_inherited_fds
    local log="$PGBASE/server.log"
    # Unix sockets in the data directory (not /var/run/postgresql); loopback TCP only; enough
    # connections for several instances and the 100,000-connection run's servers; fsync as
    # recorded by `start` (above).
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PGDATA -c max_connections=200 -c fsync=${PGFSYNC:-on}" \
        start >/dev/null || { cat "$log" >&2; exit 1; }
}

psql_() {
    load_state
    as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDATA" -p "$PGPORT" -U wirecodec -d postgres "$@"
}

case "${1:-}" in
start)
    load_state || init
    load_state
    [ -d "$PGDATA" ] || { rm -f "$state"; init; load_state; }
    if ! running; then
        case "${WIRECODEC_POSTGRES_FSYNC:-on}" in on | off) ;; *) echo "postgres.sh: WIRECODEC_POSTGRES_FSYNC is on or off" >&2; exit 64 ;; esac
        grep -v '^PGFSYNC=' "$state" >"$state.new" || true
        echo "PGFSYNC='${WIRECODEC_POSTGRES_FSYNC:-on}'" >>"$state.new"
        mv "$state.new" "$state"
        start_server
    fi
    psql_ -tAc "SELECT 1 FROM pg_database WHERE datname = 'feed'" | grep -q 1 || psql_ -c "CREATE DATABASE feed"
    echo "export WIRECODEC_POSTGRES_URL='$(url)'"
    ;;
url)
    running || { echo "postgres.sh: not running (start it first)" >&2; exit 1; }
    url
    ;;
stop)
    if running; then as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -w -m "${2:-fast}" stop >/dev/null; fi
    ;;
restart)
    running || { echo "postgres.sh: not running" >&2; exit 1; }
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -w -m "${2:-fast}" stop >/dev/null
    sleep "${3:-0}"
    start_server
    ;;
createdb)
    [ -n "${2:-}" ] || { echo "usage: postgres.sh createdb NAME" >&2; exit 64; }
    [[ "$2" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "postgres.sh: database names here are [a-z_][a-z0-9_]*" >&2; exit 64; }
    running || { echo "postgres.sh: not running" >&2; exit 1; }
    psql_ -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2"
    echo "postgres://wirecodec:secret@127.0.0.1:$PGPORT/$2?sslmode=disable"
    ;;
psql)
    shift
    psql_ "$@"
    ;;
destroy)
    if load_state; then
        if running; then as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -w -m immediate stop >/dev/null 2>&1 || true; fi
        rm -rf "$PGBASE"
    fi
    rm -f "$state"
    ;;
*)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
