#!/usr/bin/env python3
"""Draws Spec/realtime/load-scale.svg from wirecodec-feed-load's JSON lines of the
many-connections runs (feed-load-report.sh with SCALE="1000 8000 19000").

    feed-scale-chart.py load-scale.jsonl load-scale.svg

Three panels with the clients per technique on a log axis: server CPU per delivery (µs),
broadcast latency p99 (ms), server memory per client (KB); one line per technique, the
targets of issue 19 dashed. Rows whose label has a variant in parentheses ("19000 clients
(no deflate)", "100000 clients (6 processes)") are drawn as separate points of their
technique's colour, one marker shape per variant (named in the legend); a mixed run's
points ("mixed" in the variant: every technique against the same servers) stand at the run's
total clients, since its server CPU and memory are shared by all of them. Plain SVG, no
plotting library.
"""
import json
import math
import re
import sys

TECHNIQUES = ["long-polling", "sse", "websocket", "short-polling"]
NAMES = {"short-polling": "short polling", "long-polling": "long polling", "sse": "SSE", "websocket": "WebSocket"}
COLORS = {"long-polling": "#e39b3a", "sse": "#5a9e5a", "websocket": "#b04a6a", "short-polling": "#3b6ea8"}
PANELS = [
    ("serverCPUUsPerDelivery", "server CPU per delivery, µs", 1, [("WebSocket/SSE target", 3), ("long polling target", 15)]),
    ("latencyP99Ms", "broadcast latency p99, ms", 1, [("target", 100)]),
    ("memoryPerClientBytes", "server memory per client, KB", 1 / 1000, [("target (WebSocket, no deflate)", 4)]),
]


SHAPES = ["square", "diamond", "triangle", "cross", "plus", "circle"]


def variant(row):
    """The variant of a row: the text in parentheses of its label ("" for the plain runs)."""
    m = re.search(r"\(([^)]*)\)", row.get("label", ""))
    return m.group(1) if m else ""


def marker(shape, cx, cy, color, title):
    t = "<title>%s</title>" % esc(title)
    if shape == "square":
        return '<rect x="%.1f" y="%.1f" width="8" height="8" fill="none" stroke="%s" stroke-width="2">%s</rect>' % (cx - 4, cy - 4, color, t)
    if shape == "diamond":
        return '<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="%s" stroke-width="2">%s</polygon>' % (
            cx, cy - 5, cx + 5, cy, cx, cy + 5, cx - 5, cy, color, t)
    if shape == "triangle":
        return '<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="%s" stroke-width="2">%s</polygon>' % (
            cx, cy - 5, cx + 5, cy + 4, cx - 5, cy + 4, color, t)
    if shape == "plus":
        return '<path d="M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f" stroke="%s" stroke-width="2">%s</path>' % (
            cx - 5, cy, cx + 5, cy, cx, cy - 5, cx, cy + 5, color, t)
    if shape == "circle":
        return '<circle cx="%.1f" cy="%.1f" r="5" fill="none" stroke="%s" stroke-width="2">%s</circle>' % (cx, cy, color, t)
    return '<path d="M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f" stroke="%s" stroke-width="2">%s</path>' % (
        cx - 4, cy - 4, cx + 4, cy + 4, cx - 4, cy + 4, cx + 4, cy - 4, color, t)


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    variants = []
    for r in rows:
        v = variant(r)
        if v and v not in variants:
            variants.append(v)
    shape_of = {v: SHAPES[i % len(SHAPES)] for i, v in enumerate(variants)}
    # A mixed run's rows (one per technique, one label) stand at the run's total clients.
    totals = {}
    for r in rows:
        if "mixed" in variant(r):
            totals[r["label"]] = totals.get(r["label"], 0) + r["clients"]
    for r in rows:
        if r.get("label") in totals:
            r["clients"] = totals[r["label"]]
    W, H = 1040, 360 + 18 * len(variants)
    pw, ph = 280, 220
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="20" y="24" font-size="16" font-weight="bold">Many clients per technique (log axes), over loopback: one feed server process unless marked</text>']
    techniques = [t for t in TECHNIQUES if any(r["technique"] == t for r in rows)]
    for i, t in enumerate(techniques):
        x = 60 + i * 120
        out.append('<rect x="%d" y="324" width="12" height="12" fill="%s"/>' % (x, COLORS[t]))
        out.append('<text x="%d" y="335">%s</text>' % (x + 16, NAMES[t]))
    for i, v in enumerate(variants):
        out.append(marker(shape_of[v], 66, 352 + 18 * i, "#333", v))
        out.append('<text x="%d" y="%d">%s</text>' % (78, 356 + 18 * i, esc(v)))
    clients = sorted({r["clients"] for r in rows}) or [1000]
    cx_lo = 10 ** math.floor(math.log10(min(clients)))
    cx_hi = 10 ** math.ceil(math.log10(max(clients) * 1.01))
    for p, (key, title, scale, targets) in enumerate(PANELS):
        ox = 60 + p * (pw + 70)
        oy = 60
        values = [r[key] * scale for r in rows if isinstance(r.get(key), (int, float)) and r[key] > 0]
        values += [v for _, v in targets]
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        if hi <= lo:
            hi = lo * 10

        def x(n):
            return ox + pw * (math.log10(n) - math.log10(cx_lo)) / (math.log10(cx_hi) - math.log10(cx_lo))

        def y(v):
            return oy + ph - ph * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (ox, oy - 10, esc(title)))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (ox, oy + ph, ox + pw, oy + ph))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (ox, oy, ox, oy + ph))
        e = math.log10(lo)
        while e <= math.log10(hi) + 1e-9:
            yy = y(10 ** e)
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ox, yy, ox + pw, yy))
            out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="10">%s</text>' % (ox - 4, yy + 3, "{:,.0f}".format(10 ** e) if e >= 0 else "%g" % 10 ** e))
            e += 1
        for n in clients:
            out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>' % (x(n), oy + ph + 14, "{:,}".format(n)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">clients</text>' % (ox + pw / 2, oy + ph + 30))
        for label, v in targets:
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-dasharray="4 3"/>' % (ox, y(v), ox + pw, y(v)))
            out.append('<text x="%d" y="%.1f" font-size="9" fill="#666">%s</text>' % (ox + 4, y(v) - 3, esc(label)))
        for r in rows:
            v = variant(r)
            if not v or r["technique"] not in COLORS or not isinstance(r.get(key), (int, float)) or r[key] <= 0:
                continue
            out.append(marker(shape_of[v], x(r["clients"]), y(r[key] * scale), COLORS[r["technique"]],
                              "%s, %d clients (%s): %.3g" % (NAMES[r["technique"]], r["clients"], v, r[key] * scale)))
        for t in techniques:
            points = sorted((r["clients"], r[key] * scale) for r in rows
                            if r["technique"] == t and not variant(r) and isinstance(r.get(key), (int, float)) and r[key] > 0)
            if not points:
                continue
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                       % (COLORS[t], " ".join("%.1f,%.1f" % (x(n), y(v)) for n, v in points)))
            for n, v in points:
                out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s, %d clients: %.3g</title></circle>'
                           % (x(n), y(v), COLORS[t], NAMES[t], n, v))
    out.append('</svg>')
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    main()
