#!/usr/bin/env python3
"""Independent oracle for the HTTP fixtures: parses a capture with h11 (not with WireCodec)
and prints the JSON lines that `wirecodec http decode` must print for it.

    python3 oracle.py --request FILE
    python3 oracle.py --response [--head] FILE

The output follows the CLI contract in README.md (section "cli") byte for byte: compact JSON,
keys in contract order, every string the message's octets decoded as ISO-8859-1, non-ASCII and
control characters escaped as lower-case \\u00xx (the escaping rules of WireCodecCLI's
JSONValue).

h11 is used only as a reader of well-formed traffic. Where h11 is more lenient than our strict
parser the fixtures must not rely on it (Spec/http1.md, "Fixtures"): every capture here is
valid HTTP/1.1, so the two must agree on every line.
"""
import base64
import sys

import h11


def json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or c >= 0x7F:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json_string(v)
    if isinstance(v, list):
        return "[" + ",".join(json_value(x) for x in v) + "]"
    if isinstance(v, tuple):  # an ordered object: a tuple of (key, value) pairs
        return "{" + ",".join(json_string(k) + ":" + json_value(x) for k, x in v) + "}"
    raise TypeError(v)


def latin1(b: bytes) -> str:
    return b.decode("latin-1")


def raw_fields(headers) -> list:
    # h11's Headers.raw_items() yields (raw name, value) with the name's case as on the wire.
    return [[latin1(n), latin1(v)] for n, v in headers.raw_items()]


def message(head, body: bytes, trailers) -> str:
    version = "HTTP/" + latin1(head.http_version)
    if isinstance(head, h11.Request):
        obj = (
            ("type", "request"),
            ("method", latin1(head.method)),
            ("target", latin1(head.target)),
            ("version", version),
            ("headers", raw_fields(head.headers)),
            ("body_b64", base64.b64encode(body).decode("ascii")),
            ("trailers", trailers),
        )
    else:
        obj = (
            ("type", "response"),
            ("status", head.status_code),
            ("reason", latin1(head.reason)),
            ("version", version),
            ("headers", raw_fields(head.headers)),
            ("body_b64", base64.b64encode(body).decode("ascii")),
            ("trailers", trailers),
        )
    return json_value(obj)


def decode_requests(data: bytes) -> list:
    """Acts as a server: reads each request, answers it with an empty 200 so h11 moves on."""
    lines = []
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    head, body = None, b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA or event is h11.PAUSED:
            if head is not None:
                lines.append(json_value((("type", "incomplete"),)))
            break
        if isinstance(event, h11.ConnectionClosed):
            break
        if isinstance(event, h11.Request):
            head, body = event, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            lines.append(message(head, body, raw_fields(event.headers)))
            head = None
            if conn.our_state is h11.SEND_RESPONSE:
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
    return lines


def decode_responses(data: bytes, head_requests: bool) -> list:
    """Acts as a client: sends one (fake) GET or HEAD per response so h11 frames each one."""
    lines = []
    conn = h11.Connection(h11.CLIENT)
    method = b"HEAD" if head_requests else b"GET"
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "fixture")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    head, body = None, b""
    eof_sent = False
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if head is not None and not eof_sent:
                conn.receive_data(b"")
                eof_sent = True
                continue
            if head is not None:
                lines.append(json_value((("type", "incomplete"),)))
            break
        if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
            break
        if isinstance(event, h11.InformationalResponse):
            lines.append(message(event, b"", []))
        elif isinstance(event, h11.Response):
            head, body = event, b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            lines.append(message(head, body, raw_fields(event.headers)))
            head = None
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
                conn.send(h11.Request(method=method, target="/", headers=[("Host", "fixture")]))
                conn.send(h11.EndOfMessage())
    return lines


def main(argv: list) -> int:
    kind = "--request" if "--request" in argv else "--response" if "--response" in argv else None
    files = [a for a in argv if not a.startswith("--")]
    if kind is None or len(files) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    data = open(files[0], "rb").read()
    if kind == "--request":
        lines = decode_requests(data)
    else:
        lines = decode_responses(data, "--head" in argv)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
