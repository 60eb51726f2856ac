#!/usr/bin/env bash
# Three wirecodec-feed-server instances sharing one feed through PostgreSQL, behind nginx
# with nginx-feed.conf (README: "Deploying several instances"). Runs in the foreground until
# SIGINT/SIGTERM, then stops everything it started.
#
#   bash Tests/Scripts/deploy/feed-cluster.sh [--port 8080] [--instances 3] [--postgres URL|none]
#        [--bin DIR] [--state DIR] [--proxy-read-timeout 60s] [--fallback-proxies] [-- SERVER-ARGS...]
#
#   --port P          nginx listens on 127.0.0.1:P (0: a free port), the instances on P+1...P+N
#                     (free ports when P is 0).
#   --postgres URL    the shared log; without it a throwaway PostgreSQL is started under .build/
#                     (Tests/Scripts/postgres.sh) and stopped at the end. `none`: each instance
#                     keeps its own in-memory feed (not shared: for proxy checks only).
#   --bin DIR         where wirecodec-feed-server is (default: a release build of this checkout).
#   --proxy-read-timeout T   replaces nginx's default (60 s) in the rendered configuration.
#   --fallback-proxies       also three degraded proxies on free ports, as met in the wild: one
#                     that does not pass Upgrade (WebSockets blocked), one that also compresses
#                     responses (event streams stall in its buffers), one that also refuses /events.
#   SERVER-ARGS       passed to every instance (e.g. --heartbeat-ms 15000).
#
# It prints one line per part, then `feed-cluster: ready`:
#   feed-cluster: postgres URL
#   feed-cluster: instance N pid PID http://127.0.0.1:PORT/
#   feed-cluster: nginx pid PID http://127.0.0.1:PORT/
#   feed-cluster: proxy NAME http://127.0.0.1:PORT/
set -euo pipefail
# A caller that started this script from a thread blocking signals (Swift's test threads do,
# and children inherit the mask) leaves SIGTERM blocked here: the trap below would never run
# and nothing would be stopped. Start again with the usual signals unblocked and default.
if [ -z "${FEED_CLUSTER_SIGNALS:-}" ] && [ -r /proc/$$/status ] &&
    (( 0x$(awk '/^SigBlk:/ { print $2 }' /proc/$$/status) & 0x4003 )) &&
    env --default-signal=HUP true 2>/dev/null; then
    FEED_CLUSTER_SIGNALS=1 exec env --default-signal=HUP,INT,TERM "$BASH" "$0" "$@"
fi
here="$(cd "$(dirname "$0")" && pwd)"
checkout="$(cd "$here/../../.." && pwd)"

port=8080 instances=3 postgres="" bin="" state="" read_timeout="" fallback=0
server_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --port) port="$2"; shift 2 ;;
    --instances) instances="$2"; shift 2 ;;
    --postgres) postgres="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --state) state="$2"; shift 2 ;;
    --proxy-read-timeout) read_timeout="$2"; shift 2 ;;
    --fallback-proxies) fallback=1; shift ;;
    --) shift; server_args=("$@"); break ;;
    *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
    esac
done
[[ "$instances" =~ ^[1-9][0-9]?$ ]] || { echo "feed-cluster: --instances 1...99" >&2; exit 64; }
state="${state:-$checkout/.build/feed-cluster}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"

say() { echo "feed-cluster: $*"; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
nginx_bin() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || {
        echo "feed-cluster: nginx not found (apt-get install nginx)" >&2; exit 1; }
}

pids=()
own_postgres=0
# SIGTERM to every part; whatever still runs 10 s later (an instance's shutdown grace period
# is shorter), with its children (nginx's workers), gets SIGKILL.
stop_all() {
    trap - EXIT INT TERM
    local pid left i
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 1 200); do
        left=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
        [ "${#left[@]}" -eq 0 ] && break
        sleep 0.05
    done
    for pid in "${left[@]}"; do
        kill -KILL $(ps -o pid= --ppid "$pid" 2>/dev/null) "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$own_postgres" -eq 1 ]; then bash "$checkout/Tests/Scripts/postgres.sh" stop >/dev/null 2>&1 || true; fi
}
trap stop_all EXIT
trap 'exit 0' INT TERM HUP
# Whoever started us: if it dies without stopping us (a test process that crashed), we stop.
parent=$PPID
parent_alive() { [ "$(ps -o ppid= -p $$ 2>/dev/null | tr -d ' ')" = "$parent" ]; }

