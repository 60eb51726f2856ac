#!/usr/bin/env bash
# Builds the libFuzzer harness over the codec sources and runs the fuzz targets.
#
#   Tests/Fuzz/fuzz.sh [--seconds-per-target N] [--runs N] [--build-only] [--no-build] [--list] [TARGET...]
#
# --runs N stops each target after N executions; with --seconds-per-target as well, whichever
# comes first (a long run: `--runs 10000000 --seconds-per-target 1800`).
#
# Prints one line per target, `TARGET: E execs, F findings`, and exits non-zero if any target
# found something (a crash, a memory error, a broken invariant, a leak, a timeout or an
# out-of-memory). Findings are saved in Tests/Fuzz/work/artifacts/TARGET/; reproduce one with
#   Tests/Fuzz/work/build/wirefuzz --target=TARGET FILE
# and add it as a Swift Testing regression test before fixing it (Spec/fuzzing.md).
#
# Build recipe (no SwiftPM: libFuzzer needs -sanitize=fuzzer on the code it explores):
#   each module (HTTPTypes from the package checkout, WireCore, WireHTTP1, WireWebSocket) is
#   compiled whole-module with `swiftc -O -g -enable-testing -sanitize=fuzzer,address
#   -parse-as-library -wmo -c`, emitting a .swiftmodule and one object; the harness
#   (Tests/Fuzz/Harness/*.swift, `@_cdecl("LLVMFuzzerTestOneInput")`) is linked with them and
#   -lz into one binary, `wirefuzz`, that runs the target named by `--target=`.
#   `-sanitize=fuzzer` gives edge coverage, comparison tracing and libFuzzer's main;
#   `address` adds ASan and LeakSanitizer. Swift has no `-sanitize=undefined` on Linux: its
#   own overflow, bounds and unwrap checks trap instead (and are kept by -O).
#
# Corpora grow in Tests/Fuzz/work/corpus/TARGET (ignored by git); seeds are rebuilt from
# Fixtures/ on every run in Tests/Fuzz/work/seeds.PID/TARGET (removed at exit).
set -euo pipefail
cd "${WIREFUZZ_ROOT:-$(dirname "$0")/../..}"   # WIREFUZZ_ROOT: when run from a copy
ROOT=$(pwd)
WORK="$ROOT/Tests/Fuzz/work"
BUILD="$WORK/build"
SECONDS_PER_TARGET=30
SECONDS_SET=0
RUNS=""
BUILD_ONLY=0
NO_BUILD=0
LIST=0
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds-per-target) SECONDS_PER_TARGET="$2"; SECONDS_SET=1; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --build-only) BUILD_ONLY=1; shift ;;
        --no-build) NO_BUILD=1; shift ;;   # use the last build (e.g. for parallel long runs)
        --list) LIST=1; shift ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done

mkdir -p "$BUILD"

# --- Build -------------------------------------------------------------------------------
HTTPTYPES="$ROOT/.build/checkouts/swift-http-types/Sources/HTTPTypes"
if [ ! -d "$HTTPTYPES" ]; then
    swift package resolve >/dev/null
fi
[ -d "$HTTPTYPES" ] || { echo "fuzz.sh: no swift-http-types checkout in .build/checkouts" >&2; exit 2; }

SAN=(-O -g -enable-testing -sanitize=fuzzer,address -parse-as-library -wmo)
OURS=(-swift-version 6 -package-name WireCodec -enable-upcoming-feature InternalImportsByDefault
      -enable-upcoming-feature MemberImportVisibility -enable-upcoming-feature ExistentialAny)
HTTPTYPES_FLAGS=(-swift-version 6 -enable-upcoming-feature InternalImportsByDefault
                 -enable-upcoming-feature MemberImportVisibility)
for v in 1.0 1.1 1.2 1.3 1.6 1.7; do
    HTTPTYPES_FLAGS+=(-enable-experimental-feature "AvailabilityMacro=HTTPTypes $v: macOS 10.0")
done

# build_module NAME SOURCE_DIR "DEPENDENCIES" FLAGS...: recompiles when a source or a
# dependency's object is newer than the module's object.
build_module() {
    local name="$1" dir="$2" deps="$3"; shift 3
    local obj="$BUILD/$name.o" newest d sources
    # Every source of the module, in its layer folders too.
    mapfile -t sources < <(find "$dir" -name '*.swift' | sort)
    newest=$(ls -t "${sources[@]}" | head -1)
    for d in $deps; do [ "$BUILD/$d.o" -nt "$newest" ] && newest="$BUILD/$d.o"; done
    if [ -f "$obj" ] && [ "$obj" -nt "$newest" ] && [ -f "$BUILD/$name.swiftmodule" ]; then return; fi
    echo "fuzz.sh: compiling $name" >&2
    swiftc "${SAN[@]}" "$@" -module-name "$name" -I "$BUILD" -I "$ROOT/Sources/CZlib" \
        -emit-module -emit-module-path "$BUILD/$name.swiftmodule" -c "${sources[@]}" -o "$obj.tmp"
    mv "$obj.tmp" "$obj"
}

