#!/usr/bin/env bash
# The real-time patterns comparison (issue 9): wirecodec-feed-load against
# wirecodec-feed-server over loopback, 1,000 clients per technique, at one update per second
# and one per minute. Writes Spec/realtime/load.md (tables), load.jsonl (raw results) and
# load.svg (the chart the README links). About 15 minutes (the per-minute runs take 3 each).
#
#   bash Tests/Scripts/feed-load-report.sh            # CLIENTS=N, FAST=1 for a quick look
#
# Many connections in one server process (issue 19): SCALE="1000 8000 19000" runs long polling,
# SSE and WebSocket at each number of clients instead (10 updates, 1/s), then WebSocket at the
# largest without deflate and with context takeover (VARIANTS=0: not), and writes the section
# "Many connections" of Spec/realtime/load.md, load-scale.jsonl and load-scale.svg (clients on
# a log axis; Tests/Scripts/feed-scaleout-report.sh adds the several-process rows). Needs
# `ulimit -Hn` above the largest number (the tool and the server each hold one socket per
# client). PIN=1 runs the clients on CPU 1 only; EXTRA="..." passes more arguments.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS="${CLIENTS:-1000}"
out=Spec/realtime
mkdir -p "$out"
# BIN=DIR: prebuilt release binaries in DIR (no build); SERVER=FILE: the feed server to start
# (default: the one in the bin directory); SERVER_PIN=CPU: the server runs on that CPU only
# (taskset; it still starts an event loop per core, NIO counting cores without the affinity),
# e.g. SERVER_PIN=0 PIN=1 puts server and clients on a core each.
if [[ -n "${BIN:-}" ]]; then
    bin="$BIN"
else
    swift build -c release --product wirecodec-feed-server 2>&1 | tail -1
    swift build -c release --product wirecodec-feed-load 2>&1 | tail -1
    bin="$(swift build -c release --show-bin-path)"
fi
server="${SERVER:-$bin/wirecodec-feed-server}"
if [[ -n "${SERVER_PIN:-}" ]]; then
    wrapper="$(mktemp)"
    trap 'rm -f "$wrapper"' EXIT
    printf '#!/bin/sh\nexec taskset -c %s %q "$@"\n' "$SERVER_PIN" "$server" >"$wrapper"
    chmod +x "$wrapper"
    server="$wrapper"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The section of load.md that the many-connections runs own (kept by the other mode).
section() { python3 Tests/Scripts/load-md-section.py "$@"; }
machine="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') ($(nproc) cores)"

# One many-connections run (10 updates, 1/s; the tool's defaults: long polls held 25 s, SSE
# heartbeat 15 s), its row added to $json; prints its table. CLIENTS_ARG LABEL ARGUMENTS...
# A run that misses updates exits 1 but still prints its table: keep it, go on.
many_run() {
    local clients="$1" label="$2"
    shift 2
    echo "feed-load-report: $label (10 updates, 1/s)" >&2
    # shellcheck disable=SC2086
    "$bin/wirecodec-feed-load" --server "$server" --clients "$clients" "$@" --updates 10 --interval-ms 1000 \
        --web-socket-ping-ms 30000 --json-out "$json" --label "$label" ${PIN:+--pin-cpu "$PIN"} ${EXTRA:-} \
        || echo "feed-load-report: $label: incomplete or failed" >&2
}

# ADD=N: WebSocket at N clients without deflate and with the default deflate only, the rows
# added to the many-connections section and load-scale.jsonl (the rows there stay); TAG="..."
# names them in the labels ("N clients (TAG, no deflate)"), NOTE="..." is the text above them.
# ADD_TECHNIQUES="sse long-polling": these techniques at N clients instead (one row each).
if [[ -n "${ADD:-}" ]]; then
    json="$out/load-scale.jsonl"
    tag="${TAG:+$TAG, }"
    tables=()
    if [[ -n "${ADD_TECHNIQUES:-}" ]]; then
        added=()
        for technique in $ADD_TECHNIQUES; do added+=("$ADD clients (${tag}$technique)|--technique $technique"); done
    else
        added=("$ADD clients (${tag}no deflate)|--technique websocket --no-deflate" "$ADD clients (${tag}deflate)|--technique websocket")
    fi
    for run in "${added[@]}"; do
        IFS='|' read -r label arguments <<<"$run"
        # shellcheck disable=SC2086
        tables+=("$(many_run "$ADD" "$label" $arguments)")
    done
    part="$(mktemp)"
    {
        printf '### %s clients%s\n\n' "$ADD" "${TAG:+ ($TAG)}"
        [[ -n "${NOTE:-}" ]] && printf '%s\n\n' "$NOTE"
        printf 'Made by `ADD=%s%s TAG="%s"%s%s bash Tests/Scripts/feed-load-report.sh` on %s, %s.\n\n' "$ADD" \
            "${ADD_TECHNIQUES:+ ADD_TECHNIQUES=\"$ADD_TECHNIQUES\"}" "${TAG:-}" \
            "${PIN:+ PIN=$PIN}" "${SERVER_PIN:+ SERVER_PIN=$SERVER_PIN}" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$machine"
        for table in "${tables[@]}"; do
            printf '%s\n\n' "$table"
        done
    } >"$part"
    section append "$out/load.md" "$part"
    rm -f "$part"
    python3 Tests/Scripts/feed-scale-chart.py "$json" "$out/load-scale.svg"
    echo "feed-load-report: added to the many-connections section of $out/load.md, $json, $out/load-scale.svg" >&2
    exit 0
