"""WebSockets over HTTP/2 (RFC 8441) with peers nobody here wrote: Python `h2` for HTTP/2 and
`wsproto` for the WebSocket frames, glued by blocking sockets. Shared by h2_ws_client.py (an
RFC 8441 client against our server) and h2_ws_server.py (an RFC 8441 server for our client).

Both peers are pinned in Tests/Scripts/setup-tests.sh and live in the project's venv.
"""
import json
import select
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.extensions import PerMessageDeflate

# The message plan: text with non-ASCII characters and binary payloads around the frame
# length encodings (RFC 6455 §5.2) up to 1 MiB, more than the HTTP/2 default window of
# 65,535 bytes, so flow control has to work for it to arrive.
SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]


def payload(size, seed):
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(size)) if size < 4096 else \
        (bytes((seed * 31 + i * 7) & 0xFF for i in range(4096)) * (size // 4096 + 1))[:size]


def plan(stream_index):
    messages = [("text", "héllo from stream %d ✓" % stream_index)]
    messages += [("binary", payload(size, stream_index)) for size in SIZES]
    messages.append(("text", "x" * 70000))
    return messages


def emit(record):
    print(json.dumps(record), flush=True)


class H2Socket:
    """An h2 connection over a blocking TLS socket, with per-stream send queues that honour
    flow control (data waits for WINDOW_UPDATE) and WINDOW_UPDATEs sent as data is read."""

    def __init__(self, sock, client_side, settings=None):
        self.sock = sock
        config = h2.config.H2Configuration(client_side=client_side, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        if settings:
            # In the first SETTINGS frame, where clients look for them (RFC 8441 §3).
            values = dict(self.conn.local_settings.items())
            values.update(settings)
            self.conn.local_settings = h2.settings.Settings(client=client_side, initial_values=values)
        self.conn.initiate_connection()
        self.pending = {}        # stream id -> bytearray waiting for window
        self.end_after = set()   # stream ids to end once their queue is empty
        self.flush()

    def flush(self):
        self._send_queued()
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def _send_queued(self):
        for stream_id in list(self.pending):
            queue = self.pending[stream_id]
            while queue:
                try:
                    window = self.conn.local_flow_control_window(stream_id)
                except h2.exceptions.StreamClosedError:
                    queue.clear()
                    break
                size = min(len(queue), window, self.conn.max_outbound_frame_size)
                if size <= 0:
                    break
                self.conn.send_data(stream_id, bytes(queue[:size]))
                del queue[:size]
            if not queue:
                del self.pending[stream_id]
                if stream_id in self.end_after:
                    self.end_after.discard(stream_id)
                    self.conn.end_stream(stream_id)

    def send(self, stream_id, data, end_stream=False):
        self.pending.setdefault(stream_id, bytearray()).extend(data)
        if end_stream:
            self.end_after.add(stream_id)
        self.flush()

    def end(self, stream_id):
        if stream_id in self.pending:
            self.end_after.add(stream_id)
        else:
            self.conn.end_stream(stream_id)
        self.flush()

    def events(self, timeout):
        """Reads once (waiting up to `timeout` s); returns the h2 events, [] on timeout,
        None at EOF."""
        if not self.sock.pending():
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if not readable:
                return []
        try:
            data = self.sock.recv(65536)
        except ssl.SSLWantReadError:
            return []
        if not data:
            return None
        events = self.conn.receive_data(data)
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.flow_controlled_length:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        self.flush()
        return events


class WebSocketStream:
    """One WebSocket on one stream: wsproto's frames over the stream's DATA, whole messages
    assembled from its partial ones."""

    def __init__(self, stream_id, client_side, deflate):
        self.stream_id = stream_id
        extensions = [deflate] if deflate is not None else []
        self.ws = Connection(ConnectionType.CLIENT if client_side else ConnectionType.SERVER, extensions=extensions)
        self.messages = []
        self.partial = None
        self.close = None
        self.peer_ended = False
        self.reset = None

    def receive(self, data):
        if not data or self.ws.state.name == "CLOSED":
            return b""
        self.ws.receive_data(data)
        out = b""
        for event in self.ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                kind = "text" if isinstance(event, TextMessage) else "binary"
                if self.partial is None:
                    self.partial = [kind, "" if kind == "text" else bytearray()]
                self.partial[1] += event.data
                if event.message_finished:
                    self.messages.append((kind, bytes(self.partial[1]) if kind == "binary" else self.partial[1]))
                    self.partial = None
            elif isinstance(event, Ping):
                out += self.ws.send(event.response())
            elif isinstance(event, CloseConnection):
                self.close = {"code": event.code, "reason": event.reason}
                if self.ws.state.name == "REMOTE_CLOSING":
                    out += self.ws.send(event.response())
        return out


def deflate_from_answer(answer):
    """wsproto's PerMessageDeflate finalized with a server's answer, or None."""
    if not answer:
        return None
    extension = PerMessageDeflate()
    extension.finalize(answer)
    return extension


def headers_dict(headers):
    result = {}
    for name, value in headers:
        name = name.decode() if isinstance(name, bytes) else name
        value = value.decode() if isinstance(value, bytes) else value
        result.setdefault(name, []).append(value)
    return result


def fail(message):
    emit({"ok": False, "error": message})
    sys.exit(1)
