#!/usr/bin/env python3
"""Capture the raw bytes of a real browser navigation on loopback (the benchmark's
`http.request.browser-get` input, `Fixtures.browserGet` in Sources/wirecodec-bench).

Serves `/` (sets five cookies, then navigates by script to `/projects/...`) and writes the
exact bytes of every request head it receives to OUTDIR/request-N.bin. The second request
carries the Referer and the cookie jar, like a real in-app navigation. Usage (as root, port 80
so that the Host field has no port):

    python3 Tests/Scripts/capture-browser-get.py 80 /tmp/cap 3 &
    chromium --headless=new --no-sandbox --disable-gpu \
        --host-resolver-rules="MAP app.example.com 127.0.0.1" \
        --virtual-time-budget=3000 --dump-dom http://app.example.com/ >/dev/null
    cat -A /tmp/cap/request-2.bin
"""
import socket, sys, os

port = int(sys.argv[1]); outdir = sys.argv[2]; wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 2
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(8); srv.settimeout(30)
n = 0
while n < wanted:
    conn, _ = srv.accept()
    conn.settimeout(5)
    data = b""
    try:
        while True:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk: raise EOFError
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            head += b"\r\n\r\n"
            n += 1
            open(os.path.join(outdir, f"request-{n}.bin"), "wb").write(head)
            path = head.split(b" ")[1]
            if path == b"/":
                body = b"<!doctype html><title>home</title><script>location.href='/projects/wirecodec/dashboard?tab=activity&range=30d'</script>"
                extra = (b"Set-Cookie: session=9f3c2a71e4b84d0c8a5f1e6b2d7c4a90; Path=/; HttpOnly\r\n"
                         b"Set-Cookie: theme=dark; Path=/\r\n"
                         b"Set-Cookie: _ga=GA1.1.1843917265.1732526400; Path=/\r\n"
                         b"Set-Cookie: _gid=GA1.1.2094718365.1732526400; Path=/\r\n"
                         b"Set-Cookie: csrftoken=Xk7qN2vR8tLw4pZs9mYc3bHd6fGj1aEe; Path=/\r\n")
            else:
                body = b"<!doctype html><title>dashboard</title><p>ok</p>"
                extra = b""
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" + extra +
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            if n >= wanted: break
    except (EOFError, socket.timeout):
        pass
    conn.close()
