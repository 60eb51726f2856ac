#!/usr/bin/env python3
"""Python `websockets` (17.4, pinned in Tests/Scripts/setup-tests.sh) as the client of an echo server.

    websockets_client.py ws://127.0.0.1:PORT/path [--deflate none|default|PARAMS] [--close-code N]
    websockets_client.py wss://localhost:PORT/path --cafile CA.pem [...]

Sends text (ASCII and not), binary, empty and 1 MiB messages, a message fragmented by the
client (with a ping between fragments), a ping of its own, and checks that every echo is the
same message of the same type; then closes with 4000 and checks the closing handshake.
--deflate: `none` offers no extension; `default` makes websockets' usual offer
(client_max_window_bits); PARAMS like `server_max_window_bits=10,client_no_context_takeover`
offers exactly those. --close-code: the code of the client's close (default 4000; the
server must echo it). wss:// URLs use TLS with an `ssl` context that trusts only --cafile
and checks the host name. Prints one JSON object (what was negotiated, what passed) and
exits 0 only if everything matched.
"""
import argparse
import asyncio
import json
import os
import random
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


def factory(spec):
    if spec == "none":
        return None
    if spec == "default":
        return "deflate"
    kwargs = {}
    for item in spec.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            kwargs[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            kwargs[name] = int(value) if value else True
        else:
            raise SystemExit("unknown permessage-deflate parameter %r" % name)
    return [ClientPerMessageDeflateFactory(**kwargs)]


async def run(url, spec, close_code=4000, cafile=None):
    rng = random.Random(6455)
    messages = [
        "", "hello", "ü€𝄞 " * 300, "x" * 70000,
        b"", b"\x00\xff" * 100, bytes(rng.getrandbits(8) for _ in range(65536)), os.urandom(1 << 20),
        ("WireCodec " * 120000)[: 1 << 20],
    ]
    result = {"url": url, "offer": spec, "extensions": None, "echoes": 0, "fragmented": False,
              "ping": False, "close": None, "tls": None, "ok": False}
    compression = factory(spec)
    kwargs = {"max_size": None}
    if compression is None:
        kwargs["compression"] = None
    elif compression == "deflate":
        kwargs["compression"] = "deflate"
    else:
        kwargs["compression"] = None
        kwargs["extensions"] = compression
    if url.startswith("wss://"):
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        kwargs["ssl"] = context
    async with connect(url, **kwargs) as ws:
        result["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        tls = ws.transport.get_extra_info("ssl_object")
        if tls is not None:
            result["tls"] = {"version": tls.version(), "alpn": tls.selected_alpn_protocol(), "cipher": tls.cipher()[0]}
        for message in messages:
            await ws.send(message)
            echo = await ws.recv()
            if type(echo) is not type(message) or echo != message:
                result["mismatch"] = "message %d (%s, %d)" % (result["echoes"], type(message).__name__, len(message))
                return result
            result["echoes"] += 1

        async def parts():
            yield "frag"
            await ws.ping(b"between")
            yield "mented "
            yield "ü"
        await ws.send(parts())
        result["fragmented"] = await ws.recv() == "fragmented ü"

        pong = await ws.ping(b"wirecodec")
        await asyncio.wait_for(pong, 10)
        result["ping"] = True
        await ws.close(close_code, "client done")
        sent, received = ws.protocol.close_sent, ws.protocol.close_rcvd
        result["close"] = {"code": ws.close_code, "sent": sent.code if sent else None,
                           "received": received.code if received else None}
    result["ok"] = (result["echoes"] == len(messages) and result["fragmented"] and result["ping"]
                    and result["close"]["received"] == close_code)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--deflate", default="default")
    ap.add_argument("--close-code", type=int, default=4000)
    ap.add_argument("--cafile")
    args = ap.parse_args()
    if not (args.url.startswith("ws://127.") or args.url.startswith("wss://127.")
            or args.url.startswith("wss://localhost:")):
        raise SystemExit("loopback only")
    if args.url.startswith("wss://") and not args.cafile:
        raise SystemExit("wss:// needs --cafile (the test CA)")
    result = asyncio.run(asyncio.wait_for(run(args.url, args.deflate, args.close_code, args.cafile), 60))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
