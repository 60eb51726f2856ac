#!/usr/bin/env python3
"""Measures a server's HTTP timeouts end to end, from the client's side of the socket.

    check_timeouts.py http://127.0.0.1:PORT/ --head-timeout-ms 2000 --keep-alive-timeout-ms 3000
        [--cafile CA.pem --host-name localhost]  (https://: the same over TLS)
        [--crowd N [--crowd-late-ms MS]]          (N slow and N idle connections at once)
        [--long-poll]                             (the feed server: a held long poll is not idle)

Checks, each printed as one JSON line {"check", "ok", "detail"}:

- slow-head: a client sends a request head one byte a second. The server must answer
  `408 Request Timeout` with `Connection: close` and close, head-timeout after the first byte.
- idle-keep-alive: after a whole response on a keep-alive connection, nothing more: the server
  must close, sending nothing, keep-alive-timeout after the response's end.
- idle-new: a connection that sends nothing is closed keep-alive-timeout after it opened.
- tls-stalled (https:// only): a client that starts a TLS handshake (one record header) and
  stops is closed keep-alive-timeout after it connected: the deadline runs under TLS too.
- crowd (with --crowd N): N slow-head and N idle connections held open at once; meanwhile one
  client sends requests one after another and each must be answered (within 2 s); every
  crowd connection must be closed by the server at its deadline: not before, and no later than
  --crowd-late-ms after it (default 3000: opening thousands of connections at once on a busy
  2-core machine delays the last ones by more than a single connection's 1.5 s).
- long-poll-held (with --long-poll): a long poll held longer than the keep-alive timeout is
  answered by the application (204), not closed as idle.

Times are measured with time.monotonic() on this side: they include the network (loopback)
and the server's scheduling. A deadline "holds" when the close comes no earlier than the
configured time (less 50 ms of clock skew between the two processes, and, where the server's
clock starts before this side can see it, the time that took: a connect and TLS handshake, a
response's delivery) and no later than 1.5 s after it. Exit 0 only if every check passed.
"""
import argparse
import asyncio
import json
import ssl
import sys
import time
import urllib.parse

RESULTS = []
EARLY = 0.05
LATE = 1.5


def record(check, ok, detail):
    RESULTS.append({"check": check, "ok": bool(ok), "detail": detail})


class Target:
    def __init__(self, url, cafile, host_name):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.context = None
        self.server_hostname = None
        if parts.scheme == "https":
            self.context = ssl.create_default_context(cafile=cafile)
            self.server_hostname = host_name

    async def connect(self):
        return await asyncio.open_connection(self.host, self.port, ssl=self.context,
                                             server_hostname=self.server_hostname,
                                             limit=1 << 20)


# How long any read waits for a close at most (set from the deadlines in main_async): a server
# that never closes makes the check fail, late, rather than hang.
READ_BOUND = 60.0


async def read_until_closed(reader):
    """Reads until EOF (or a reset), READ_BOUND seconds at most; returns (bytes, monotonic time
    of the close, or of giving up)."""
    data = b""
    give_up = time.monotonic() + READ_BOUND
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), max(0.0, give_up - time.monotonic()))
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError, asyncio.TimeoutError):
        pass
    return data, time.monotonic()


