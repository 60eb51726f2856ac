#!/usr/bin/env bash
# Checks the requirement rows of Spec/*.md (the format is described in Spec/coverage.md):
#   - every row of a requirement table (a table whose header has a `tests` column) names at
#     least one test, or says "not applicable: <why>";
#   - every test it names exists in Tests/: `Suite/test()` needs a `struct`/`extension Suite`
#     and a `func test` in the same file (a later bare `test()` in the same cell belongs to the
#     last suite named); any other back-quoted name in the tests cell (a fixture, a peer's
#     check) must occur in Tests/ or Fixtures/;
#   - ids are unique across Spec/;
#   - the counts of Spec/coverage.md's tables match the rows (`--write` rewrites them).
# Exit 0 when all holds, 1 otherwise, with one line per problem. Needs only python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 - "$@" <<'PY'
import os, re, sys

write = "--write" in sys.argv[1:]
problems = []

# ---- what exists in Tests/ -----------------------------------------------------------
names = set()         # file names and their stems (fixtures named without extension)
suite_files = {}      # suite name -> set of files declaring it (struct or extension)
funcs_in_file = {}    # file -> set of func names
all_text = []
for root in ("Tests", "Fixtures", "Sources"):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("work", ".build", "__pycache__")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            names.add(name)
            names.add(name.split(".")[0])
            if os.path.getsize(path) > 4_000_000:
                continue
            try:
                text = open(path, encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            all_text.append(text)
            if root == "Tests" and name.endswith(".swift"):
                for m in re.finditer(r"\b(?:struct|extension|final class|class|enum)\s+([A-Za-z_][A-Za-z0-9_]*)", text):
                    suite_files.setdefault(m.group(1), set()).add(path)
                funcs_in_file[path] = set(re.findall(r"\bfunc\s+([A-Za-z_][A-Za-z0-9_]*)", text))
corpus = "\n".join(all_text)

def test_exists(suite, func):
    files = suite_files.get(suite)
    if not files:
        return f"no suite `{suite}` in Tests/"
    if func == "*":
        return None
    if any(func in funcs_in_file.get(f, ()) for f in files):
        return None
    return f"no test `{func}` in suite `{suite}`"

# ---- rows -------------------------------------------------------------------------------
ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Za-z0-9.]+)+$")
TEST_REF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|…)/([A-Za-z_][A-Za-z0-9_]*|\*)(?:\(.*\))?$")
BARE_FUNC = re.compile(r"^([a-z_][A-Za-z0-9_]*)\(.*\)$")

def cells(line):
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip() for c in parts[1:-1]]

rows_by_file = {}
seen_ids = {}
for name in sorted(os.listdir("Spec")):
    if not name.endswith(".md"):
        continue
    path = os.path.join("Spec", name)
    lines = open(path, encoding="utf-8").read().split("\n")
    header = None
    section_heading = ""
    fenced = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith("#"):
            section_heading = line.lstrip("#").strip()
        if not line.startswith("|"):
            header = None
            continue
        c = cells(line)
        if header is None:
            header = [h.lower() for h in c]
            continue
        if all(re.fullmatch(r":?-+:?", x) for x in c if x):
            continue
        if "tests" not in header or not c or not ID.match(c[0].strip("`")):
            continue
        rid = c[0].strip("`")
        where = f"{path}:{number}"
        if rid in seen_ids:
            problems.append(f"{where}: id {rid} already used at {seen_ids[rid]}")
        seen_ids[rid] = where
        row = dict(zip(header, c))
        tests = row.get("tests", "")
        na = tests.lower().startswith("not applicable:") and len(tests) > len("not applicable:") + 3
        refs = 0
        suite = None
        previous_suite = last_suite if "last_suite" in dir() else None
        # A reason names APIs in back-quotes, not tests: only a tests cell is checked.
        for token in ([] if na else re.findall(r"`([^`]+)`", tests)):
            m = TEST_REF.match(token)
            if m:
                suite = (suite or previous_suite) if m.group(1) == "…" else m.group(1)
                if suite is None:
                    problems.append(f"{where}: {rid}: `{token}` follows no row naming a suite")
                    continue
                err = test_exists(suite, m.group(2))
                refs += 1
            elif BARE_FUNC.match(token) and suite is not None:
                err = test_exists(suite, BARE_FUNC.match(token).group(1))
                refs += 1
            else:
                known = token in names or os.path.exists(token) or token in corpus
                err = None if known else f"`{token}` occurs nowhere in Tests/, Fixtures/ or Sources/"
                refs += 1
            if err:
                problems.append(f"{where}: {rid}: {err}")
        last_suite = suite or previous_suite
        if not na and refs == 0:
            problems.append(f"{where}: {rid}: names no test and gives no 'not applicable:' reason")
        rows_by_file.setdefault(path, []).append(
            dict(id=rid, section=row.get("section", ""), na=na, heading=section_heading))

# ---- Spec/coverage.md --------------------------------------------------------------------
# Its count tables have the columns: document | section | normative | rows | tested | n/a.
# `document` names a Spec file; `section` is matched against the rows' `section` cells
# (exact, or the row's section starts with it followed by "."); rows, tested, n/a are ours.
cov_path = "Spec/coverage.md"
if os.path.exists(cov_path):
    lines = open(cov_path, encoding="utf-8").read().split("\n")
    out = []
    header = None
    changed = False
    for number, line in enumerate(lines, 1):
        if not line.startswith("|"):
            header = None
            out.append(line)
            continue
        c = cells(line)
        if header is None:
            header = [h.lower() for h in c]
            out.append(line)
            continue
        if all(re.fullmatch(r":?-+:?", x) for x in c if x) or header[:2] != ["document", "section"]:
            out.append(line)
            continue
        doc = re.sub(r"[`\[\]]|\(.*\)", "", c[0]).strip()
        sec = c[1].strip()
        rows = rows_by_file.get(doc)
        if rows is None:
            problems.append(f"{cov_path}:{number}: no requirement rows in {doc}")
            out.append(line)
            continue
        def matches(r):
            # A row's section cell may name several sections ("WHATWG HTML §9.2.3, §9.2.4");
            # `all` counts the rows that name a section of the document (not our own rules).
            cell = r["section"]
            numbers = [part.split(",")[0].strip().split(" ")[0] for part in cell.split("§")[1:]]
            want = sec.lstrip("§")
            if want == "all":
                return bool(numbers)
            return any(n == want or n.startswith(want + ".") for n in numbers)
        sel = [r for r in rows if matches(r)]
        counts = [str(len(sel)), str(sum(1 for r in sel if not r["na"])), str(sum(1 for r in sel if r["na"]))]
        idx = [header.index(k) for k in ("rows", "tested", "n/a")]
        actual = [c[i] for i in idx]
        if actual != counts:
            if write:
                for i, v in zip(idx, counts):
                    c[i] = v
                line = "| " + " | ".join(c) + " |"
                changed = True
            else:
                problems.append(f"{cov_path}:{number}: {doc} §{sec}: rows/tested/n/a say {'/'.join(actual)}, the rows give {'/'.join(counts)} (run with --write)")
        out.append(line)
    if write and changed:
        open(cov_path, "w", encoding="utf-8").write("\n".join(out))

total = sum(len(v) for v in rows_by_file.values())
tested = sum(1 for v in rows_by_file.values() for r in v if not r["na"])
for p in problems:
    print(p)
print(f"spec-coverage: {total} requirement rows in {len(rows_by_file)} files, {tested} with tests, "
      f"{total - tested} not applicable; {len(problems)} problems")
sys.exit(1 if problems else 0)
PY
