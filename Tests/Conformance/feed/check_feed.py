#!/usr/bin/env python3
"""Checks wirecodec-feed-server's four techniques with independent peers: h11 (HTTP/1.1) and
wsproto (WebSocket, with permessage-deflate), over raw loopback sockets.

    check_feed.py http://127.0.0.1:PORT/

The server must be fresh (no item published yet) and started with
`--long-poll-timeout-ms 5000 --heartbeat-ms 200 --web-socket-ping-ms 300`.
Prints one JSON line per check ({"check": NAME, "ok": bool, "detail": ...}) and exits 0 only
if every check passed.
"""
import json
import socket
import sys
import threading
import time
import traceback
from urllib.parse import urlparse

import h11
import wsproto
import wsproto.events as wse
from wsproto.extensions import PerMessageDeflate

URL = urlparse(sys.argv[1])
HOST, PORT = URL.hostname, URL.port
RESULTS = []


def check(name):
    def wrap(fn):
        def run():
            try:
                detail = fn()
                RESULTS.append({"check": name, "ok": True, "detail": detail})
            except Exception as e:  # noqa: BLE001 - every failure is reported
                RESULTS.append({"check": name, "ok": False, "detail": "%s: %s" % (type(e).__name__, e),
                                "trace": traceback.format_exc(limit=3)})
        run.__name__ = name
        CHECKS.append(run)
        return run
    return wrap


CHECKS = []


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


class HTTP:
    """One keep-alive HTTP/1.1 connection driven by h11."""

    def __init__(self, timeout=10):
        self.sock = socket.create_connection((HOST, PORT), timeout=timeout)
        self.conn = h11.Connection(h11.CLIENT)

    def send(self, method, target, headers=(), body=b""):
        hs = [("Host", "%s:%d" % (HOST, PORT))] + list(headers)
        if body or method == "POST":
            hs.append(("Content-Length", str(len(body))))
        data = self.conn.send(h11.Request(method=method, target=target, headers=hs))
        if body:
            data += self.conn.send(h11.Data(data=body))
        data += self.conn.send(h11.EndOfMessage())
        self.sock.sendall(data)

    def next_event(self):
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                chunk = self.sock.recv(65536)
                self.conn.receive_data(chunk)
                continue
            return event

    def response(self):
        """Reads one whole response: (status, headers dict lower-cased, body bytes)."""
        event = self.next_event()
        while isinstance(event, h11.InformationalResponse):
            event = self.next_event()
        expect(isinstance(event, h11.Response), "expected a response, got %r" % (event,))
        headers = {k.decode().lower(): v.decode() for k, v in event.headers}
        body = b""
        while True:
            event = self.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        return event_status(self), headers, body

    def request(self, method, target, headers=(), body=b""):
        self.send(method, target, headers, body)
        return self.response()

    def close(self):
        self.sock.close()


def event_status(http):
    return http.last_status if hasattr(http, "last_status") else None


# h11 does not keep the status on the connection: wrap Response reading.
_orig_response = HTTP.response


def _response(self):
    event = self.next_event()
    while isinstance(event, h11.InformationalResponse):
        event = self.next_event()
    expect(isinstance(event, h11.Response), "expected a response, got %r" % (event,))
    status = event.status_code
    headers = {k.decode().lower(): v.decode() for k, v in event.headers}
    body = b""
    while True:
        event = self.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
    if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
        self.conn.start_next_cycle()
    return status, headers, body


HTTP.response = _response


def stats():
    http = HTTP()
    try:
        status, _, body = http.request("GET", "/stats")
        expect(status == 200, "stats: %d" % status)
        return json.loads(body)
    finally:
        http.close()


def publish(data):
    http = HTTP()
    try:
        status, _, body = http.request("POST", "/publish", body=data.encode())
        expect(status == 200, "publish: %d %r" % (status, body))
        return json.loads(body)["id"]
    finally:
        http.close()


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


