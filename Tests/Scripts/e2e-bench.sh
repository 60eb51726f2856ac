#!/usr/bin/env bash
# End to end: whole servers on this machine under the same load (issue 18).
#
#   bash Tests/Scripts/e2e-bench.sh [--json] [--write-spec] [--subjects LIST] [--workloads LIST]
#                                   [--seconds N] [--skip-build]
#
# Builds the separate package Tests/Peers (echo/hello servers on plain SwiftNIO, Hummingbird
# 2.28.1 + hummingbird-websocket 2.8.1, Vapor 4.122.3, WireCodec's handler API and async API,
# and the load client written on the codec), then runs every subject on every workload, one
# fresh server process per row, the server pinned to CPU 0 and the load to CPU 1 (taskset):
#
#   e2e.ws.echo-20b-100c   100 WebSocket connections, 20-byte text messages, closed loop
#   e2e.ws.echo-16k-200c   200 WebSocket connections, 16 KiB text messages, closed loop
#   e2e.http.hello-100c    wrk, 100 keep-alive connections, GET / "Hello, World!" (requests as messages)
#   e2e.ws.idle-10000c     10,000 open idle WebSockets: server RSS growth per connection
#
# --json prints exactly {"e2e":[{"workload":W,"subject":S,"messages_per_s":X,"p50_us":Y,
# "p99_us":Z,"rss_per_conn_bytes":R}, ...]} (values not measured by a workload are null).
# --write-spec also writes Spec/performance/e2e.json, e2e.md and e2e.svg.
# Subjects: wirecodec (async API), wirecodec-handlers, nio, hummingbird, vapor.
set -euo pipefail
cd "$(dirname "$0")/../.."

json=0
write_spec=0
skip_build=0
seconds=5
subjects="wirecodec wirecodec-handlers nio hummingbird vapor"
workloads="e2e.ws.echo-20b-100c e2e.ws.echo-16k-200c e2e.http.hello-100c e2e.ws.idle-10000c"
while [ $# -gt 0 ]; do
    case "$1" in
        --json) json=1 ;;
        --write-spec) write_spec=1 ;;
        --skip-build) skip_build=1 ;;
        --seconds) seconds=$2; shift ;;
        --subjects) subjects=${2//,/ }; shift ;;
        --workloads) workloads=${2//,/ }; shift ;;
        *) echo "e2e-bench: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done

log() { echo "e2e-bench: $*" >&2; }

# wrk and taskset (util-linux) from Debian when missing.
if ! command -v wrk >/dev/null || ! command -v taskset >/dev/null; then
    log "installing wrk and util-linux"
    apt-get install -y wrk util-linux >&2 || { apt-get update >&2 && apt-get install -y wrk util-linux >&2; }
fi

if [ "$skip_build" != 1 ]; then
    log "building Tests/Peers (release; Hummingbird and Vapor take a while the first time)"
    swift build -c release --package-path Tests/Peers >&2
fi
bin=$(swift build -c release --package-path Tests/Peers --show-bin-path)

# CPU 0 for the server, CPU 1 for the load (the same core for both on a one-core machine).
cpus=$(nproc)
server_cpu=0
load_cpu=$(( cpus > 1 ? 1 : 0 ))
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

start_server() {  # SUBJECT PORT
    taskset -c "$server_cpu" "$bin/e2e-$1" --port "$2" --threads 1 > "$work/server.out" 2> "$work/server.err" &
    server_pid=$!
    for _ in $(seq 1 600); do
        if grep -q "^listening" "$work/server.out" 2>/dev/null; then return 0; fi
        if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    log "$1 did not start:"; cat "$work/server.err" >&2
    return 1
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Latency from wrk's --latency distribution ("50%  123.45us"), in microseconds.
wrk_percentile() {  # FILE PERCENT
    awk -v p="$2%" '$1 == p { v = $2; u = 1
        if (v ~ /us$/) { sub(/us$/, "", v) } else if (v ~ /ms$/) { sub(/ms$/, "", v); u = 1000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); u = 1000000 }
        printf "%.1f", v * u; exit }' "$1"
}

results="$work/results.jsonl"
: > "$results"
row() {  # WORKLOAD SUBJECT RATE P50 P99 RSS
    printf '{"workload":"%s","subject":"%s","messages_per_s":%s,"p50_us":%s,"p99_us":%s,"rss_per_conn_bytes":%s}\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" >> "$results"
    log "$1 $2: messages/s $3, p50 $4 µs, p99 $5 µs, RSS/conn $6 B"
}

