// streams/dashboard.js: the guide's "Use Cases, 2. Real-Time Dashboard".
//
//   stream  GET  /dashboard              metrics messages { type: "metrics", cpu, memory, requests, timestamp }
//   route   POST /update-metrics         gathers (simulated) metrics and sends them to /dashboard
//   page    GET  /examples/dashboard     gauges that move with every message; a button and an auto mode
//                                        that POST /update-metrics
//   stream  GET  /dashboard/live         every second, from a schedule, real measurements of this server:
//                                        { type: "live", clients, updates, lagMs, uptimeSeconds, timestamp }
//
// Try it:
//   curl -N http://localhost:3000/dashboard
//   curl -X POST http://localhost:3000/update-metrics
//   curl -N http://localhost:3000/dashboard/live

// ---- Use Cases, 2. Real-Time Dashboard, exactly as in the guide --------------------------------

registerWebStream("/dashboard");

function updateMetrics(req) {
  // Simulate gathering metrics
  const metrics = {
    type: "metrics",
    cpu: Math.random() * 100,
    memory: Math.random() * 100,
    requests: Math.floor(Math.random() * 1000),
    timestamp: new Date().toISOString(),
  };

  sendStreamMessage(metrics);
  return { status: 200, body: "Metrics updated" };
}

register("/update-metrics", "updateMetrics", "POST");

// ---- live measurements, pushed every second by a named job ---------------------------------------
//
// Not simulated: clients is how many /dashboard/live connections the previous push reached (what
// sendStreamMessageToPath returns), updates how many pushes this version has made, lagMs how late the
// job ran after its tick, uptimeSeconds how long this version of the script has been loaded.

registerWebStream("/dashboard/live");

const loadedAt = Date.now();
let livePushes = 0;
let liveClients = 0;

schedule("dashboard-live", "1s", (context) => {
  livePushes++;
  liveClients = sendStreamMessageToPath("/dashboard/live", {
    type: "live",
    clients: liveClients,
    updates: livePushes,
    lagMs: Date.now() - Date.parse(context.scheduledAt),
    uptimeSeconds: Math.round((Date.now() - loadedAt) / 1000),
    timestamp: new Date().toISOString(),
  });
});

// ---- the page ----------------------------------------------------------------------------------

function dashboardPageHandler(req) {
  return servePage("Real-time dashboard", PAGE_BODY, [
    String(pageKit),
    String(dashboardPage),
    "dashboardPage(pageKit());",
  ].join("\n\n"));
}

register("/examples/dashboard", "dashboardPageHandler", "GET");

const PAGE_BODY = `
<style>
  .gauge { font-size: 2em; font-weight: 600; }
  .bar { height: 10px; background: rgba(127, 127, 127, 0.2); border-radius: 5px; overflow: hidden; margin-top: 0.4em; }
  .bar div { height: 100%; width: 0; background: var(--accent); transition: width 0.4s ease; }
  .bar div.hot { background: #dc2626; }
  svg { width: 100%; height: 60px; display: block; margin-top: 0.4em; }
  svg polyline { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
</style>
<h1>Real-time dashboard <span id="status" class="badge">connecting</span></h1>
<p>Connected to <code>/dashboard</code>. Each <code>POST /update-metrics</code> sends one set of simulated
  metrics to every open copy of this page. <span id="count">0</span> updates received.</p>
<div class="panel row">
  <button id="update" type="button">POST /update-metrics</button>
  <label style="flex-direction: row; gap: 0.4em; align-items: center;"><input id="auto" type="checkbox"> every second</label>
  <span class="response" id="response"></span>
</div>
<div class="cols">
  <div class="panel"><h2>CPU</h2><div class="gauge" id="cpu">–</div><div class="bar"><div id="cpu-bar"></div></div><svg viewBox="0 0 30 100" preserveAspectRatio="none"><polyline id="cpu-line" points=""/></svg></div>
  <div class="panel"><h2>Memory</h2><div class="gauge" id="memory">–</div><div class="bar"><div id="memory-bar"></div></div><svg viewBox="0 0 30 100" preserveAspectRatio="none"><polyline id="memory-line" points=""/></svg></div>
  <div class="panel"><h2>Requests</h2><div class="gauge" id="requests">–</div><div class="bar"><div id="requests-bar"></div></div><svg viewBox="0 0 30 100" preserveAspectRatio="none"><polyline id="requests-line" points=""/></svg></div>
</div>
<p class="empty" id="updated">Waiting for the first update.</p>
`;

