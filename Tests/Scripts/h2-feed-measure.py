#!/usr/bin/env python3
"""The feed's four techniques over HTTP/2 against HTTP/1.1, both over TLS, measured against
`wirecodec-feed-server` with clients nobody here wrote (Python `h11`, `h2`, `wsproto`), for
Spec/realtime/http2.md: what one update costs each client on the wire.

    python3 Tests/Scripts/h2-feed-measure.py --server .build/release/wirecodec-feed-server \\
        [--clients 10] [--updates 20] [--headers minimal|browser] [--markdown]

For each technique (short polling every second, long polling, Server-Sent Events, WebSocket)
and each HTTP version, against a fresh server (TLS with a throwaway certificate; the server
offers `h2` and `http/1.1` by ALPN on its one port): `--clients` clients, each on its own TLS
connection (ALPN `http/1.1` or `h2`), subscribe (SSE and WebSocket) or start polling; then
`--updates` items are published, one a second, over another connection (not counted). The
bytes are what TCP carried on the clients' sockets (TLS records included), from the kernel
(TCP_INFO bytes_acked / bytes_received), from the first publish until every client has every
item; divided by updates and clients. Every client must receive every item, in order.

`--headers browser` sends, with every request, the fields a browser's fetch() sends beside
the URL (User-Agent, Accept, Referer, Accept-Encoding, Accept-Language and a cookie jar of
five cookies, taken from Chromium 156's captured request in Sources/wirecodec-bench/Fixtures.swift);
`minimal` only what HTTP needs (Host, or `:authority`). HTTP/2 compresses repeated fields
with HPACK (RFC 7541); HTTP/1.1 sends them again on every poll.
"""
import argparse
import json
import os
import select
import ssl
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Conformance", "http2"))

import h11  # noqa: E402
import h2.events  # noqa: E402
import h2.settings  # noqa: E402
from wsproto import WSConnection  # noqa: E402
from wsproto.connection import ConnectionType  # noqa: E402
from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, Request, TextMessage  # noqa: E402
from wsproto.extensions import PerMessageDeflate  # noqa: E402

from h2ws import H2Socket, WebSocketStream, deflate_from_answer, headers_dict  # noqa: E402
from h2_measure_support import ServerProcess, tcp_bytes, test_certificates, tls_socket  # noqa: E402

TECHNIQUES = ["short-polling", "long-polling", "sse", "websocket"]
POLL_INTERVAL = 1.0

BROWSER_FIELDS = [
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "HeadlessChrome/156.0.0.0 Safari/537.36"),
    ("accept", "*/*"),
    ("referer", "https://localhost/"),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", "en-US,en;q=0.9"),
    ("cookie", "session=9f3c2a71e4b84d0c8a5f1e6b2d7c4a90; theme=dark; _ga=GA1.1.1843917265.1732526400; "
               "_gid=GA1.1.2094718365.1732526400; csrftoken=Xk7qN2vR8tLw4pZs9mYc3bHd6fGj1aEe"),
]


class Client:
    """One client of one technique: its cursor, the ids it received, its next poll."""

    def __init__(self, technique, port, cafile, fields):
        self.technique = technique
        self.port = port
        self.fields = fields
        self.cursor = 0
        self.ids = []
        self.requests = 0
        # Subscribed, the first short poll answered, or the first long poll sent (it is held).
        self.ready = technique == "long-polling"
        self.next_poll = None       # short polling: when to ask again
        self.sse_buffer = ""

    def path(self):
        if self.technique == "short-polling":
            return "/poll?since=%d" % self.cursor
        if self.technique == "long-polling":
            return "/long-poll?since=%d" % self.cursor
        if self.technique == "sse":
            return "/events?since=0"
        return "/ws?since=0"

    def answered(self, status, cursor, body):
        """A poll's whole answer."""
        self.ready = True
        if status == 200:
            for item in json.loads(body)["items"]:
                self.item(item["id"])
        elif status != 204:
            raise RuntimeError("poll answered %d" % status)
        if cursor is not None:
            self.cursor = int(cursor)
        if self.technique == "short-polling":
            self.next_poll = time.time() + POLL_INTERVAL
        else:
            self.poll()

    def item(self, id_):
        if self.ids and id_ != self.ids[-1] + 1:
            raise RuntimeError("%s: item %d after %d" % (self.technique, id_, self.ids[-1]))
        self.ids.append(id_)

    def sse_data(self, text):
        self.ready = True
        self.sse_buffer += text
        while "\n" in self.sse_buffer:
            line, self.sse_buffer = self.sse_buffer.split("\n", 1)
            if line.startswith("id: "):
                self.item(int(line[4:]))

    def due(self, now):
        if self.next_poll is not None and now >= self.next_poll:
            self.next_poll = None
            self.poll()


