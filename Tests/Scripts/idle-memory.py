#!/usr/bin/env python3
"""Server memory per idle connection of wirecodec-feed-server (Spec/realtime.md, issue 19).

Starts the feed server (`--no-deflate`, a free port), opens 50 warm-up connections, then N
idle ones of one kind, and prints the server's RSS delta over the N divided by N:

  websocket  GET /ws upgraded (the 101 read), then silent
  sse        GET /events read up to its first event (`retry:`), then silent
  long-poll  GET /long-poll?timeout=600000 sent, held by the server

Usage: idle-memory.py SERVER_BINARY KIND [N] [--hold SECONDS]
Run it alone on the machine (under /work/coord/heavy.lock here): RSS is the whole process's.
"""
import base64
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    hold = 3.0
    if "--hold" in sys.argv:
        hold = float(sys.argv[sys.argv.index("--hold") + 1])
        args.remove(sys.argv[sys.argv.index("--hold") + 1])
    if len(args) < 2 or args[1] not in ("websocket", "sse", "long-poll"):
        raise SystemExit(__doc__)
    binary, kind = args[0], args[1]
    count = int(args[2]) if len(args) > 2 else 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    server = subprocess.Popen([binary, "--port", "0", "--no-deflate"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"listening on [a-z]+://([0-9.]+):([0-9]+)", line)
        if not match:
            raise SystemExit(f"no listening line: {line!r}")
        host, port = match.group(1), int(match.group(2))
        # The rest of its output is drained, so that the server never blocks on a full pipe.
        threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()
        measure(server.pid, host, port, kind, count, hold)
    finally:
        server.terminate()
        server.wait(timeout=30)


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS")


def read_until(sock, marker):
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"closed early: {data[:200]!r}")
        data += chunk
    return data


def open_one(host, port, kind):
    sock = socket.create_connection((host, port))
    if kind == "websocket":
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n\r\n".encode())
        if not read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 101"):
            raise SystemExit("no 101")
    elif kind == "sse":
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        if not read_until(sock, b"retry:").startswith(b"HTTP/1.1 200"):
            raise SystemExit("no 200")
    else:
        sock.sendall(f"GET /long-poll?timeout=600000 HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    return sock


def measure(pid, host, port, kind, count, hold):
    warm = [open_one(host, port, kind) for _ in range(50)]
    time.sleep(1.0)
    before = rss(pid)
    started = time.time()
    idle = [open_one(host, port, kind) for _ in range(count)]
    opened = time.time() - started
    time.sleep(hold)
    after = rss(pid)
    print(f"kind={kind} connections={count} open_s={opened:.1f} rss_before={before} rss_after={after} "
          f"per_connection_bytes={(after - before) / count:.0f}")
    for sock in idle + warm:
        sock.close()


if __name__ == "__main__":
    main()