if [ -z "$bin" ]; then
    (cd "$checkout" && swift build -c release --product wirecodec-feed-server >&2)
    bin="$(cd "$checkout" && swift build -c release --show-bin-path)"
fi
[ -x "$bin/wirecodec-feed-server" ] || { echo "feed-cluster: no $bin/wirecodec-feed-server" >&2; exit 1; }

if [ -z "$postgres" ]; then
    eval "$(bash "$checkout/Tests/Scripts/postgres.sh" start)"
    postgres="$WIRECODEC_POSTGRES_URL"
    own_postgres=1
fi
source_args=()
if [ "$postgres" != none ]; then
    source_args=(--postgres "$postgres")
    say "postgres $(echo "$postgres" | sed -E 's#(//[^:/@]*):[^@]*@#\1:***@#')"
fi

# The instances.
free=0
if [ "$port" = 0 ]; then free=1; port="$(free_port)"; fi
upstreams=""
ports=()
# A port chosen by free_port can be taken by another process before the instance or nginx
# binds it (parallel tests): with free ports, a part that stops on "in use" gets new ones.
new_port() {
    local p
    p="$(free_port)"
    while [[ " ${ports[*]} $port " == *" $p "* ]]; do p="$(free_port)"; done
    echo "$p"
}
start_instance() {  # index (1-based), port
    "$bin/wirecodec-feed-server" --host 127.0.0.1 --port "$2" "${source_args[@]}" "${server_args[@]}" >"$state/instance-$1.log" 2>&1 &
    pids+=("$!")
    instance_pids[$(($1 - 1))]=$!
    ports[$(($1 - 1))]=$2
}
instance_pids=()
# All at once (each reads the log's history before it listens), then each waited for.
for i in $(seq 1 "$instances"); do
    if [ "$free" -eq 1 ]; then p="$(new_port)"; else p=$((port + i)); fi
    start_instance "$i" "$p"
done
for i in $(seq 1 "$instances"); do
    log="$state/instance-$i.log"
    for attempt in 1 2 3 4 5; do
        pid="${instance_pids[$((i - 1))]}"
        for _ in $(seq 1 600); do
            grep -q "listening on" "$log" 2>/dev/null && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        grep -q "listening on" "$log" && break
        if [ "$free" -eq 1 ] && [ "$attempt" -lt 5 ] && ! kill -0 "$pid" 2>/dev/null && grep -q "in use" "$log"; then
            echo "feed-cluster: instance $i: port ${ports[$((i - 1))]} taken, trying another" >&2
            start_instance "$i" "$(new_port)"
            continue
        fi
        echo "feed-cluster: instance $i did not start" >&2
        cat "$log" >&2
        exit 1
    done
    pid="${instance_pids[$((i - 1))]}" p="${ports[$((i - 1))]}"
    say "instance $i pid $pid http://127.0.0.1:$p/"
    upstreams+="    server 127.0.0.1:$p max_fails=1 fail_timeout=5s;"$'\n'
done

