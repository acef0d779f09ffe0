// identity/inbox.js: signed-in users. Each user's own inbox, and a team chat whose sender is who the
// server says you are, never a form field.
//
//   route   GET  /me                   who you are (req.user), 401 when not signed in
//   stream  GET  /me/inbox             your notifications only (auth: "user"; the engine sets "user")
//   route   POST /me/notify            form fields to (a user id), text -> one notification to that user
//   stream  GET  /team/chat            your team's messages (the authorize hook reads your token's team claim)
//   route   POST /team/chat/send       form field message -> your team; "from" is your name from the token
//   graphql subscription { myInbox }   your notifications over /graphql/sse or WebSocket
//   graphql mutation { notifyUser(to, text) }   the same as POST /me/notify
//   page    GET  /examples/identity    signs in (OpenID Connect) or takes a pasted token, opens both streams
//
// Nothing here works anonymously: configure Authentication:Schemes:Bearer (a development key or your
// provider's Authority) or OpenID Connect sign-in, see README "Identity". Then, with a token:
//   curl -N -H "Authorization: Bearer $ALICE" http://localhost:3000/me/inbox
//   curl -X POST -H "Authorization: Bearer $BOB" http://localhost:3000/me/notify -d to=alice -d text=hi

register("/me", (req) => ({ body: req.user }), { auth: "user" });

// ---- each user's inbox -------------------------------------------------------------------------

registerWebStream("/me/inbox", { auth: "user" });

function notify(from, to, text) {
  const notification = { type: "notification", from: displayName(from), text: String(text), timestamp: new Date().toISOString() };
  // sendToUser reaches the connections whose identity is `to`: no query string or hook can claim it.
  const streams = sendToUser("/me/inbox", to, notification);
  const subscriptions = sendSubscriptionToUser("myInbox", to, notification);
  return streams + subscriptions;
}

register("/me/notify", (req) => {
  const { to, text } = req.form;
  if (typeof to !== "string" || to === "" || typeof text !== "string" || text === "") {
    return { status: 400, body: { error: "form fields 'to' (a user id) and 'text' are required" } };
  }
  return { body: { delivered: notify(req.user, to, text) } };
}, "POST", { auth: "user" });

registerGraphQLSubscription("myInbox", "type Subscription { myInbox: String }", { auth: "user" });

registerGraphQLMutation("notifyUser", "type Mutation { notifyUser(to: String!, text: String!): Int }",
  (args, context) => notify(context.user, args.to, args.text), { auth: "user" });

// ---- the team chat -----------------------------------------------------------------------------

function teamOf(user) {
  return typeof user.claims.team === "string" && user.claims.team !== "" ? user.claims.team : "everyone";
}

function displayName(user) {
  return user.name || user.id;
}

// The hook's metadata is trusted: a client cannot join another team with ?team=...
registerWebStream("/team/chat", { auth: "user", authorize: (req) => ({ team: teamOf(req.user) }) });

register("/team/chat/send", (req) => {
  const message = req.form.message;
  if (typeof message !== "string" || message === "") return { status: 400, body: { error: "form field 'message' is required" } };
  const team = teamOf(req.user);
  const delivered = sendStreamMessageToPath("/team/chat", {
    type: "chat_message", from: displayName(req.user), team, message, timestamp: new Date().toISOString(),
  }, { team });
  return { body: { delivered } };
}, "POST", { auth: "user" });

// ---- the page ----------------------------------------------------------------------------------

register("/examples/identity", () => ({ body: PAGE, contentType: "text/html; charset=utf-8" }));

// browser: opens a stream with the cookie (EventSource) or, with a pasted token, by fetch with an
// Authorization header (EventSource cannot send headers), and parses the event stream itself.
function identityPage() {
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem("aiwebengine-token") || "";
  const controllers = [];
  const headers = () => (token ? { Authorization: "Bearer " + token } : {});

  function show(listId, text) {
    const li = document.createElement("li");
    li.textContent = text;
    $(listId).prepend(li);
  }

  function open(path, onData) {
    if (!token) {
      const source = new EventSource(path);
      source.onmessage = (e) => onData(JSON.parse(e.data));
      source.addEventListener("credential-expired", () => { source.close(); $("who").textContent = "session expired: sign in again"; });
      controllers.push({ abort: () => source.close() });
      return;
    }
    const controller = new AbortController();
    controllers.push(controller);
    fetch(path, { headers: { ...headers(), Accept: "text/event-stream" }, signal: controller.signal }).then(async (answer) => {
      if (!answer.ok) { show("inbox", path + ": " + answer.status + " " + (await answer.text())); return; }
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += value;
        let end;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const frame = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
          const event = (frame.split("\n").find((l) => l.startsWith("event:")) || "").slice(6).trim();
          if (data && !event) onData(JSON.parse(data));
          if (event === "credential-expired") $("who").textContent = "token expired: paste a fresh one";
        }
      }
    }).catch(() => {});
  }

  async function start() {
    controllers.splice(0).forEach((c) => c.abort());
    const me = await fetch("/me", { headers: headers() });
    if (me.status !== 200) {
      $("who").textContent = "not signed in (" + me.status + ")";
      $("signed-in").hidden = true;
      return;
    }
    const user = await me.json();
    $("who").textContent = "signed in as " + (user.name || user.id) + " (" + user.id + ")" + (user.claims.team ? ", team " + user.claims.team : "");
    $("signed-in").hidden = false;
    open("/me/inbox", (n) => show("inbox", n.from + ": " + n.text));
    open("/team/chat", (m) => show("chat", m.from + ": " + m.message));
  }

  async function post(path, form) {
    const answer = await fetch(path, { method: "POST", headers: headers(), body: new URLSearchParams(/** @type {any} */ (new FormData(form))) });
    $("response").textContent = "POST " + path + " → " + answer.status + " " + (await answer.text());
  }

  $("token-form").onsubmit = (e) => { e.preventDefault(); token = /** @type {HTMLInputElement} */ ($("token")).value.trim(); sessionStorage.setItem("aiwebengine-token", token); start(); };
  $("notify-form").onsubmit = (e) => { e.preventDefault(); post("/me/notify", e.target); };
  $("chat-form").onsubmit = (e) => { e.preventDefault(); post("/team/chat/send", e.target); };
  start();
}

const PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Identity</title>
<style>body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
ul { list-style: none; padding: 0; } li { border-left: 3px solid #2563eb; padding: 0.2em 0.6em; margin: 0.3em 0; }
.response { font-family: ui-monospace, monospace; font-size: 0.85em; color: #6b7280; }</style></head>
<body><nav><a href="/">&larr; all samples</a></nav>
<h1>Identity</h1>
<p id="who">…</p>
<p><a href="/auth/signin?returnUrl=/examples/identity">Sign in</a> (OpenID Connect, when configured) ·
<form id="signout" method="post" action="/auth/signout?returnUrl=/examples/identity" style="display:inline"><button>Sign out</button></form></p>
<form id="token-form">or paste a token: <input id="token" size="40" placeholder="eyJ…"> <button>Use token</button></form>
<div id="signed-in" hidden>
<h2>Your inbox</h2>
<form id="notify-form">to <input name="to" size="10" required> <input name="text" size="24" required placeholder="text"> <button>Notify</button></form>
<ul id="inbox"></ul>
<h2>Your team's chat</h2>
<form id="chat-form"><input name="message" size="36" required placeholder="message"> <button>Send as yourself</button></form>
<ul id="chat"></ul>
<p class="response" id="response"></p>
</div>
<script>
${String(identityPage)}
identityPage();
</script></body></html>
`;
