#!/usr/bin/env python3
"""An RFC 8441 WebSocket echo server (Python h2 + wsproto) for WireCodec's client:

    h2_ws_server.py --cert server.pem --key server.key [--deflate] [--no-connect-protocol]
    h2_ws_server.py --plaintext [--deflate] [--no-connect-protocol]     (h2c, prior knowledge)
    h2_ws_server.py ... --bad-frame

With --bad-frame the server sends, right after its 200 and in one DATA frame, a text message
"Hello", a text frame with RSV2 set (a protocol error without an extension that defines it) and
a ping (Autobahn 3.2 over HTTP/2), then echoes nothing: it logs each message it receives
(`{"event": "message", ...}`) and the close, so a test can check that the client answered the
message before closing with 1002.

TLS on a free loopback port with ALPN `h2` and `http/1.1`. Over HTTP/2 its SETTINGS carry
SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (unless --no-connect-protocol); an extended CONNECT with
`:protocol websocket` and `sec-websocket-version: 13` is answered 200 (with a permessage-deflate
answer from wsproto when --deflate and offered), then every message is echoed; a close is
answered and the stream ended (RFC 8441 §5). Over HTTP/1.1 wsproto runs the RFC 6455 upgrade
and echoes the same way, so a client that falls back can be checked too.

Prints `{"listening": PORT}` first, then one JSON line per request and per closed WebSocket
(the request's fields as received, the protocol, the close code and reason, whether the
client ended its stream), so a test can check what the client sent.
"""
import argparse
import socket
import ssl
import sys
import threading
import time

import h2.events
import h2.settings
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection,
                            Request, TextMessage)
from wsproto.extensions import PerMessageDeflate

from h2ws import H2Socket, WebSocketStream, emit, headers_dict

lock = threading.Lock()


def log(record):
    with lock:
        emit(record)


