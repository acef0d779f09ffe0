// streams/chat.js: the guide's "Use Cases, 3. Chat System".
//
//   stream  GET  /chat                 chat messages { type: "chat_message", user, room, message, timestamp }
//   route   POST /chat/send            form fields user, room, message -> one chat message to /chat
//   page    GET  /examples/chat        a chat room: messages arrive live; the form POSTs /chat/send
//
// The stream /chat and the route /chat/send are different paths, so they live side by side. Every
// message goes to every client of /chat; the page shows the room of each message and can hide the
// other rooms.
//
// Try it:
//   curl -N http://localhost:3000/chat
//   curl -X POST http://localhost:3000/chat/send -d user=ada -d room=general -d "message=Hello, everyone"

// ---- Use Cases, 3. Chat System, exactly as in the guide ----------------------------------------

registerWebStream("/chat");

function sendMessage(req) {
  const { user, room, message } = req.form;

  sendStreamMessage({
    type: "chat_message",
    user: user,
    room: room,
    message: message,
    timestamp: new Date().toISOString(),
  });

  return { status: 200, body: "Message sent" };
}

register("/chat/send", "sendMessage", "POST");

// ---- the page ----------------------------------------------------------------------------------

function chatPageHandler(req) {
  return servePage("Chat", PAGE_BODY, [String(pageKit), String(chatPage), "chatPage(pageKit());"].join("\n\n"));
}

register("/examples/chat", "chatPageHandler", "GET");

const PAGE_BODY = `
<style>
  #messages { list-style: none; padding: 0; margin: 0; height: 340px; overflow-y: auto; display: flex; flex-direction: column; }
  #messages li { max-width: 75%; margin: 0.25em 0; padding: 0.35em 0.7em; border-radius: 12px; background: var(--card); align-self: flex-start; }
  #messages li.mine { align-self: flex-end; background: var(--accent); color: #fff; }
  #messages li.mine .meta { color: rgba(255, 255, 255, 0.8); }
  #messages .meta { font-size: 0.75em; color: var(--muted); }
  #messages li.hidden { display: none; }
</style>
<h1>Chat <span id="status" class="badge">connecting</span></h1>
<p>Connected to <code>/chat</code>. Messages sent with <code>POST /chat/send</code> reach every open copy of
  this page: open it in two windows and talk to yourself.</p>
<div class="panel">
  <ul id="messages"><li class="empty">No messages yet.</li></ul>
</div>
<form id="chat-form" class="panel row">
  <label>user <input name="user" id="user" size="10" required></label>
  <label>room <select name="room" id="room"><option>general</option><option>random</option><option>support</option></select></label>
  <label style="flex: 1">message <input name="message" id="message" autocomplete="off" required></label>
  <button type="submit">Send</button>
  <label style="flex-direction: row; gap: 0.4em; align-items: center;"><input type="checkbox" id="only-room"> only this room</label>
</form>
<div class="response" id="response"></div>
`;

// browser: the page.
function chatPage(kit) {
  const list = kit.$("messages");
  const user = kit.$("user");
  const room = kit.$("room");
  user.value = localStorage.getItem("chat-user") || "guest" + Math.floor(Math.random() * 1000);

  function applyRoomFilter() {
    const only = kit.$("only-room").checked;
    for (const li of list.querySelectorAll("li[data-room]")) {
      li.classList.toggle("hidden", only && li.dataset.room !== room.value);
    }
  }

  const eventSource = new EventSource("/chat");
  kit.watch(eventSource, "status");
  eventSource.onmessage = function (event) {
    const data = JSON.parse(event.data);
    if (data.type !== "chat_message") return;
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.dataset.room = data.room || "";
    if (data.user === user.value) li.classList.add("mine");
    const text = document.createElement("div");
    text.textContent = data.message === undefined ? "(empty message)" : data.message;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = (data.user || "anonymous") + " in #" + (data.room || "?") + " · " + new Date(data.timestamp).toLocaleTimeString();
    li.append(text, meta);
    list.appendChild(li);
    applyRoomFilter();
    list.scrollTop = list.scrollHeight;
  };

  kit.$("chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    localStorage.setItem("chat-user", user.value);
    const answer = await kit.send("/chat/send", { method: "POST", body: kit.formBody(e.target) });
    if (answer && answer.ok) kit.$("message").value = "";
  });
  kit.$("only-room").addEventListener("change", applyRoomFilter);
  room.addEventListener("change", applyRoomFilter);
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
