#!/usr/bin/env bash
# Starts wirecodec-echo-server (the debug build swift test just made) with 2 s and 3 s
# deadlines and runs check_timeouts.py against it with a crowd of slow and idle connections:
#
#   bash Tests/Conformance/timeouts/run-crowd.sh [--crowd N] [-c debug|release]
#
# Prints the checks' JSON lines; exits 0 only if every check passed and the server then
# exited 0 on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/../../.."
crowd=1500
configuration=debug
while [[ $# -gt 0 ]]; do
    case "$1" in
        --crowd) crowd="$2"; shift 2 ;;
        -c|--configuration) configuration="$2"; shift 2 ;;
        *) echo "run-crowd: unknown argument $1" >&2; exit 2 ;;
    esac
done
bin="$(swift build -c "$configuration" --show-bin-path)"
[[ -x "$bin/wirecodec-echo-server" ]] || swift build -c "$configuration" --product wirecodec-echo-server
log="$(mktemp)"
"$bin/wirecodec-echo-server" --host 127.0.0.1 --port 0 --request-head-timeout-ms 2000 --keep-alive-timeout-ms 3000 >"$log" 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log")"
    [[ -n "$port" ]] && break
    sleep 0.1
done
[[ -n "$port" ]] || { echo "run-crowd: the echo server did not start" >&2; exit 1; }
status=0
python3 Tests/Conformance/timeouts/check_timeouts.py "http://127.0.0.1:$port/" \
    --head-timeout-ms 2000 --keep-alive-timeout-ms 3000 --crowd "$crowd" || status=1
kill -TERM "$server"
wait "$server" || { echo "run-crowd: the echo server did not exit 0" >&2; status=1; }
trap - EXIT
rm -f "$log"
exit $status
