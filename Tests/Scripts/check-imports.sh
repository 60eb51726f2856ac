#!/usr/bin/env bash
# Keeps Spec/architecture.md true: each codec module imports only what the table there allows
# (its own lower modules, HTTPTypes, zlib), and no codec module touches I/O or time. Checks:
#   - every `import` in Sources/<codec module>/ (any access level, @_exported included) names a
#     module allowed for that module;
#   - no code line of a codec module (comments excluded) reads a clock or does I/O: Foundation,
#     Dispatch, Glibc/Darwin/Musl, NIO, sockets, files, `ContinuousClock`, `Date()`...;
#   - Package.swift gives the codec targets no other dependency than the allowed ones.
# Exit 0 when all holds, 1 otherwise, one line per problem. Needs only python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 - "$@" <<'PY'
import os, re, sys

# The table of Spec/architecture.md ("what each module may import").
ALLOWED = {
    "WireCore": set(),
    "WireHTTP1": {"WireCore", "HTTPTypes"},
    "WireWebSocket": {"WireCore", "WireHTTP1", "HTTPTypes", "CZlib"},
    "WireSSE": {"WireCore", "WireHTTP1", "HTTPTypes"},
    "WireCodec": {"WireCore", "WireHTTP1", "WireWebSocket", "WireSSE", "HTTPTypes"},
}
# Parts of the standard library any module may import (no I/O, no clock: `Synchronization`'s
# Mutex and atomics guard state shared between connections, such as a prepared broadcast),
# and the compiler's own SIMD intrinsics (`_Builtin_intrinsics.intel`, behind `#if
# arch(x86_64)`: `pmovmskb` for the HTTP/1.1 scanners).
STANDARD_LIBRARY = {"Swift", "Synchronization", "_Builtin_intrinsics"}
# Names a codec module's code never uses: I/O, the clock, threads, the transport.
FORBIDDEN_CODE = [
    r"\bContinuousClock\b", r"\bSuspendingClock\b", r"\bDate\(\)", r"\bDispatchTime\b",
    r"\bclock_gettime\b", r"\bgettimeofday\b", r"\bTask\.sleep\b", r"\bThread\b",
    r"\bsocket\(", r"\bfopen\(", r"\bFileManager\b", r"\bFileHandle\b", r"\bgetenv\(",
    r"\bProcessInfo\b", r"\bNIO[A-Z][A-Za-z]*\b", r"\bEventLoop\b", r"\bChannel(Handler|Pipeline)\b",
]
IMPORT = re.compile(r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")

problems = []

def code_lines(text):
    """The lines of `text` with comments and string literals' contents removed."""
    out = []
    in_block = 0
    for number, line in enumerate(text.split("\n"), 1):
        result = ""
        i = 0
        while i < len(line):
            if in_block:
                end = line.find("*/", i)
                if end < 0:
                    i = len(line)
                else:
                    in_block -= 1
                    i = end + 2
                continue
            if line.startswith("/*", i):
                in_block += 1
                i += 2
                continue
            if line.startswith("//", i):
                break
            if line[i] == '"':
                end = i + 1
                while end < len(line) and line[end] != '"':
                    end += 2 if line[end] == "\\" else 1
                result += '""'
                i = end + 1
                continue
            result += line[i]
            i += 1
        out.append((number, result))
    return out

for module, allowed in ALLOWED.items():
    root = os.path.join("Sources", module)
    if not os.path.isdir(root):
        problems.append(f"{root}: missing (Spec/architecture.md names it)")
        continue
    for dirpath, _, filenames in os.walk(root):
        for name in sorted(filenames):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(dirpath, name)
            text = open(path, encoding="utf-8").read()
            for number, line in code_lines(text):
                m = IMPORT.match(line)
                if m:
                    imported = m.group(1)
                    if imported not in allowed and imported not in STANDARD_LIBRARY:
                        problems.append(f"{path}:{number}: {module} imports {imported} (allowed: {', '.join(sorted(allowed)) or 'nothing'})")
                    continue
                for pattern in FORBIDDEN_CODE:
                    if re.search(pattern, line):
                        problems.append(f"{path}:{number}: {module} uses {re.search(pattern, line).group(0)} (no I/O, no clock in a codec module)")

# Package.swift: the codec targets' dependencies.
manifest = open("Package.swift", encoding="utf-8").read()
for module, allowed in ALLOWED.items():
    m = re.search(r'\.target\(\s*name:\s*"' + module + r'"(.*?)\n        \)', manifest, re.S)
    if not m:
        if not re.search(r'\.target\(name:\s*"' + module + r'"', manifest):
            problems.append(f"Package.swift: no target {module}")
        continue
    body = m.group(1)
    deps = set(re.findall(r'"([A-Za-z0-9_]+)"', body.split("swiftSettings")[0]))
    deps -= {"swift-http-types"}
    for dep in sorted(deps - allowed):
        problems.append(f"Package.swift: {module} depends on {dep} (allowed: {', '.join(sorted(allowed)) or 'nothing'})")

for problem in problems:
    print(problem)
if problems:
    print(f"check-imports: {len(problems)} problem(s); see Spec/architecture.md", file=sys.stderr)
    sys.exit(1)
print(f"check-imports: {len(ALLOWED)} codec modules import only what Spec/architecture.md allows; no I/O, no clock")
PY
