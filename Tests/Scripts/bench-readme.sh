#!/usr/bin/env bash
# Runs the benchmark (release build) and rewrites the README's performance section with the
# table it prints: `bash Tests/Scripts/bench-readme.sh`. Takes about a minute after the build.
# With CALLGRIND=FILE (the output of callgrind-bench.sh), its instruction counts are added.
set -euo pipefail
cd "$(dirname "$0")/../.."

swift build -c release --product wirecodec-bench >&2
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$(swift build -c release --show-bin-path)/wirecodec-bench" --markdown > "$table"

python3 - "$table" "${CALLGRIND:-}" <<'PY'
import re, sys
table = open(sys.argv[1]).read().rstrip() + "\n"
if len(sys.argv) > 2 and sys.argv[2]:
    counts = open(sys.argv[2]).read().strip()
    table += ("\nInstructions per operation counted by callgrind on the same build "
              "(`bash Tests/Scripts/callgrind-bench.sh`; memcpy's `rep movsb` counts one per byte, "
              "so compare memcpy by time):\n\n```\n" + counts + "\n```\n")
intro = """## Performance

`wirecodec-bench` runs each workload of issue 7 for the codec and for its peers on the same
input bytes in one process: a warm-up, calls per round calibrated to 20 ms, fifteen rounds
interleaved across the subjects (so a change in the machine's load falls on all of them), the
median ns per operation, heap allocations per operation (an interposed `malloc` counts every
call), and the codec's time divided by each peer's. Before timing, every subject's output is
compared (fields, bodies, payload hashes, compressed bytes); a subject that disagrees stops
the run. The peers: llhttp called directly through the `CNIOLLHTTP` module that SwiftNIO
vendors, with minimal callbacks recording offsets; NIOHTTP1 and NIOWebSocket handlers on an
`EmbeddedChannel` followed by a handler that reads each part; `String(validating:as:)` and
`UTF8Span(validating:)`; `memcpy` of the same bytes; raw zlib called from C (window 15,
`Z_SYNC_FLUSH`, the same level and memLevel as the codec). The browser GET is a request of
Chromium 156 captured on loopback (`Tests/Scripts/capture-browser-get.py`).

Reproduce (a release build, then about a minute):

```sh
bash Tests/Scripts/setup-build.sh && swift run -c release wirecodec-bench
```

`--markdown` prints this table, `--json` the machine-readable results, `--filter PATTERN`
selects `workload/subject` cases; `bash Tests/Scripts/bench-readme.sh` rewrites this section.
Timings on a shared 2-core machine move by ±20% from run to run, so designs are compared by
instruction counts: `bash Tests/Scripts/callgrind-bench.sh [FILTER]` prints instructions per
operation for each case (`ANNOTATE=1` adds the cost per function).

"""
readme = open("README.md").read()
marker = "<!-- section: performance -->\n"
start = readme.index(marker) + len(marker)
end = readme.index("<!-- section:", start)
readme = readme[:start] + intro + table + "\n" + readme[end:]
open("README.md", "w").write(readme)
PY
echo "README.md: performance section rewritten" >&2
