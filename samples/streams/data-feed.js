// streams/data-feed.js: the guide's "Use Cases, 4. Live Data Feed".
//
//   stream  GET  /data-feed                   readings { type: "data_update", sensor_id, value, unit, location, timestamp }
//   route   GET  /broadcast-data?sensor=ID    simulates one reading of sensor ID and sends it to /data-feed
//   page    GET  /examples/data-feed          one live card per sensor; buttons and an auto mode that call
//                                             /broadcast-data
//   job     data-feed-poll (every 2 s)        fetches real readings from an upstream, when one is configured,
//                                             and sends them to /data-feed with source: "upstream"
//
// Try it:
//   curl -N http://localhost:3000/data-feed
//   curl "http://localhost:3000/broadcast-data?sensor=rack-1"

// ---- Use Cases, 4. Live Data Feed, exactly as in the guide -------------------------------------

registerWebStream("/data-feed");

function broadcastData(req) {
  // Simulate real-time data
  const data = {
    type: "data_update",
    sensor_id: req.query.sensor,
    value: Math.random() * 100,
    unit: "celsius",
    location: "server_room",
    timestamp: new Date().toISOString(),
  };

  sendStreamMessage(data);
  return { status: 200, body: "Data broadcasted" };
}

register("/broadcast-data", "broadcastData", "GET");

// ---- polling an upstream with fetch ---------------------------------------------------------------
//
// The operator names the upstream: AiWebEngine:Secrets:DATA_FEED_URL (configuration reaches scripts
// through secrets.get) and lets scripts reach its host: AiWebEngine:Fetch:AllowedHosts. It answers JSON,
// one reading { sensor_id, value, unit?, location? } or an array of them. Without a URL the job does
// nothing; an upstream that fails makes the run fail (logged, counted in /engine/schedules) and the
// next tick tries again.

schedule("data-feed-poll", "2s", async () => {
  const url = secrets.get("DATA_FEED_URL");
  if (!url) return;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error("the upstream answered " + response.status);
  const body = await response.json();
  for (const reading of Array.isArray(body) ? body : [body]) {
    sendStreamMessage({
      type: "data_update",
      source: "upstream",
      sensor_id: String(reading.sensor_id),
      value: Number(reading.value),
      unit: reading.unit || "celsius",
      location: reading.location || "upstream",
      timestamp: new Date().toISOString(),
    });
  }
});

// ---- the page ----------------------------------------------------------------------------------

function dataFeedPageHandler(req) {
  return servePage("Live data feed", PAGE_BODY, [String(pageKit), String(dataFeedPage), "dataFeedPage(pageKit());"].join("\n\n"));
}

register("/examples/data-feed", "dataFeedPageHandler", "GET");

const PAGE_BODY = `
<style>
  .reading { font-size: 2em; font-weight: 600; }
  .card { transition: box-shadow 0.3s; } .card.flash { box-shadow: 0 0 0 3px var(--accent); }
</style>
<h1>Live data feed <span id="status" class="badge">connecting</span></h1>
<p>Connected to <code>/data-feed</code>. <code>GET /broadcast-data?sensor=ID</code> sends one simulated reading;
  each sensor gets a card. Received: <span id="count">0</span> messages.</p>
<div class="panel row">
  <label>sensor <select id="sensor"><option>rack-1</option><option>rack-2</option><option>cold-aisle</option></select></label>
  <button id="one" type="button">GET /broadcast-data</button>
  <label style="flex-direction: row; gap: 0.4em; align-items: center;"><input id="auto" type="checkbox"> all sensors, every second</label>
  <span class="response" id="response"></span>
</div>
<div class="cols" id="cards"><p class="empty">No readings yet.</p></div>
<h2>Latest readings</h2>
<ul class="events" id="log"><li class="empty">Nothing yet.</li></ul>
`;

// browser: the page.
function dataFeedPage(kit) {
  const eventSource = new EventSource("/data-feed");
  kit.watch(eventSource, "status");

  // The guide's "Performance Monitoring" snippet, as written: it counts what this page receives and
  // logs to the browser console every 100 messages.
  let messageCount = 0;
  let connectionCount = 0;

  eventSource.onopen = () => {
    connectionCount++;
    console.log("Connections:", connectionCount);
  };

  eventSource.onmessage = (event) => {
    messageCount++;
    if (messageCount % 100 === 0) {
      console.log("Messages received:", messageCount);
    }
  };

  // The page's own listener; addEventListener runs next to the onmessage handler above.
  eventSource.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type !== "data_update") return;
    kit.$("count").textContent = String(messageCount);
    const sensor = data.sensor_id || "(no sensor)";
    const value = data.value.toFixed(2) + (data.unit === "celsius" ? " °C" : " " + data.unit);
    /** @type {HTMLElement | null} */
    let card = document.querySelector('.card[data-sensor="' + CSS.escape(sensor) + '"]');
    if (!card) {
      const empty = kit.$("cards").querySelector(".empty");
      if (empty) empty.remove();
      card = document.createElement("div");
      card.className = "panel card";
      card.dataset.sensor = sensor;
      card.innerHTML = "<h2></h2><div class=\"reading\"></div><div class=\"meta\"></div>";
      card.querySelector("h2").textContent = sensor;
      kit.$("cards").appendChild(card);
    }
    card.querySelector(".reading").textContent = value;
    card.querySelector(".meta").textContent = data.location + " · " + new Date(data.timestamp).toLocaleTimeString();
    card.classList.add("flash");
    setTimeout(() => card.classList.remove("flash"), 300);
    kit.add("log", sensor + ": " + value, data.location, data.timestamp);
  });

  const broadcast = (sensor) => kit.send("/broadcast-data?sensor=" + encodeURIComponent(sensor));
  kit.$("one").addEventListener("click", () => broadcast(kit.$("sensor").value));
  let timer = null;
  kit.$("auto").addEventListener("change", (e) => {
    clearInterval(timer);
    const sensors = Array.from(kit.$("sensor").options, (o) => o.value);
    timer = e.target.checked ? setInterval(() => sensors.forEach(broadcast), 1000) : null;
  });
  window.addEventListener("beforeunload", () => eventSource.close());
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
