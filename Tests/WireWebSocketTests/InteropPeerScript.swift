/// The Python `websockets` peer the interop tests run (written to a temporary file).
///
/// `python3 peer.py server SPEC` serves one connection on 127.0.0.1 (port 0: the port is
/// printed on the first line), echoes every message, and prints a JSON result line when the
/// connection is over. `python3 peer.py client PORT SPEC` connects, sends the test messages
/// (some fragmented), checks each echo, pings, closes with 1000, and prints a JSON result
/// line. SPEC is JSON: `{"deflate": bool, "snct": bool, "cnct": bool, "smwb": int|null,
/// "cmwb": int|true|null}` for the permessage-deflate factory of that side.
let interopPeerScript = #"""
import asyncio, json, os, sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory)


def messages():
    text = "".join('{"id": %d, "name": "wirecodec", "tags": ["a", "b"]}\n' % i for i in range(2000))
    binary = bytes((i * 7919) % 251 for i in range(50000))
    return [
        "", "a", "é" * 40, "x" * 125, "y" * 126, text[:1000], text, binary, bytes(100000),
        "日本語のテキスト 🎉" * 100, ["frag", "mented ", "text"], [b"\x01\x02", b"", b"\x03"],
    ]


def joined(message):
    if isinstance(message, list):
        return "".join(message) if isinstance(message[0], str) else b"".join(message)
    return message


def extensions(spec, client):
    if not spec.get("deflate"):
        return dict(compression=None)
    options = dict(
        server_no_context_takeover=spec.get("snct", False),
        client_no_context_takeover=spec.get("cnct", False),
        server_max_window_bits=spec.get("smwb"),
    )
    if client:
        cmwb = spec.get("cmwb", True)
        options["client_max_window_bits"] = True if cmwb is None else cmwb
        return dict(extensions=[ClientPerMessageDeflateFactory(**options)])
    options["client_max_window_bits"] = spec.get("cmwb")
    return dict(extensions=[ServerPerMessageDeflateFactory(**options)])


def result(ws, **more):
    headers = ws.response.headers if ws.response is not None else {}
    line = dict(extensions=headers.get("Sec-WebSocket-Extensions"),
                subprotocol=ws.subprotocol, close_code=ws.close_code, **more)
    print(json.dumps(line), flush=True)


async def run_server(spec):
    done = asyncio.get_running_loop().create_future()
    count = 0

    async def echo(ws):
        nonlocal count
        try:
            async for message in ws:
                count += 1
                await ws.send(message)
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        result(ws, echoed=count)
        if not done.done():
            done.set_result(None)

    async with serve(echo, "127.0.0.1", 0, subprotocols=["chat"], **extensions(spec, client=False)) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.wait_for(done, 20)


async def run_client(port, spec):
    async with connect("ws://127.0.0.1:%d/interop" % port, subprotocols=["chat"], open_timeout=10,
                       close_timeout=10, max_size=2**24, **extensions(spec, client=True)) as ws:
        for index, message in enumerate(messages()):
            await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), 10)
            if echo != joined(message):
                result(ws, ok=False, failed=index)
                return
        pong = await ws.ping(b"interop")
        await asyncio.wait_for(pong, 10)
        await ws.close(1000, "bye")
    result(ws, ok=True)


def main():
    if sys.argv[1] == "server":
        asyncio.run(run_server(json.loads(sys.argv[2])))
    else:
        asyncio.run(run_client(int(sys.argv[2]), json.loads(sys.argv[3])))


main()
"""#
