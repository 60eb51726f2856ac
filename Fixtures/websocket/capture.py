#!/usr/bin/env python3
"""Captures WebSocket frames sent by a real peer (Python `websockets`, pinned in
Tests/Scripts/setup-tests.sh) over loopback, for the fixture replay tests.

Two directions, each against a raw socket peer written here so that nothing is parsed on our
side while capturing:

* `client-*`: a `websockets` client talks to a raw listener that answers the opening handshake
  (RFC 6455 §4.2.2) and records every byte the client sends after it (masked frames). Replay
  with `wirecodec ws decode --role server`.
* `server-*`: a raw client performs the handshake against a `websockets` server and records
  every byte the server sends after the 101 response (unmasked frames). Replay with
  `wirecodec ws decode --role client`.

Compression is off (`compression=None`). Each scenario writes `NAME.bin` (the raw frames) and
`NAME.expected.jsonl`: the decode contract's lines built from what the Python side was told to
send, not from our decoder.

Usage: python3 Fixtures/websocket/capture.py [OUTPUT_DIR]   (default: this file's folder)
"""

import asyncio
import base64
import hashlib
import json
import os
import random
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CLOSE_TIMEOUT = 0.3


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def data_line(kind: str, data) -> dict:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return {"type": kind, "data_b64": b64(raw)}


def close_line(code, reason: str) -> dict:
    # Code None makes `websockets` send an empty close frame: no status code on the wire.
    return {"type": "close", "code": code, "reason": reason}


def pseudo_random(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(n))


async def fragments(parts, ws, ping_after=None):
    """Async iterator of message fragments; optionally sends a ping between two of them."""
    for i, part in enumerate(parts):
        yield part
        if ping_after is not None and i == ping_after:
            await ws.ping(b"mid-message")


# Each scenario: (name, actions, expected lines). Actions run on the `websockets` side.
def scenarios():
    text_unicode = "héllo wörld ✓ 😀 κόσμε"
    long_text = "".join(chr(0x20 + (i * 7) % 0x5F) for i in range(70000))
    result = []

    def plain(name, items):
        async def run(ws):
            for kind, value in items:
                if kind in ("text", "binary"):
                    await ws.send(value)
                elif kind == "ping":
                    await ws.ping(value)
                elif kind == "pong":
                    await ws.pong(value)
        expected = [data_line(kind, value) for kind, value in items]
        return (name, run, expected)

    result.append(plain("text-hello", [("text", "Hello"), ("text", text_unicode), ("text", "")]))
    result.append(plain("binary-sizes", [("binary", pseudo_random(n, n)) for n in (0, 1, 125, 126, 65535, 65536)]))
    result.append(plain("text-long", [("text", long_text)]))
    result.append(plain("ping-pong", [("ping", b""), ("ping", b"hello"), ("pong", b"unsolicited"), ("text", "after")]))

    async def fragmented(ws):
        await ws.send(["Hel", "lo", ", ", "wörld"])
        await ws.send([b"\x00\x01", b"", b"\xff" * 300])
    result.append(("fragmented", fragmented, [
        data_line("text", "Hello, wörld"), data_line("binary", b"\x00\x01" + b"\xff" * 300)]))

    async def fragmented_ping(ws):
        await ws.send(fragments(["first ", "second ", "third"], ws, ping_after=0))
    result.append(("fragmented-ping", fragmented_ping, [
        data_line("ping", b"mid-message"), data_line("text", "first second third")]))

    return result


CLOSES = {
    "text-hello": (1000, "bye"),
    "binary-sizes": (1001, "going away"),
    "text-long": (4001, "custom ✓"),
    "ping-pong": (None, ""),
    "fragmented": (1000, ""),
    "fragmented-ping": (3000, "framework code"),
}


async def capture_client_side(name, run, out_dir):
    """A `websockets` client sends; a raw listener records what arrives after the handshake."""
    received = bytearray()
    done = asyncio.Event()

    async def raw_server(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        await writer.drain()
        while chunk := await reader.read(65536):
            received.extend(chunk)
        writer.close()
        done.set()

    server = await asyncio.start_server(raw_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        ws = await connect(f"ws://127.0.0.1:{port}/", compression=None, ping_interval=None,
                           close_timeout=CLOSE_TIMEOUT, max_size=None)
        await run(ws)
        code, reason = CLOSES[name]
        await ws.close(code, reason)
        await asyncio.wait_for(done.wait(), 5)
    return bytes(received)


async def capture_server_side(name, run, out_dir):
    """A `websockets` server sends; a raw client records what arrives after the 101 response."""
    async def handler(ws):
        await run(ws)
        code, reason = CLOSES[name]
        await ws.close(code, reason)

    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None,
                     close_timeout=CLOSE_TIMEOUT, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16))
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        received = bytearray()
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            received.extend(chunk)
        writer.close()
    return bytes(received)


def write_fixture(out_dir, name, data, expected):
    with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(out_dir, name + ".expected.jsonl"), "w", encoding="ascii") as f:
        for line in expected:
            f.write(json.dumps(line, separators=(",", ":"), ensure_ascii=True) + "\n")


async def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    assert websockets.version.version == "17.4", websockets.version.version
    for name, run, expected in scenarios():
        code, reason = CLOSES[name]
        lines = expected + [close_line(code, reason)]
        client_bytes = await capture_client_side(name, run, out_dir)
        write_fixture(out_dir, "client-" + name, client_bytes, lines)
        server_bytes = await capture_server_side(name, run, out_dir)
        write_fixture(out_dir, "server-" + name, server_bytes, lines)
        print(f"{name}: client {len(client_bytes)} bytes, server {len(server_bytes)} bytes")


if __name__ == "__main__":
    asyncio.run(main())
