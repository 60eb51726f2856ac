#!/usr/bin/env python3
"""Turns an Autobahn|Testsuite report directory into our verdict and a Markdown summary.

    summarize.py REPORT_DIR --agent NAME --role server|client [--expect N]
                 [--markdown OUT.md] [--title TEXT] [--note TEXT ...]

Reads REPORT_DIR/index.json and each case's own JSON (for the reasons and the 9.* traffic).

Verdict (exit status 0 only if all hold):
  * every expected case ran (--expect), and each has a known behavior;
  * no case is FAILED or UNIMPLEMENTED;
  * no closing behavior is FAILED, WRONG CODE or UNCLEAN.
NON-STRICT and INFORMATIONAL cases pass; they are listed with Autobahn's own reason.

Prints the counts, the per-section table, the cases that need a look, and a last line
"autobahn-ROLE: N passed, M failed". With --markdown, writes the same as Markdown, plus the
throughput of each 9.* case: bytes on the wire both ways (Autobahn's octet statistics,
handshake included) over the case's duration.
"""
import argparse
import json
import os
import sys
from collections import Counter, OrderedDict

BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
CLOSE_BEHAVIORS = ["OK", "INFORMATIONAL", "NON-STRICT", "FAILED BY CLIENT", "WRONG CODE", "UNCLEAN", "FAILED"]
BAD = {"FAILED", "UNIMPLEMENTED"}
BAD_CLOSE = {"FAILED", "WRONG CODE", "UNCLEAN"}
PASSING_NOTES = {"NON-STRICT", "INFORMATIONAL"}

SECTIONS = OrderedDict([
    ("1", "Framing"),
    ("2", "Pings/Pongs"),
    ("3", "Reserved bits"),
    ("4", "Opcodes"),
    ("5", "Fragmentation"),
    ("6", "UTF-8 handling"),
    ("7", "Close handling"),
    ("9", "Limits/performance"),
    ("10", "Miscellaneous"),
    ("12", "permessage-deflate: payloads"),
    ("13", "permessage-deflate: parameters"),
])


def case_key(case_id):
    return tuple(int(p) if p.isdigit() else 0 for p in case_id.split("."))


def counts(counter, order):
    keys = [k for k in order if counter.get(k)] + sorted(k for k in counter if k not in order)
    return ", ".join("%s %d" % (k, counter[k]) for k in keys) or "none"


def octets(stats):
    return sum(int(size) * int(n) for size, n in (stats or {}).items())


def load(report_dir, agent):
    with open(os.path.join(report_dir, "index.json")) as f:
        index = json.load(f)
    if agent not in index:
        return None
    cases = OrderedDict()
    for case_id in sorted(index[agent], key=case_key):
        entry = dict(index[agent][case_id])
        detail = {}
        report = entry.get("reportfile")
        if report:
            try:
                with open(os.path.join(report_dir, report)) as f:
                    detail = json.load(f)
            except (OSError, ValueError):
                detail = {}
        entry["result"] = detail.get("result")
        entry["resultClose"] = detail.get("resultClose")
        entry["description"] = detail.get("description")
        entry["wire"] = octets(detail.get("rxOctetStats")) + octets(detail.get("txOctetStats"))
        cases[case_id] = entry
    return cases


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report")
    ap.add_argument("--agent", required=True)
    ap.add_argument("--role", choices=["server", "client"], required=True,
                    help="what was tested: our server (fuzzingclient) or our client (fuzzingserver)")
    ap.add_argument("--expect", type=int, help="number of cases that should have run")
    ap.add_argument("--markdown", help="write the summary here")
    ap.add_argument("--title", default=None)
    ap.add_argument("--note", action="append", default=[], help="a line for the Markdown header")
    args = ap.parse_args(argv)

    label = "autobahn-%s" % args.role
    try:
        cases = load(args.report, args.agent)
    except (OSError, ValueError) as e:
        print("summarize: no readable report in %s: %s" % (args.report, e), file=sys.stderr)
        print("%s: 0 passed, %d failed" % (label, args.expect or 1))
        return 1
    if cases is None:
        print("summarize: agent %r is not in the report" % args.agent, file=sys.stderr)
        print("%s: 0 passed, %d failed" % (label, args.expect or 1))
        return 1

    behavior = Counter(c.get("behavior", "?") for c in cases.values())
    closing = Counter(c.get("behaviorClose", "?") for c in cases.values())
    problems = []
    for case_id, c in cases.items():
        b, bc = c.get("behavior"), c.get("behaviorClose")
        if b in BAD or b not in BEHAVIORS:
            problems.append((case_id, "behavior %s" % b, c))
        elif bc in BAD_CLOSE or bc not in CLOSE_BEHAVIORS:
            problems.append((case_id, "close %s" % bc, c))
    missing = max(0, (args.expect or 0) - len(cases))
    failed = len(problems) + missing
    passed = len(cases) - len(problems)

    sections = OrderedDict()
    for case_id, c in cases.items():
        sections.setdefault(case_id.split(".")[0], []).append(c)
    notes = [(cid, c) for cid, c in cases.items()
             if c.get("behavior") in PASSING_NOTES or c.get("behaviorClose") in PASSING_NOTES]
    nine = [(cid, c) for cid, c in cases.items() if cid.startswith("9.")]

    # Plain text for the log.
    role_text = "our server (wstest fuzzingclient)" if args.role == "server" else "our client (wstest fuzzingserver)"
    print("== Autobahn|Testsuite against %s, agent %s: %d cases" % (role_text, args.agent, len(cases)))
    print("behavior:      " + counts(behavior, BEHAVIORS))
    print("behaviorClose: " + counts(closing, CLOSE_BEHAVIORS))
    for section, items in sections.items():
        print("  %-3s %-32s %4d  %s" % (section, SECTIONS.get(section, "?"), len(items),
                                       counts(Counter(c.get("behavior") for c in items), BEHAVIORS)))
    for case_id, c in notes:
        print("  note %s %s/%s: %s" % (case_id, c.get("behavior"), c.get("behaviorClose"), c.get("result")))
    for case_id, what, c in problems:
        print("  PROBLEM %s %s: %s | %s" % (case_id, what, c.get("result"), c.get("resultClose")))
    if missing:
        print("  MISSING %d of %d expected cases" % (missing, args.expect))
    print("RESULT: %s" % ("FAIL" if failed else "PASS"))
    strict = strict_problems(behavior, closing)
    print("STRICT: %s" % ("yes" if not strict and not failed else "no (%s)" % (strict or "failed")))

    if args.markdown:
        write_markdown(args, cases, behavior, closing, sections, notes, nine, problems, missing, passed, failed)
    print("%s: %d passed, %d failed" % (label, passed, failed))
    return 1 if failed else 0


