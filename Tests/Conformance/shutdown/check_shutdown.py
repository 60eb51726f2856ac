#!/usr/bin/env python3
"""Graceful shutdown of an example server, seen from its clients.

    check_shutdown.py feed http://127.0.0.1:PORT/ --pid PID [--cafile CA.pem]
    check_shutdown.py echo http://127.0.0.1:PORT/ --pid PID [--cafile CA.pem]

Opens connections of every kind the server has, checks they are live, sends SIGTERM to PID,
then checks how each one ends. Each check is one JSON line {"check", "ok", "detail"}.

feed (wirecodec-feed-server):
- websocket: two /ws clients (Python websockets) receive an item, then get a close frame with
  1001 (going away) and a clean closing handshake.
- sse: two /events streams receive an item, then end cleanly: the chunked body's last chunk
  (0 CRLF CRLF) after whole events only, then the connection closes.
- long-poll: two held /long-poll requests are answered at once (204, Connection: close), not
  cut, then the connection closes.
- idle: a keep-alive connection between requests is closed with nothing sent.
- refused: a new connection after the signal is refused (the listener is closed).

echo (wirecodec-echo-server):
- in-flight: a response streaming 10 chunks 300 ms apart, begun before the signal, arrives
  whole (every chunk and the last chunk), then the connection closes.
- websocket: a client sending messages of up to 256 KiB without pause gets back only whole
  echoes, in order, then a close frame with 1001 and a clean closing handshake.

Exit 0 only if every check passed.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

RESULTS = []


def record(check, ok, detail):
    RESULTS.append({"check": check, "ok": bool(ok), "detail": detail})


class Target:
    def __init__(self, url, cafile):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.tls = parts.scheme == "https"
        self.context = ssl.create_default_context(cafile=cafile) if self.tls else None
        self.ws_base = ("wss" if self.tls else "ws") + "://%s:%d" % (self.host, self.port)

    async def open(self):
        return await asyncio.open_connection(self.host, self.port, ssl=self.context,
                                             server_hostname=self.host if self.tls else None)

    async def request(self, method, path, body=b""):
        reader, writer = await self.open()
        head = "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (method, path, len(body))
        writer.write(head.encode() + body)
        await writer.drain()
        data = await reader.read(-1)
        writer.close()
        return data


async def read_head(reader):
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    return head


class ChunkedReader:
    """Reads a chunked body chunk by chunk; `raw` keeps the exact bytes for the final check."""

    def __init__(self, reader):
        self.reader = reader
        self.chunks = []
        self.ended = False

    async def next_chunk(self):
        line = await self.reader.readuntil(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            await self.reader.readexactly(2)
            self.ended = True
            return None
        data = await self.reader.readexactly(size)
        await self.reader.readexactly(2)
        self.chunks.append(data)
        return data


async def until_eof(reader, seconds):
    try:
        return await asyncio.wait_for(reader.read(-1), seconds)
    except (ConnectionResetError, ssl.SSLError):
        return b""


# MARK: feed

async def feed(target, pid):
    status = await target.request("GET", "/poll")
    cursor = int([l for l in status.decode("latin-1").split("\r\n") if l.lower().startswith("feed-cursor:")][0].split(":")[1])
    context = {"ssl": target.context} if target.tls else {}
    sockets = [await connect("%s/ws?since=%d" % (target.ws_base, cursor), **context) for _ in range(2)]
    streams = []
    for _ in range(2):
        reader, writer = await target.open()
        writer.write(b"GET /events?since=%d HTTP/1.1\r\nHost: x\r\n\r\n" % cursor)
        await writer.drain()
        head = await read_head(reader)
        streams.append((reader, writer, head, ChunkedReader(reader)))
    idle_reader, idle_writer = await target.open()
    idle_writer.write(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
    await idle_writer.drain()
    await read_head(idle_reader)
    stats = await idle_reader.read(4096)

    # Everything is live: one item reaches every WebSocket and event stream.
    published = json.loads((await target.request("POST", "/publish", b"before shutdown")).split(b"\r\n\r\n", 1)[1])["id"]
    for ws in sockets:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["data"] == "before shutdown", message
    for _, _, _, chunked in streams:
        text = b""
        while b"before shutdown" not in text:
            text += await asyncio.wait_for(chunked.next_chunk(), 5)

    # Two long polls held (nothing after the newest item).
    polls = []
    for _ in range(2):
        reader, writer = await target.open()
        writer.write(b"GET /long-poll?since=%d&timeout=25000 HTTP/1.1\r\nHost: x\r\n\r\n" % published)
        await writer.drain()
        polls.append((reader, writer))
    await asyncio.sleep(0.3)

    signalled = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    await asyncio.sleep(0.3)
    try:
        r, w = await asyncio.wait_for(target.open(), 2)
        w.close()
        record("refused", False, "a connection was accepted after the signal")
    except (OSError, asyncio.TimeoutError) as e:
        record("refused", True, "new connection refused: %s" % type(e).__name__)

    for i, ws in enumerate(sockets):
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed:
            pass
        rcvd, sent = ws.protocol.close_rcvd, ws.protocol.close_sent
        ok = rcvd is not None and rcvd.code == 1001 and sent is not None and ws.protocol.close_rcvd_then_sent
        record("websocket-%d" % i, ok, {"close_received": rcvd.code if rcvd else None, "after_ms": round((time.monotonic() - signalled) * 1000),
                                        "clean": bool(rcvd and sent)})
        await ws.close()

    for i, (reader, writer, head, chunked) in enumerate(streams):
        detail = {"head": head.split("\r\n")[0]}
        try:
            tail = b""
            while True:
                chunk = await asyncio.wait_for(chunked.next_chunk(), 10)
                if chunk is None:
                    break
                tail += chunk
            rest = await until_eof(reader, 5)
            whole = b"".join(chunked.chunks)
            detail.update({"last_chunk": chunked.ended, "after_last_chunk": rest.decode("latin-1"),
                           "ends_with_whole_event": whole.endswith(b"\n\n"),
                           "after_ms": round((time.monotonic() - signalled) * 1000)})
            ok = chunked.ended and rest == b"" and whole.endswith(b"\n\n")
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
            ok = False
            detail["error"] = repr(e)
        writer.close()
        record("sse-%d" % i, ok, detail)

    for i, (reader, writer) in enumerate(polls):
        try:
            head = await asyncio.wait_for(read_head(reader), 10)
            rest = await until_eof(reader, 5)
            elapsed = time.monotonic() - signalled
            ok = head.startswith("HTTP/1.1 204 ") and "\r\nConnection: close" in head and rest == b"" and elapsed < 3
            record("long-poll-%d" % i, ok, {"head": head.strip().split("\r\n"), "after_ms": round(elapsed * 1000)})
        except (asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            record("long-poll-%d" % i, False, {"error": repr(e)})
        writer.close()

    rest = await until_eof(idle_reader, 5)
    record("idle", rest == b"", {"sent": rest.decode("latin-1"), "after_ms": round((time.monotonic() - signalled) * 1000)})
    idle_writer.close()


# MARK: echo

async def echo(target, pid):
    reader, writer = await target.open()
    writer.write(b"GET /chunked?n=10&delay-ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    head = await read_head(reader)
    chunked = ChunkedReader(reader)
    first = await chunked.next_chunk()

    context = {"ssl": target.context} if target.tls else {}
    ws = await connect(target.ws_base + "/shutdown", max_size=None, **context)
    sent = []
    received = []
    stop = asyncio.Event()

    async def sender():
        n = 0
        try:
            while not stop.is_set():
                size = [10, 1000, 65536, 262144][n % 4]
                message = (("%08d" % n) * (size // 8 + 1))[:size]
                await ws.send(message)
                sent.append(message)
                n += 1
                await asyncio.sleep(0.01)
        except ConnectionClosed:
            pass

    async def receiver():
        try:
            while True:
                received.append(await ws.recv())
        except ConnectionClosed:
            pass

    tasks = [asyncio.ensure_future(sender()), asyncio.ensure_future(receiver())]
    await asyncio.sleep(0.5)
    signalled = time.monotonic()
    os.kill(pid, signal.SIGTERM)

    # The response in flight arrives whole.
    try:
        while await asyncio.wait_for(chunked.next_chunk(), 10) is not None:
            pass
        rest = await until_eof(reader, 5)
        body = b"".join(chunked.chunks)
        expected = b"".join(b"chunk %d\n" % i for i in range(10))
        ok = body == expected and chunked.ended and rest == b""
        record("in-flight", ok, {"head": head.split("\r\n")[0], "chunks": len(chunked.chunks), "last_chunk": chunked.ended,
                                 "after_ms": round((time.monotonic() - signalled) * 1000)})
    except (asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
        record("in-flight", False, {"error": repr(e), "chunks": len(chunked.chunks)})
    writer.close()

    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    stop.set()
    rcvd, closing = ws.protocol.close_rcvd, ws.protocol.close_sent
    whole = len(received) <= len(sent) and all(a == b for a, b in zip(received, sent))
    record("websocket", rcvd is not None and rcvd.code == 1001 and closing is not None and whole,
           {"close_received": rcvd.code if rcvd else None, "echoes": len(received), "sent": len(sent),
            "echoes_whole_and_in_order": whole, "after_ms": round((time.monotonic() - signalled) * 1000)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["feed", "echo"])
    ap.add_argument("url")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--cafile")
    args = ap.parse_args()
    if not args.url.startswith(("http://127.", "https://127.", "https://localhost:")):
        raise SystemExit("loopback only")
    target = Target(args.url, args.cafile)
    run = feed if args.kind == "feed" else echo
    asyncio.run(asyncio.wait_for(run(target, args.pid), 60))
    for result in RESULTS:
        print(json.dumps(result))
    return 0 if RESULTS and all(r["ok"] for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