fi

if [[ -n "${SCALE:-}" ]]; then
    json="$out/load-scale.jsonl"
    : >"$json"
    runs=()
    for n in $SCALE; do
        runs+=("$n|$n clients|--technique long-polling sse websocket")
        largest=$n
    done
    if [[ "${VARIANTS:-1}" == 1 ]]; then
        # What the deflate choices cost at the largest number: none, and context takeover
        # (each connection compresses for itself) instead of server_no_context_takeover.
        runs+=("$largest|$largest clients (no deflate)|--technique websocket --no-deflate")
        runs+=("$largest|$largest clients (context takeover)|--technique websocket --server-arg=--deflate-context-takeover")
    fi
    tables=()
    for run in "${runs[@]}"; do
        IFS='|' read -r clients label arguments <<<"$run"
        # shellcheck disable=SC2086
        tables+=("$(many_run "$clients" "$label" $arguments)")
    done
    part="$(mktemp)"
    {
        cat <<HEAD
## Many connections in one process

\`wirecodec-feed-server\` (one process, every core) and \`wirecodec-feed-load\` (its clients on one
event loop${PIN:+, pinned to CPU $PIN}) over loopback on one machine, release builds: $machine, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD).
Made by \`SCALE="$SCALE" bash Tests/Scripts/feed-load-report.sh\` (raw: \`load-scale.jsonl\`).
10 updates at one per second; WebSocket clients offer permessage-deflate and the server answers
\`server_no_context_takeover\` (each item compressed once), except where the setting says
otherwise; ${EXTRA:-no extra server arguments}. Memory per client: the growth of the server's
resident memory from before the clients connect to after, divided by the clients.

![server CPU per delivery, latency p99 and memory per client against the number of clients](load-scale.svg)

HEAD
        for table in "${tables[@]}"; do
            printf '%s\n\n' "$table"
        done
    } >"$part"
    section set "$out/load.md" "$part"
    rm -f "$part"
    python3 Tests/Scripts/feed-scale-chart.py "$json" "$out/load-scale.svg"
    echo "feed-load-report: wrote the many-connections section of $out/load.md, $json, $out/load-scale.svg" >&2
    exit 0
fi

json="$out/load.jsonl"
: >"$json"
common=(--server "$server" --clients "$CLIENTS" --poll-interval-ms 1000 --long-poll-timeout-ms 25000 --heartbeat-ms 15000
        --web-socket-ping-ms 30000 --json-out "$json")
if [[ "${FAST:-0}" == 1 ]]; then
    settings=("1 update/s|10|1000" "1 update/10 s|2|10000")
else
    settings=("1 update/s|30|1000" "1 update/min|3|60000")
fi
tables=()
for setting in "${settings[@]}"; do
    IFS='|' read -r label updates interval <<<"$setting"
    echo "feed-load-report: $label ($updates updates, $CLIENTS clients per technique)" >&2
    tables+=("$("$bin/wirecodec-feed-load" "${common[@]}" --label "$label" --updates "$updates" --interval-ms "$interval")")
done

commit="$(git rev-parse --short HEAD)"
kept="$(section get "$out/load.md")"
{
    cat <<HEAD
# Real-time patterns, measured

One live feed served four ways by \`wirecodec-feed-server\`, and $CLIENTS simulated clients per
technique from \`wirecodec-feed-load\` (WireCodec's HTTP/1.1 and WebSocket machines over
SwiftNIO), over loopback on one machine: $machine, $(date -u +%Y-%m-%d), commit $commit.
Made by \`bash Tests/Scripts/feed-load-report.sh\` (raw results: \`load.jsonl\`; chart:
\`load.svg\`). What the columns mean and what the numbers say: \`Spec/realtime.md\`.

![bytes, requests, latency and server CPU per update, per technique](load.svg)

Settings: short polling every 1 s; long polls held up to 25 s; SSE heartbeat every 15 s;
WebSocket pings every 30 s, permessage-deflate on. Each technique runs against a fresh server.

HEAD
    for table in "${tables[@]}"; do
        printf '%s\n\n' "$table"
    done
    # The many-connections section (SCALE=...) stays.
    printf '%s' "$kept"
} >"$out/load.md.new"
mv "$out/load.md.new" "$out/load.md"
python3 Tests/Scripts/feed-chart.py "$json" "$out/load.svg"
echo "feed-load-report: wrote $out/load.md, $json, $out/load.svg" >&2