def write_markdown(args, cases, behavior, closing, sections, notes, nine, problems, missing, passed, failed):
    out = []
    title = args.title or "Autobahn|Testsuite: %s role" % args.role
    out.append("# %s" % title)
    out.append("")
    out.extend(args.note)
    if args.note:
        out.append("")
    out.append("**Verdict: %s** — %d cases ran%s; %d pass, %d fail "
               "(FAILED, UNIMPLEMENTED, or a FAILED/WRONG CODE/UNCLEAN close)."
               % ("PASS" if not failed else "FAIL", len(cases),
                  "" if not args.expect else " of %d expected" % args.expect, passed, failed))
    strict = strict_problems(behavior, closing)
    out.append("")
    out.append("**Strict (no FAILED, NON-STRICT or UNIMPLEMENTED case, no NON-STRICT or failing close): %s**"
               % ("yes" if not strict and not failed else "no — " + (strict or "see the verdict")))
    out.append("")
    out.append("| | " + " | ".join(BEHAVIORS) + " |")
    out.append("|---|" + "---:|" * len(BEHAVIORS))
    out.append("| behavior | " + " | ".join(str(behavior.get(k, 0)) for k in BEHAVIORS) + " |")
    close_cols = [k for k in CLOSE_BEHAVIORS]
    out.append("")
    out.append("| | " + " | ".join(close_cols) + " |")
    out.append("|---|" + "---:|" * len(close_cols))
    out.append("| behaviorClose | " + " | ".join(str(closing.get(k, 0)) for k in close_cols) + " |")
    out.append("")
    out.append("## Per section")
    out.append("")
    out.append("| section | what | cases | " + " | ".join(BEHAVIORS) + " | close not OK | case time (s) |")
    out.append("|---|---|---:|" + "---:|" * len(BEHAVIORS) + "---:|---:|")
    for section, items in sections.items():
        b = Counter(c.get("behavior") for c in items)
        bad_close = sum(1 for c in items if c.get("behaviorClose") != "OK")
        seconds = sum(c.get("duration") or 0 for c in items) / 1000.0
        out.append("| %s | %s | %d | %s | %d | %.1f |" % (
            section, SECTIONS.get(section, "?"), len(items), " | ".join(str(b.get(k, 0)) for k in BEHAVIORS),
            bad_close, seconds))
    out.append("")
    out.append("## NON-STRICT and INFORMATIONAL cases, with Autobahn's reason")
    out.append("")
    if notes:
        out.append("| case | behavior | close | Autobahn's result | close result |")
        out.append("|---|---|---|---|---|")
        for case_id, c in notes:
            out.append("| %s | %s | %s | %s | %s |" % (case_id, c.get("behavior"), c.get("behaviorClose"),
                                                   cell(c.get("result")), cell(c.get("resultClose"))))
    else:
        out.append("None.")
    out.append("")
    if problems or missing:
        out.append("## Problems")
        out.append("")
        for case_id, what, c in problems:
            out.append("- %s: %s — %s / %s" % (case_id, what, cell(c.get("result")), cell(c.get("resultClose"))))
        if missing:
            out.append("- %d expected cases did not run" % missing)
        out.append("")
    if nine:
        out.append("## 9.* throughput")
        out.append("")
        out.append("Bytes on the wire in both directions (Autobahn's octet statistics, opening handshake "
                   "included) over the case's duration as Autobahn measured it (ms resolution).")
        out.append("")
        out.append("| case | what | duration (ms) | wire bytes | MiB/s |")
        out.append("|---|---|---:|---:|---:|")
        for case_id, c in nine:
            ms = c.get("duration") or 0
            rate = (c["wire"] / (1 << 20)) / (ms / 1000.0) if ms else 0.0
            out.append("| %s | %s | %d | %d | %s |" % (case_id, cell(c.get("description")), ms, c["wire"],
                                                     ("%.1f" % rate) if ms else "n/a"))
        out.append("")
    with open(args.markdown, "w") as f:
        f.write("\n".join(out))


def strict_problems(behavior, closing):
    """What stands between a passing run and a strict one (issues 15-17 ask for no NON-STRICT)."""
    parts = ["%d %s" % (behavior[k], k) for k in ["NON-STRICT", "UNIMPLEMENTED", "FAILED"] if behavior.get(k)]
    parts += ["%d close %s" % (closing[k], k) for k in ["NON-STRICT"] + sorted(BAD_CLOSE) if closing.get(k)]
    return ", ".join(parts)


def cell(text):
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


if __name__ == "__main__":
    sys.exit(main())