@check("short-poll-empty-feed-204")
def _():
    status, headers, body = HTTP().request("GET", "/poll")
    expect(status == 204 and body == b"", "status %d body %r" % (status, body))
    expect(headers.get("feed-cursor") == "0", "cursor %r" % headers.get("feed-cursor"))
    expect(headers.get("cache-control") == "no-store", "cache-control %r" % headers.get("cache-control"))
    return headers


@check("publish-assigns-ids")
def _():
    expect(publish("a") == 1, "first id")
    expect(publish("b") == 2, "second id")
    return "ids 1, 2"


@check("short-poll-returns-items-after-cursor")
def _():
    http = HTTP()
    status, headers, body = http.request("GET", "/poll?since=0")
    expect(status == 200, "status %d" % status)
    expect(headers["content-type"] == "application/json", headers["content-type"])
    expect(headers.get("cache-control") == "no-store", "no-store")
    doc = json.loads(body)
    expect(doc == {"items": [{"id": 1, "data": "a"}, {"id": 2, "data": "b"}], "next": 2}, doc)
    expect(headers["feed-cursor"] == "2", headers["feed-cursor"])
    status, headers, body = http.request("GET", "/poll?since=1")
    expect(status == 200 and json.loads(body)["items"] == [{"id": 2, "data": "b"}], body)
    status, headers, _ = http.request("GET", "/poll?since=2")
    expect(status == 204 and headers["feed-cursor"] == "2", "caught up: %d" % status)
    return doc


