#!/usr/bin/env bash
# Runs Autobahn|Testsuite against WireCodec in both roles, on loopback:
#
#   server role: `wstest -m fuzzingclient` against `wirecodec-echo-server` (permessage-deflate on);
#   client role: `wstest -m fuzzingserver` driving `wirecodec-autobahn-client` (offers it).
#
# Usage: Tests/Conformance/autobahn/run-autobahn.sh [options]
#   --full               every case, 12.* and 13.* (permessage-deflate) included (an hour or more:
#                        Autobahn's own speed in 12.*/13.*)
#   --sample             every case outside 12.* and 13.*, plus 37 of them: the first case of
#                        each 12.x and 13.x group and the six smallest sizes of 12.1, 12.5,
#                        13.1, 13.3 and 13.7 (the default; what Tests/Scripts/test-all.sh runs)
#   --cases "1.* 2.1.1"  exactly these case patterns instead
#   --role server|client|both          (default both)
#   --tls                over wss://, with a test CA and certificate (Tests/Scripts/make-test-cert.sh):
#                        server role, the echo server speaks TLS only; client role, the
#                        fuzzingserver does, and the client verifies it (--ca-cert)
#   -c, --configuration debug|release  how to build the two programs (default debug: Autobahn, not our build, bounds the run)
#   --no-build           use the programs already built for that configuration
#   --bin DIR            use the two programs in DIR (implies --no-build)
#   --hibernate          both programs put their deflate streams to sleep after every message
#                        (--hibernate-after-every-message): the forced-hibernation run (issue 19)
#   --write-spec         write the summaries to Spec/conformance/autobahn-{server,client}.md
#                        (with --tls: autobahn-{server,client}-wss.md, the plain ones untouched)
#   --note TEXT          one more line for the summaries' header (repeatable)
#   --outdir DIR         reports and logs (default .build/autobahn)
#   --timeout SECONDS    limit per role (default 3600)
#
# The full runs whose results are committed (one role at a time, two at most side by side):
#   Tests/Conformance/autobahn/run-autobahn.sh --full --write-spec -c release --role server
#   Tests/Conformance/autobahn/run-autobahn.sh --full --write-spec -c release --role client
#   (and the same with --tls for wss://; give each its own --outdir when they run together)
#
# Passing means, in each role: every selected case ran, none is FAILED or UNIMPLEMENTED, and
# no close is FAILED, WRONG CODE or UNCLEAN (summarize.py). NON-STRICT and INFORMATIONAL pass
# and are listed with Autobahn's reason. Exit 0 only if every role passed; the last line is
# "autobahn: N passed, M failed" over both roles.
set -uo pipefail
# One brace group: bash reads all of it before running any, so that editing or checking out
# this file during a run (they take an hour) cannot change the run.
{

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/Tests/Conformance/autobahn"
mode=sample
cases=""
role=both
configuration=debug
build=1
bin_dir=""
write_spec=0
outdir="$root/.build/autobahn"
timeout=3600
tls=0
hibernate_args=()
extra_notes=()
python3="${PYTHON3:-python3}"
agent_server="wirecodec-echo-server"
agent_client="wirecodec-autobahn-client"

die() { echo "run-autobahn: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --full) mode=full; shift ;;
        --sample) mode=sample; shift ;;
        --cases) mode=custom; cases="$2"; shift 2 ;;
        --role) role="$2"; shift 2 ;;
        -c|--configuration) configuration="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --bin) build=0; bin_dir="$2"; shift 2 ;;
        --write-spec) write_spec=1; shift ;;
        --outdir) outdir="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --tls) tls=1; shift ;;
        --hibernate) hibernate_args=(--hibernate-after-every-message); shift ;;
        --note) extra_notes+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$role" =~ ^(server|client|both)$ ]] || die "--role must be server, client or both"