# nginx: the example configuration with this run's ports, in a main configuration whose
# files all live under the state directory.
conf="$state/nginx"
mkdir -p "$conf/tmp"
for t in body proxy fastcgi uwsgi scgi; do mkdir -p "$conf/tmp/$t"; done
# Workers run as `nobody` when nginx starts as root.
chmod -R a+rwx "$conf/tmp"
for nginx_attempt in 1 2 3 4 5; do
    awk -v upstreams="$upstreams" -v port="$port" -v timeout="$read_timeout" '
        /^ *server 127\.0\.0\.1:808[0-9] / { if (!done) { printf "%s", upstreams; done = 1 } next }
        /^ *listen 127\.0\.0\.1:8080;/ { sub(/8080/, port) }
        /^ *# proxy_read_timeout 60s;/ && timeout != "" { print "    proxy_read_timeout " timeout ";"; next }
        { print }
    ' "$here/nginx-feed.conf" >"$conf/feed.conf"

    fallback_servers=""
    fallback_ports=()
    if [ "$fallback" -eq 1 ]; then
        for name in no-upgrade no-upgrade-buffered-sse no-upgrade-no-sse; do fallback_ports+=("$name:$(free_port)"); done
        compressing_port="$(free_port)"
        fallback_servers="$(cat <<EOF
        # Degraded proxies, as met in the wild (not for production).
        server {
            # Does not pass Upgrade: a WebSocket handshake reaches the instance as a plain GET (426).
            listen 127.0.0.1:${fallback_ports[0]#*:};
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header Connection "";
            location / { proxy_pass http://wirecodec_feed; proxy_buffering off; }
        }
        server {
            # No Upgrade either, and it compresses responses on the way (the next server block)
            # and decompresses them for clients that did not ask for gzip: complete answers pass,
            # but an event stream's bytes, head included, stay in the compressor's buffers —
            # the classic way an intermediary swallows Server-Sent Events.
            listen 127.0.0.1:${fallback_ports[1]#*:};
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header Connection "";
            location / {
                proxy_pass http://127.0.0.1:$compressing_port;
                proxy_set_header Accept-Encoding gzip;
                gunzip on;
                proxy_buffering off;
            }
        }
        server {
            listen 127.0.0.1:$compressing_port;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            gzip on;
            gzip_types text/event-stream application/json;
            gzip_proxied any;
            gzip_min_length 0;
            location / {
                proxy_pass http://wirecodec_feed;
                proxy_buffering on;
                proxy_ignore_headers X-Accel-Buffering;
            }
        }
        server {
            # No Upgrade, and event streams refused.
            listen 127.0.0.1:${fallback_ports[2]#*:};
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
            proxy_set_header Connection "";
            location = /events { return 403; }
            location / { proxy_pass http://wirecodec_feed; }
        }
EOF
    )"
    fi

    cat >"$conf/nginx.conf" <<EOF
    worker_processes 1;
    worker_rlimit_nofile 20000;
    pid $conf/nginx.pid;
    error_log $conf/error.log notice;
    events { worker_connections 16384; }
    http {
        access_log off;
        client_body_temp_path $conf/tmp/body;
        proxy_temp_path $conf/tmp/proxy;
        fastcgi_temp_path $conf/tmp/fastcgi;
        uwsgi_temp_path $conf/tmp/uwsgi;
        scgi_temp_path $conf/tmp/scgi;
        include $conf/feed.conf;
    $fallback_servers
    }
EOF
    nginx="$(nginx_bin)"
    : >"$conf/error.log"
    "$nginx" -p "$conf" -c "$conf/nginx.conf" -g 'daemon off;' 2>>"$conf/error.log" &
    nginx_pid=$!
    pids+=("$nginx_pid")
    # nginx retries a port it cannot bind for a few seconds, saying so in its log each time.
    for _ in $(seq 1 200); do
        grep -q "in use" "$conf/error.log" && break
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.05
    done
    # (the connection above may also have reached whoever holds the port)
    sleep 0.3
    if kill -0 "$nginx_pid" 2>/dev/null && ! grep -q "in use" "$conf/error.log"; then break; fi
    if [ "$free" -eq 1 ] && [ "$nginx_attempt" -lt 5 ] && grep -q "in use" "$conf/error.log"; then
        echo "feed-cluster: nginx: a port was taken, trying others" >&2
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        port="$(new_port)"
        continue
    fi
    cat "$conf/error.log" >&2
    exit 1
done
say "nginx pid $nginx_pid http://127.0.0.1:$port/"
for entry in "${fallback_ports[@]}"; do say "proxy ${entry%%:*} http://127.0.0.1:${entry#*:}/"; done
say ready

# Until a signal, or until a part dies on its own (nginx: the end; an instance: the others
# and nginx carry on, as in production), or until our parent is gone.
while kill -0 "$nginx_pid" 2>/dev/null && parent_alive; do sleep 0.5; done
