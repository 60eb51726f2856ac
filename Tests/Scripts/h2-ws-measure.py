#!/usr/bin/env python3
"""Many WebSockets on one HTTP/2 connection (RFC 8441) against one TLS connection each
(HTTP/1.1 Upgrade), measured against `wirecodec-echo-server` with peers nobody here wrote
(Python `h2` + `wsproto`), for Spec/realtime/http2.md:

    python3 Tests/Scripts/h2-ws-measure.py --server .build/release/wirecodec-echo-server \\
        [--sockets 100] [--rounds 200] [--size 100] [--deflate] [--http 1.1|2|both] [--markdown]

For each HTTP version, against a fresh server over TLS (a throwaway certificate from
make-test-cert.sh; the server offers `h2` and `http/1.1` by ALPN on its one port):
1. One WebSocket is opened, echoes ten messages and closes (warm-up: TLS context, allocator).
2. The server's resident memory is read (/proc/PID/status VmRSS), then `--sockets` WebSockets
   are opened: over HTTP/1.1 one TLS connection each; over HTTP/2 one TLS connection whose
   SETTINGS must allow extended CONNECT, one stream each. Memory is read again: the difference
   divided by the sockets is the server's memory per open WebSocket.
3. `--rounds` rounds: every WebSocket sends one text message of `--size` bytes (a JSON object
   with its sequence number) and the round ends when every echo is back. Each message's round
   trip is timed from its send to the read that completed its echo.
4. Bytes are what TCP carried (TLS records included) on the client's sockets, from the kernel
   (TCP_INFO bytes_acked / bytes_received): for opening (from the first byte) and for the
   rounds. Server CPU (utime + stime, /proc/PID/stat) over the rounds.
Prints one JSON object per HTTP version; with --markdown, a table row each.
"""
import argparse
import json
import os
import select
import ssl
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Conformance", "http2"))

import h2.events  # noqa: E402
import h2.settings  # noqa: E402
from wsproto import WSConnection  # noqa: E402
from wsproto.connection import ConnectionType  # noqa: E402
from wsproto.events import (AcceptConnection, CloseConnection, Ping, RejectConnection,  # noqa: E402
                            Request, TextMessage)
from wsproto.extensions import PerMessageDeflate  # noqa: E402

from h2ws import H2Socket, WebSocketStream, deflate_from_answer, headers_dict  # noqa: E402
from h2_measure_support import ServerProcess, tcp_bytes, test_certificates, tls_socket  # noqa: E402



def message(sequence, size):
    head = '{"seq":%d,"data":"' % sequence
    return head + "x" * max(0, size - len(head) - 2) + '"}'


def sequence_of(text):
    return int(text[7:text.index(",")])


# --- HTTP/1.1: one TLS connection per WebSocket --------------------------------------------

class HTTP1WebSocket:
    def __init__(self, port, cafile, deflate):
        self.sock = tls_socket(port, cafile, "http/1.1")
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.open = False
        self.closed = False
        self.received = []   # sequence numbers of whole echoed messages
        self.partial = ""
        extensions = [PerMessageDeflate()] if deflate else []
        self.sock.sendall(self.ws.send(Request(host="localhost", target="/measure", extensions=extensions)))

    def read(self):
        try:
            data = self.sock.recv(65536)
        except ssl.SSLWantReadError:
            return
        if not data:
            self.closed = True
            return
        self.ws.receive_data(data)
        out = b""
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.open = True
            elif isinstance(event, RejectConnection):
                raise RuntimeError("upgrade rejected: %r" % event.status_code)
            elif isinstance(event, TextMessage):
                self.partial += event.data
                if event.message_finished:
                    self.received.append(sequence_of(self.partial))
                    self.partial = ""
            elif isinstance(event, Ping):
                out += self.ws.send(event.response())
            elif isinstance(event, CloseConnection):
                if self.ws.state.name == "REMOTE_CLOSING":
                    out += self.ws.send(event.response())
                self.closed = True
        if out:
            self.sock.sendall(out)

    def send(self, text):
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def close(self):
        if self.ws.state.name == "OPEN":
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))


class HTTP1Run:
    def __init__(self, port, cafile, count, deflate):
        self.sockets = [HTTP1WebSocket(port, cafile, deflate) for _ in range(count)]
        self.pump(lambda: all(s.open for s in self.sockets), 60)

    def pump(self, until, timeout):
        deadline = time.time() + timeout
        by_socket = {s.sock: s for s in self.sockets}
        while not until():
            if time.time() > deadline:
                raise RuntimeError("timed out")
            ready = [s for s in self.sockets if not s.closed and s.sock.pending()]
            if not ready:
                readable, _, _ = select.select([s.sock for s in self.sockets if not s.closed], [], [], 1)
                ready = [by_socket[r] for r in readable]
            for s in ready:
                s.read()
                yield_stamp(s)

    def websockets(self):
        return self.sockets

    def tcp_sockets(self):
        return [s.sock for s in self.sockets]

    def close(self):
        for s in self.sockets:
            s.close()
        try:
            self.pump(lambda: all(s.closed for s in self.sockets), 10)
        except RuntimeError:
            pass
        for s in self.sockets:
            s.sock.close()


