#!/usr/bin/env python3
"""Draws Spec/realtime/load-scale.svg from wirecodec-feed-load's JSON lines of the
many-connections runs (feed-load-report.sh with SCALE="1000 8000 19000").

    feed-scale-chart.py load-scale.jsonl load-scale.svg

Three panels with the clients per technique on a log axis: server CPU per delivery (µs),
broadcast latency p99 (ms), server memory per client (KB); one line per technique, the
targets of issue 19 dashed. Plain SVG, no plotting library.
"""
import json
import math
import sys

TECHNIQUES = ["long-polling", "sse", "websocket", "short-polling"]
NAMES = {"short-polling": "short polling", "long-polling": "long polling", "sse": "SSE", "websocket": "WebSocket"}
COLORS = {"long-polling": "#e39b3a", "sse": "#5a9e5a", "websocket": "#b04a6a", "short-polling": "#3b6ea8"}
PANELS = [
    ("serverCPUUsPerDelivery", "server CPU per delivery, µs", 1, [("WebSocket/SSE target", 3), ("long polling target", 15)]),
    ("latencyP99Ms", "broadcast latency p99, ms", 1, [("target", 100)]),
    ("memoryPerClientBytes", "server memory per client, KB", 1 / 1000, [("target (WebSocket, no deflate)", 4)]),
]


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    W, H = 1040, 360
    pw, ph = 280, 220
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="20" y="24" font-size="16" font-weight="bold">One feed server process, many clients (log axes), over loopback</text>']
    techniques = [t for t in TECHNIQUES if any(r["technique"] == t for r in rows)]
    for i, t in enumerate(techniques):
        x = 600 + i * 110
        out.append('<rect x="%d" y="12" width="12" height="12" fill="%s"/>' % (x, COLORS[t]))
        out.append('<text x="%d" y="23">%s</text>' % (x + 16, NAMES[t]))
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
            out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="10">%g</text>' % (ox - 4, yy + 3, 10 ** e))
            e += 1
        for n in clients:
            out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>' % (x(n), oy + ph + 14, "{:,}".format(n)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">clients</text>' % (ox + pw / 2, oy + ph + 30))
        for label, v in targets:
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-dasharray="4 3"/>' % (ox, y(v), ox + pw, y(v)))
            out.append('<text x="%d" y="%.1f" font-size="9" fill="#666">%s</text>' % (ox + 4, y(v) - 3, esc(label)))
        for t in techniques:
            points = sorted((r["clients"], r[key] * scale) for r in rows
                            if r["technique"] == t and isinstance(r.get(key), (int, float)) and r[key] > 0)
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
