/// The page on `/`: the same feed through all four techniques side by side. `/?test=K`
/// makes it a self-test (the headless-Chromium test): once every technique is listening it
/// publishes K items and checks that each technique received exactly those, in order, then
/// sets `window.wireResult`.
enum FeedPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>WireCodec live feed: polling, long polling, SSE, WebSocket</title>
    <style>
      body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; }
      .grid { display: grid; grid-template-columns: repeat(4, 1fr); gap: 1em; }
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
    a WebSocket (<code>/ws</code>, permessage-deflate when the browser offers it).
    <button id="publish">Publish an item</button></p>
    <div id="status">starting…</div>
    <div class="grid">
      <div class="col"><h2>Short polling</h2><ol id="poll"></ol></div>
      <div class="col"><h2>Long polling</h2><ol id="long-poll"></ol></div>
      <div class="col"><h2>Server-Sent Events</h2><ol id="sse"></ol></div>
      <div class="col"><h2>WebSocket</h2><ol id="ws"></ol></div>
    </div>
    <script>
    "use strict";
    const params = new URLSearchParams(location.search);
    const testCount = parseInt(params.get("test") || "0", 10);
    const pollInterval = parseInt(params.get("interval") || (testCount ? "200" : "1000"), 10);
    document.getElementById("interval").textContent = pollInterval;
    const seen = { "poll": [], "long-poll": [], "sse": [], "ws": [] };
    const errors = [];
    let wsExtensions = null;

    function show(technique, item) {
      seen[technique].push(item.id);
      const li = document.createElement("li");
      li.value = item.id;
      li.textContent = item.data;
      document.getElementById(technique).appendChild(li);
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
        await new Promise(resolve => setTimeout(resolve, pollInterval));
      }
    }

    async function longPoll(cursor) {
      for (;;) {
        try {
          const answer = await fetch("/long-poll?since=" + cursor + "&timeout=" + (testCount ? 2000 : 25000), { cache: "no-store" });
          if (answer.status === 200) {
            const body = await answer.json();
            body.items.forEach(item => show("long-poll", item));
            cursor = body.next;
          } else if (answer.status !== 204) {
            errors.push("long-poll: status " + answer.status);
            await new Promise(resolve => setTimeout(resolve, 1000));
          }
        } catch (e) {
          errors.push("long-poll: " + e);
          await new Promise(resolve => setTimeout(resolve, 1000));
        }
      }
    }

    function eventSource(cursor) {
      return new Promise(resolve => {
        const source = new EventSource("/events?since=" + cursor);
        source.onopen = () => resolve();
        source.onmessage = event => show("sse", { id: parseInt(event.lastEventId, 10), data: event.data });
        source.onerror = () => errors.push("sse: error (the browser reconnects with Last-Event-ID)");
      });
    }

    function webSocket(cursor) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws?since=" + cursor);
        ws.onopen = () => { wsExtensions = ws.extensions; resolve(); };
        ws.onmessage = event => show("ws", JSON.parse(event.data));
        ws.onerror = () => { errors.push("ws: error"); reject(new Error("ws")); };
      });
    }

    async function publish(data) {
      const answer = await fetch("/publish", { method: "POST", body: data });
      return (await answer.json()).id;
    }

    document.getElementById("publish").onclick = () => publish(JSON.stringify({ from: "page", at: new Date().toISOString() }));

    async function main() {
      const cursor = await cursorNow();
      shortPoll(cursor);
      longPoll(cursor);
      await Promise.all([eventSource(cursor), webSocket(cursor)]);
      document.getElementById("status").textContent = "listening from cursor " + cursor;
      if (!testCount) return;
      // Let the first long poll reach the server before publishing.
      await new Promise(resolve => setTimeout(resolve, 300));
      const published = [];
      for (let i = 1; i <= testCount; i++) {
        published.push(await publish("update " + i + " of " + testCount + " ✓"));
        await new Promise(resolve => setTimeout(resolve, 50));
      }
      const deadline = Date.now() + 20000;
      const complete = () => Object.values(seen).every(ids => ids.length >= published.length);
      while (!complete() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100));
      const same = ids => ids.length === published.length && ids.every((id, i) => id === published[i]);
      const ok = Object.values(seen).every(same);
      document.getElementById("status").textContent = ok ? "every technique received every update in order" : "MISMATCH";
      window.wireResult = { ok, published, seen, errors, wsExtensions, cursor };
    }
    main().catch(e => { window.wireResult = { ok: false, error: String(e), seen, errors }; });
    </script>
    </body>
    </html>
    """#
}
