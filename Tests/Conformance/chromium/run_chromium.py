#!/usr/bin/env python3
"""Loads the echo server's test page in headless Chromium and reports what the page saw.

    run_chromium.py http://127.0.0.1:PORT/ [--chromium PATH] [--timeout 90] [--screenshot OUT.png]
    run_chromium.py https://localhost:PORT/ --spki BASE64 [--network] [...]

Starts Chromium (Debian's `chromium`) headless with a throwaway profile and the DevTools
protocol on a free loopback port, opens the page in a new tab, and polls
`window.wireResult` (set by the page when its WebSocket closed) through `Runtime.evaluate`.
The page (Sources/wirecodec-echo-server/BrowserTestPage.swift) sends text and binary
messages from 0 bytes to 1 MiB, checks each echo, and closes with 4001.

For https:// (and the page's wss://), --spki gives the base64 SHA-256 of the server
certificate's SubjectPublicKeyInfo: Chromium accepts that key (and only it) through
`--ignore-certificate-errors-spki-list`, so a test certificate works without touching any
trust store. The report then carries the TLS details Chromium saw for the page.

With --network, the DevTools Network domain is on and the report has `network`: for each
response the URL, status and `protocol` Chromium used (`h2`, `http/1.1`), and for each
WebSocket its URL, the handshake request's fields and the handshake response's status and
fields as Chromium reports them (over HTTP/2, RFC 8441, a 200 to an extended CONNECT; over
HTTP/1.1 a 101).

Prints the page's result as one JSON line and exits 0 only if the page says ok. The DevTools
client is Python `websockets` (pinned in Tests/Scripts/setup-tests.sh).
"""
import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.client import connect


class DevTools:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []  # protocol events seen while waiting for replies

    async def call(self, method, params=None, session=None):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        await self.ws.send(json.dumps(request))
        while True:
            reply = json.loads(await self.ws.recv())
            if "method" in reply and "id" not in reply:
                self.events.append(reply)
                continue
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})


def start_chromium(binary, profile, spki=None):
    args = [
        binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
        "--user-data-dir=" + profile, "about:blank",
    ]
    if spki:
        args.insert(-1, "--ignore-certificate-errors-spki-list=" + spki)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.time() + 30
    lines = []
    while time.time() < deadline:
        line = process.stderr.readline().decode("utf-8", "replace")
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            return process, match.group(1)
    stop(process)
    raise RuntimeError("Chromium did not start its DevTools endpoint:\n" + "".join(lines[-20:]))


def stop(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def network_report(events):
    """What the Network domain's events say about the page's requests and WebSockets."""
    responses = []
    sockets = {}
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.responseReceived":
            response = params.get("response", {})
            responses.append({"url": response.get("url"), "status": response.get("status"),
                              "protocol": response.get("protocol")})
        elif method == "Network.webSocketCreated":
            sockets.setdefault(params.get("requestId"), {})["url"] = params.get("url")
        elif method == "Network.webSocketWillSendHandshakeRequest":
            sockets.setdefault(params.get("requestId"), {})["request"] = params.get("request", {}).get("headers")
        elif method == "Network.webSocketHandshakeResponseReceived":
            response = params.get("response", {})
            sockets.setdefault(params.get("requestId"), {}).update({
                "status": response.get("status"), "statusText": response.get("statusText"),
                "response": response.get("headers"), "responseText": response.get("headersText")})
        elif method == "Network.webSocketClosed":
            sockets.setdefault(params.get("requestId"), {})["closed"] = True
    return {"responses": responses, "webSockets": list(sockets.values())}


async def drive(endpoint, url, timeout, screenshot, network=False):
    async with connect(endpoint, max_size=None) as ws:
        tools = DevTools(ws)
        target = await tools.call("Target.createTarget", {"url": "about:blank"})
        attached = await tools.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        session = attached["sessionId"]
        await tools.call("Page.enable", session=session)
        if network:
            await tools.call("Network.enable", session=session)
        await tools.call("Page.navigate", {"url": url}, session=session)
        deadline = time.time() + timeout
        result = None
        while time.time() < deadline:
            value = await tools.call("Runtime.evaluate", {
                "expression": "window.wireResult ? JSON.stringify(window.wireResult) : null",
                "returnByValue": True}, session=session)
            text = value.get("result", {}).get("value")
            if value.get("exceptionDetails"):
                text = None
            if text:
                result = json.loads(text)
                break
            await asyncio.sleep(0.2)
        if screenshot:
            shot = await tools.call("Page.captureScreenshot", {"format": "png"}, session=session)
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        version = await tools.call("Browser.getVersion")
        security = None
        if url.startswith("https://"):
            # The page's own protocol as the browser saw it (https: means TLS was accepted).
            value = await tools.call("Runtime.evaluate", {
                "expression": "location.protocol + ' ' + (window.isSecureContext ? 'secure' : 'insecure')",
                "returnByValue": True}, session=session)
            security = value.get("result", {}).get("value")
        if network:
            await asyncio.sleep(0.5)  # the WebSocket's closing events
            await tools.call("Browser.getVersion")
        return result, version.get("product"), security, network_report(tools.events) if network else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--screenshot")
    ap.add_argument("--spki", help="base64 SHA-256 of the test certificate's public key (https://)")
    ap.add_argument("--network", action="store_true", help="report the protocols and WebSocket handshakes Chromium saw")
    args = ap.parse_args()
    if not re.match(r"^https?://(127\.\d+\.\d+\.\d+|localhost)(:\d+)?/", args.url):
        raise SystemExit("loopback URLs only")
    profile = tempfile.mkdtemp(prefix="wirecodec-chromium-")
    process = None
    try:
        process, endpoint = start_chromium(args.chromium, profile, args.spki)
        result, product, security, network = asyncio.run(
            drive(endpoint, args.url, args.timeout, args.screenshot, args.network))
    finally:
        if process:
            stop(process)
        shutil.rmtree(profile, ignore_errors=True)
    report = {"browser": product, "result": result, "page": security}
    if network is not None:
        report["network"] = network
    print(json.dumps(report))
    return 0 if result and result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
