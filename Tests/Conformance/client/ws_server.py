#!/usr/bin/env python3
"""Python `websockets` (17.4, pinned in Tests/Scripts/setup-tests.sh) as the server our
WebSocket client (`wirecodec ws connect`, `WebSocketClient`) talks to.

    ws_server.py [--host 127.0.0.1] [--port 0] [--cert PEM --key PEM] [--deflate] [--subprotocol P]...

Prints `{"listening": PORT}` first, then one JSON line per connection when it opens
(`{"event": "open", "path", "headers", "extensions", "subprotocol"}`) and when it ends
(`{"event": "closed", "code", "reason"}`). Echoes every message (text as text, binary as
binary). A text message starting with `cmd:` is echoed and then acted on:

    cmd:binary   send the binary message 00 01 02 ff
    cmd:ping     send a ping with payload "pi"
    cmd:close    close with 4001 "bye"

With --cert/--key the port speaks TLS only (wss://). Runs until killed.
"""
import argparse
import asyncio
import json
import ssl
import sys

from websockets.asyncio.server import serve


def say(**line):
    print(json.dumps(line), flush=True)


async def handler(ws):
    request = ws.request
    say(event="open", path=request.path, headers=dict((k.lower(), v) for k, v in request.headers.raw_items()),
        extensions=ws.response.headers.get("Sec-WebSocket-Extensions"), subprotocol=ws.subprotocol)
    try:
        async for message in ws:
            await ws.send(message)
            if isinstance(message, str) and message.startswith("cmd:"):
                if message == "cmd:binary":
                    await ws.send(bytes([0, 1, 2, 255]))
                elif message == "cmd:ping":
                    await ws.ping(b"pi")
                elif message == "cmd:close":
                    await ws.close(4001, "bye")
    finally:
        say(event="closed", code=ws.close_code, reason=ws.close_reason)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--subprotocol", action="append", default=[])
    args = parser.parse_args()
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    options = dict(compression="deflate" if args.deflate else None, ping_interval=None)
    if args.subprotocol:
        options["subprotocols"] = args.subprotocol
    async with serve(handler, args.host, args.port, ssl=context, **options) as server:
        port = server.sockets[0].getsockname()[1]
        say(listening=port)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
