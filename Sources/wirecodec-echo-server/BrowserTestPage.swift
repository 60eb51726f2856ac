/// The page the echo server serves on `/`, for the headless-browser test
/// (`Tests/Conformance/chromium/`).
///
/// It opens a WebSocket to the same host, sends the plan's messages one at a time (text and
/// binary, 0 bytes to 1 MiB), checks every echo byte for byte, then closes with code 4001 and a
/// non-ASCII reason (the server answers with the code), and publishes what happened as JSON in
/// `window.wireResult` and in
/// `<pre id="result">`. The messages are built by formulas that
/// `Tests/Conformance/chromium/browser_plan.py` repeats, so a capture of the session has
/// expected events that do not come from our decoder:
///
/// - text of n code points: `"WireCodec ü € 𝄞 "` repeated, cut to n code points;
/// - binary of n bytes: byte i is `(i * 31 + n) & 0xFF`.
///
/// Query parameters: `path` (default `/ws`), `max` (leave out messages over that size).
enum BrowserTestPage {
    static let html = #"""
    <!doctype html>
    <html>
    <head><meta charset="utf-8"><title>wirecodec echo: running</title>
    <style>pre { white-space: pre-wrap; word-break: break-all; }</style></head>
    <body>
    <h1>WireCodec echo server</h1>
    <p>This page talks to the echo server over a WebSocket and reports what came back.</p>
    <pre id="result">running</pre>
    <script>
    "use strict";
    const PATTERN = "WireCodec \u00fc \u20ac \ud834\udd1e ";
    const FULL_PLAN = [
      ["text", 0], ["text", 5], ["text", 125], ["text", 126], ["text", 1000], ["text", 65536], ["text", 1048576],
      ["binary", 0], ["binary", 1], ["binary", 125], ["binary", 126], ["binary", 65535], ["binary", 65536], ["binary", 1048576],
    ];
    const CLOSE_CODE = 4001;
    const CLOSE_REASON = "done \u2713";
    // The server answers a close with its code and no reason (RFC 6455 §5.5.1 echoes the code).
    const ANSWER_REASON = "";

    function makeText(n) {
      const points = Array.from(PATTERN);
      const out = [];
      for (let i = 0; i < n; i++) out.push(points[i % points.length]);
      return out.join("");
    }
    function makeBinary(n) {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = (i * 31 + n) & 0xff;
      return bytes;
    }
    function sameBytes(a, b) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    }
    function finish(result) {
      window.wireResult = result;
      document.getElementById("result").textContent = JSON.stringify(result);
      document.title = "wirecodec echo: " + (result.ok ? "ok" : "failed");
    }

    const params = new URLSearchParams(location.search);
    const path = params.get("path") || "/ws";
    // ?max=N leaves out the messages over N (smaller captures for fixtures).
    const max = params.has("max") ? Number(params.get("max")) : Infinity;
    const PLAN = FULL_PLAN.filter(([kind, size]) => size <= max);
    const result = { ok: false, extensions: null, protocol: null, messages: [], close: null, error: null };
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
    ws.binaryType = "arraybuffer";
    let index = 0;
    let expected = null;

    function sendNext() {
      if (index === PLAN.length) {
        ws.close(CLOSE_CODE, CLOSE_REASON);
        return;
      }
      const [kind, size] = PLAN[index];
      expected = kind === "text" ? makeText(size) : makeBinary(size);
      ws.send(expected);
    }
    ws.onopen = () => {
      result.extensions = ws.extensions;
      result.protocol = ws.protocol;
      sendNext();
    };
    ws.onmessage = (event) => {
      const [kind, size] = PLAN[index];
      let ok;
      if (kind === "text") {
        ok = typeof event.data === "string" && event.data === expected;
      } else {
        ok = event.data instanceof ArrayBuffer && sameBytes(new Uint8Array(event.data), expected);
      }
      result.messages.push({ kind: kind, size: size, ok: ok });
      index += 1;
      sendNext();
    };
    ws.onerror = () => { result.error = "error event"; };
    ws.onclose = (event) => {
      result.close = { code: event.code, reason: event.reason, wasClean: event.wasClean };
      result.ok = result.error === null && index === PLAN.length
        && result.messages.length === PLAN.length && result.messages.every((m) => m.ok)
        && event.code === CLOSE_CODE && event.reason === ANSWER_REASON && event.wasClean;
      finish(result);
    };
    </script>
    </body>
    </html>

    """#
}