[[ "$configuration" =~ ^(debug|release)$ ]] || die "--configuration must be debug or release"
case "$mode" in
    full) include='*'; exclude='' ;;
    sample)
        include='*'; exclude='12.* 13.*'
        # Every payload kind (12.1-12.5) and every parameter set (13.1-13.7), with the six
        # smallest message sizes of 12.1, 12.5, 13.1, 13.3 and 13.7. Whole groups take
        # Autobahn minutes each (12.5.15 alone: 46 s against us, 100 s against Python websockets).
        sample_extra='12.1.1 12.1.2 12.1.3 12.1.4 12.1.5 12.1.6 12.2.1 12.3.1 12.4.1 12.5.1 12.5.2 12.5.3 12.5.4 12.5.5 12.5.6'
        sample_extra+=' 13.1.1 13.1.2 13.1.3 13.1.4 13.1.5 13.1.6 13.2.1 13.3.1 13.3.2 13.3.3 13.3.4 13.3.5 13.3.6'
        sample_extra+=' 13.4.1 13.5.1 13.6.1 13.7.1 13.7.2 13.7.3 13.7.4 13.7.5 13.7.6'
        ;;
    custom) include="$cases"; exclude='' ;;
esac

wstest="$("$here/install-autobahn.sh")" || die "could not install Autobahn|Testsuite"
cd "$root"
# What the summaries name: the checkout as the run starts (with --bin/--no-build, build the
# programs from this commit yourself).
run_commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
run_dirty=""
[[ -n "$(git -C "$root" status --porcelain --untracked-files=no -- Sources Package.swift 2>/dev/null)" ]] && run_dirty=" with uncommitted changes under Sources/"
if [[ $build == 1 ]]; then
    echo "run-autobahn: swift build -c $configuration (echo server, autobahn client)"
    swift build -c "$configuration" --product wirecodec-echo-server 2>&1 | grep -E "error|warning: |Compiling|Build complete" | tail -3
    swift build -c "$configuration" --product wirecodec-autobahn-client 2>&1 | grep -E "error|warning: |Build complete" | tail -2
fi
bin="${bin_dir:-$(swift build -c "$configuration" --show-bin-path)}"
[[ -x "$bin/wirecodec-echo-server" && -x "$bin/wirecodec-autobahn-client" ]] || die "programs not built in $bin"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"

# Children run in process groups of their own, so that stopping this script stops them.
groups=()
stop_group() {
    local pid="$1"
    kill -0 -- "-$pid" 2>/dev/null || return 0
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null
    return 0
}
cleanup() { for pid in ${groups[@]+"${groups[@]}"}; do stop_group "$pid"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port for the fuzzingserver, which listens on every interface: one below the kernel's
# ephemeral range (outgoing connections never take those; a load test with thousands of
# clients on this machine left no free port in the range for a while), free on 0.0.0.0 as
# Twisted binds it (SO_REUSEADDR).
free_port() {
    "$python3" - <<'PY'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
for _ in range(200):
    port = random.randint(max(1024, low - 12000), low - 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
}
port_open() { "$python3" -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))))' "$1"; }

