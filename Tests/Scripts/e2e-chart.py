#!/usr/bin/env python3
"""Draws the end-to-end comparison (Tests/Scripts/e2e-bench.sh --write-spec).

    e2e-chart.py e2e.json e2e.svg e2e.md

One panel per workload, one bar per server: messages (or requests) per second for the echo and
hello-world rows, with the p50 and p99 round trips written beside each bar; RSS per idle
WebSocket for the 10,000-connection row. The Markdown table holds the same numbers. Plain SVG,
no plotting library.
"""
import json
import sys

SUBJECTS = ["wirecodec", "wirecodec-handlers", "nio", "hummingbird", "vapor"]
NAMES = {
    "wirecodec": "WireCodec (async API)",
    "wirecodec-handlers": "WireCodec (handlers)",
    "nio": "SwiftNIO (NIOHTTP1 + NIOWebSocket)",
    "hummingbird": "Hummingbird 2.28.1",
    "vapor": "Vapor 4.122.3",
}
COLORS = {"wirecodec": "#c0392b", "wirecodec-handlers": "#e67e22", "nio": "#8e44ad", "hummingbird": "#2e86c1", "vapor": "#16a085"}
PANELS = [
    ("e2e.ws.echo-20b-100c", "WebSocket echo, 100 connections × 20-byte messages", "messages_per_s", "messages/s"),
    ("e2e.ws.echo-16k-200c", "WebSocket echo, 200 connections × 16 KiB messages", "messages_per_s", "messages/s"),
    ("e2e.http.hello-100c", "HTTP hello world, wrk, 100 keep-alive connections", "messages_per_s", "requests/s"),
    ("e2e.ws.idle-10000c", "10,000 idle WebSockets: server RSS per connection", "rss_per_conn_bytes", "bytes (lower is better)"),
]


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number(value):
    if value is None:
        return "–"
    if isinstance(value, float) and value < 100:
        return f"{value:.1f}"
    return f"{int(round(value)):,}"


def main():
    data = json.load(open(sys.argv[1]))
    rows = data["e2e"]
    machine = data.get("machine", "")
    lookup = {(r["workload"], r["subject"]): r for r in rows}
    width, panel_height = 980, 200
    height = 70 + len(PANELS) * (panel_height + 20)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="20" y="26" font-size="16" font-weight="bold">Whole servers, same machine, same load client (server on CPU 0, load on CPU 1)</text>',
           f'<text x="20" y="46" fill="#555">{esc(machine)}</text>']
    for index, (workload, title, key, unit) in enumerate(PANELS):
        top = 70 + index * (panel_height + 20)
        out.append(f'<text x="20" y="{top + 12}" font-weight="bold">{esc(title)} ({esc(unit)})</text>')
        values = [lookup.get((workload, s), {}).get(key) for s in SUBJECTS]
        best = max([v for v in values if v is not None] or [1])
        for row, subject in enumerate(SUBJECTS):
            y = top + 24 + row * 32
            value = values[row]
            out.append(f'<text x="20" y="{y + 16}">{esc(NAMES[subject])}</text>')
            bar = 0 if value is None else 480 * value / best
            out.append(f'<rect x="260" y="{y + 4}" width="{bar:.1f}" height="18" fill="{COLORS[subject]}"/>')
            label = number(value)
            r = lookup.get((workload, subject), {})
            if key == "messages_per_s" and r.get("p50_us") is not None:
                label += f"   p50 {number(r['p50_us'])} µs, p99 {number(r['p99_us'])} µs"
            out.append(f'<text x="{266 + bar:.1f}" y="{y + 18}">{esc(label)}</text>')
    out.append("</svg>")
    open(sys.argv[2], "w").write("\n".join(out) + "\n")

    lines = [f"Measured on {machine}.", "",
             "| workload | subject | messages/s | p50 µs | p99 µs | RSS per connection (bytes) |",
             "|---|---|---:|---:|---:|---:|"]
    for workload, _, _, _ in PANELS:
        for subject in SUBJECTS:
            r = lookup.get((workload, subject))
            if r is None:
                continue
            lines.append(f"| `{workload}` | `{subject}` | {number(r['messages_per_s'])} | {number(r['p50_us'])} | "
                         f"{number(r['p99_us'])} | {number(r['rss_per_conn_bytes'])} |")
    open(sys.argv[3], "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