async def read_response(reader):
    """Reads one response (Content-Length or chunked); returns (status, head, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return status, fields, body


async def slow_head(target, head_timeout, record_result=True):
    """One byte a second; returns (seconds from the first byte to the close, what came back)."""
    reader, writer = await target.connect()
    request = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: one byte a second" + b"." * 200 + b"\r\n\r\n"
    first = time.monotonic()
    received = b""
    closed_at = None
    for i, byte in enumerate(request):
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            break
        try:
            chunk = await asyncio.wait_for(reader.read(65536), 1.0)
            if not chunk:
                closed_at = time.monotonic()
                break
            received += chunk
            rest, closed_at = await read_until_closed(reader)
            received += rest
            break
        except asyncio.TimeoutError:
            continue
        except (ConnectionResetError, ssl.SSLError):
            closed_at = time.monotonic()
            break
    writer.close()
    if closed_at is None:
        return None, received
    return closed_at - first, received


async def check_slow_head(target, head_timeout):
    elapsed, received = await slow_head(target, head_timeout)
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    ok = (elapsed is not None and head_timeout - EARLY <= elapsed <= head_timeout + LATE
          and head.startswith("HTTP/1.1 408 ") and "\r\nConnection: close" in head)
    record("slow-head", ok, {"closed_after_ms": None if elapsed is None else round(elapsed * 1000),
                             "configured_ms": round(head_timeout * 1000), "response": head})


async def check_idle_keep_alive(target, keep_alive):
    reader, writer = await target.connect()
    asked = time.monotonic()
    writer.write(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    status, fields, _ = await read_response(reader)
    end = time.monotonic()
    # The server's clock started when it wrote the end of the response, up to a round trip
    # before this side read it.
    delivery = end - asked
    data, closed_at = await read_until_closed(reader)
    writer.close()
    elapsed = closed_at - end
    ok = (data == b"" and keep_alive - EARLY - delivery <= elapsed <= keep_alive + LATE
          and "close" not in fields.get("connection", ""))
    record("idle-keep-alive", ok, {"closed_after_ms": round(elapsed * 1000), "configured_ms": round(keep_alive * 1000),
                                   "round_trip_ms": round(delivery * 1000),
                                   "first_status": status, "sent_after_response": data.decode("latin-1")})


async def check_idle_new(target, keep_alive):
    start = time.monotonic()
    reader, writer = await target.connect()
    connected = time.monotonic() - start
    data, closed_at = await read_until_closed(reader)
    writer.close()
    # The server's clock started at its accept, between the start and the end of the connect
    # (which includes the TLS handshake).
    elapsed = closed_at - start
    ok = data == b"" and keep_alive - EARLY <= elapsed <= keep_alive + connected + LATE
    record("idle-new", ok, {"closed_after_ms": round(elapsed * 1000), "configured_ms": round(keep_alive * 1000),
                            "connect_ms": round(connected * 1000)})


async def check_tls_stalled(target, keep_alive):
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(target.host, target.port)
    connected = time.monotonic() - start
    writer.write(b"\x16\x03\x01")  # the first bytes of a TLS handshake record, then nothing
    await writer.drain()
    data, closed_at = await read_until_closed(reader)
    writer.close()
    elapsed = closed_at - start
    ok = data == b"" and keep_alive - EARLY <= elapsed <= keep_alive + connected + LATE
    record("tls-stalled", ok, {"closed_after_ms": round(elapsed * 1000), "configured_ms": round(keep_alive * 1000)})


async def held_slow(target, head_timeout):
    """A crowd member sending a byte a second; returns seconds from its first byte to the close."""
    try:
        elapsed, _ = await slow_head(target, head_timeout)
        return elapsed
    except OSError:
        return None


async def held_idle(target):
    """A silent crowd member: (seconds from before its connect to the close, seconds the connect
    took). The server's deadline runs from its accept, somewhere in between."""
    try:
        start = time.monotonic()
        reader, writer = await target.connect()
        connected = time.monotonic() - start
        _, closed_at = await read_until_closed(reader)
        writer.close()
        return closed_at - start, connected
    except OSError:
        return None


