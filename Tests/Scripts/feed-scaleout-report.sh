#!/usr/bin/env bash
# Beyond one process (issue 20): INSTANCES wirecodec-feed-server processes on one port
# (SO_REUSEPORT: the kernel spreads the connections), sharing one feed through a throwaway
# PostgreSQL (Tests/Scripts/postgres.sh), and wirecodec-feed-load in cluster mode with its
# clients over WORKERS processes and as many source addresses (127.0.0.2, 127.0.0.3, ...:
# a process may open 20,000 files here, a source address has ~28,000 ports), one publisher,
# UPDATES updates (10), one every INTERVAL_MS (1000). Appends its rows to Spec/realtime/load-scale.jsonl, its table
# to the "Many connections" section of Spec/realtime/load.md, and redraws load-scale.svg.
#
#   CLIENTS=100000 bash Tests/Scripts/feed-scaleout-report.sh            # WebSocket only
#   CLIENTS=100000 MIXED=1 bash Tests/Scripts/feed-scaleout-report.sh    # a quarter per technique
#   INSTANCES=6 WORKERS=6 UPDATES=10 INTERVAL_MS=1000 POLL_MS=1000 SETTLE_MS=300000 PING_MS=120000 ...
#   (INTERVAL_MS: the publisher's interval; POLL_MS: short polling's interval; PING_MS: the
#   servers' WebSocket ping interval; KEEP_ALIVE_MS: the servers' keep-alive timeout, 60000 by
#   default; BIN=DIR: release binaries built elsewhere, no build)
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS="${CLIENTS:-100000}"
INSTANCES="${INSTANCES:-6}"
WORKERS="${WORKERS:-6}"
UPDATES="${UPDATES:-10}"
INTERVAL_MS="${INTERVAL_MS:-1000}"
POLL_MS="${POLL_MS:-1000}"
SETTLE_MS="${SETTLE_MS:-300000}"
# The servers' WebSocket ping interval, which is also the time a pong may take: load workers
# with ~17,000 connections each on two shared cores can be further behind than 30 s while
# everyone connects, and would be closed for a late pong.
PING_MS="${PING_MS:-120000}"
# The servers' keep-alive timeout (the longest wait for a connection's next request): polls of
# CPU-starved load processes can come later than the default 60 s (Spec/realtime/load.md).
KEEP_ALIVE_MS="${KEEP_ALIVE_MS:-60000}"
out=Spec/realtime
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BIN:-}" ]]; then  # SKIP_BUILD=1: the release build as it is
    swift build -c release --product wirecodec-feed-server 2>&1 | tail -1
    swift build -c release --product wirecodec-feed-load 2>&1 | tail -1
fi
bin="${BIN:-$(swift build -c release --show-bin-path)}"
ulimit -n "$(ulimit -Hn)"

if [[ "${MIXED:-0}" == 1 ]]; then
    techniques=(short-polling long-polling sse websocket)
    per=$((CLIENTS / 4))
    label="$CLIENTS clients ($INSTANCES processes, mixed, short polls every $POLL_MS ms)"
    [[ "$INTERVAL_MS" != 1000 ]] && label="$CLIENTS clients ($INSTANCES processes, mixed, an update every $INTERVAL_MS ms, short polls every $POLL_MS ms)"
    [[ "$KEEP_ALIVE_MS" != 60000 ]] && label="${label%)}, keep-alive $KEEP_ALIVE_MS ms)"
else
    techniques=(websocket)
    per=$CLIENTS
    label="$CLIENTS clients ($INSTANCES processes)"
fi

state="$(mktemp -d /tmp/feed-scaleout.XXXXXX)"
pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    bash Tests/Scripts/postgres.sh stop >/dev/null 2>&1 || true
    rm -rf "$state"
}
trap stop_all EXIT

eval "$(bash Tests/Scripts/postgres.sh start)"
db="$(bash Tests/Scripts/postgres.sh createdb feed_scaleout)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
server_pids=()
for i in $(seq 1 "$INSTANCES"); do
    "$bin/wirecodec-feed-server" --host 127.0.0.1 --port "$port" --reuse-port --postgres "$db" \
        --long-poll-timeout-ms 25000 --heartbeat-ms 15000 --web-socket-ping-ms "$PING_MS" \
        --keep-alive-timeout-ms "$KEEP_ALIVE_MS" >"$state/instance-$i.log" 2>&1 &
    pids+=("$!")
    server_pids+=(--server-pid "$!")
    for _ in $(seq 1 600); do
        grep -q "listening on" "$state/instance-$i.log" 2>/dev/null && break
        sleep 0.05
    done
    grep -q "listening on" "$state/instance-$i.log" || { echo "instance $i did not start" >&2; cat "$state/instance-$i.log" >&2; exit 1; }
done
sources=()
for w in $(seq 2 $((WORKERS + 1))); do sources+=(--source-address "127.0.0.$w"); done

echo "feed-scaleout-report: $label, $INSTANCES instances on port $port, $WORKERS load workers" >&2
table="$("$bin/wirecodec-feed-load" --target "http://127.0.0.1:$port/" "${server_pids[@]}" --technique "${techniques[@]}" \
    --clients "$per" --updates "$UPDATES" --interval-ms "$INTERVAL_MS" --publishers 1 --settle-ms "$SETTLE_MS" --poll-interval-ms "$POLL_MS" \
    --long-poll-timeout-ms 25000 --workers "$WORKERS" "${sources[@]}" --json-out "$out/load-scale.jsonl" --label "$label")"
for i in $(seq 1 "$INSTANCES"); do
    echo "instance $i: $(grep -c . "$state/instance-$i.log") log lines" >&2
done
part="$(mktemp)"
{
    printf '### %s\n\n' "$label"
    echo "$INSTANCES \`wirecodec-feed-server\` processes on one port (\`--reuse-port\`) sharing the feed through"
    echo "PostgreSQL ($(bash Tests/Scripts/postgres.sh psql -tAc 'SHOW server_version' | head -1)), clients over $WORKERS load processes and source addresses"
    echo "127.0.0.2–127.0.0.$((WORKERS + 1)), one publisher; $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)."
    echo "Made by \`CLIENTS=$CLIENTS INSTANCES=$INSTANCES WORKERS=$WORKERS UPDATES=$UPDATES INTERVAL_MS=$INTERVAL_MS${MIXED:+ MIXED=$MIXED POLL_MS=$POLL_MS}${KEEP_ALIVE_MS:+ KEEP_ALIVE_MS=$KEEP_ALIVE_MS} bash Tests/Scripts/feed-scaleout-report.sh\`;"
    echo "WebSocket pings every $PING_MS ms, keep-alive timeout $KEEP_ALIVE_MS ms. Server CPU and memory are the sum over the instances (PostgreSQL's"
    echo "not included); bytes per update include the handshakes (the cluster mode counts from the start)."
    echo
    echo "$table"
} >"$part"
python3 Tests/Scripts/load-md-section.py append "$out/load.md" "$part"
rm -f "$part"
python3 Tests/Scripts/feed-scale-chart.py "$out/load-scale.jsonl" "$out/load-scale.svg"
echo "feed-scaleout-report: appended to $out/load.md, load-scale.jsonl, load-scale.svg" >&2