// browser: the page.
function dashboardPage(kit) {
  const history = { cpu: [], memory: [], requests: [] };

  function show(name, text, percent) {
    kit.$(name).textContent = text;
    const bar = kit.$(name + "-bar");
    bar.style.width = percent.toFixed(1) + "%";
    bar.className = percent > 80 ? "hot" : "";
    const points = history[name];
    points.push(percent);
    if (points.length > 31) points.shift();
    // The sparkline's viewBox is 30 wide and 100 high; y grows downwards.
    kit.$(name + "-line").setAttribute("points", points.map((p, i) => i + "," + (100 - p).toFixed(1)).join(" "));
  }

  let count = 0;
  const eventSource = new EventSource("/dashboard");
  kit.watch(eventSource, "status");
  eventSource.onmessage = function (event) {
    const data = JSON.parse(event.data);
    if (data.type !== "metrics") return;
    show("cpu", data.cpu.toFixed(1) + " %", data.cpu);
    show("memory", data.memory.toFixed(1) + " %", data.memory);
    show("requests", String(data.requests), data.requests / 10);
    kit.$("count").textContent = String(++count);
    kit.$("updated").textContent = "Last update: " + new Date(data.timestamp).toLocaleTimeString() + " (message id " + event.lastEventId + ")";
  };

  const update = () => kit.send("/update-metrics", { method: "POST" });
  kit.$("update").addEventListener("click", update);
  let timer = null;
  kit.$("auto").addEventListener("change", (e) => {
    clearInterval(timer);
    timer = e.target.checked ? setInterval(update, 1000) : null;
  });

  // The guide's "Clean Up Connections" (Best Practices), as written.
  // Close connections when navigating away
  window.addEventListener("beforeunload", function () {
    if (eventSource) {
      eventSource.close();
    }
  });
}

// ---- page shell --------------------------------------------------------------------------------
// Scripts cannot share code, so each sample carries this small copy. Functions marked "browser" are
// never called on the server: the page embeds their source text (String(fn)) in a <script> element.

const STYLE = `
  :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --card: rgba(127, 127, 127, 0.1); }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 900px; margin: 2rem auto; padding: 0 1rem; }
  nav a { color: var(--muted); text-decoration: none; font-size: 0.9em; }
  h1 { margin: 0.2em 0; } h2 { font-size: 1.05em; margin: 0 0 0.5em; }
  code { background: var(--card); padding: 0 0.3em; border-radius: 4px; }
  .panel { background: var(--card); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
  .row { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: end; }
  .cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 1rem; }
  label { display: flex; flex-direction: column; font-size: 0.85em; color: var(--muted); }
  input, select, textarea, button { font: inherit; }
  input, select, textarea { padding: 0.3em 0.5em; border: 1px solid rgba(127, 127, 127, 0.5); border-radius: 6px; }
  textarea { width: 100%; box-sizing: border-box; font-family: ui-monospace, monospace; font-size: 0.85em; }
  button { background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 0.4em 1em; cursor: pointer; }
  button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
  .badge { display: inline-block; padding: 0.1em 0.7em; border-radius: 1em; font-size: 0.8rem; font-weight: 600; color: #fff; background: #9ca3af; vertical-align: middle; }
  .badge.open { background: #16a34a; } .badge.error { background: #dc2626; }
  .response { font-family: ui-monospace, monospace; font-size: 0.85em; color: var(--muted); min-height: 1.5em; white-space: pre-wrap; }
  .events { list-style: none; padding: 0; margin: 0; }
  .events li { border-left: 3px solid var(--accent); background: var(--card); padding: 0.3em 0.6em; margin: 0.4em 0; border-radius: 0 6px 6px 0; }
  .events li.high, .events li.critical { border-color: #dc2626; } .events li.low { border-color: #9ca3af; }
  .meta { color: var(--muted); font-size: 0.8em; }
  .empty { color: var(--muted); font-style: italic; }
`;

function servePage(title, bodyHtml, browserCode) {
  const html =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n" +
    "<title>" + title + "</title>\n<style>" + STYLE + "</style>\n</head>\n<body>\n" +
    "<nav><a href=\"/\">&larr; all samples</a></nav>\n" + bodyHtml + "\n<script>\n" + browserCode + "\n</script>\n</body>\n</html>\n";
  return { status: 200, body: html, contentType: "text/html; charset=utf-8" };
}

// browser: small helpers every page uses.
function pageKit() {
  const $ = (id) => document.getElementById(id);
  return {
    $,
    // Shows the state of an EventSource in a badge. addEventListener leaves onmessage/onerror free.
    watch(source, badgeId) {
      const badge = $(badgeId);
      source.addEventListener("open", () => { badge.textContent = "connected"; badge.className = "badge open"; });
      source.addEventListener("error", () => {
        badge.textContent = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
        badge.className = "badge error";
      });
    },
    // Adds an entry at the top of a list: a title line, an optional detail line, and a time.
    add(listId, title, detail, timestamp, cls) {
      const list = $(listId);
      const empty = list.querySelector(".empty");
      if (empty) empty.remove();
      const li = document.createElement("li");
      if (cls) li.className = cls;
      const head = document.createElement("div");
      head.textContent = title;
      li.appendChild(head);
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = (detail ? detail + " · " : "") + new Date(timestamp || Date.now()).toLocaleTimeString();
      li.appendChild(meta);
      list.prepend(li);
      while (list.children.length > 50) list.lastElementChild.remove();
    },
    // fetch() that shows "status body" of the answer in the element with id "response".
    async send(url, init) {
      const out = $("response");
      try {
        const answer = await fetch(url, init);
        out.textContent = (init && init.method ? init.method : "GET") + " " + url + " → " + answer.status + " " + (await answer.text());
        return answer;
      } catch (e) {
        out.textContent = "request failed: " + e.message;
        return null;
      }
    },
    // A form's fields as application/x-www-form-urlencoded, which the engine parses into req.form.
    formBody(form) {
      return new URLSearchParams(/** @type {any} */ (new FormData(form)));
    },
  };
}
