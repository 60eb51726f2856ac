#!/usr/bin/env python3
"""Captures real browser WebSocket sessions into Fixtures/websocket/, with expected events.

    Tests/Conformance/chromium/capture_fixtures.py [--server .build/debug/wirecodec-echo-server]

Runs the echo server with `--capture` and headless Chromium on its test page twice:

1. permessage-deflate declined (`--no-deflate`), messages up to 64 KiB (`?max=65536`):
   `Fixtures/websocket/client-chromium-echo.bin` (the browser's masked frames) and
   `server-chromium-echo.bin` (the echo server's frames), which the existing fixture replay
   test (`WebSocketFixtureReplayTests`) decodes through `wirecodec ws decode`;
2. permessage-deflate accepted, the same messages, into
   `Fixtures/websocket/chromium-deflate/` with `deflate.txt` (the server's
   Sec-WebSocket-Extensions answer) and `request.txt` (the browser's Upgrade request, which
   shows its offer); `ChromiumFixtureTests` replays them with `--deflate`.

The `.expected.jsonl` files come from browser_plan.py (what the page was told to send), not
from our decoder. The captured bytes are what crossed the socket after the HTTP heads.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
import browser_plan  # noqa: E402


def session(server, extra_args, query, capture_dir):
    proc = subprocess.Popen([server, "--host", "127.0.0.1", "--port", "0", "--capture", capture_dir] + extra_args,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().decode()
        port = re.search(r"127\.0\.0\.1:(\d+)/", line).group(1)
        run = subprocess.run([sys.executable, os.path.join(HERE, "run_chromium.py"),
                              "http://127.0.0.1:%s/%s" % (port, query)], capture_output=True, text=True)
        report = json.loads(run.stdout)
        if run.returncode != 0:
            raise SystemExit("the browser session failed: %s %s" % (run.stdout, run.stderr))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    for name in sorted(os.listdir(capture_dir)):
        if not name.endswith(".client.raw"):
            continue
        base = os.path.join(capture_dir, name[: -len(".client.raw")])
        client = open(base + ".client.raw", "rb").read()
        if b"\r\nUpgrade: websocket\r\n" not in client.split(b"\r\n\r\n", 1)[0]:
            continue
        server_bytes = open(base + ".server.raw", "rb").read()
        request, client_frames = client.split(b"\r\n\r\n", 1)
        response, server_frames = server_bytes.split(b"\r\n\r\n", 1)
        return report, request + b"\r\n\r\n", response + b"\r\n\r\n", client_frames, server_frames
    raise SystemExit("no WebSocket connection in the capture")


def write_fixture(folder, name, frames, lines):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name + ".bin"), "wb") as f:
        f.write(frames)
    with open(os.path.join(folder, name + ".expected.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":"), ensure_ascii=True) + "\n")
    print("wrote %s/%s.bin (%d bytes)" % (os.path.relpath(folder, ROOT), name, len(frames)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.path.join(ROOT, ".build", "debug", "wirecodec-echo-server"))
    ap.add_argument("--out", default=os.path.join(ROOT, "Fixtures", "websocket"))
    args = ap.parse_args()

    small = 65536  # the 1 MiB messages are left to the live browser test (their JSON lines are 1.4 MB)
    with tempfile.TemporaryDirectory() as tmp:
        report, request, response, client, server = session(args.server, ["--no-deflate"], "?max=%d" % small, tmp)
        assert b"Sec-WebSocket-Extensions" not in response, response
        write_fixture(args.out, "client-chromium-echo", client, browser_plan.expected_lines("client", small))
        write_fixture(args.out, "server-chromium-echo", server, browser_plan.expected_lines("server", small))
        print("browser: %s" % report["browser"])

    with tempfile.TemporaryDirectory() as tmp:
        report, request, response, client, server = session(args.server, [], "?max=%d" % small, tmp)
        answer = re.search(rb"\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n", response).group(1).decode()
        folder = os.path.join(args.out, "chromium-deflate")
        write_fixture(folder, "client-chromium-deflate", client, browser_plan.expected_lines("client", small))
        write_fixture(folder, "server-chromium-deflate", server, browser_plan.expected_lines("server", small))
        with open(os.path.join(folder, "deflate.txt"), "w") as f:
            f.write(answer + "\n")
        # The request head, without the per-run key, shows the browser's offer.
        head = re.sub(rb"Sec-WebSocket-Key: [^\r]*", b"Sec-WebSocket-Key: (per run)", request)
        head = re.sub(rb"Host: 127\.0\.0\.1:\d+", b"Host: 127.0.0.1:PORT", head)
        head = re.sub(rb"Origin: http://127\.0\.0\.1:\d+", b"Origin: http://127.0.0.1:PORT", head)
        with open(os.path.join(folder, "request.txt"), "wb") as f:
            f.write(head)
        print("agreed: %s; browser: %s" % (answer, report["browser"]))


if __name__ == "__main__":
    main()