async def check_crowd(target, n, head_timeout, keep_alive, late):
    crowd = [asyncio.ensure_future(held_slow(target, head_timeout)) for _ in range(n)]
    crowd += [asyncio.ensure_future(held_idle(target)) for _ in range(n)]
    await asyncio.sleep(0.5)
    # Meanwhile, one client asks and asks: every answer must come at once.
    latencies = []
    deadline = time.monotonic() + max(head_timeout, keep_alive) + 1
    reader, writer = await target.connect()
    failures = 0
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            writer.write(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            await asyncio.wait_for(read_response(reader), 5)
            latencies.append(time.monotonic() - start)
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError):
            failures += 1
            writer.close()
            reader, writer = await target.connect()
        await asyncio.sleep(0.1)
    writer.close()
    results = await asyncio.gather(*crowd)
    slow = [r for r in results[:n] if r is not None]
    idle_pairs = [r for r in results[n:] if r is not None]
    idle = [total for total, _ in idle_pairs]
    in_time = lambda xs, t: sum(1 for x in xs if t - EARLY <= x <= t + late)
    # Idle: the accept came between the start of the connect and its end.
    idle_in_time = sum(1 for total, connect in idle_pairs if keep_alive - EARLY <= total <= keep_alive + connect + late)
    latencies.sort()
    detail = {
        "connections": 2 * n, "slow_closed_at_deadline": in_time(slow, head_timeout), "slow_closed": len(slow),
        "idle_closed_at_deadline": idle_in_time, "idle_closed": len(idle),
        "idle_connect_ms_max": round(max(c for _, c in idle_pairs) * 1000) if idle_pairs else None,
        "slow_close_ms_min_max": [round(min(slow) * 1000), round(max(slow) * 1000)] if slow else None,
        "idle_close_ms_min_max": [round(min(idle) * 1000), round(max(idle) * 1000)] if idle else None,
        "requests_meanwhile": len(latencies), "request_failures": failures,
        "latency_ms_p50_max": [round(latencies[len(latencies) // 2] * 1000, 1), round(latencies[-1] * 1000, 1)] if latencies else None,
    }
    ok = (len(slow) == n and len(idle) == n and in_time(slow, head_timeout) == n and idle_in_time == n
          and failures == 0 and latencies and latencies[-1] < 2.0)
    detail["late_allowed_ms"] = round(late * 1000)
    record("crowd", ok, detail)


async def check_long_poll(target, keep_alive):
    reader, writer = await target.connect()
    hold = keep_alive * 2
    start = time.monotonic()
    writer.write(b"GET /long-poll?timeout=%d HTTP/1.1\r\nHost: x\r\n\r\n" % int(hold * 1000))
    await writer.drain()
    try:
        status, fields, _ = await asyncio.wait_for(read_response(reader), hold + 5)
        elapsed = time.monotonic() - start
        ok = status == 204 and hold - EARLY <= elapsed <= hold + LATE
        detail = {"status": status, "answered_after_ms": round(elapsed * 1000), "hold_ms": round(hold * 1000),
                  "keep_alive_ms": round(keep_alive * 1000)}
    except (asyncio.IncompleteReadError, OSError) as e:
        ok, detail = False, {"error": "closed while held: %r" % e, "after_ms": round((time.monotonic() - start) * 1000)}
    writer.close()
    record("long-poll-held", ok, detail)


async def main_async(args):
    global READ_BOUND
    target = Target(args.url, args.cafile, args.host_name)
    head = args.head_timeout_ms / 1000
    keep = args.keep_alive_timeout_ms / 1000
    READ_BOUND = 2 * max(head, keep) + 10
    checks = [check_slow_head(target, head), check_idle_keep_alive(target, keep), check_idle_new(target, keep)]
    if args.long_poll:
        checks.append(check_long_poll(target, keep))
    if target.context is not None:
        checks.append(check_tls_stalled(target, keep))
    await asyncio.gather(*checks)
    if args.crowd:
        await check_crowd(target, args.crowd, head, keep, args.crowd_late_ms / 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("url")
    ap.add_argument("--head-timeout-ms", type=int, required=True)
    ap.add_argument("--keep-alive-timeout-ms", type=int, required=True)
    ap.add_argument("--cafile")
    ap.add_argument("--host-name", default="localhost")
    ap.add_argument("--crowd", type=int, default=0)
    ap.add_argument("--crowd-late-ms", type=int, default=3000)
    ap.add_argument("--long-poll", action="store_true")
    args = ap.parse_args()
    if not args.url.startswith(("http://127.", "https://127.", "https://localhost:")):
        raise SystemExit("loopback only")
    asyncio.run(main_async(args))
    for result in RESULTS:
        print(json.dumps(result))
    return 0 if RESULTS and all(r["ok"] for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
