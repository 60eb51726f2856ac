#!/usr/bin/env bash
# Instructions per operation for each wirecodec-bench case, counted by callgrind: stable on
# these shared, noisy machines where timings are not. Each case runs twice under callgrind,
# with LOW and HIGH calls per round; the difference divided by the extra operations is the
# cost of one operation, free of process start-up and input generation.
#
#   bash Tests/Scripts/callgrind-bench.sh [FILTER]        # e.g. browser-get, ws.decode
#   ANNOTATE=1 bash Tests/Scripts/callgrind-bench.sh http.request.browser-get/wirecodec
#   ANNOTATE=1 INCLUSIVE=1 LOW=10 HIGH=510 bash Tests/Scripts/callgrind-bench.sh minimal-get/wirecodec
#
# Environment: SKIP_BUILD=1 (use the existing release build), ANNOTATE=1 (print the hottest
# functions of each case, demangled; INCLUSIVE=1 adds each function's inclusive cost, as in
# Spec/performance/unmet-targets.md), TOP=N (how many, default 25), KEEP=DIR (keep the
# callgrind output files there), LOW/HIGH (calls per round, default 4/12, or 1/2 for cases
# whose call already holds many operations).
#
# Known limits of valgrind 3.19 here: it cannot read Swift 6.3's DWARF (so a copy without
# debug info is counted; the symbol table stays, so functions keep their names), it cannot
# run AVX-512 code (the script refuses a build that contains any), and it crashes once Swift
# concurrency threads start (the bench starts none).
set -euo pipefail
cd "$(dirname "$0")/../.."

filter="${1:-}"
command -v valgrind >/dev/null || { echo "callgrind-bench: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release --product wirecodec-bench >&2
fi
bin=$(swift build -c release --show-bin-path)/wirecodec-bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if objdump -d --no-show-raw-insn "$bin" | grep -q '%zmm'; then
    echo "callgrind-bench: the release build contains AVX-512 instructions, which valgrind cannot run" >&2
    exit 1
fi
strip --strip-debug -o "$work/bench" "$bin"

if [ -n "$filter" ]; then
    "$bin" --list-cases --filter "$filter" > "$work/cases"
else
    "$bin" --list-cases > "$work/cases"
fi
[ -s "$work/cases" ] || { echo "callgrind-bench: no case matches '$filter'" >&2; exit 1; }

# count CASE CALLS TAG: prints the instructions of one run.
count() {
    valgrind --tool=callgrind --callgrind-out-file="$work/$3.out" \
        "$work/bench" --case "$1" --iterations "$2" --rounds 1 --no-memory >/dev/null 2>"$work/$3.log" || {
        echo "callgrind-bench: $1 failed under valgrind:" >&2
        tail -20 "$work/$3.log" >&2
        exit 1
    }
    awk '/^summary:/ { print $2 }' "$work/$3.out"
}

printf '%-34s %-16s %16s\n' workload subject "instructions/op" | tee "$work/table"
while read -r name ops; do
    if [ "$ops" -gt 1 ]; then low=${LOW:-1}; high=${HIGH:-2}; else low=${LOW:-4}; high=${HIGH:-12}; fi
    tag=$(echo "$name" | tr '/' '_')
    first=$(count "$name" "$low" "$tag.low")
    second=$(count "$name" "$high" "$tag.high")
    per_op=$(awk -v a="$first" -v b="$second" -v n="$((high - low))" -v ops="$ops" \
        'BEGIN { v = (b - a) / (n * ops); printf (v < 100 ? "%.2f" : "%.0f"), v }')
    printf '%-34s %-16s %16s\n' "${name%%/*}" "${name#*/}" "$per_op" | tee -a "$work/table"
    if [ "${ANNOTATE:-0}" = 1 ]; then
        # Per-function cost of one operation, self and inclusive: the difference between the
        # two runs. INCLUSIVE=1 prints both columns, sorted by inclusive cost (the benchmark's
        # loop first, then what it calls); the default prints the self cost, sorted by it.
        for run in low high; do
            callgrind_annotate --inclusive=no --threshold=100 "$work/$tag.$run.out" > "$work/$tag.$run.txt" 2>/dev/null || true
            if [ "${INCLUSIVE:-0}" = 1 ]; then
                callgrind_annotate --inclusive=yes --threshold=100 "$work/$tag.$run.out" > "$work/$tag.$run.incl.txt" 2>/dev/null || true
            else
                : > "$work/$tag.$run.incl.txt"
            fi
        done
        if [ "${INCLUSIVE:-0}" = 1 ]; then
            echo "  instructions per op by function (inclusive and self, high run minus low run):"
        else
            echo "  instructions per op by function (self cost, high run minus low run):"
        fi
        python3 - "$work/$tag.low.txt" "$work/$tag.high.txt" "$((( high - low ) * ops))" "${TOP:-25}" \
            "$work/$tag.low.incl.txt" "$work/$tag.high.incl.txt" "${INCLUSIVE:-0}" <<'PY' \
            | swift demangle --simplified | sed 's/^/    /'
import re, sys
def costs(path):
    table = {}
    for line in open(path, errors="replace"):
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*\S)\s*$", line)
        if m and "PROGRAM TOTALS" not in m.group(2):
            name = re.sub(r"\s+\[[^\]]*\]$", "", m.group(2))   # drop the object file
            name = re.sub(r"^(\?\?\?|[^:]*):", "", name, count=1) if not name.startswith("0x") else name
            table[name] = table.get(name, 0) + int(m.group(1).replace(",", ""))
    return table