def read_responses(sock, count, seconds=5):
    """Reads `count` Content-Length-framed responses from a raw socket: [(status, body)]."""
    data, answers = b"", []
    deadline = time.time() + seconds
    while len(answers) < count and time.time() < deadline:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            fields = dict(line.split(": ", 1) for line in head[1:])
            length = int({k.lower(): v for k, v in fields.items()}.get("content-length", "0"))
            if len(data) >= head_end + 4 + length:
                answers.append((int(head[0].split()[1]), data[head_end + 4:head_end + 4 + length]))
                data = data[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        expect(chunk, "connection closed")
        data += chunk
    expect(len(answers) == count, "answers %r" % answers)
    return answers


@check("short-poll-pipelined-answers-in-order")
def _():
    sock = socket.create_connection((HOST, PORT), timeout=5)
    sock.sendall(b"GET /poll?since=0 HTTP/1.1\r\nHost: x\r\n\r\nGET /poll?since=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    (s1, b1), (s2, b2) = read_responses(sock, 2)
    sock.close()
    expect(s1 == 200 and [i["id"] for i in json.loads(b1)["items"]] == [1, 2], b1)
    expect(s2 == 200 and [i["id"] for i in json.loads(b2)["items"]] == [2], b2)
    return "two answers in order"


@check("long-poll-times-out-with-204")
def _():
    start = time.time()
    status, headers, body = HTTP().request("GET", "/long-poll?since=2&timeout=300")
    elapsed = time.time() - start
    expect(status == 204 and body == b"", "status %d" % status)
    expect(0.25 <= elapsed < 3, "held %.2f s" % elapsed)
    expect(headers["feed-cursor"] == "2" and headers["cache-control"] == "no-store", headers)
    return "204 after %.0f ms" % (elapsed * 1000)


@check("long-poll-answered-when-an-item-arrives")
def _():
    http = HTTP()
    http.send("GET", "/long-poll?since=2&timeout=5000")
    wait_for(lambda: stats()["long_poll_waiters"] == 1, 3, "the poll to be held")
    start = time.time()
    publish("c")
    status, headers, body = http.response()
    elapsed = time.time() - start
    expect(status == 200 and json.loads(body)["items"] == [{"id": 3, "data": "c"}], body)
    expect(elapsed < 1, "answered %.2f s after the publish" % elapsed)
    expect(stats()["long_poll_waiters"] == 0, "waiter left")
    # The connection is kept alive: the next long poll goes on it.
    status, _, _ = http.request("GET", "/long-poll?since=3&timeout=100")
    expect(status == 204, "second poll on the same connection: %d" % status)
    return "answered in %.0f ms" % (elapsed * 1000)


@check("long-poll-client-disappearing-is-forgotten")
def _():
    http = HTTP()
    http.send("GET", "/long-poll?since=3&timeout=5000")
    wait_for(lambda: stats()["long_poll_waiters"] == 1, 3, "the poll to be held")
    http.sock.close()
    wait_for(lambda: stats()["long_poll_waiters"] == 0, 3, "the waiter to be dropped")
    s = stats()
    expect(s["subscribers"] == 0, s)
    expect(publish("d") == 4, "publishing after the client left")
    return s


@check("long-poll-cursor-from-the-future-starts-over")
def _():
    status, headers, body = HTTP().request("GET", "/long-poll?since=99&timeout=100")
    expect(status == 200 and json.loads(body)["items"][0]["id"] == 1, (status, body[:80]))
    return headers["feed-cursor"]


def read_sse(sock, buffer, until, seconds=3):
    """Reads chunked event-stream bytes until `until(text)` holds; returns the text so far."""
    deadline = time.time() + seconds
    sock.settimeout(0.2)
    while time.time() < deadline:
        if until(buffer[0]):
            return buffer[0]
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buffer[0] += chunk.decode("utf-8", "replace")
    raise AssertionError("event stream so far: %r" % buffer[0][-300:])


@check("sse-resumes-after-last-event-id-and-streams")
def _():
    sock = socket.create_connection((HOST, PORT), timeout=5)
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: 2\r\n\r\n")
    buf = [""]
    read_sse(sock, buf, lambda t: "data: d" in t)
    head, _, body = buf[0].partition("\r\n\r\n")
    lines = head.lower().split("\r\n")
    expect(lines[0].startswith("http/1.1 200"), lines[0])
    expect("content-type: text/event-stream" in lines, lines)
    expect("transfer-encoding: chunked" in lines, lines)
    expect("cache-control: no-store" in lines, lines)
    expect("retry: 1000\n" in body, "retry")
    expect("id: 1\n" not in body and "id: 3\ndata: c\n\n" in body and "id: 4\ndata: d\n\n" in body, body)
    wait_for(lambda: stats()["event_streams"] == 1, 2, "the stream to be registered")
    publish("e\nf")
    read_sse(sock, buf, lambda t: "data: f" in t)
    expect("id: 5\ndata: e\ndata: f\n\n" in buf[0], buf[0][-100:])
    sock.close()
    wait_for(lambda: stats()["event_streams"] == 0, 3, "the stream to be dropped")
    return "resumed at 3, live 5"


@check("sse-heartbeat-comments")
def _():
    sock = socket.create_connection((HOST, PORT), timeout=5)
    sock.sendall(b"GET /events?since=5 HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = [""]
    read_sse(sock, buf, lambda t: t.count("\n:\n") >= 2, seconds=3)
    sock.close()
    return "two heartbeats"


def ws_connect(target, extensions=True):
    sock = socket.create_connection((HOST, PORT), timeout=5)
    ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    exts = [PerMessageDeflate(client_max_window_bits=15)] if extensions else []
    sock.sendall(ws.send(wse.Request(host="%s:%d" % (HOST, PORT), target=target, extensions=exts)))
    return sock, ws


def ws_events(sock, ws, until, seconds=3):
    """Reads until `until(events)`; answers pings (wsproto does not do it by itself)."""
    events = []
    deadline = time.time() + seconds
    sock.settimeout(0.2)
    while time.time() < deadline and not until(events):
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        ws.receive_data(chunk)
        for event in ws.events():
            events.append(event)
            if isinstance(event, wse.Ping):
                sock.sendall(ws.send(event.response()))
    return events


@check("websocket-backlog-live-deflate-and-pings")
def _():
    sock, ws = ws_connect("/ws?since=3")
    events = ws_events(sock, ws, lambda es: sum(isinstance(e, wse.TextMessage) for e in es) >= 2)
    accepted = [e for e in events if isinstance(e, wse.AcceptConnection)]
    expect(accepted, "no 101: %r" % events[:3])
    expect(any(isinstance(x, PerMessageDeflate) for x in accepted[0].extensions), "deflate not agreed")
    texts = [json.loads(e.data) for e in events if isinstance(e, wse.TextMessage)]
    expect(texts[:2] == [{"id": 4, "data": "d"}, {"id": 5, "data": "e\nf"}], texts)
    publish("g")
    events = ws_events(sock, ws, lambda es: any(isinstance(e, wse.TextMessage) for e in es)
                       and any(isinstance(e, wse.Ping) for e in es))
    texts = [json.loads(e.data) for e in events if isinstance(e, wse.TextMessage)]
    expect(texts == [{"id": 6, "data": "g"}], texts)
    expect(any(isinstance(e, wse.Ping) for e in events), "no keep-alive ping")
    sock.sendall(ws.send(wse.CloseConnection(code=1000)))
    events = ws_events(sock, ws, lambda es: any(isinstance(e, wse.CloseConnection) for e in es))
    expect(any(isinstance(e, wse.CloseConnection) and e.code == 1000 for e in events), "close not echoed")
    sock.close()
    wait_for(lambda: stats()["websockets"] == 0, 3, "the WebSocket to be dropped")
    return "backlog 4-5, live 6, ping, close"


@check("websocket-upgrade-only-on-ws")
def _():
    status, headers, _ = HTTP().request("GET", "/ws")
    expect(status == 426 and headers.get("upgrade") == "websocket", (status, headers))
    sock, ws = ws_connect("/elsewhere", extensions=False)
    events = ws_events(sock, ws, lambda es: any(isinstance(e, (wse.RejectConnection, wse.AcceptConnection)) for e in es))
    rejected = [e for e in events if isinstance(e, wse.RejectConnection)]
    expect(rejected and rejected[0].status_code == 404, events)
    sock.close()
    return "426 without Upgrade, 404 elsewhere"


@check("http-errors")
def _():
    http = HTTP()
    status, headers, _ = http.request("POST", "/poll", body=b"x")
    expect(status == 405 and headers.get("allow") == "GET", (status, headers))
    status, _, _ = http.request("POST", "/publish", body=b"\xff\xfe")
    expect(status == 400, "non-UTF-8 publish: %d" % status)
    status, _, _ = http.request("POST", "/publish", body=b"x" * (64 * 1024 + 1))
    expect(status == 413, "oversized publish: %d" % status)
    status, _, _ = http.request("GET", "/nope")
    expect(status == 404, "404: %d" % status)
    status, headers, body = http.request("HEAD", "/")
    expect(status == 200 and body == b"" and int(headers["content-length"]) > 1000, (status, headers))
    expect(stats()["last_id"] == 6, "nothing was published by the refused requests")
    # The page's numbered lists keep their numbers inside the box: 237. is not cut to 7.
    status, _, body = http.request("GET", "/")
    expect(status == 200 and b"list-style-position: inside" in body, "the page's list numbers fit")
    return "405, 400, 413, 404, HEAD"


@check("malformed-cursor-400")
def _():
    http = HTTP()
    for target in ("/poll?since=abc", "/poll?since=", "/long-poll?since=-1", "/long-poll?since=1&timeout=x",
                   "/events?since=1.5", "/poll?since=1234567890123456789"):
        status, headers, body = http.request("GET", target)
        expect(status == 400, "%s: %s" % (target, status))
        name = "timeout" if "timeout=x" in target else "since"
        expect(name.encode() in body and b"decimal" in body, "%s: the reason names %s: %r" % (target, name, body))
    sock, ws = ws_connect("/ws?since=abc", extensions=False)
    events = ws_events(sock, ws, lambda es: any(isinstance(e, (wse.RejectConnection, wse.AcceptConnection)) for e in es))
    rejected = [e for e in events if isinstance(e, wse.RejectConnection)]
    expect(rejected and rejected[0].status_code == 400, events)
    sock.close()
    expect(stats()["long_poll_waiters"] == 0, "no malformed long poll is left waiting")
    return "400 with a reason for since/timeout on /poll, /long-poll, /events, /ws"


def main():
    for run in CHECKS:
        run()
    for result in RESULTS:
        print(json.dumps(result))
    return 0 if all(r["ok"] for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