# --- HTTP/2: one TLS connection, one stream per WebSocket (RFC 8441) ---------------------

class HTTP2WebSocket:
    def __init__(self, run, stream_id):
        self.run = run
        self.stream_id = stream_id
        self.stream = None
        self.open = False
        self.received = []
        self.seen = 0

    def collect(self):
        messages = self.stream.messages
        while self.seen < len(messages):
            self.received.append(sequence_of(messages[self.seen][1]))
            self.seen += 1

    def send(self, text):
        self.run.h2.send(self.stream_id, self.stream.ws.send(TextMessage(data=text)))

    @property
    def closed(self):
        return self.stream is not None and self.stream.close is not None


class HTTP2Run:
    def __init__(self, port, cafile, count, deflate):
        self.sock = tls_socket(port, cafile, "h2")
        self.h2 = H2Socket(self.sock, client_side=True)
        self.settings = None
        self.pump(lambda: self.settings is not None, 30)
        key = int(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
        if self.settings.get(key) != 1:
            raise RuntimeError("SETTINGS_ENABLE_CONNECT_PROTOCOL not sent: %r" % self.settings)
        self.sockets = {}
        self.deflate = deflate
        for _ in range(count):
            stream_id = self.h2.conn.get_next_available_stream_id()
            headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                       (":path", "/measure"), (":authority", "localhost"), ("sec-websocket-version", "13")]
            if deflate:
                headers.append(("sec-websocket-extensions", "permessage-deflate; " + PerMessageDeflate().offer()))
            self.h2.conn.send_headers(stream_id, headers)
            self.sockets[stream_id] = HTTP2WebSocket(self, stream_id)
        self.h2.flush()
        self.pump(lambda: all(s.open for s in self.sockets.values()), 60)

    def pump(self, until, timeout):
        deadline = time.time() + timeout
        while not until():
            if time.time() > deadline:
                raise RuntimeError("timed out")
            events = self.h2.events(1)
            if events is None:
                raise RuntimeError("the server closed the connection")
            touched = set()
            for event in events:
                if isinstance(event, h2.events.RemoteSettingsChanged):
                    self.settings = {int(c): v.new_value for c, v in event.changed_settings.items()}
                    continue
                socket_ = self.sockets.get(getattr(event, "stream_id", None)) if hasattr(self, "sockets") else None
                if socket_ is None:
                    continue
                if isinstance(event, h2.events.ResponseReceived):
                    fields = headers_dict(event.headers)
                    if fields[":status"][0] != "200":
                        raise RuntimeError("extended CONNECT answered %s" % fields[":status"][0])
                    answer = fields.get("sec-websocket-extensions", [None])[0]
                    socket_.stream = WebSocketStream(event.stream_id, client_side=True,
                                                     deflate=deflate_from_answer(answer))
                    socket_.open = True
                elif isinstance(event, h2.events.DataReceived):
                    answer = socket_.stream.receive(event.data)
                    if answer:
                        self.h2.send(event.stream_id, answer)
                    touched.add(socket_)
                elif isinstance(event, h2.events.StreamReset):
                    raise RuntimeError("stream %d reset (%r)" % (event.stream_id, event.error_code))
            for socket_ in touched:
                socket_.collect()
                yield_stamp(socket_)

    def websockets(self):
        return list(self.sockets.values())

    def tcp_sockets(self):
        return [self.sock]

    def close(self):
        for s in self.sockets.values():
            if s.stream.ws.state.name == "OPEN":
                self.h2.send(s.stream_id, s.stream.ws.send(CloseConnection(code=1000)))
        try:
            self.pump(lambda: all(s.closed for s in self.sockets.values()), 10)
        except RuntimeError:
            pass
        self.sock.close()


# --- timing ---------------------------------------------------------------------------------

SENT = {}        # sequence -> send time
ROUND_TRIPS = []  # seconds
_stamped = {}


def yield_stamp(websocket):
    """Times the echoes that the last read completed on this WebSocket."""
    now = time.perf_counter()
    done = _stamped.get(id(websocket), 0)
    for sequence in websocket.received[done:]:
        sent = SENT.pop(sequence, None)
        if sent is not None:
            ROUND_TRIPS.append(now - sent)
    _stamped[id(websocket)] = len(websocket.received)