summary_notes() { # role seconds
    local commit="$run_commit" dirty="$run_dirty"
    local flags="--$mode --write-spec -c $configuration --role $1"
    [[ $mode == custom ]] && flags="--cases \"$cases\" --write-spec -c $configuration --role $1"
    [[ $tls == 1 ]] && flags+=" --tls"
    [[ ${#hibernate_args[@]} -gt 0 ]] && flags+=" --hibernate"
    printf '%s\n' --note "Run: \`Tests/Conformance/autobahn/run-autobahn.sh $flags\` ($mode run, $configuration build, commit $commit$dirty, $(date -u '+%Y-%m-%d %H:%M') UTC at the end, wall time ${2} s for this role; $(nproc) cores shared with other work)."
    [[ $tls == 1 && $1 == server ]] && printf '%s\n' --note "Transport: wss:// (TLS through swift-nio-ssl; a test CA and certificate made by Tests/Scripts/make-test-cert.sh; Autobahn's Twisted client over pyOpenSSL)."
    [[ $tls == 1 && $1 == client ]] && printf '%s\n' --note "Transport: wss:// (Autobahn's Twisted server over pyOpenSSL with a certificate of a test CA made by Tests/Scripts/make-test-cert.sh; our WebSocketClient over swift-nio-ssl trusting that CA with --ca-cert, hostname verification on)."
    printf '%s\n' --note "Peer: Autobahn|Testsuite ($("$wstest" -a 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')) on CPython $("$(dirname "$wstest")/python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo 2.7), over loopback."
    local note
    for note in ${extra_notes[@]+"${extra_notes[@]}"}; do printf '%s\n' --note "$note"; done
}

total_pass=0
total_fail=0
status=0

run_server_role() {
    local dir="$outdir/server"
    rm -rf "$dir"; mkdir -p "$dir"
    : >"$dir/server.log"
    local tls_args=() scheme=ws
    if [[ $tls == 1 ]]; then
        bash "$root/Tests/Scripts/make-test-cert.sh" "$dir/cert" >/dev/null || die "could not make a test certificate"
        tls_args=(--tls-cert "$dir/cert/server.pem" --tls-key "$dir/cert/server.key")
        scheme=wss
    fi
    setsid "$bin/wirecodec-echo-server" --host 127.0.0.1 --port 0 ${tls_args[@]+"${tls_args[@]}"} ${hibernate_args[@]+"${hibernate_args[@]}"} >"$dir/server.log" 2>&1 &
    local server=$!
    groups+=("$server")
    local port=""
    for _ in $(seq 100); do
        port="$(sed -n 's/.*listening on https\{0,1\}:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$dir/server.log")"
        [[ -n "$port" ]] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$port" ]] || { cat "$dir/server.log" >&2; die "the echo server did not start"; }
    run_wstest fuzzingclient "$scheme://127.0.0.1:$port" "$dir"
    local rc=$?
    # The server must still be up after every case, and exit cleanly on SIGTERM.
    if ! kill -0 "$server" 2>/dev/null; then
        echo "run-autobahn: the echo server died during the run (log: $dir/server.log)" >&2
        rc=1
    else
        kill -TERM "$server"
        local waited=0
        while kill -0 "$server" 2>/dev/null && (( waited < 100 )); do sleep 0.1; waited=$((waited + 1)); done
        wait "$server"; local exit_status=$?
        if (( exit_status != 0 )); then
            echo "run-autobahn: the echo server exited $exit_status on SIGTERM" >&2
            rc=1
        fi
    fi
    return $rc
}

run_client_role() {
    local dir="$outdir/client"
    rm -rf "$dir"; mkdir -p "$dir"
    local port; port="$(free_port)"
    local scheme=ws
    if [[ $tls == 1 ]]; then
        bash "$root/Tests/Scripts/make-test-cert.sh" "$dir/cert" >/dev/null || die "could not make a test certificate"
        scheme=wss
    fi
    run_wstest fuzzingserver "$scheme://127.0.0.1:$port" "$dir"
}

# run_wstest KIND URL DIR: runs the selected cases (the sample's extra 12/13 groups as a second
# wstest pass, since wstest applies exclusions after inclusions) and summarises them together.
run_wstest() {
    local kind="$1" url="$2" dir="$3"
    local role; [[ $kind == fuzzingclient ]] && role=server || role=client
    local agent; [[ $role == server ]] && agent="$agent_server" || agent="$agent_client"
    local start=$SECONDS
    local passes=("main")
    [[ $mode == sample ]] && passes+=("extra")
    local expected=0
    local reports=()
    for pass in "${passes[@]}"; do
        local pdir="$dir/$pass"
        mkdir -p "$pdir"
        local inc="$include" exc="$exclude"
        [[ $pass == extra ]] && { inc="$sample_extra"; exc=""; }
        "$python3" - "$kind" "$url" "$pdir" "$inc" "$exc" "$agent" "$dir/cert" <<'PY'
import json, os, sys
kind, url, outdir, include, exclude, agent, cert = sys.argv[1:]
doc = {"outdir": outdir, "cases": include.split(), "exclude-cases": exclude.split(),
       "exclude-agent-cases": {}, "options": {}}
if kind == "fuzzingclient":
    doc["servers"] = [{"agent": agent, "url": url}]
else:
    doc["url"] = url
    if url.startswith("wss://"):
        doc["key"] = os.path.join(cert, "server.key")
        doc["cert"] = os.path.join(cert, "server.pem")
json.dump(doc, open(outdir + "/spec.json", "w"), indent=2)
PY
        echo "run-autobahn: $role role, wstest -m $kind, cases [$inc] excluding [$exc]"
        if [[ $kind == fuzzingclient ]]; then
            (cd "$pdir" && exec setsid timeout -k 10 "$timeout" "$wstest" -m fuzzingclient -s spec.json >wstest.log 2>&1) &
            local pid=$!
            groups+=("$pid")
            wait "$pid"
            local rc=$?
            (( rc == 124 )) && { echo "run-autobahn: wstest timed out after ${timeout}s" >&2; }
        else
            local port="${url##*:}"
            (cd "$pdir" && exec setsid timeout -k 10 "$timeout" "$wstest" -m fuzzingserver -s spec.json -u 0 >wstest.log 2>&1) &
            local pid=$!
            groups+=("$pid")
            local waited=0
            until port_open "$port"; do
                kill -0 "$pid" 2>/dev/null || { tail -5 "$pdir/wstest.log" >&2; die "the fuzzingserver did not start"; }
                (( waited++ > 300 )) && die "the fuzzingserver is not listening after 30 s"
                sleep 0.1
            done
            # In the background and waited for, so that a signal to this script is handled at once.
            local ca_args=()
            [[ $url == wss://* ]] && ca_args=(--ca-cert "$dir/cert/ca.pem")
            setsid timeout -k 10 "$timeout" "$bin/wirecodec-autobahn-client" --url "$url" --agent "$agent" ${ca_args[@]+"${ca_args[@]}"} ${hibernate_args[@]+"${hibernate_args[@]}"} >"$pdir/client.log" 2>&1 &
            local client=$!
            groups+=("$client")
            wait "$client"
            local crc=$?
            (( crc != 0 )) && echo "run-autobahn: wirecodec-autobahn-client exited $crc (log: $pdir/client.log)" >&2
            stop_group "$pid"
        fi
        local n; n="$(sed -n 's/.*Ok, will run \([0-9]*\) test cases.*/\1/p' "$pdir/wstest.log" | head -1)"
        expected=$((expected + ${n:-0}))
        reports+=("$pdir")
    done
    local seconds=$((SECONDS - start))
    # One report directory for the summary: merge the passes' index.json files.
    "$python3" - "$dir" "${reports[@]}" <<'PY'
import json, os, shutil, sys
out, dirs = sys.argv[1], sys.argv[2:]
merged = {}
for d in dirs:
    path = os.path.join(d, "index.json")
    if not os.path.exists(path):
        continue
    for agent, cases in json.load(open(path)).items():
        for case_id, entry in cases.items():
            entry["reportfile"] = os.path.relpath(os.path.join(d, entry["reportfile"]), out)
            merged.setdefault(agent, {})[case_id] = entry
json.dump(merged, open(os.path.join(out, "index.json"), "w"), indent=1)
PY
    local args=("$dir" --agent "$agent" --role "$role" --expect "$expected")
    local notes=()
    while IFS= read -r line; do notes+=("$line"); done < <(summary_notes "$role" "$seconds")
    local suffix="" over=""
    [[ $tls == 1 ]] && { suffix="-wss"; over=" over wss://"; }
    args+=("${notes[@]}" --title "Autobahn|Testsuite: WireCodec as the $role ($agent)$over")
    if [[ $write_spec == 1 ]]; then
        # ws:// and wss:// runs have files of their own (Spec/transport.md TR-A-7, Spec/client.md WSC-8).
        mkdir -p "$root/Spec/conformance"
        args+=(--markdown "$root/Spec/conformance/autobahn-$role$suffix.md")
    else
        args+=(--markdown "$dir/summary.md")
    fi
    local line
    "$python3" "$here/summarize.py" "${args[@]}" | tee "$dir/summary.txt"
    local src=${PIPESTATUS[0]}
    line="$(tail -1 "$dir/summary.txt")"
    local p f
    p="$(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\1/p' <<<"$line")"
    f="$(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\2/p' <<<"$line")"
    total_pass=$((total_pass + ${p:-0}))
    total_fail=$((total_fail + ${f:-1}))
    echo "run-autobahn: $role role took ${seconds}s (reports: $dir)"
    return $src
}

if [[ $role == server || $role == both ]]; then
    run_server_role || status=1
fi
if [[ $role == client || $role == both ]]; then
    run_client_role || status=1
fi
echo "run-autobahn: $SECONDS s in all (install, build and both roles)"
echo "autobahn: $total_pass passed, $total_fail failed"
exit $status
}
