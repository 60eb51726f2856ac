#!/usr/bin/env python3
"""Re-captures the Server-Sent Events fixtures: a small Python server (written for this
test) sends each stream on loopback, headless Chromium's `EventSource` reads it, and what the
browser dispatched is recorded as the expected events.

    python3 Fixtures/sse/capture.py [--chromium /usr/bin/chromium] [--only NAME]

For each stream NAME:
NAME.bin             the body bytes the server wrote, in order (no HTTP head: the
                     text/event-stream body, what `wirecodec sse decode` reads).
NAME.expected.jsonl  one line per event the browser dispatched, in the CLI's contract:
                     {"type":"event","event":TYPE,"data":DATA,"id":LASTEVENTID}. The browser is
                     the oracle, not WireCodec.
NAME.meta.json       the browser's version, the sizes of the server's writes (each write is
                     flushed and followed by a 40 ms pause, so the browser reads them
                     separately), the `Last-Event-ID` the browser sent when it reconnected
                     (null: it sent none) and how long after the end of the stream it came
                     back (the reconnection time, coarse).

The page (served on /) opens one EventSource per stream in turn, listens for `message` and
the stream's own event types, and posts what it saw to /result when the stream ended and
the browser's reconnection was refused (204). Loopback only; nothing else is contacted.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
BOM = b"\xef\xbb\xbf"
PAUSE = 0.04


def feed_writes(count, per_write):
    """A live feed as the patterns server sends it: id, type and a JSON item per event,
    `per_write` events per write."""
    events = [b"id: %d\nevent: update\ndata: {\"seq\":%d,\"text\":\"item %d\"}\n\n" % (i, i, i) for i in range(1, count + 1)]
    return [b"".join(events[i:i + per_write]) for i in range(0, count, per_write)]


# name -> (writes, event types to listen for besides "message")
STREAMS = {
    "basic": ([b"data: hello\n\n"], []),
    "multiline-data": ([b"data: first\ndata: second\ndata:\ndata:  indented\ndata\n\n"], []),
    "crlf": ([b"event: add\r\ndata: a\r\ndata: b\r\nid: 1\r\n\r\ndata: c\r\n\r\n"], ["add"]),
    "cr-only": ([b"event: add\rdata: a\rdata: b\rid: 1\r\rdata: c\r\r"], ["add"]),
    "mixed-line-ends": ([b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r\r\n"], []),
    "split-crlf": ([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\ndata: c\r", b"\r", b"\n"], []),
    "split-everywhere": ([bytes([b]) for b in b"id: 7\r\nevent: add\r\ndata: x\r\ndata: y\r\n\r\ndata: z\r\r"], ["add"]),
    "bom": ([BOM + b"data: after bom\n\n"], []),
    "bom-split": ([BOM[:1], BOM[1:2], BOM[2:] + b"data: after split bom\n\n"], []),
    "double-bom": ([BOM + BOM + b"data: lost\n\ndata: kept\n\n"], []),
    "event-types": ([b"event: add\ndata: 1\n\nevent: remove\ndata: 2\n\nevent:\ndata: 3\n\nevent: add\n\ndata: 4\n\n"
                     b"event: a\nevent: remove\ndata: 5\n\n"], ["add", "remove", "a"]),
    "ids": ([b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\x003\ndata: d\n\nid:  spaced \ndata: e\n\nid: 4\n\ndata: f\n\n"], []),
    "id-only-block-at-end": ([b"id: 1\ndata: a\n\nid: 42\n\n"], []),
    "id-without-blank-line-at-end": ([b"id: 1\ndata: a\n\nid: 9\ndata: lost\n"], []),
    "retry-valid": ([b"retry: 300\ndata: a\n\n"], []),
    "retry-invalid": ([b"retry: 300x\nretry: -1\nretry: 1.5\nretry:  300\ndata: a\n\n"], []),
    "retry-empty": ([b"retry\nretry:\ndata: a\n\n"], []),
    "comments": ([b": heartbeat\n\n:\ndata: a\n: inside\ndata: b\n\n", b":\n", b": \xe2\x9c\x93\n\n"], []),
    "space-handling": ([b"data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\ndata: a:b: c\n\n"], []),
    "unknown-and-case": ([b"Data: x\nDATA: y\nfoo: bar\ndata : z\n data: w\ndata: ok\nEvent: add\n\n"], ["add"]),
    "utf8": (["event: \u00fc\ndata: \u20ac \U0001D11E \u00e9\nid: \u2713\n\n".encode()], ["\u00fc"]),
    "utf8-split": ([b"data: \xe2", b"\x82", b"\xac \xf0\x9d", b"\x84\x9e\n\n"], []),
    "invalid-utf8": ([b"data: \xff\xfe a\n\ndata: \xc3\n\ndata: \xe2\x82\n\ndata: \xed\xa0\x80\n\nevent: \xff\ndata: t\n\n"], ["\ufffd"]),
    "nul-in-data": ([b"data: a\x00b\n\n"], []),
    "incomplete-tail": ([b"data: a\n\ndata: b\n"], []),
    "incomplete-line": ([b"data: a\n\ndata: b"], []),
    "empty-stream": ([], []),
    "whatwg-examples": ([b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
                         b"data\n\ndata\ndata\n\ndata:test\n\ndata: test\n\n"], []),
    "long-data": ([b"data: " + b"x" * 40000, b"y" * 40000, b"z" * 40000 + b"\n\n"], []),
    "feed-500": (feed_writes(500, 25), ["update"]),
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.served = {}        # name -> time the stream ended
        self.reconnects = {}    # name -> (last-event-id or None, ms after end)
        self.results = None
        self.done = threading.Event()


STATE = State()


def page():
    plan = [{"name": n, "types": t} for n, (_, t) in STREAMS.items()]
    return """<!doctype html><meta charset="utf-8"><title>SSE capture</title><pre id="log"></pre>
