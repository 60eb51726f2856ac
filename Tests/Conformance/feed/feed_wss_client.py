#!/usr/bin/env python3
"""Python `websockets` (17.4) as a WebSocket client of the feed server over TLS.

    feed_wss_client.py https://localhost:PORT/ --cafile CA.pem [--deflate on|off] [--close-code N]

Opens wss://HOST:PORT/ws?since=LAST with an `ssl` context that trusts only --cafile and checks
the host name, publishes items over https (POST /publish, the same CA), from a few bytes to
60 KiB (the feed's limit is 64 KiB), and checks that each arrives once, in order, as the text
message {"id":N,"data":...}; then closes with --close-code (default 4002) and checks that the
server echoed it. Prints one JSON object and exits 0 only if everything matched.
"""
import argparse
import asyncio
import http.client
import json
import ssl
import sys
import urllib.parse

from websockets.asyncio.client import connect


def https(context, host, port, method, path, body=None):
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    try:
        conn.request(method, path, body=body)
        answer = conn.getresponse()
        return answer.status, dict((k.lower(), v) for k, v in answer.getheaders()), answer.read()
    finally:
        conn.close()


async def run(base, cafile, deflate, close_code):
    url = urllib.parse.urlsplit(base)
    host, port = url.hostname, url.port
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.check_hostname = True
    result = {"url": base, "deflate": deflate, "extensions": None, "received": 0, "tls": None,
              "close": None, "ok": False}
    status, headers, _ = https(context, host, port, "GET", "/poll")
    cursor = int(headers["feed-cursor"])
    items = ["a", "ü€ 𝄞", "line one\nline two", "x" * 1000, "y" * 60000, json.dumps({"k": list(range(50))})]
    kwargs = {"ssl": context, "max_size": None, "compression": "deflate" if deflate == "on" else None}
    async with connect("wss://%s:%d/ws?since=%d" % (host, port, cursor), **kwargs) as ws:
        result["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        tls = ws.transport.get_extra_info("ssl_object")
        result["tls"] = {"version": tls.version(), "cipher": tls.cipher()[0]}
        ids = []
        for data in items:
            status, _, body = await asyncio.to_thread(https, context, host, port, "POST", "/publish", data.encode())
            if status != 200:
                result["error"] = "publish: %d %r" % (status, body[:100])
                return result
            ids.append(json.loads(body)["id"])
        for expected_id, data in zip(ids, items):
            message = await asyncio.wait_for(ws.recv(), 10)
            if not isinstance(message, str) or json.loads(message) != {"id": expected_id, "data": data}:
                result["error"] = "item %d: got %r" % (expected_id, message[:100])
                return result
            result["received"] += 1
        await ws.close(close_code, "done")
        sent, received = ws.protocol.close_sent, ws.protocol.close_rcvd
        result["close"] = {"sent": sent.code if sent else None, "received": received.code if received else None}
    result["ok"] = result["received"] == len(items) and result["close"]["received"] == close_code
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--deflate", choices=["on", "off"], default="on")
    ap.add_argument("--close-code", type=int, default=4002)
    args = ap.parse_args()
    if not (args.url.startswith("https://localhost:") or args.url.startswith("https://127.")):
        raise SystemExit("loopback only")
    result = asyncio.run(asyncio.wait_for(run(args.url, args.cafile, args.deflate, args.close_code), 60))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
