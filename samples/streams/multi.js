// streams/multi.js: the guide's "Advanced Topics, Multiple Stream Coordination".
//
//   stream  GET  /multi/notifications          user notifications
//   stream  GET  /multi/system-status          system health
//   stream  GET  /multi/chat                   chat messages
//   route   POST /multi/user-action            the guide's handleUserAction: form fields action, user
//   route   POST /multi/user-action/targeted   the same, each message sent to one stream only
//   page    GET  /examples/multi               one column per stream; a form that calls both routes
//
// Path change: the guide registers "/notifications", "/system-status" and "/chat", but
// streams/notifications.js and streams/chat.js already own /notifications and /chat, and a stream path
// belongs to one script. So this example's streams (and its route) live under /multi/.
//
// What the guide's code does: sendStreamMessage() sends to every client of every stream this script
// registered, so each message of handleUserAction reaches all three streams, whatever the comment
// "Send targeted messages" hopes. The page shows it: every message lands in all three columns. To send
// to one stream, use sendStreamMessageToPath(path, data), as handleUserActionTargeted does.
//
// Try it:
//   curl -N http://localhost:3000/multi/system-status
//   curl -X POST http://localhost:3000/multi/user-action -d user=ada -d action=critical_operation
//   curl -X POST http://localhost:3000/multi/user-action/targeted -d user=ada -d action=critical_operation

// ---- Multiple Stream Coordination, as in the guide (paths under /multi/) ------------------------

// Register different streams for different data types
registerWebStream("/multi/notifications"); // User notifications
registerWebStream("/multi/system-status"); // System health
registerWebStream("/multi/chat"); // Chat messages

// Send targeted messages based on context
function handleUserAction(req) {
  // Notify about user action
  sendStreamMessage({
    type: "user_action",
    action: req.form.action,
    user: req.form.user,
  });

  // Update system status if needed
  if (req.form.action === "critical_operation") {
    sendStreamMessage({
      type: "system_status",
      status: "busy",
      operation: req.form.action,
    });
  }

  return { status: 200, body: "Action processed" };
}

// The guide's example stops before registering its handler; this line completes it.
register("/multi/user-action", "handleUserAction", "POST");

// ---- the targeted variant ----------------------------------------------------------------------

function handleUserActionTargeted(req) {
  // Notify about user action: only /multi/notifications.
  const notified = sendStreamMessageToPath("/multi/notifications", {
    type: "user_action",
    action: req.form.action,
    user: req.form.user,
  });

  // Update system status if needed: only /multi/system-status.
  let statusClients = 0;
  if (req.form.action === "critical_operation") {
    statusClients = sendStreamMessageToPath("/multi/system-status", {
      type: "system_status",
      status: "busy",
      operation: req.form.action,
    });
  }

  return {
    status: 200,
    body: "Action processed (notifications: " + notified + " clients, system-status: " + statusClients + " clients)",
  };
}

register("/multi/user-action/targeted", "handleUserActionTargeted", "POST");

// ---- the page ----------------------------------------------------------------------------------

function multiPageHandler(req) {
  return servePage("Multiple streams", PAGE_BODY, [String(pageKit), String(multiPage), "multiPage(pageKit());"].join("\n\n"));
}

register("/examples/multi", "multiPageHandler", "GET");

const PAGE_BODY = `
<h1>Multiple stream coordination</h1>
<p>This page opens one <code>EventSource</code> per stream. With the guide's <code>handleUserAction</code>,
  <code>sendStreamMessage()</code> goes to <em>every</em> stream of the script, so each message shows up in all
  three columns. The targeted route uses <code>sendStreamMessageToPath()</code> instead: user actions reach only
  <code>/multi/notifications</code>, status only <code>/multi/system-status</code>, and the chat column stays quiet.</p>
<form id="action-form" class="panel row">
  <label>user <input name="user" value="ada" size="10" required></label>
  <label>action <select name="action"><option>login</option><option>upload_file</option><option>critical_operation</option></select></label>
  <button type="submit" data-route="/multi/user-action">POST /multi/user-action (guide)</button>
  <button type="submit" class="secondary" data-route="/multi/user-action/targeted">POST /multi/user-action/targeted</button>
</form>
<div class="response" id="response"></div>
<div class="cols">
  <div class="panel"><h2><code>/multi/notifications</code> <span id="status-notifications" class="badge">connecting</span></h2><ul class="events" id="log-notifications"><li class="empty">Nothing yet.</li></ul></div>
  <div class="panel"><h2><code>/multi/system-status</code> <span id="status-system-status" class="badge">connecting</span></h2><ul class="events" id="log-system-status"><li class="empty">Nothing yet.</li></ul></div>
  <div class="panel"><h2><code>/multi/chat</code> <span id="status-chat" class="badge">connecting</span></h2><ul class="events" id="log-chat"><li class="empty">Nothing yet.</li></ul></div>
</div>
`;

// browser: the page.
function multiPage(kit) {
  const sources = [];
  for (const name of ["notifications", "system-status", "chat"]) {
    const eventSource = new EventSource("/multi/" + name);
    sources.push(eventSource);
    kit.watch(eventSource, "status-" + name);
    eventSource.onmessage = (event) => {
      const data = JSON.parse(event.data);
      switch (data.type) {
        case "user_action":
          kit.add("log-" + name, (data.user || "someone") + " did " + (data.action || "something"), "user_action · id " + event.lastEventId);
          break;
        case "system_status":
          kit.add("log-" + name, "system is " + data.status + " (" + data.operation + ")", "system_status · id " + event.lastEventId, null, "critical");
          break;
        default:
          kit.add("log-" + name, JSON.stringify(data), "id " + event.lastEventId);
      }
    };
  }

  kit.$("action-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const route = e.submitter ? e.submitter.dataset.route : "/multi/user-action";
    kit.send(route, { method: "POST", body: kit.formBody(e.target) });
  });
  window.addEventListener("beforeunload", () => sources.forEach((s) => s.close()));
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