low, high = costs(sys.argv[1]), costs(sys.argv[2])
ops, top = int(sys.argv[3]), int(sys.argv[4])
if sys.argv[7] == "1":
    # Drop the process's own frames above the benchmark (main, the harness's loop, partial
    # application thunks), matched on the mangled names (demangled after this script).
    outer = re.compile(r"^(\(below main\)|0x[0-9a-f]+|__libc_start_main.*|.*_main|.*7HarnessO3run.*|.*TA)$")
    low_incl, high_incl = costs(sys.argv[5]), costs(sys.argv[6])
    rows = []
    for k in set(high_incl) | set(high):
        incl = (high_incl.get(k, 0) - low_incl.get(k, 0)) / ops
        own = (high.get(k, 0) - low.get(k, 0)) / ops
        if (incl > 0.005 or own > 0.005) and not outer.match(k):
            rows.append((incl, own, k))
    rows.sort(key=lambda r: (-r[0], -r[1]))
    print(f"{'inclusive':>12}  {'self':>12}  function")
    for incl, own, name in rows[:top]:
        print(f"{incl:12.2f}  {own:12.2f}  {name}")
else:
    rows = sorted(((high.get(k, 0) - low.get(k, 0)) / ops, k) for k in set(low) | set(high))
    rows = [r for r in reversed(rows) if r[0] > 0.005][:top]
    for per_op, name in rows:
        print(f"{per_op:12.2f}  {name}")
PY
    fi
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work/$tag".*.out "$KEEP/"; fi
done < "$work/cases"

# The codec's instructions as a fraction of each peer's, per workload.
echo
awk 'NR > 1 { ir[$1 "/" $2] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } subjects[$1] = subjects[$1] " " $2 }
     END {
        printf "%-34s %-16s %s\n", "workload", "peer", "wirecodec instructions ÷ peer instructions"
        for (i = 1; i <= n; i++) {
            w = order[i]; ours = ir[w "/wirecodec"]
            if (ours == "") continue
            split(subjects[w], list, " ")
            for (j in list) if (list[j] != "wirecodec") printf "%-34s %-16s %.2f\n", w, list[j], ours / ir[w "/" list[j]]
        }
     }' "$work/table"