class HTTP1Client(Client):
    def __init__(self, technique, port, cafile, fields):
        super().__init__(technique, port, cafile, fields)
        self.sock = tls_socket(port, cafile, "http/1.1")
        self.h11 = h11.Connection(h11.CLIENT)
        self.ws = None
        self.status = None
        self.cursor_field = None
        self.body = b""
        if technique == "websocket":
            self.ws = WSConnection(ConnectionType.CLIENT)
            self.sock.sendall(self.ws.send(Request(
                host="localhost:%d" % port, target=self.path(), extra_headers=list(fields),
                extensions=[PerMessageDeflate()])))
            self.requests += 1
        else:
            self.poll()

    def poll(self):
        headers = [("host", "localhost:%d" % self.port)] + list(self.fields)
        if self.technique == "sse":
            headers.append(("accept", "text/event-stream"))
        self.sock.sendall(self.h11.send(h11.Request(method="GET", target=self.path(), headers=headers))
                          + self.h11.send(h11.EndOfMessage()))
        self.requests += 1

    def read(self):
        try:
            data = self.sock.recv(65536)
        except ssl.SSLWantReadError:
            return
        if not data:
            raise RuntimeError("%s: the server closed the connection" % self.technique)
        if self.ws is not None:
            self.ws.receive_data(data)
            out = b""
            for event in self.ws.events():
                if isinstance(event, AcceptConnection):
                    self.ready = True
                elif isinstance(event, RejectConnection):
                    raise RuntimeError("WebSocket refused: %r" % event.status_code)
                elif isinstance(event, TextMessage):
                    self.item(json.loads(event.data)["id"])
                elif isinstance(event, Ping):
                    out += self.ws.send(event.response())
                elif isinstance(event, CloseConnection):
                    raise RuntimeError("WebSocket closed: %r" % event.code)
            if out:
                self.sock.sendall(out)
            return
        self.h11.receive_data(data)
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.Response):
                self.status = event.status_code
                self.cursor_field = dict(event.headers).get(b"feed-cursor")
                self.body = b""
                if self.technique == "sse":
                    self.ready = True
            elif isinstance(event, h11.Data):
                if self.technique == "sse":
                    self.sse_data(bytes(event.data).decode())
                else:
                    self.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.h11.start_next_cycle()
                self.answered(self.status, self.cursor_field, self.body)

    def sockets(self):
        return [self.sock]


class HTTP2Client(Client):
    def __init__(self, technique, port, cafile, fields):
        super().__init__(technique, port, cafile, fields)
        self.sock = tls_socket(port, cafile, "h2")
        self.h2 = H2Socket(self.sock, client_side=True)
        self.streams = {}   # stream id -> [status, cursor, body]
        self.ws_stream = None
        self.ws_id = None
        self.settings = None
        if technique == "websocket":
            deadline = time.time() + 30
            while self.settings is None and time.time() < deadline:
                self.read()
            if self.settings.get(int(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)) != 1:
                raise RuntimeError("no SETTINGS_ENABLE_CONNECT_PROTOCOL")
            self.ws_id = self.h2.conn.get_next_available_stream_id()
            headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                       (":path", self.path()), (":authority", "localhost:%d" % port),
                       ("sec-websocket-version", "13"),
                       ("sec-websocket-extensions", "permessage-deflate; " + PerMessageDeflate().offer())]
            self.h2.conn.send_headers(self.ws_id, headers + list(self.fields))
            self.h2.flush()
            self.requests += 1
        else:
            self.poll()

    def poll(self):
        stream_id = self.h2.conn.get_next_available_stream_id()
        headers = [(":method", "GET"), (":scheme", "https"), (":path", self.path()),
                   (":authority", "localhost:%d" % self.port)] + list(self.fields)
        if self.technique == "sse":
            headers.append(("accept", "text/event-stream"))
        self.streams[stream_id] = [None, None, b""]
        self.h2.conn.send_headers(stream_id, headers, end_stream=True)
        self.h2.flush()
        self.requests += 1

    def read(self):
        events = self.h2.events(0)
        if events is None:
            raise RuntimeError("%s: the server closed the connection" % self.technique)
        for event in events:
            if isinstance(event, h2.events.RemoteSettingsChanged):
                self.settings = {int(c): v.new_value for c, v in event.changed_settings.items()}
            elif isinstance(event, h2.events.StreamReset):
                raise RuntimeError("stream %d reset (%r)" % (event.stream_id, event.error_code))
            stream_id = getattr(event, "stream_id", None)
            if stream_id is not None and stream_id == self.ws_id:
                if isinstance(event, h2.events.ResponseReceived):
                    fields = headers_dict(event.headers)
                    if fields[":status"][0] != "200":
                        raise RuntimeError("extended CONNECT answered %s" % fields[":status"][0])
                    answer = fields.get("sec-websocket-extensions", [None])[0]
                    self.ws_stream = WebSocketStream(stream_id, client_side=True, deflate=deflate_from_answer(answer))
                    self.ready = True
                elif isinstance(event, h2.events.DataReceived):
                    out = self.ws_stream.receive(event.data)
                    if out:
                        self.h2.send(stream_id, out)
                    while self.ws_stream.messages:
                        _, text = self.ws_stream.messages.pop(0)
                        self.item(json.loads(text)["id"])
                continue
            state = self.streams.get(stream_id)
            if state is None:
                continue
            if isinstance(event, h2.events.ResponseReceived):
                fields = headers_dict(event.headers)
                state[0] = int(fields[":status"][0])
                state[1] = fields.get("feed-cursor", [None])[0]
                if self.technique == "sse":
                    self.ready = True
            elif isinstance(event, h2.events.DataReceived):
                if self.technique == "sse":
                    self.sse_data(event.data.decode())
                else:
                    state[2] += event.data
            if isinstance(event, h2.events.StreamEnded) or getattr(event, "stream_ended", None):
                del self.streams[stream_id]
                self.answered(state[0], state[1], state[2])

    def sockets(self):
        return [self.sock]


