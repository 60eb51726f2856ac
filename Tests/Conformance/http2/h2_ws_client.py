#!/usr/bin/env python3
"""An RFC 8441 client (Python h2 + wsproto) against a WireCodec server over TLS:

    h2_ws_client.py https://localhost:PORT/echo --cafile CA.pem [--deflate] [--streams 3]
                    [--origin https://localhost:PORT] [--check-refusals]

1. TLS with ALPN `h2`; the server's SETTINGS must carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
   (RFC 8441 §3), else nothing is attempted.
2. Opens `--streams` WebSockets at once on the one connection with extended CONNECT
   (`:method CONNECT`, `:protocol websocket`, `:scheme https`, `:path`, `:authority`,
   `sec-websocket-version: 13`, a permessage-deflate offer with --deflate), expects 200.
3. Sends every message of the plan (text, binary from 0 bytes to 1 MiB) on every stream,
   interleaved, then checks the echoes in order.
4. Closes each with 4000 + stream index and a reason, expects the echoed close and the
   server's END_STREAM, ends its own half (RFC 8441 §5).
With --attempt-without-setting, a server whose SETTINGS lack the setting still gets one
extended CONNECT (which RFC 8441 §3 says it must treat as malformed); the report says how it
answered (`attempt`: a reset code or a status) and nothing else is tried.

5. With --check-refusals: an extended CONNECT with version 8 must get 400 with
   `sec-websocket-version: 13`, one with `:protocol` `foo` 501, one with an `upgrade` field is
   a malformed request (RST_STREAM PROTOCOL_ERROR by the HTTP/2 layer, or 400).

Prints one JSON line (ok, the settings seen, per stream: status, agreed extension, messages,
close, end of stream) and exits 0 only if everything held.
"""
import argparse
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit

import h2.events
import h2.settings
from wsproto.events import BytesMessage, CloseConnection, TextMessage
from wsproto.extensions import PerMessageDeflate

from h2ws import H2Socket, WebSocketStream, deflate_from_answer, emit, fail, headers_dict, plan


