#!/usr/bin/env python3
"""Draws Spec/realtime/load.svg from wirecodec-feed-load's JSON lines.

    feed-chart.py load.jsonl load.svg

Four panels (bytes per delivered update, requests per update, latency p50 with p99 whiskers,
server CPU per update), one group of bars per technique, one bar per setting. Log scales where
the techniques differ by orders of magnitude. Plain SVG, no plotting library.
"""
import json
import math
import sys

TECHNIQUES = ["short-polling", "long-polling", "sse", "websocket"]
NAMES = {"short-polling": "short polling", "long-polling": "long polling", "sse": "SSE", "websocket": "WebSocket"}
COLORS = ["#3b6ea8", "#e39b3a", "#5a9e5a", "#b04a6a"]
PANELS = [
    ("bytesPerUpdate", "bytes on the wire per delivered update", True, None),
    ("requestsPerUpdate", "HTTP requests per delivered update", False, None),
    ("latencyP50Ms", "latency publish → receipt, ms (p50, whisker p99)", True, "latencyP99Ms"),
    ("serverCPUUsPerDelivery", "server CPU per delivered update, µs", True, None),
]


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    labels = []
    for r in rows:
        if r["label"] not in labels:
            labels.append(r["label"])
    W, H = 980, 640
    pw, ph = 440, 230
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>']
    clients = rows[0]["clients"] if rows else 0
    out.append('<text x="20" y="24" font-size="16" font-weight="bold">One live feed, four techniques: %d clients each, over loopback</text>' % clients)
    for i, label in enumerate(labels):
        x = 560 + i * 160
        out.append('<rect x="%d" y="12" width="12" height="12" fill="%s"/>' % (x, COLORS[i % 4]))
        out.append('<text x="%d" y="23">%s</text>' % (x + 16, esc(label)))
    for p, (key, title, log, whisker) in enumerate(PANELS):
        ox = 40 + (p % 2) * (pw + 60)
        oy = 60 + (p // 2) * (ph + 70)
        values = [r.get(key) for r in rows] + [r.get(whisker) for r in rows if whisker]
        values = [v for v in values if isinstance(v, (int, float)) and v > 0]
        if not values:
            values = [1]
        lo = 10 ** math.floor(math.log10(min(values))) if log else 0
        hi = 10 ** math.ceil(math.log10(max(values))) if log else max(values) * 1.1
        if log and hi <= lo:
            hi = lo * 10

        def y(v):
            if v is None or not isinstance(v, (int, float)) or v <= 0:
                return oy + ph
            if log:
                return oy + ph - ph * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
            return oy + ph - ph * v / hi

        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (ox, oy - 10, esc(title)))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (ox, oy + ph, ox + pw, oy + ph))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (ox, oy, ox, oy + ph))
        if log:
            e = math.log10(lo)
            while e <= math.log10(hi) + 1e-9:
                v = 10 ** e
                yy = y(v)
                out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ox, yy, ox + pw, yy))
                out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="10">%s</text>' % (ox - 4, yy + 3, tick(v)))
                e += 1
        else:
            step = 10 ** math.floor(math.log10(hi / 2)) if hi > 0 else 1
            v = 0
            while v <= hi:
                yy = y(v) if v > 0 else oy + ph
                out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ox, yy, ox + pw, yy))
                out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="10">%s</text>' % (ox - 4, yy + 3, tick(v)))
                v += step
        group = pw / len(TECHNIQUES)
        bar = (group - 20) / max(1, len(labels))
        for t, technique in enumerate(TECHNIQUES):
            gx = ox + t * group + 10
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (gx + (group - 20) / 2, oy + ph + 16, NAMES[technique]))
            for i, label in enumerate(labels):
                r = next((r for r in rows if r["technique"] == technique and r["label"] == label), None)
                if not r:
                    continue
                v = r.get(key)
                bx = gx + i * bar
                if isinstance(v, (int, float)) and v > 0:
                    out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>'
                               % (bx, y(v), bar - 2, oy + ph - y(v), COLORS[i % 4], NAMES[technique], esc(label), fmt(v)))
                    out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>' % (bx + (bar - 2) / 2, y(v) - 3, fmt(v)))
                else:
                    out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="9">0</text>' % (bx + (bar - 2) / 2, oy + ph - 3))
                if whisker and isinstance(r.get(whisker), (int, float)) and r[whisker] > 0:
                    cx = bx + (bar - 2) / 2
                    out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222"/>' % (cx, y(v), cx, y(r[whisker])))
                    out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222"/>' % (cx - 4, y(r[whisker]), cx + 4, y(r[whisker])))
    out.append('</svg>')
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


def tick(v):
    return ("%g" % v) if v < 1e6 else "%.0e" % v


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    main()
