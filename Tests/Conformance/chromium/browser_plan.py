"""The browser test page's messages, repeated in Python (keep in step with
Sources/wirecodec-echo-server/BrowserTestPage.swift): the expected events of a captured
browser session come from here, not from our decoder."""
import base64

PATTERN = "WireCodec \u00fc \u20ac \U0001D11E "
FULL_PLAN = [
    ("text", 0), ("text", 5), ("text", 125), ("text", 126), ("text", 1000), ("text", 65536), ("text", 1048576),
    ("binary", 0), ("binary", 1), ("binary", 125), ("binary", 126), ("binary", 65535), ("binary", 65536),
    ("binary", 1048576),
]
CLOSE_CODE = 4001
CLOSE_REASON = "done \u2713"


def plan(max_size=None):
    return [(kind, size) for kind, size in FULL_PLAN if max_size is None or size <= max_size]


def make_text(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def make_binary(n):
    return bytes((i * 31 + n) & 0xFF for i in range(n))


def payload(kind, size):
    return make_text(size).encode("utf-8") if kind == "text" else make_binary(size)


def expected_lines(sender, max_size=None):
    """The `ws decode` lines for what `sender` sent: "client" (the browser: each message, then
    its close with code and reason) or "server" (the echo server: each echo, then its answer
    to the close, which carries the code only)."""
    lines = [{"type": kind, "data_b64": base64.b64encode(payload(kind, size)).decode("ascii")}
             for kind, size in plan(max_size)]
    reason = CLOSE_REASON if sender == "client" else ""
    lines.append({"type": "close", "code": CLOSE_CODE, "reason": reason})
    return lines
