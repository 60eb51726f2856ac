/// The page on `/`: the same feed through all four techniques side by side, and a fifth
/// column that uses the best one the path allows — WebSocket, falling back to Server-Sent
/// Events when the handshake fails (a proxy that does not pass `Upgrade`), and to long
/// polling when the event stream is refused or stays silent (a proxy that buffers it) —
/// resuming from its cursor each time. Every column reconnects as browsers do (EventSource by
/// itself with `Last-Event-ID`; the WebSocket with `since` after a backoff; polls with their
/// cursor). `/?test=K` makes it a self-test (the headless-Chromium test): once every column
/// is listening it publishes K items and checks that each received exactly those, in order,
/// then sets `window.wireResult`; `&only=auto` (or another column's name) runs only that one.
enum FeedPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>WireCodec live feed: polling, long polling, SSE, WebSocket</title>
    <style>
      body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; }
      .grid { display: grid; grid-template-columns: repeat(5, 1fr); gap: 1em; }
      .col { border: 1px solid #ccc; border-radius: 6px; padding: .5em; }
      .col h2 { font-size: 15px; margin: 0 0 .3em; }
      .col ol { font-family: ui-monospace, monospace; font-size: 12px; max-height: 60vh; overflow: auto; padding-left: .25em; list-style-position: inside; }
      #status { margin: .5em 0; }
    </style>
    </head>
    <body>
    <h1>One feed, four ways</h1>
    <p>Short polling (<code>GET /poll</code> every <span id="interval"></span> ms), long polling
    (<code>GET /long-poll</code>, asked again at once), Server-Sent Events (<code>/events</code>) and
    a WebSocket (<code>/ws</code>, permessage-deflate when the browser offers it); the last column
    takes the best the network allows (WebSocket, else SSE, else long polling).
    <button id="publish">Publish an item</button></p>
    <div id="status">starting…</div>
    <div class="grid">
      <div class="col"><h2>Short polling</h2><ol id="poll"></ol></div>
      <div class="col"><h2>Long polling</h2><ol id="long-poll"></ol></div>
      <div class="col"><h2>Server-Sent Events</h2><ol id="sse"></ol></div>
      <div class="col"><h2>WebSocket</h2><ol id="ws"></ol></div>
      <div class="col"><h2>Best available: <span id="auto-technique">…</span></h2><ol id="auto"></ol></div>
    </div>
    <script>
    "use strict";
    const params = new URLSearchParams(location.search);
    const testCount = parseInt(params.get("test") || "0", 10);
    const pollInterval = parseInt(params.get("interval") || (testCount ? "200" : "1000"), 10);
    const streamProbe = parseInt(params.get("probe") || "2000", 10);
    const columns = params.get("only") ? params.get("only").split(",") : ["poll", "long-poll", "sse", "ws", "auto"];
    document.getElementById("interval").textContent = pollInterval;
    const seen = {};
    columns.forEach(c => { seen[c] = []; });
    const cursors = {};
    const errors = [];
    const started = performance.now();
    let wsExtensions = null;
    let autoSteps = [];
    const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
    const wsURL = path => (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;

    function show(column, item) {
      // Exactly once, in order: anything else is recorded (and fails the self-test).
      if (cursors[column] !== undefined && item.id !== cursors[column] + 1) errors.push(column + ": got " + item.id + " after " + cursors[column]);
      cursors[column] = Math.max(cursors[column] || 0, item.id);
      seen[column].push(item.id);
      const li = document.createElement("li");
      li.value = item.id;
      li.textContent = item.data;
      document.getElementById(column).appendChild(li);
    }

    async function cursorNow() {
      const answer = await fetch("/poll", { cache: "no-store" });
      return parseInt(answer.headers.get("Feed-Cursor"), 10);
    }

    async function shortPoll(cursor) {
      for (;;) {
        try {
          const answer = await fetch("/poll?since=" + cursor, { cache: "no-store" });
          if (answer.status === 200) {
            const body = await answer.json();
            body.items.forEach(item => show("poll", item));
            cursor = body.next;
          } else if (answer.status !== 204) {
            errors.push("poll: status " + answer.status);
          }
        } catch (e) { errors.push("poll: " + e); }
        await sleep(pollInterval);
      }
    }

    // Long polling, from `cursor`; `column` is where items go; `onWorking` is called once the
    // first poll was answered or held.
    async function longPoll(cursor, column, onWorking) {
      let working = false;
      for (;;) {
        try {
          const asked = fetch("/long-poll?since=" + cursor + "&timeout=" + (testCount ? 2000 : 25000), { cache: "no-store" });
          if (!working) { working = true; setTimeout(() => onWorking && onWorking(), 0); }
          const answer = await asked;
          if (answer.status === 200) {
            const body = await answer.json();
            body.items.forEach(item => show(column, item));
            cursor = body.next;
          } else if (answer.status !== 204) {
            errors.push(column + ": status " + answer.status);
            await sleep(1000);
          }
        } catch (e) {
          errors.push(column + ": " + e);
          await sleep(1000);
        }
      }
    }

    // An EventSource from `cursor`. EventSource reconnects by itself after a network error,
    // sending Last-Event-ID; after a refusal (another status or type) it gives up, and so we
    // make a new one a second later from the last id seen. `probe`: resolve only when the
    // stream's first event (`feed-ready`) arrives, reject if it does not within the probe
    // time (a proxy buffering the stream) or the stream is refused.
    function eventSource(cursor, column, probe) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const source = new EventSource("/events?since=" + cursor + (probe ? "&ready=1" : ""));
        const timer = probe ? setTimeout(() => { if (!settled) { settled = true; source.close(); reject(new Error("silent")); } }, streamProbe) : null;
        const ready = () => { if (!settled) { settled = true; clearTimeout(timer); resolve(source); } };
        if (probe) source.addEventListener("feed-ready", ready); else source.onopen = ready;
        source.onmessage = event => show(column, { id: parseInt(event.lastEventId, 10), data: event.data });
        source.onerror = () => {
          if (source.readyState !== EventSource.CLOSED) return;  // the browser reconnects
          if (!settled) { settled = true; clearTimeout(timer); reject(new Error("refused")); return; }
          errors.push(column + ": the event stream was refused; starting another");
          setTimeout(() => eventSource(cursors[column] || cursor, column, false), 1000);
        };
      });
    }

    // A WebSocket from `cursor`, reconnected with `since` after 250 ms doubling to 5 s.
    // Resolves when open, rejects when the handshake fails before any open (a proxy that
    // does not pass Upgrade: the browser only says "error").
    function webSocket(cursor, column) {
      return new Promise((resolve, reject) => {
        let failures = 0, everOpen = false;
        const connect = () => {
          const ws = new WebSocket(wsURL("/ws?since=" + (cursors[column] || cursor)));
          ws.onopen = () => { everOpen = true; failures = 0; wsExtensions = ws.extensions; resolve(); };
          ws.onmessage = event => show(column, JSON.parse(event.data));
          ws.onclose = () => {
            if (!everOpen) { reject(new Error("handshake")); return; }
            failures++;
            setTimeout(connect, Math.min(5000, 250 * 2 ** (failures - 1)) * (0.8 + 0.4 * Math.random()));
          };
        };
        connect();
      });
    }

    // The best technique the path allows, from `cursor`, falling back and resuming.
    async function bestAvailable(cursor) {
      const label = document.getElementById("auto-technique");
      const step = technique => { autoSteps.push({ technique, ms: Math.round(performance.now() - started) }); label.textContent = technique; };
      try { await webSocket(cursor, "auto"); step("WebSocket"); return; } catch (e) { errors.push("auto: WebSocket " + e.message + ", falling back"); }
      try { await eventSource(cursors.auto || cursor, "auto", true); step("SSE"); return; } catch (e) { errors.push("auto: SSE " + e.message + ", falling back"); }
      await new Promise(resolve => longPoll(cursors.auto || cursor, "auto", resolve));
      step("long polling");
    }

    async function publish(data) {
      const answer = await fetch("/publish", { method: "POST", body: data });
      return (await answer.json()).id;
    }

    document.getElementById("publish").onclick = () => publish(JSON.stringify({ from: "page", at: new Date().toISOString() }));

    async function main() {
      const cursor = await cursorNow();
      const listening = [];
      if (columns.includes("poll")) shortPoll(cursor);
      if (columns.includes("long-poll")) listening.push(new Promise(resolve => longPoll(cursor, "long-poll", resolve)));
      if (columns.includes("sse")) listening.push(eventSource(cursor, "sse", false));
      if (columns.includes("ws")) listening.push(webSocket(cursor, "ws"));
      if (columns.includes("auto")) listening.push(bestAvailable(cursor));
      await Promise.all(listening);
      document.getElementById("status").textContent = "listening from cursor " + cursor;
      if (!testCount) return;
      // Let the first long poll reach the server before publishing.
      await sleep(300);
      const published = [];
      for (let i = 1; i <= testCount; i++) {
        published.push(await publish("update " + i + " of " + testCount + " ✓"));
        await sleep(50);
      }
      const deadline = Date.now() + 20000;
      const complete = () => Object.values(seen).every(ids => ids.length >= published.length);
      while (!complete() && Date.now() < deadline) await sleep(100);
      const same = ids => ids.length === published.length && ids.every((id, i) => id === published[i]);
      const ok = Object.values(seen).every(same);
      document.getElementById("status").textContent = ok ? "every technique received every update in order" : "MISMATCH";
      window.wireResult = { ok, published, seen, errors, wsExtensions, cursor, autoSteps };
    }
    main().catch(e => { window.wireResult = { ok: false, error: String(e), seen, errors }; });
    </script>
    </body>
    </html>
    """#
}
