// streams/notifications.js: the guide's "Use Cases, 1. Live Notifications", with a page built on the
// guide's StreamManager class ("Client Integration, Advanced Client Handling").
//
//   stream  GET  /notifications             every alert and notification of this script
//   route   POST /send-alert                 form fields type, message, priority -> { type: "alert", ... }
//   (POST /trigger-notification, the guide's "curl Testing" trigger, is in samples/graphql/notifications.js)
//   page    GET  /examples/notifications     StreamManager client, a form for /send-alert, a button for
//                                            /trigger-notification
//
// Try it (the guide's "curl Testing" lines, then the alert):
//   curl -N -H "Accept: text/event-stream" http://localhost:3000/notifications
//   curl -X POST http://localhost:3000/trigger-notification
//   curl -X POST http://localhost:3000/send-alert -d type=deploy -d "message=v2 is live" -d priority=high

// ---- Use Cases, 1. Live Notifications, exactly as in the guide ---------------------------------

registerWebStream("/notifications");

function sendAlert(req) {
  const { type, message, priority } = req.form;

  sendStreamMessage({
    type: "alert",
    alertType: type,
    message: message,
    priority: priority || "normal",
    timestamp: new Date().toISOString(),
  });

  return { status: 200, body: "Alert sent" };
}

register("/send-alert", "sendAlert", "POST");

// ---- Client Integration, "curl Testing" ------------------------------------------------------
// The guide's curl test connects to /notifications and then POSTs /trigger-notification. That route
// belongs to samples/graphql/notifications.js (the GraphQL subscriptions example, which the GraphQL
// guide builds around it): it publishes on the liveNotifications subscription AND sends the API
// Reference's { type: "notification", title: "New Message", ... } message to this script's
// /notifications stream with sendStreamMessageToPath, so the curl test works as the guide says.

// ---- the page ----------------------------------------------------------------------------------

function notificationsPageHandler(req) {
  return servePage("Live notifications", PAGE_BODY, [
    String(pageKit),
    String(StreamManager),
    String(closePreviousConnection),
    "closePreviousConnection();",
    String(notificationsPage),
    "notificationsPage(pageKit());",
  ].join("\n\n"));
}

register("/examples/notifications", "notificationsPageHandler", "GET");

const PAGE_BODY = `
<h1>Live notifications <span id="status" class="badge">connecting</span></h1>
<p>This page connects to <code>/notifications</code> through the guide's <code>StreamManager</code> class.
  Alerts sent with the form (<code>POST /send-alert</code>, read from <code>req.form</code>) and notifications
  from <code>POST /trigger-notification</code> appear below in every open copy of the page.</p>
<div class="cols">
  <form id="alert-form" class="panel">
    <h2>Send an alert</h2>
    <div class="row">
      <label>type <select name="type"><option>info</option><option>deploy</option><option>warning</option><option>error</option></select></label>
      <label>priority <select name="priority"><option>normal</option><option>low</option><option>high</option></select></label>
    </div>
    <p class="row"><label style="flex: 1">message <input name="message" value="Disk usage above 80%" required></label></p>
    <button type="submit">POST /send-alert</button>
  </form>
  <div class="panel">
    <h2>The guide's curl test</h2>
    <p>Sends the API Reference's example message: <code>{ type: "notification", title: "New Message", ... }</code>.</p>
    <button id="notify" type="button">POST /trigger-notification</button>
  </div>
</div>
<div class="response" id="response"></div>
<ul class="events" id="log"><li class="empty">Nothing yet: send an alert.</li></ul>
`;

// browser: the guide's StreamManager, exactly as written in "Advanced Client Handling".
class StreamManager {
  constructor(streamPath, options = {}) {
    this.streamPath = streamPath;
    this.options = {
      reconnectDelay: 3000,
      maxReconnectAttempts: 5,
      ...options,
    };
    this.reconnectAttempts = 0;
    this.eventSource = null;
    this.messageHandlers = new Map();
  }

  connect() {
    this.eventSource = new EventSource(this.streamPath);

    this.eventSource.onmessage = (event) => {
      const data = JSON.parse(event.data);
      this.handleMessage(data);
    };

    this.eventSource.onopen = () => {
      console.log("Stream connected");
      this.reconnectAttempts = 0;
    };

    this.eventSource.onerror = () => {
      this.handleError();
    };
  }

  handleMessage(data) {
    const handler = this.messageHandlers.get(data.type);
    if (handler) {
      handler(data);
    }
  }

  handleError() {
    if (this.reconnectAttempts < this.options.maxReconnectAttempts) {
      this.reconnectAttempts++;
      setTimeout(() => {
        console.log(`Reconnecting... (attempt ${this.reconnectAttempts})`);
        this.connect();
      }, this.options.reconnectDelay);
    }
  }

  on(messageType, handler) {
    this.messageHandlers.set(messageType, handler);
  }

  disconnect() {
    if (this.eventSource) {
      this.eventSource.close();
    }
  }
}

// browser: one addition to the guide's class. An EventSource reconnects by itself after an error, and
// StreamManager.handleError() then opens a second one without closing the first, so after a server
// restart the page would hold several connections and show every message several times. Closing the
// previous EventSource in connect() keeps exactly one; the class above stays as the guide wrote it.
function closePreviousConnection() {
  const connect = StreamManager.prototype.connect;
  StreamManager.prototype.connect = function () {
    if (this.eventSource) this.eventSource.close();
    connect.call(this);
  };
}

// browser: the page.
function notificationsPage(kit) {
  function showNotification(title, body) {
    kit.add("log", title + ": " + body, "notification", Date.now(), "high");
  }

  function updateUI(data) {
    kit.add("log", "update: " + JSON.stringify(data), "update", data.timestamp);
  }

  // Usage (the guide's code, as written)
  const stream = new StreamManager("/notifications");
  stream.on("notification", (data) => {
    showNotification(data.title, data.body);
  });
  stream.on("update", (data) => {
    updateUI(data);
  });
  stream.connect();

  // The messages of /send-alert have type "alert".
  stream.on("alert", (data) => {
    kit.add("log", "[" + (data.alertType || "alert") + "] " + (data.message || "(no message)"),
      "alert · priority " + data.priority, data.timestamp, data.priority);
  });

  // StreamManager replaces its EventSource when it reconnects, so poll its state for the badge.
  const badge = kit.$("status");
  setInterval(() => {
    const state = stream.eventSource ? stream.eventSource.readyState : EventSource.CLOSED;
    badge.textContent = ["connecting", "connected", "closed"][state];
    badge.className = "badge" + (state === EventSource.OPEN ? " open" : state === EventSource.CLOSED ? " error" : "");
  }, 300);

  kit.$("alert-form").addEventListener("submit", (e) => {
    e.preventDefault();
    kit.send("/send-alert", { method: "POST", body: kit.formBody(e.target) });
  });
  kit.$("notify").addEventListener("click", () => kit.send("/trigger-notification", { method: "POST" }));
  window.addEventListener("beforeunload", () => stream.disconnect());
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
