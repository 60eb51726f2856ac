#!/usr/bin/env python3
"""Re-captures the HTTP/1.1 fixtures: real programs talk to loopback listeners and the raw
bytes on the wire are saved.

    python3 Fixtures/http/capture.py          # needs curl, and pip's h11 and requests

requests/NAME.bin   bytes a real client sent (curl, Python requests, h11), recorded by a
                    listener that answers every request so the client goes on.
responses/NAME.bin  bytes a real server sent (Python's http.server, h11) to a raw socket
                    client, recorded until the server closed.
responses/head-*.bin  answers to HEAD requests (decode them with `--head`).
NAME.expected.jsonl what `wirecodec http decode` must print, produced by oracle.py (h11), not
                    by WireCodec.

Only loopback addresses are used. Date and Server headers change at every capture.
"""
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading

import h11
import requests

import oracle

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 5.0


def write_fixture(kind: str, name: str, data: bytes) -> None:
    folder = os.path.join(HERE, kind)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".bin")
    with open(path, "wb") as f:
        f.write(data)
    if kind == "requests":
        lines = oracle.decode_requests(data)
    else:
        lines = oracle.decode_responses(data, name.startswith("head-"))
    with open(os.path.join(folder, name + ".expected.jsonl"), "w") as f:
        f.write("".join(line + "\n" for line in lines))
    print(f"{kind}/{name}.bin: {len(data)} bytes, {len(lines)} lines")


# MARK: Requests: a recording listener that answers like a server

def record_client(name: str, client) -> None:
    """Runs `client(port)` against a listener that records what it receives and answers each
    request with a small 200 (a 100 Continue first when the client waits for one)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        listener.settimeout(TIMEOUT)
        sock, _ = listener.accept()
        sock.settimeout(TIMEOUT)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                data = sock.recv(65536)
                received.extend(data)
                conn.receive_data(data)
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA or event is h11.PAUSED:
                        break
                    if isinstance(event, h11.ConnectionClosed):
                        return
                    if isinstance(event, h11.Request):
                        method = event.method
                        if conn.they_are_waiting_for_100_continue:
                            sock.sendall(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                    if isinstance(event, h11.EndOfMessage):
                        body = b"ok\n"
                        out = conn.send(h11.Response(status_code=200, headers=[("Content-Length", str(len(body)))]))
                        if method != b"HEAD":
                            out += conn.send(h11.Data(data=body))
                        out += conn.send(h11.EndOfMessage())
                        sock.sendall(out)
                        if conn.our_state is h11.MUST_CLOSE:
                            return
                        conn.start_next_cycle()
                if not data:
                    return
        except (socket.timeout, h11.RemoteProtocolError):
            return
        finally:
            sock.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        client(port)
    finally:
        thread.join()
        listener.close()
    write_fixture("requests", name, bytes(received))


def curl(*args: str):
    def run(port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        argv = ["curl", "-s"]
        for a in args:
            argv += ["-o", "/dev/null", a.replace("BASE", base)] if a.startswith("BASE") else [a]
        subprocess.run(argv, check=True, timeout=TIMEOUT * 2)
    return run


def raw_client(payload: bytes):
    """Sends `payload` at once (pipelined requests) and reads until the server closes."""
    def run(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
    return run


def h11_request_bytes(request: h11.Request, *body_events) -> bytes:
    conn = h11.Connection(h11.CLIENT)
    out = conn.send(request)
    for event in body_events:
        out += conn.send(event)
    return out


def capture_requests() -> None:
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(bytes(range(256)) * 3)
        binary = f.name
    record_client("curl-get", curl("BASE/hello?name=wire&x=%20y"))
    record_client("curl-post-form", curl("-d", "name=wire&codec=http1", "BASE/form"))
    record_client("curl-chunked-upload", curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + binary, "BASE/upload"))
    record_client("curl-keep-alive", curl("BASE/a", "BASE/b?c=d", "BASE/e"))
    record_client("curl-head", curl("-I", "BASE/index.html"))
    record_client("curl-expect-100", curl("-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
                                          "--data-binary", "@" + binary, "BASE/put-here"))
    record_client("curl-put-json", curl("-X", "PUT", "-H", "Content-Type: application/json",
                                        "-H", "X-Custom-Header:   spaced value  ", "-d", '{"k":"v"}', "BASE/items/1"))
    os.unlink(binary)

    def requests_get(port: int) -> None:
        requests.get(f"http://127.0.0.1:{port}/search", params={"q": "wire codec", "n": "10"},
                     headers={"Accept-Language": "fr-CH, fr;q=0.9"}, timeout=TIMEOUT)

    def requests_post_json(port: int) -> None:
        requests.post(f"http://127.0.0.1:{port}/api", json={"name": "wirecodec", "ok": True}, timeout=TIMEOUT)

    def requests_session(port: int) -> None:
        with requests.Session() as s:
            s.get(f"http://127.0.0.1:{port}/one", timeout=TIMEOUT)
            s.post(f"http://127.0.0.1:{port}/two", data=b"payload", timeout=TIMEOUT)
            s.get(f"http://127.0.0.1:{port}/three", headers={"Connection": "close"}, timeout=TIMEOUT)

    def requests_generator(port: int) -> None:
        def gen():
            yield b"first chunk,"
            yield b""
            yield b"second chunk"
        requests.post(f"http://127.0.0.1:{port}/stream", data=gen(), timeout=TIMEOUT)

    record_client("requests-get", requests_get)
    record_client("requests-post-json", requests_post_json)
    record_client("requests-session", requests_session)
    record_client("requests-chunked-generator", requests_generator)

    get = h11_request_bytes(h11.Request(method="GET", target="/h11", headers=[("Host", "127.0.0.1")]),
                            h11.EndOfMessage())
    record_client("h11-get", raw_client(get))
    trailers = h11_request_bytes(
        h11.Request(method="POST", target="/upload", headers=[("Host", "127.0.0.1"), ("Transfer-Encoding", "chunked"),
                                                               ("Trailer", "X-Checksum")]),
        h11.Data(data=b"hello "), h11.Data(data=b"world"),
        h11.EndOfMessage(headers=[("X-Checksum", "5eb63bbbe0")]))
    record_client("h11-chunked-trailers", raw_client(trailers))
    pipelined = (
        h11_request_bytes(h11.Request(method="GET", target="/p1", headers=[("Host", "127.0.0.1")]), h11.EndOfMessage())
        + h11_request_bytes(h11.Request(method="POST", target="/p2", headers=[("Host", "127.0.0.1"), ("Content-Length", "4")]),
                            h11.Data(data=b"body"), h11.EndOfMessage())
        + h11_request_bytes(h11.Request(method="OPTIONS", target="*", headers=[("Host", "127.0.0.1")]), h11.EndOfMessage())
        + h11_request_bytes(h11.Request(method="DELETE", target="/p4", headers=[("Host", "127.0.0.1"), ("Connection", "close")]),
                            h11.EndOfMessage()))
    record_client("h11-pipelined", raw_client(pipelined))


# MARK: Responses: real servers, a raw client that records until close

def record_server(name: str, port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        received = bytearray()
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received.extend(data)
    write_fixture("responses", name, bytes(received))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/until-close":
            # An HTTP/1.0-style answer: no Content-Length, the body ends at close.
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=iso-8859-1")
            self.end_headers()
            self.wfile.write("streamed until close: caf\u00e9\n".encode("latin-1") * 3)
            self.close_connection = True
            return
        if self.path == "/missing":
            self.send_error(404, "Not Found")
            return
        body = ("<h1>%s</h1>\n" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def h11_server(respond):
    """A listener that answers with h11: `respond(request) -> [events]` per request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            sock.settimeout(TIMEOUT)
            conn = h11.Connection(h11.SERVER)
            try:
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        conn.receive_data(sock.recv(65536))
                        continue
                    if isinstance(event, h11.ConnectionClosed):
                        break
                    if isinstance(event, h11.Request):
                        pending = respond(event)
                    if isinstance(event, h11.EndOfMessage):
                        sock.sendall(b"".join(conn.send(e) for e in pending))
                        if conn.our_state is h11.MUST_CLOSE:
                            break
                        conn.start_next_cycle()
            except (socket.timeout, h11.RemoteProtocolError, ConnectionError):
                pass
            sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener


def h11_respond(request: h11.Request) -> list:
    path = request.target.decode()
    close = [("Connection", "close")] if any(v.lower() == b"close" for n, v in request.headers if n == b"connection") else []
    if path == "/chunked":
        return [h11.Response(status_code=200, headers=[("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked"),
                                                        ("Trailer", "X-Checksum, X-Count")] + close),
                h11.Data(data=b"chunk one\n"), h11.Data(data=b"chunk two, longer than the first\n"),
                h11.EndOfMessage(headers=[("X-Checksum", "d41d8cd9"), ("X-Count", "2")])]
    if path == "/no-content":
        return [h11.Response(status_code=204, headers=close), h11.EndOfMessage()]
    if path == "/not-modified":
        return [h11.Response(status_code=304, headers=[("ETag", '"v1"'), ("Cache-Control", "max-age=60")] + close),
                h11.EndOfMessage()]
    if path == "/informational":
        return [h11.InformationalResponse(status_code=100, headers=[]),
                h11.InformationalResponse(status_code=103, headers=[("Link", "</style.css>; rel=preload; as=style")],
                                          reason=b"Early Hints"),
                h11.Response(status_code=200, headers=[("Content-Length", "5")] + close),
                h11.Data(data=b"final"), h11.EndOfMessage()]
    body = ("resource %s\n" % path).encode()
    if request.method == b"HEAD":
        return [h11.Response(status_code=200, headers=[("Content-Length", str(len(body)))] + close), h11.EndOfMessage()]
    return [h11.Response(status_code=200, headers=[("Content-Length", str(len(body)))] + close),
            h11.Data(data=body), h11.EndOfMessage()]


def get(path: str, method: str = "GET", close: bool = True, extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def capture_responses() -> None:
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    record_server("http-server-get", port, get("/index.html"))
    record_server("http-server-until-close", port, get("/until-close", close=False))
    record_server("http-server-keep-alive", port, get("/first", close=False) + get("/second", close=False) + get("/last"))
    record_server("http-server-404", port, get("/missing"))
    record_server("head-http-server", port, get("/index.html", method="HEAD"))
    server.shutdown()
    server.server_close()

    listener = h11_server(h11_respond)
    port = listener.getsockname()[1]
    record_server("h11-chunked-trailers", port, get("/chunked"))
    record_server("h11-no-content", port, get("/no-content"))
    record_server("h11-not-modified", port, get("/not-modified", extra='If-None-Match: "v1"\r\n'))
    record_server("h11-informational", port, get("/informational", extra="Expect: 100-continue\r\nContent-Length: 0\r\n"))
    record_server("h11-keep-alive", port, get("/a", close=False) + get("/no-content", close=False)
                  + get("/chunked", close=False) + get("/not-modified", close=False) + get("/z"))
    record_server("head-h11", port, get("/x", method="HEAD", close=False) + get("/y", method="HEAD"))
    listener.close()


if __name__ == "__main__":
    which = sys.argv[1:] or ["requests", "responses"]
    if "requests" in which:
        capture_requests()
    if "responses" in which:
        capture_responses()