<script>
const plan = %s;
const results = {};
function runOne(entry) {
  return new Promise(resolve => {
    const seen = [];
    const es = new EventSource('/stream/' + encodeURIComponent(entry.name));
    const record = e => seen.push({type: e.type, data: e.data, lastEventId: e.lastEventId});
    es.addEventListener('message', record);
    for (const t of entry.types) es.addEventListener(t, record);
    let errors = 0;
    const timer = setTimeout(() => { es.close(); resolve({events: seen, timedOut: true}); }, 15000);
    es.onerror = () => {
      errors++;
      if (es.readyState === EventSource.CLOSED) { clearTimeout(timer); resolve({events: seen, errors}); }
    };
  });
}
(async () => {
  for (const entry of plan) {
    results[entry.name] = await runOne(entry);
    document.getElementById('log').textContent += entry.name + ' ' + results[entry.name].events.length + '\\n';
  }
  await fetch('/result', {method: 'POST', headers: {'Content-Type': 'application/json'},
                          body: JSON.stringify({userAgent: navigator.userAgent, results})});
})();
</script>""" % json.dumps(plan)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/":
            body = page().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/stream/"):
            from urllib.parse import unquote
            name = unquote(self.path[len("/stream/"):])
            if name not in STREAMS:
                self.send_error(404)
                return
            with STATE.lock:
                ended = STATE.served.get(name)
            if ended is not None:
                # The browser came back: note what it resumes from, and refuse (no more reconnects).
                with STATE.lock:
                    last = self.headers.get("Last-Event-ID")
                    if last is not None:
                        last = last.encode("latin-1").decode("utf-8", "replace")  # http.server reads headers as ISO-8859-1
                    STATE.reconnects[name] = (last, round((time.time() - ended) * 1000))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                return
            self.send_stream(name)
            return
        self.send_error(404)

    def send_stream(self, name):
        writes, _ = STREAMS[name]
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                b"Connection: close\r\n\r\n")
        self.wfile.write(head)
        self.wfile.flush()
        try:
            for piece in writes:
                time.sleep(PAUSE)
                self.wfile.write(piece)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            print("capture: the browser left %s early" % name, file=sys.stderr)
        time.sleep(PAUSE)
        with STATE.lock:
            STATE.served[name] = time.time()
        self.close_connection = True

    def do_POST(self):
        if self.path != "/result":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length", "0"))
        STATE.results = json.loads(self.rfile.read(length))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        STATE.done.set()


def chromium_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    return out.split(" built on")[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--only", action="append", help="capture only these streams")
    args = ap.parse_args()
    if args.only:
        for name in list(STREAMS):
            if name not in args.only:
                del STREAMS[name]

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="wirecodec-sse-capture-")
    browser = subprocess.Popen([
        args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile, "http://127.0.0.1:%d/" % port,
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if not STATE.done.wait(60 + 8 * len(STREAMS)):
            sys.exit("capture: the page did not report")
    finally:
        try:
            os.killpg(browser.pid, signal.SIGTERM)
            browser.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(browser.pid, signal.SIGKILL)
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)

    version = chromium_version(args.chromium)
    results = STATE.results["results"]
    for name, (writes, _) in STREAMS.items():
        result = results[name]
        if result.get("timedOut"):
            sys.exit("capture: %s timed out in the browser" % name)
        body = b"".join(writes)
        with open(os.path.join(HERE, name + ".bin"), "wb") as f:
            f.write(body)
        with open(os.path.join(HERE, name + ".expected.jsonl"), "w") as f:
            for e in result["events"]:
                f.write(json.dumps({"type": "event", "event": e["type"], "data": e["data"], "id": e["lastEventId"]},
                                   separators=(",", ":")) + "\n")
        last_event_id, after_ms = STATE.reconnects.get(name, (None, None))
        meta = {"browser": version, "writes": [len(w) for w in writes],
                "reconnect_last_event_id": last_event_id, "reconnect_after_ms": after_ms}
        with open(os.path.join(HERE, name + ".meta.json"), "w") as f:
            f.write(json.dumps(meta, indent=1) + "\n")
        print("%-30s %6d bytes %4d events  Last-Event-ID %-8s after %s ms" % (
            name, len(body), len(result["events"]), json.dumps(last_event_id), after_ms))


if __name__ == "__main__":
    main()
