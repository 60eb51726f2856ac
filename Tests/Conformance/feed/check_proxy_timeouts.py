#!/usr/bin/env python3
"""What a proxy's read timeout does to the feed's long-lived responses, seen by independent
clients (h11 over a raw socket, Python `websockets`) through that proxy.

    check_proxy_timeouts.py http://PROXY:PORT/ --hold SECONDS

Opens at once, through the proxy, and holds for SECONDS (or until the proxy cuts it):
- an event stream (`GET /events`), reading whatever comes (heartbeat comments included);
- a long poll (`GET /long-poll?timeout=60000`, the server caps it), answered again and again
  with the cursor it gets back;
- a WebSocket (`/ws`) on which this client sends nothing and answers the server's pings
  (its own keep-alive pings are off).
Nothing is published meanwhile. Prints one JSON object: for each, whether it was still open
at the end (`alive`), when it was cut (`cut_after_s`), and what came (`bytes`, `heartbeats`,
`statuses`, `pings`).
"""
import argparse
import json
import socket
import threading
import time
from urllib.parse import urlparse

import h11
from websockets.sync.client import connect
from websockets.exceptions import ConnectionClosed

ARGS = argparse.ArgumentParser()
ARGS.add_argument("url")
ARGS.add_argument("--hold", type=float, required=True)
OPTS = ARGS.parse_args()
URL = urlparse(OPTS.url)
HOST, PORT = URL.hostname, URL.port
RESULT = {}


def http(method, target):
    sock = socket.create_connection((HOST, PORT), timeout=OPTS.hold + 5)
    conn = h11.Connection(h11.CLIENT)
    sock.sendall(conn.send(h11.Request(method=method, target=target, headers=[("Host", "%s:%d" % (HOST, PORT))]))
                 + conn.send(h11.EndOfMessage()))
    return sock, conn


def events(sock, conn):
    """h11 events until the connection ends (None) — a proxy's cut ends it."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = sock.recv(65536)
            except (ConnectionError, socket.timeout):
                data = b""
            conn.receive_data(data)
            if not data:
                # h11 reports what the closed connection means (an unfinished body: RemoteProtocolError).
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    yield None
                    return
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                    yield None
                    return
        yield event


def event_stream(start):
    sock, conn = http("GET", "/events")
    got = {"alive": True, "cut_after_s": None, "status": None, "bytes": 0, "heartbeats": 0}
    body = bytearray()
    sock.settimeout(OPTS.hold + 5)
    deadline = start + OPTS.hold
    threading.Timer(max(0.0, deadline - time.monotonic()), lambda: sock.shutdown(socket.SHUT_RDWR)).start()
    for event in events(sock, conn):
        now = time.monotonic()
        if event is None or isinstance(event, h11.EndOfMessage):
            if now < deadline - 0.05:
                got["alive"] = False
                got["cut_after_s"] = round(now - start, 2)
            break
        if isinstance(event, h11.Response):
            got["status"] = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
    sock.close()
    got["bytes"] = len(body)
    got["heartbeats"] = sum(1 for line in bytes(body).split(b"\n") if line.startswith(b":"))
    RESULT["sse"] = got


def long_poll(start):
    got = {"alive": True, "cut_after_s": None, "statuses": []}
    deadline = start + OPTS.hold
    since = 0
    sock, conn = None, None
    while time.monotonic() < deadline:
        if conn is None or conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            if sock:
                sock.close()
            sock, conn = http("GET", "/long-poll?since=%d&timeout=60000" % since)
        else:
            conn.start_next_cycle()
            sock.sendall(conn.send(h11.Request(method="GET", target="/long-poll?since=%d&timeout=60000" % since,
                                               headers=[("Host", "%s:%d" % (HOST, PORT))])) + conn.send(h11.EndOfMessage()))
        status = None
        sent = time.monotonic()
        for event in events(sock, conn):
            if event is None:
                status = "closed"
                break
            if isinstance(event, h11.Response):
                status = event.status_code
                for name, value in event.headers:
                    if name == b"feed-cursor":
                        since = int(value)
            if isinstance(event, h11.EndOfMessage):
                break
        got["statuses"].append(status)
        if status != 204 and status != 200:
            got["alive"] = False
            got["cut_after_s"] = round(time.monotonic() - sent, 2)
            break
    if sock:
        sock.close()
    RESULT["long_poll"] = got


def websocket(start):
    got = {"alive": True, "cut_after_s": None, "pings": 0}
    uri = "ws://%s:%d/ws" % (HOST, PORT)
    with connect(uri, ping_interval=None, close_timeout=1, open_timeout=10) as ws:
        # Count the server's pings: websockets answers them itself; the frames are logged.
        original = ws.protocol.recv_frame

        def counting(frame):
            if frame.opcode.name == "PING":
                got["pings"] += 1
            return original(frame)
        ws.protocol.recv_frame = counting
        deadline = start + OPTS.hold
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    ws.recv(timeout=remaining)
                except TimeoutError:
                    break
        except ConnectionClosed:
            got["alive"] = False
            got["cut_after_s"] = round(time.monotonic() - start, 2)
    RESULT["websocket"] = got


start = time.monotonic()
threads = [threading.Thread(target=fn, args=(start,)) for fn in (event_stream, long_poll, websocket)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(RESULT, sort_keys=True))