def serve_h2(sock, args, peer):
    settings = {h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1} if not args.no_connect_protocol else None
    h2s = H2Socket(sock, client_side=False, settings=settings)
    streams = {}
    while True:
        events = h2s.events(30)
        if events is None:
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                fields = headers_dict(event.headers)
                log({"event": "request", "alpn": "h2", "peer": peer, "stream": event.stream_id, "headers": fields})
                method = fields.get(":method", [""])[0]
                protocol = fields.get(":protocol", [None])[0]
                if method != "CONNECT" or protocol != "websocket":
                    h2s.conn.send_headers(event.stream_id, [(":status", "404")], end_stream=True)
                    h2s.flush()
                    continue
                if fields.get("sec-websocket-version") != ["13"]:
                    h2s.conn.send_headers(event.stream_id, [(":status", "400"), ("sec-websocket-version", "13")],
                                          end_stream=True)
                    h2s.flush()
                    continue
                answer_fields = [(":status", "200")]
                deflate = None
                offer = ",".join(fields.get("sec-websocket-extensions", []))
                if args.deflate and "permessage-deflate" in offer:
                    deflate = PerMessageDeflate()
                    first = [o.strip() for o in offer.split(",") if o.strip().startswith("permessage-deflate")][0]
                    accepted = deflate.accept(first)
                    if accepted is None or accepted is False:
                        deflate = None
                    else:
                        answer = "permessage-deflate" + ("; " + accepted if accepted else "")
                        answer_fields.append(("sec-websocket-extensions", answer))
                offered = [p.strip() for v in fields.get("sec-websocket-protocol", []) for p in v.split(",")]
                if args.subprotocol and args.subprotocol in offered:
                    answer_fields.append(("sec-websocket-protocol", args.subprotocol))
                h2s.conn.send_headers(event.stream_id, answer_fields)
                h2s.flush()
                streams[event.stream_id] = WebSocketStream(event.stream_id, client_side=False, deflate=deflate)
                if args.bad_frame:
                    h2s.send(event.stream_id, b"\x81\x05Hello" + b"\xa1\x00" + b"\x89\x00")
            elif isinstance(event, h2.events.DataReceived):
                stream = streams.get(event.stream_id)
                if stream is None or stream.reset is not None:
                    continue
                if stream.close is not None:
                    continue  # our close answer and END_STREAM are out; nothing more is read
                out = stream.receive(event.data)
                while stream.messages:
                    kind, data = stream.messages.pop(0)
                    if args.bad_frame:
                        log({"event": "message", "stream": event.stream_id, "kind": kind,
                             "text": data if kind == "text" else None})
                        continue
                    out += stream.ws.send(TextMessage(data=data) if kind == "text" else BytesMessage(data=data))
                closed = stream.close is not None
                if closed and args.bad_frame:
                    # Logged before the answer goes out: the client's test reads the log once
                    # its closing handshake is over.
                    log({"event": "closed", "alpn": "h2", "stream": event.stream_id, "close": stream.close,
                         "client_end_stream_first": stream.peer_ended})
                h2s.send(event.stream_id, out, end_stream=closed)
                if closed and not args.bad_frame:
                    log({"event": "closed", "alpn": "h2", "stream": event.stream_id, "close": stream.close,
                         "client_end_stream_first": stream.peer_ended})
            elif isinstance(event, h2.events.StreamEnded):
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream.peer_ended = True
                    if stream.close is None:
                        log({"event": "ended-without-close", "stream": event.stream_id})
                        stream.close = {"code": 1006, "reason": ""}
                        h2s.end(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                log({"event": "reset", "stream": event.stream_id, "code": int(event.error_code)})
                if event.stream_id in streams:
                    streams[event.stream_id].reset = int(event.error_code)
                h2s.pending.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                return


def serve_http1(sock, args, peer):
    ws = WSConnection(ConnectionType.SERVER)
    sock.settimeout(30)
    partial = None
    while True:
        try:
            data = sock.recv(65536)
        except (socket.timeout, ssl.SSLError, OSError):
            return
        ws.receive_data(data or None)
        out = b""
        for event in ws.events():
            if isinstance(event, Request):
                log({"event": "request", "alpn": "http/1.1", "peer": peer, "path": event.target,
                     "extensions": event.extensions, "subprotocols": event.subprotocols})
                extensions = [PerMessageDeflate()] if args.deflate else []
                out += ws.send(AcceptConnection(extensions=extensions))
            elif isinstance(event, (TextMessage, BytesMessage)):
                kind = TextMessage if isinstance(event, TextMessage) else BytesMessage
                partial = event.data if partial is None else partial + event.data
                if event.message_finished:
                    out += ws.send(kind(data=partial))
                    partial = None
            elif isinstance(event, Ping):
                out += ws.send(event.response())
            elif isinstance(event, CloseConnection):
                log({"event": "closed", "alpn": "http/1.1", "close": {"code": event.code, "reason": event.reason}})
                try:
                    out += ws.send(event.response())
                except Exception:
                    pass
                sock.sendall(out)
                return
        if out:
            sock.sendall(out)
        if not data:
            return


class PlainSocket:
    """A plain TCP socket with the one method of an SSL socket that H2Socket uses."""

    def __init__(self, sock):
        self.sock = sock

    def pending(self):
        return 0

    def __getattr__(self, name):
        return getattr(self.sock, name)


def handle(raw, context, args, peer):
    try:
        if context is None:
            raw.setblocking(True)
            serve_h2(PlainSocket(raw), args, peer)
            return
        sock = context.wrap_socket(raw, server_side=True)
        sock.setblocking(True)
        if sock.selected_alpn_protocol() == "h2":
            serve_h2(sock, args, peer)
        else:
            serve_http1(sock, args, peer)
    except Exception as error:  # a test peer reports and goes on serving
        log({"event": "error", "peer": peer, "error": repr(error)})
    finally:
        try:
            raw.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--plaintext", action="store_true", help="HTTP/2 without TLS, by prior knowledge")
    ap.add_argument("--deflate", action="store_true")
    ap.add_argument("--no-connect-protocol", action="store_true")
    ap.add_argument("--subprotocol")
    ap.add_argument("--bad-frame", action="store_true",
                    help="send a message, a frame with RSV2 set and a ping; log what comes back, echo nothing")
    ap.add_argument("--seconds", type=float, default=300, help="stop after this long")
    args = ap.parse_args()
    context = None
    if not args.plaintext:
        if not args.cert or not args.key:
            ap.error("--cert and --key, or --plaintext")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        context.set_alpn_protocols(["h2", "http/1.1"])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(1)
    log({"listening": listener.getsockname()[1]})
    stop = time.time() + args.seconds
    while time.time() < stop:
        try:
            raw, address = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(raw, context, args, "%s:%d" % address), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