BIN="$BUILD/wirefuzz"
if [ "$NO_BUILD" = 0 ]; then
build_module HTTPTypes "$HTTPTYPES" "" "${HTTPTYPES_FLAGS[@]}"
build_module WireCore "$ROOT/Sources/WireCore" "" "${OURS[@]}"
build_module WireHTTP1 "$ROOT/Sources/WireHTTP1" "HTTPTypes WireCore" "${OURS[@]}"
build_module WireWebSocket "$ROOT/Sources/WireWebSocket" "HTTPTypes WireCore WireHTTP1" "${OURS[@]}"

newest=$(ls -t "$ROOT"/Tests/Fuzz/Harness/*.swift "$BUILD"/*.o | head -1)
if [ ! -x "$BIN" ] || [ "$newest" -nt "$BIN" ]; then
    echo "fuzz.sh: linking wirefuzz" >&2
    # (from the build folder: the driver leaves module files in the current directory)
    cd "$BUILD"
    swiftc "${SAN[@]}" "${OURS[@]}" -module-name WireFuzz -I "$BUILD" -I "$ROOT/Sources/CZlib" \
        "$ROOT"/Tests/Fuzz/Harness/*.swift "$BUILD"/HTTPTypes.o "$BUILD"/WireCore.o \
        "$BUILD"/WireHTTP1.o "$BUILD"/WireWebSocket.o -lz -use-ld=lld -o "$BIN.tmp"
    mv "$BIN.tmp" "$BIN"
    cd "$ROOT"
fi
fi
ALL=$("$BIN" --target=list)
if [ "$LIST" = 1 ]; then echo "$ALL"; exit 0; fi
[ "$BUILD_ONLY" = 1 ] && exit 0
[ ${#TARGETS[@]} -eq 0 ] && mapfile -t TARGETS <<<"$ALL"

# --- Seeds from Fixtures/ ------------------------------------------------------------------
# Each target reads setup bytes first (limits, leniencies, role...), so a seed is a setup
# prefix followed by fixture bytes.
seed() { # TARGET NAME PREFIX_HEX FILE
    local dir="$SEEDS/$1"
    mkdir -p "$dir"
    { printf "$3"; cat "$4"; } >"$dir/$2"
}
seed_text() { # TARGET NAME TEXT (printf format)
    local dir="$SEEDS/$1"
    mkdir -p "$dir"
    printf "$3" >"$dir/$2"
}
SEEDS="$WORK/seeds.$$"
trap 'rm -rf "$SEEDS"' EXIT
make_seeds() {
    local f b
    for f in Fixtures/http/requests/*.bin; do
        b=$(basename "$f" .bin)
        seed http-request "$b" '\x00' "$f"
        seed http-request "$b-lenient" '\x03' "$f"
        seed http-request "$b-small" '\x04\x40' "$f"
        seed http-connection-server "$b" '\x00' "$f"
        seed http-connection-server "$b-upgrade" '\x10' "$f"
    done
    for f in Fixtures/http/responses/*.bin; do
        b=$(basename "$f" .bin)
        seed http-response "$b" '\x00\x00' "$f"
        seed http-response "$b-head" '\x00\x55' "$f"
        seed http-response-head "$b" '\x00\x00' "$f"
        seed http-connection-client "$b" '\x00' "$f"
        seed http-connection-client "$b-head" '\x05' "$f"
    done
    seed_text http-chunked simple '\x00''5\r\nhello\r\n0\r\n\r\n'
    seed_text http-chunked extensions '\x00''5;a=b;c="d e"\r\nhello\r\nA ; x\r\n0123456789\r\n0;last\r\n\r\n'
    seed_text http-chunked trailers '\x00''3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n'
    seed_text http-chunked bare-lf '\x01''3\nabc\n0\n\n'
    seed_text http-chunked small '\x04\x10''ff\r\n'
    seed_text http-chunked pipelined '\x00''1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n'
    for f in Fixtures/websocket/client-*.bin; do
        b=$(basename "$f" .bin)
        seed ws-frame-server "$b" '\x00' "$f"
        seed ws-frame-server "$b-small" '\x02\x00' "$f"
        seed ws-assembler "$b" '\x00' "$f"
        seed ws-assembler "$b-small" '\x04\x10\x10' "$f"
        seed ws-decoder "$b" '\x00' "$f"
    done
    for f in Fixtures/websocket/server-*.bin; do
        b=$(basename "$f" .bin)
        seed ws-frame-client "$b" '\x00' "$f"
        seed ws-frame-client "$b-rsv" '\x70' "$f"
        seed ws-assembler "$b" '\x01' "$f"
        seed ws-decoder "$b" '\x01' "$f"
    done
    for f in Fixtures/websocket/*deflate*.bin; do
        [ -f "$f" ] || continue
        b=$(basename "$f" .bin)
        case "$b" in client-*) r='\x02' ;; *) r='\x03' ;; esac
        seed ws-decoder "$b" "$r" "$f"
    done
    # The opening handshake, then frames (Fixtures/websocket), for the connection targets.
    local upgrade='GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n'
    local deflate='Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n'
    local accepted='HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n'
    seed_text ws-handshake-server plain '\x00'"$upgrade"'\r\n'
    seed_text ws-handshake-server deflate '\x07'"$upgrade$deflate"'Origin: https://example.com\r\n\r\n'
    seed_text ws-handshake-server bad-version '\x00GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 8\r\n\r\n'
    seed_text ws-connection-server handshake-only '\x00'"$upgrade"'\r\n'
    seed_text ws-connection-client handshake-only '\x00'"$accepted"'\r\n'
    seed_text ws-connection-client rejected '\x00HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n'
    for f in Fixtures/websocket/client-*.bin; do
        b=$(basename "$f" .bin)
        { printf '\x00'"$upgrade"'\r\n'; cat "$f"; } >"$SEEDS/ws-connection-server/$b"
        { printf '\x08'"$upgrade"'\r\n'; cat "$f"; } >"$SEEDS/ws-connection-server/$b-streaming"
    done
    for f in Fixtures/websocket/server-*.bin; do
        b=$(basename "$f" .bin)
        { printf '\x00'"$accepted"'\r\n'; cat "$f"; } >"$SEEDS/ws-connection-client/$b"
    done
    # Raw deflate streams (RFC 7692 §7.2.1: the 00 00 ff ff tail removed) of fixture texts.
    mkdir -p "$SEEDS/pmd-inflate"
    python3 - "$SEEDS/pmd-inflate" <<'EOF'
import sys, zlib, glob, os
out = sys.argv[1]
texts = [b"Hello", b"Hello" * 40, bytes(range(256)), b"", open("README.md", "rb").read()[:3000]]
for i, t in enumerate(texts):
    for bits in (9, 15):
        c = zlib.compressobj(6, zlib.DEFLATED, -bits)
        data = c.compress(t) + c.flush(zlib.Z_SYNC_FLUSH)
        if data.endswith(b"\x00\x00\xff\xff"):
            data = data[:-4]
        setup = bytes([((bits - 8) << 1), 0])
        open(os.path.join(out, f"text{i}-{bits}"), "wb").write(setup + data)
# A small bomb: a megabyte of zeros.
c = zlib.compressobj(9, zlib.DEFLATED, -15)
data = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
open(os.path.join(out, "bomb"), "wb").write(bytes([0x0E | 0x20, 4]) + data[:-4])
EOF
    local i=0
    for v in 'permessage-deflate' 'permessage-deflate; client_max_window_bits' \
             'permessage-deflate; server_max_window_bits=10; client_no_context_takeover' \
             'permessage-deflate; client_max_window_bits="12", x-foo; a; b=c' \
             'foo, permessage-deflate; server_no_context_takeover; server_max_window_bits=8' \
             'permessage-deflate;;' 'a; b="c\\"d"' ; do
        seed_text ext-header "h$i" "$v"
        i=$((i + 1))
    done
}
make_seeds

# --- Run -----------------------------------------------------------------------------------
export SWIFT_BACKTRACE=enable=no   # the Swift backtracer and ASan fight over a crash
status=0
for t in "${TARGETS[@]}"; do
    corpus="$WORK/corpus/$t"
    artifacts="$WORK/artifacts/$t"
    log="$WORK/logs/$t.log"
    mkdir -p "$corpus" "$artifacts" "$WORK/logs" "$SEEDS/$t"
    stamp="$WORK/logs/$t.stamp"
    touch "$stamp"
    max_len=4096
    [ "$t" = ext-header ] && max_len=512
    limit=(-max_total_time="$SECONDS_PER_TARGET")
    if [ -n "$RUNS" ]; then
        limit=(-runs="$RUNS")
        [ "$SECONDS_SET" = 1 ] && limit+=(-max_total_time="$SECONDS_PER_TARGET")
    fi
    set +e
    "$BIN" --target="$t" "${limit[@]}" -print_final_stats=1 -max_len="$max_len" -timeout=20 \
        -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "$corpus" "$SEEDS/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    findings=$(find "$artifacts" -maxdepth 1 -type f -newer "$stamp" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then findings=1; fi
    echo "$t: ${execs:-0} execs, $findings findings"
    if [ "$findings" -ne 0 ]; then
        status=1
        grep -E 'INVARIANT FAILED|ERROR: AddressSanitizer|ERROR: LeakSanitizer|Fatal error|SUMMARY' "$log" | head -5 | sed 's/^/    /'
        echo "    log: $log"
    fi
done
exit $status