def connect(url, cafile):
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection((parts.hostname, parts.port or 443), timeout=30)
    sock = context.wrap_socket(raw, server_hostname=parts.hostname)
    sock.setblocking(True)
    if sock.selected_alpn_protocol() != "h2":
        fail("ALPN chose %r, not h2" % sock.selected_alpn_protocol())
    return sock, parts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--deflate", action="store_true")
    ap.add_argument("--streams", type=int, default=3)
    ap.add_argument("--origin")
    ap.add_argument("--check-refusals", action="store_true")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--attempt-without-setting", action="store_true")
    args = ap.parse_args()

    sock, parts = connect(args.url, args.cafile)
    authority = parts.netloc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    h2s = H2Socket(sock, client_side=True)
    deadline = time.time() + args.timeout

    # 1. The server's SETTINGS.
    settings = None
    while settings is None and time.time() < deadline:
        events = h2s.events(1)
        if events is None:
            fail("the server closed before its SETTINGS")
        for event in events:
            if isinstance(event, h2.events.RemoteSettingsChanged):
                settings = {int(code): change.new_value for code, change in event.changed_settings.items()}
    if settings is None:
        fail("no SETTINGS from the server")
    enable = settings.get(int(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL), 0)
    if args.attempt_without_setting and enable != 1:
        # Python h2 checks nothing here: the extended CONNECT goes out as RFC 8441 §3 forbids.
        stream_id = h2s.conn.get_next_available_stream_id()
        h2s.conn.send_headers(stream_id, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                                          (":path", path), (":authority", authority), ("sec-websocket-version", "13")])
        h2s.flush()
        attempt = {}
        while not attempt and time.time() < deadline:
            events = h2s.events(1)
            if events is None:
                attempt = {"connection_closed": True}
                break
            for event in events:
                if isinstance(event, h2.events.StreamReset) and event.stream_id == stream_id:
                    attempt = {"reset": int(event.error_code)}
                elif isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    attempt = {"status": int(headers_dict(event.headers)[":status"][0])}
                elif isinstance(event, h2.events.ConnectionTerminated):
                    attempt = {"goaway": int(event.error_code)}
        emit({"ok": True, "alpn": "h2", "enable_connect_protocol": enable, "attempt": attempt})
        return 0
    if enable != 1:
        fail("SETTINGS_ENABLE_CONNECT_PROTOCOL is %r" % enable)

    def request(extra=(), protocol="websocket", version="13"):
        stream_id = h2s.conn.get_next_available_stream_id()
        headers = [(":method", "CONNECT"), (":protocol", protocol), (":scheme", "https"),
                   (":path", path), (":authority", authority)]
        if version is not None:
            headers.append(("sec-websocket-version", version))
        headers += list(extra)
        h2s.conn.send_headers(stream_id, headers)
        h2s.flush()
        return stream_id

    # 2. Open the WebSockets.
    offers = {}
    streams = {}
    for index in range(args.streams):
        extra = []
        if args.origin:
            extra.append(("origin", args.origin))
        extra.append(("sec-websocket-protocol", "echo, other"))
        if args.deflate:
            offer = PerMessageDeflate()
            extra.append(("sec-websocket-extensions", "permessage-deflate; " + offer.offer()))
        stream_id = request(extra)
        offers[stream_id] = index
    responses = {}
    pending_data = {}
    while len(responses) < len(offers) and time.time() < deadline:
        events = h2s.events(1)
        if events is None:
            fail("the server closed during the handshakes")
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                responses[event.stream_id] = headers_dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                pending_data.setdefault(event.stream_id, b"")
                pending_data[event.stream_id] += event.data
            elif isinstance(event, h2.events.StreamReset):
                fail("stream %d reset during the handshake (%r)" % (event.stream_id, event.error_code))
    report_streams = []
    for stream_id, index in offers.items():
        fields = responses.get(stream_id)
        if fields is None:
            fail("no answer on stream %d" % stream_id)
        status = fields.get(":status", ["?"])[0]
        answer = fields.get("sec-websocket-extensions", [None])[0]
        if status != "200":
            fail("stream %d answered %s" % (stream_id, status))
        if answer and not args.deflate:
            fail("deflate answered without an offer: %r" % answer)
        if any(name in fields for name in ("sec-websocket-accept", "upgrade", "connection")):
            fail("HTTP/1.1 handshake fields in a 200: %r" % fields)
        stream = WebSocketStream(stream_id, client_side=True, deflate=deflate_from_answer(answer))
        streams[stream_id] = stream
        report_streams.append({"stream": stream_id, "status": int(status), "extension": answer,
                               "subprotocol": fields.get("sec-websocket-protocol", [None])[0]})
        if stream_id in pending_data:
            h2s.send(stream_id, stream.receive(pending_data.pop(stream_id)))

    # 3. Every message on every stream, interleaved.
    plans = {stream_id: plan(offers[stream_id]) for stream_id in streams}
    for position in range(max(len(p) for p in plans.values())):
        for stream_id, stream in streams.items():
            if position < len(plans[stream_id]):
                kind, data = plans[stream_id][position]
                event = TextMessage(data=data) if kind == "text" else BytesMessage(data=data)
                h2s.send(stream_id, stream.ws.send(event))

    def pump(until):
        while not until() and time.time() < deadline:
            events = h2s.events(1)
            if events is None:
                return False
            for event in events:
                stream = streams.get(getattr(event, "stream_id", None))
                if stream is None:
                    continue
                if isinstance(event, h2.events.DataReceived):
                    answer = stream.receive(event.data)
                    if answer:
                        h2s.send(event.stream_id, answer)
                if isinstance(event, h2.events.StreamEnded) or getattr(event, "stream_ended", None):
                    stream.peer_ended = True
                if isinstance(event, h2.events.StreamReset):
                    stream.reset = int(event.error_code)
        return until()

    if not pump(lambda: all(len(s.messages) >= len(plans[i]) for i, s in streams.items())):
        fail("echoes missing: %r" % {i: len(s.messages) for i, s in streams.items()})
    for stream_id, stream in streams.items():
        if stream.messages != plans[stream_id]:
            for position, (got, want) in enumerate(zip(stream.messages, plans[stream_id])):
                if got != want:
                    fail("stream %d message %d differs (%s %d bytes vs %s %d bytes)" % (
                        stream_id, position, got[0], len(got[1]), want[0], len(want[1])))
            fail("stream %d: wrong echoes" % stream_id)

    # 4. Close each, with its own code and reason.
    for stream_id, stream in streams.items():
        code = 4000 + offers[stream_id]
        h2s.send(stream_id, stream.ws.send(CloseConnection(code=code, reason="bye %d" % offers[stream_id])))
    if not pump(lambda: all(s.close is not None and (s.peer_ended or s.reset is not None) for s in streams.values())):
        fail("closing handshakes incomplete: %r" % {i: (s.close, s.peer_ended, s.reset) for i, s in streams.items()})
    for entry in report_streams:
        stream = streams[entry["stream"]]
        entry["messages"] = len(stream.messages)
        entry["close"] = stream.close
        entry["end_stream"] = stream.peer_ended
        entry["reset"] = stream.reset
        h2s.end(entry["stream"])
        if stream.close["code"] != 4000 + offers[entry["stream"]] or not stream.peer_ended or stream.reset is not None:
            fail("stream %d did not close cleanly: %r" % (entry["stream"], entry))

    # 5. Refusals.
    refusals = []
    if args.check_refusals:
        cases = [("version 8", dict(version="8")), ("protocol foo", dict(protocol="foo")),
                 ("upgrade field", dict(extra=[("upgrade", "websocket")]))]
        for name, kwargs in cases:
            # h2 would refuse (or strip) a connection-specific field itself: let it through.
            h2s.conn.config.validate_outbound_headers = name != "upgrade field"
            h2s.conn.config.normalize_outbound_headers = name != "upgrade field"
            stream_id = request(**kwargs)
            outcome = {"case": name}
            while "status" not in outcome and "reset" not in outcome and time.time() < deadline:
                events = h2s.events(1)
                if events is None:
                    break
                for event in events:
                    if getattr(event, "stream_id", None) != stream_id:
                        continue
                    if isinstance(event, h2.events.ResponseReceived):
                        fields = headers_dict(event.headers)
                        outcome["status"] = int(fields[":status"][0])
                        outcome["sec-websocket-version"] = fields.get("sec-websocket-version", [None])[0]
                    elif isinstance(event, h2.events.StreamReset):
                        outcome["reset"] = int(event.error_code)
            refusals.append(outcome)
        expected = {"version 8": lambda o: o.get("status") == 400 and o.get("sec-websocket-version") == "13",
                    "protocol foo": lambda o: o.get("status") == 501,
                    "upgrade field": lambda o: o.get("reset") == 1 or o.get("status") == 400}
        for outcome in refusals:
            if not expected[outcome["case"]](outcome):
                fail("refusal %r" % outcome)
    h2s.conn.close_connection()
    h2s.flush()
    sock.close()
    emit({"ok": True, "alpn": "h2", "enable_connect_protocol": enable, "streams": report_streams,
          "refusals": refusals})
    return 0


if __name__ == "__main__":
    sys.exit(main())
