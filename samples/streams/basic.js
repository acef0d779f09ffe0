// streams/basic.js: the guide's Quick Start ("Real-Time Streaming Guide", Quick Start, steps 1-3).
//
//   stream  GET  /events                  Server-Sent Events; every POST /trigger sends one message
//   route   POST /trigger                 sends { type, message, timestamp } to /events
//   page    GET  /examples/basic          the guide's client page plus a button that POSTs /trigger
//   page    GET  /examples/basic/guide    the guide's client page exactly as written in step 2
//
// Try it:
//   curl -N http://localhost:3000/events          (terminal 1: stays open, prints each event)
//   curl -X POST http://localhost:3000/trigger    (terminal 2: "Event sent")

// ---- Quick Start, step 1: "Basic Stream Setup", exactly as in the guide ------------------------

// Register a stream endpoint
registerWebStream("/events");

// Handler to send events
function triggerEvent(req) {
  sendStreamMessage({
    type: "event",
    message: "Something happened!",
    timestamp: new Date().toISOString(),
  });

  return { status: 200, body: "Event sent" };
}

register("/trigger", "triggerEvent", "POST");

// ---- Quick Start, step 2: "Client-Side Connection", exactly as in the guide --------------------

const GUIDE_PAGE = `<!DOCTYPE html>
<html>
  <head>
    <title>Stream Example</title>
  </head>
  <body>
    <div id="events"></div>

    <script>
      const eventSource = new EventSource("/events");

      eventSource.onmessage = function (event) {
        const data = JSON.parse(event.data);
        document.getElementById("events").innerHTML +=
          "<p>" + data.message + " at " + data.timestamp + "</p>";
      };

      eventSource.onerror = function (event) {
        console.error("Stream error:", event);
      };
    </script>
  </body>
</html>
`;

function guidePage(req) {
  return { status: 200, body: GUIDE_PAGE, contentType: "text/html; charset=utf-8" };
}

register("/examples/basic/guide", "guidePage", "GET");

// ---- Quick Start, step 3: "Test the Stream" --------------------------------------------------
// The same page, with a button that sends the POST request to /trigger, a connection badge and a
// little style. The guide's <div id="events"> and its <script> block are unchanged; the extra script
// only adds listeners (addEventListener), so the guide's onmessage/onerror handlers still do the work.

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="icon" href="data:,">
    <title>Stream Example · Quick Start</title>
    <style>
      :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --card: rgba(127, 127, 127, 0.1); }
      body { font: 15px/1.5 system-ui, sans-serif; max-width: 860px; margin: 2rem auto; padding: 0 1rem; }
      nav a { color: var(--muted); text-decoration: none; font-size: 0.9em; }
      code { background: var(--card); padding: 0 0.3em; border-radius: 4px; }
      .panel { background: var(--card); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
      button { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 0.4em 1em; cursor: pointer; }
      .badge { display: inline-block; padding: 0.1em 0.7em; border-radius: 1em; font-size: 0.8rem; font-weight: 600; color: #fff; background: #9ca3af; vertical-align: middle; }
      .badge.open { background: #16a34a; } .badge.error { background: #dc2626; }
      #response { font-family: ui-monospace, monospace; font-size: 0.85em; color: var(--muted); margin-left: 0.8em; }
      #events p { margin: 0.4em 0; padding: 0.3em 0.6em; border-left: 3px solid var(--accent); background: var(--card); }
    </style>
  </head>
  <body>
    <nav><a href="/">&larr; all samples</a></nav>
    <h1>Quick Start: basic stream <span id="status" class="badge">connecting</span></h1>
    <p>This page listens to <code>/events</code> with <code>EventSource</code>. Press the button (or run
      <code>curl -X POST http://localhost:3000/trigger</code>) and the event appears below, live, in every
      open copy of this page. The guide's page, unchanged, is at <a href="/examples/basic/guide">/examples/basic/guide</a>.</p>
    <div class="panel">
      <button id="trigger">POST /trigger</button><span id="response"></span>
    </div>

    <div id="events"></div>

    <script>
      const eventSource = new EventSource("/events");

      eventSource.onmessage = function (event) {
        const data = JSON.parse(event.data);
        document.getElementById("events").innerHTML +=
          "<p>" + data.message + " at " + data.timestamp + "</p>";
      };

      eventSource.onerror = function (event) {
        console.error("Stream error:", event);
      };
    </script>
    <script>
      const statusBadge = document.getElementById("status");
      eventSource.addEventListener("open", function () {
        statusBadge.textContent = "connected";
        statusBadge.className = "badge open";
      });
      eventSource.addEventListener("error", function () {
        statusBadge.textContent = eventSource.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
        statusBadge.className = "badge error";
      });

      document.getElementById("trigger").addEventListener("click", async function () {
        const response = document.getElementById("response");
        try {
          const answer = await fetch("/trigger", { method: "POST" });
          response.textContent = answer.status + " " + (await answer.text());
        } catch (e) {
          response.textContent = "request failed: " + e.message;
        }
      });
    </script>
  </body>
</html>
`;

function basicPage(req) {
  return { status: 200, body: PAGE, contentType: "text/html; charset=utf-8" };
}

register("/examples/basic", "basicPage", "GET");