def pump(clients, until, timeout):
    deadline = time.time() + timeout
    by_socket = {c.sock: c for c in clients}
    while not until():
        now = time.time()
        if now > deadline:
            raise RuntimeError("timed out")
        for client in clients:
            client.due(now)
        ready = [c for c in clients if c.sock.pending()]
        if not ready:
            wake = min([c.next_poll for c in clients if c.next_poll is not None] + [now + 0.2])
            readable, _, _ = select.select(list(by_socket), [], [], max(0, wake - now))
            ready = [by_socket[r] for r in readable]
        for client in ready:
            client.read()


def total_bytes(clients):
    up = down = 0
    for client in clients:
        acked, received = tcp_bytes(client.sock)
        up += acked
        down += received
    return up, down


def publish(port, cafile, count, ids):
    context = ssl.create_default_context(cafile=cafile)
    for index in range(count):
        started = time.time()
        request = urllib.request.Request("https://localhost:%d/publish" % port, method="POST",
                                         data=("update %d of %d" % (index + 1, count)).encode())
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            ids.append(json.loads(answer.read())["id"])
        time.sleep(max(0, 1.0 - (time.time() - started)))


def measure(technique, http, args, certificates):
    cafile = os.path.join(certificates, "ca.pem")
    server = ServerProcess(args.server, certificates)
    port = server.port
    fields = BROWSER_FIELDS if args.headers == "browser" else []
    try:
        make = HTTP1Client if http == "1.1" else HTTP2Client
        clients = [make(technique, port, cafile, fields) for _ in range(args.clients)]
        pump(clients, lambda: all(c.ready for c in clients), 30)
        if technique == "short-polling":
            # Spread the polls over the interval, as independent browsers would.
            for index, client in enumerate(clients):
                client.next_poll = time.time() + POLL_INTERVAL * index / len(clients)
        time.sleep(0.2)
        up0, down0 = total_bytes(clients)
        requests0 = sum(c.requests for c in clients)
        ids = []
        publisher = threading.Thread(target=publish, args=(port, cafile, args.updates, ids))
        publisher.start()
        pump(clients, lambda: not publisher.is_alive() and all(len(c.ids) >= args.updates for c in clients),
             args.updates + 30)
        publisher.join()
        time.sleep(0.3)
        up, down = total_bytes(clients)
        for client in clients:
            if client.ids != ids:
                raise RuntimeError("%s over %s: a client got %r, published %r" % (technique, http, client.ids, ids))
        per = args.updates * args.clients
        return {"technique": technique, "http": http, "headers": args.headers, "clients": args.clients,
                "updates": args.updates, "delivered": sum(len(c.ids) for c in clients),
                "bytes_per_update_up": round((up - up0) / per, 1),
                "bytes_per_update_down": round((down - down0) / per, 1),
                "requests_per_update": round((sum(c.requests for c in clients) - requests0) / per, 2)}
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="the wirecodec-feed-server executable (a release build)")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--headers", choices=["minimal", "browser"], default="minimal")
    ap.add_argument("--technique", choices=TECHNIQUES + ["all"], default="all")
    ap.add_argument("--http", choices=["1.1", "2", "both"], default="both")
    args = ap.parse_args()
    with test_certificates() as certificates:
        for technique in (TECHNIQUES if args.technique == "all" else [args.technique]):
            for http in (["1.1", "2"] if args.http == "both" else [args.http]):
                print(json.dumps(measure(technique, http, args, certificates)), flush=True)


if __name__ == "__main__":
    main()