for workload in $workloads; do
    for subject in $subjects; do
        port=$(free_port)
        start_server "$subject" "$port" || { row "$workload" "$subject" null null null null; continue; }
        case "$workload" in
            e2e.ws.echo-20b-100c|e2e.ws.echo-16k-200c)
                if [ "$workload" = e2e.ws.echo-20b-100c ]; then c=100; size=20; else c=200; size=16384; fi
                out=$(taskset -c "$load_cpu" "$bin/e2e-load" ws-echo --port "$port" --connections "$c" --size "$size" \
                    --seconds "$seconds" --warmup 1 2> "$work/load.err") || { cat "$work/load.err" >&2; out=""; }
                if [ -n "$out" ]; then
                    rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages_per_s"])' "$out")
                    p50=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_us"])' "$out")
                    p99=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_us"])' "$out")
                    row "$workload" "$subject" "$rate" "$p50" "$p99" null
                else
                    row "$workload" "$subject" null null null null
                fi
                ;;
            e2e.http.hello-100c)
                # wrk counts status codes only: check the body once first.
                body=$(curl -s --max-time 5 "http://127.0.0.1:$port/" || true)
                if [ "$body" != "Hello, World!" ]; then
                    log "$subject: GET / answered '$body', not 'Hello, World!'"
                    row "$workload" "$subject" null null null null
                    stop_server
                    continue
                fi
                taskset -c "$load_cpu" wrk -t1 -c100 -d1s "http://127.0.0.1:$port/" > /dev/null 2>&1 || true
                taskset -c "$load_cpu" wrk -t1 -c100 -d"${seconds}s" --latency "http://127.0.0.1:$port/" > "$work/wrk.out" 2>&1 || true
                rate=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$work/wrk.out")
                errors=$(awk '/Non-2xx|Socket errors/ { print }' "$work/wrk.out")
                [ -n "$errors" ] && log "$subject: wrk reported: $errors"
                if [ -n "$rate" ]; then
                    row "$workload" "$subject" "$rate" "$(wrk_percentile "$work/wrk.out" 50)" "$(wrk_percentile "$work/wrk.out" 99)" null
                else
                    cat "$work/wrk.out" >&2
                    row "$workload" "$subject" null null null null
                fi
                ;;
            e2e.ws.idle-10000c)
                n=10000
                # One connection first (lazily made structures), then the baseline.
                taskset -c "$load_cpu" "$bin/e2e-load" ws-idle --port "$port" --connections 1 --hold 1 > /dev/null 2>&1 || true
                sleep 1
                before=$(rss_kib "$server_pid")
                taskset -c "$load_cpu" "$bin/e2e-load" ws-idle --port "$port" --connections "$n" --hold 8 \
                    > "$work/idle.out" 2> "$work/idle.err" &
                load_pid=$!
                for _ in $(seq 1 1200); do
                    grep -q "^READY" "$work/idle.out" 2>/dev/null && break
                    kill -0 "$load_pid" 2>/dev/null || break
                    sleep 0.1
                done
                if grep -q "^READY $n" "$work/idle.out"; then
                    sleep 3
                    after=$(rss_kib "$server_pid")
                    per=$(( (after - before) * 1024 / n ))
                    row "$workload" "$subject" null null null "$per"
                else
                    cat "$work/idle.err" >&2
                    row "$workload" "$subject" null null null null
                fi
                wait "$load_pid" 2>/dev/null || true
                ;;
            *) log "unknown workload $workload"; exit 64 ;;
        esac
        stop_server
    done
done

machine="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) ($(nproc) cores), $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1 /proc/loadavg)"
document=$(python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(json.dumps({"e2e": rows}, separators=(",", ":")))
PY
)
if [ "$json" = 1 ]; then
    echo "$document"
else
    python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"{'workload':24} {'subject':20} {'messages/s':>12} {'p50 µs':>10} {'p99 µs':>10} {'RSS/conn B':>11}")
fmt = lambda v, f: "-" if v is None else format(v, f)
for r in rows:
    print(f"{r['workload']:24} {r['subject']:20} {fmt(r['messages_per_s'], ',d'):>12} {fmt(r['p50_us'], '.1f'):>10} "
          f"{fmt(r['p99_us'], '.1f'):>10} {fmt(r['rss_per_conn_bytes'], ',d'):>11}")
PY
fi
if [ "$write_spec" = 1 ]; then
    mkdir -p Spec/performance
    echo "$document" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["machine"]=sys.argv[1]; json.dump(d, open("Spec/performance/e2e.json","w"), indent=1)' "$machine"
    python3 Tests/Scripts/e2e-chart.py Spec/performance/e2e.json Spec/performance/e2e.svg Spec/performance/e2e.md
    log "wrote Spec/performance/e2e.json, e2e.svg, e2e.md"
fi