def total_tcp_bytes(sockets):
    up = down = 0
    for sock in sockets:
        acked, received = tcp_bytes(sock)
        up += acked
        down += received
    return up, down


def measure(http, args, certificates):
    cafile = os.path.join(certificates, "ca.pem")
    server = ServerProcess(args.server, certificates, [] if args.deflate else ["--no-deflate"])
    try:
        make = HTTP1Run if http == "1.1" else HTTP2Run
        # 1. Warm-up.
        warm = make(server.port, cafile, 1, args.deflate)
        for sequence in range(10):
            SENT[-1 - sequence] = time.perf_counter()
            warm.websockets()[0].send(message(-1 - sequence, args.size))
        warm.pump(lambda: len(warm.websockets()[0].received) >= 10, 30)
        warm.close()
        SENT.clear()
        _stamped.clear()  # ids of the warm-up's objects may be reused
        del ROUND_TRIPS[:]
        time.sleep(0.5)
        # 2. Open.
        memory_before = server.memory()
        started = time.perf_counter()
        run = make(server.port, cafile, args.sockets, args.deflate)
        open_seconds = time.perf_counter() - started
        time.sleep(0.5)
        memory_open = server.memory()
        open_up, open_down = total_tcp_bytes(run.tcp_sockets())
        # 3. Rounds.
        websockets = run.websockets()
        cpu_before = server.cpu_seconds()
        sequence = 0
        started = time.perf_counter()
        for round_index in range(args.rounds):
            for index, websocket in enumerate(websockets):
                SENT[sequence] = time.perf_counter()
                websocket.send(message(sequence, args.size))
                sequence += 1
            target = round_index + 1
            run.pump(lambda: all(len(w.received) >= target for w in websockets), 60)
        rounds_seconds = time.perf_counter() - started
        cpu_rounds = server.cpu_seconds() - cpu_before
        time.sleep(0.3)  # let the last ACKs arrive
        up, down = total_tcp_bytes(run.tcp_sockets())
        memory_after = server.memory()
        run.close()
        messages = args.sockets * args.rounds
        trips = sorted(ROUND_TRIPS)
        return {
            "http": http, "sockets": args.sockets, "rounds": args.rounds, "size": args.size,
            "deflate": args.deflate, "tcp_connections": len(run.tcp_sockets()),
            "open_seconds": round(open_seconds, 3),
            "open_bytes_per_websocket": round((open_up + open_down) / args.sockets),
            "open_bytes_up": open_up, "open_bytes_down": open_down,
            "bytes_per_message_up": round((up - open_up) / messages, 1),
            "bytes_per_message_down": round((down - open_down) / messages, 1),
            "latency_ms_p50": round(1000 * statistics.median(trips), 2),
            "latency_ms_p99": round(1000 * trips[int(len(trips) * 0.99) - 1], 2),
            "timed_messages": len(trips),
            "messages_per_second": round(messages / rounds_seconds),
            "server_cpu_us_per_message": round(1e6 * cpu_rounds / messages, 1),
            "server_memory_per_websocket_open": round((memory_open - memory_before) / args.sockets),
            "server_memory_per_websocket_after": round((memory_after - memory_before) / args.sockets),
            "server_memory_before": memory_before,
        }
    finally:
        server.stop()


def markdown(result):
    return ("| %s | %s | %d | %d | %s | %.1f (%.1f + %.1f) | %s / %s | %s | %s | %s / %s |" % (
        "HTTP/2 (RFC 8441)" if result["http"] == "2" else "HTTP/1.1",
        "on" if result["deflate"] else "off", result["sockets"], result["tcp_connections"],
        "{:,}".format(result["open_bytes_per_websocket"]),
        result["bytes_per_message_up"] + result["bytes_per_message_down"],
        result["bytes_per_message_up"], result["bytes_per_message_down"],
        result["latency_ms_p50"], result["latency_ms_p99"], "{:,}".format(result["messages_per_second"]),
        result["server_cpu_us_per_message"],
        "{:,}".format(result["server_memory_per_websocket_open"]),
        "{:,}".format(result["server_memory_per_websocket_after"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="the wirecodec-echo-server executable (a release build)")
    ap.add_argument("--sockets", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--size", type=int, default=100, help="bytes of each text message")
    ap.add_argument("--deflate", action="store_true", help="offer permessage-deflate (the server accepts it)")
    ap.add_argument("--http", choices=["1.1", "2", "both"], default="both")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    with test_certificates() as certificates:
        for http in (["1.1", "2"] if args.http == "both" else [args.http]):
            result = measure(http, args, certificates)
            print(markdown(result) if args.markdown else json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
