#!/usr/bin/env python3
"""An event-stream server (Python's standard library) that misbehaves on purpose, for our
EventSource client (`wirecodec sse listen`, `EventSourceRunner`).

    sse_server.py [--port 0]

Prints `{"listening": PORT}` first, then one JSON line per request
(`{"event": "request", "path", "n", "last_event_id", "accept", "cache_control", "t"}`, n counting
the requests to that path from 1, t a monotonic time in seconds) and one when a response ends
(`{"event": "end", "path", "n", "how", "t"}`). Scenarios, by path and query:

    /stream[/NAME]?events=K&retry=MS&end=drop|close|chunked-end&then=204|500|wrong-type&from=ID
        K events per connection (default 2), ids counting on from Last-Event-ID (or `from`,
        default 0), `retry: MS` first when given; then the response ends: `drop` closes the
        socket inside the chunked body (no last chunk), `close` ends a read-until-close body,
        `chunked-end` sends the last chunk and keeps the connection. `then`: every request after
        the first gets a 204, a 500, or a 200 of type text/plain instead.
    /status/N         answers N with an empty body
    /wrong-type       200 text/plain with event-stream lines in it
    /redirect?to=P    307 to P (relative)
    /silent           200 text/event-stream, then nothing (the head only)
"""
import argparse
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

counts = {}
lock = threading.Lock()


def say(**line):
    line["t"] = time.monotonic()
    with lock:
        print(json.dumps(line), flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with lock:
            counts[url.path] = n = counts.get(url.path, 0) + 1
        say(event="request", path=url.path, n=n, last_event_id=self.headers.get("Last-Event-ID"),
            accept=self.headers.get("Accept"), cache_control=self.headers.get("Cache-Control"),
            host=self.headers.get("Host"))
        if url.path.startswith("/stream"):
            return self.stream(url.path, n, query)
        if url.path.startswith("/status/"):
            return self.empty(int(url.path.split("/")[2]))
        if url.path == "/wrong-type":
            return self.body(200, "text/plain", b"data: not for you\n\n")
        if url.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", query.get("to", "/stream"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/silent":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            time.sleep(30)
            return
        self.empty(404)

    def empty(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def body(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, path, n, query):
        then = query.get("then")
        if n > 1 and then == "204":
            say(event="end", path=path, n=n, how="204")
            return self.empty(204)
        if n > 1 and then == "500":
            return self.empty(500)
        if n > 1 and then == "wrong-type":
            return self.body(200, "text/plain", b"data: x\n\n")
        end = query.get("end", "drop")
        count = int(query.get("events", "2"))
        last = self.headers.get("Last-Event-ID")
        first = int(last) + 1 if last and last.isdigit() else int(query.get("from", "0")) + 1
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        if end == "close":
            self.send_header("Connection", "close")
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        write = self.wfile.write if end == "close" else self.chunk
        if "retry" in query:
            write(b"retry: %d\n\n" % int(query["retry"]))
        for i in range(first, first + count):
            write(b"id: %d\nevent: tick\ndata: event %d of connection %d\n\n" % (i, i, n))
            self.wfile.flush()
            time.sleep(0.02)
        if end == "drop":
            # A partial event and no last chunk: the connection just goes away.
            self.chunk(b"id: 999\ndata: never dispatched")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif end == "close":
            self.close_connection = True
        else:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        say(event="end", path=path, n=n, how=end)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(json.dumps({"listening": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
