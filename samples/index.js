// index.js: the start page. GET / lists every sample with its page, routes and streams.
//
// The list below is written by hand: a script cannot see what other scripts registered. When you add
// a sample, add it here and to samples/README.md.
//
// Try it:  open http://localhost:3000/   or   curl http://localhost:3000/

const SAMPLES = [
  {
    title: "Hello",
    file: "hello.js",
    about: "The smallest script: one GET route with an optional query parameter.",
    routes: [["GET", "/hello", "plain-text greeting", "/hello?name=Ada"]],
  },
  {
    title: "Notes API",
    file: "api/notes.js",
    about: "A small JSON API over in-memory notes: JSON and form bodies, path parameters, 201/400/404 answers.",
    routes: [
      ["GET", "/api/notes", "list notes; filter with ?tag= and ?q=", "/api/notes"],
      ["POST", "/api/notes", "create a note from JSON or form fields (title required; body, tags)"],
      ["GET", "/api/notes/{id}", "one note, 404 when there is none", "/api/notes/1"],
      ["DELETE", "/api/notes/{id}", "delete a note"],
    ],
  },
  {
    title: "Quick Start: basic stream",
    file: "streams/basic.js",
    about: "The guide's Quick Start: a stream, a POST that sends to it, and the guide's client page.",
    page: "/examples/basic",
    streams: [["/events", "one event per POST /trigger"]],
    routes: [
      ["POST", "/trigger", "sends \"Something happened!\" to /events"],
      ["GET", "/examples/basic/guide", "the guide's client page, exactly as written", "/examples/basic/guide"],
    ],
  },
  {
    title: "Live notifications",
    file: "streams/notifications.js",
    about: "Alerts from a form (req.form) and the guide's curl test, shown through the guide's StreamManager class.",
    page: "/examples/notifications",
    streams: [["/notifications", "alerts and notifications"]],
    routes: [
      ["POST", "/send-alert", "form fields type, message, priority become an alert"],
    ],
  },
  {
    title: "Real-time dashboard",
    file: "streams/dashboard.js",
    about: "Simulated CPU, memory and request metrics pushed to live gauges.",
    page: "/examples/dashboard",
    streams: [["/dashboard", "metrics messages"]],
    routes: [["POST", "/update-metrics", "sends one set of metrics"]],
  },
  {
    title: "Chat",
    file: "streams/chat.js",
    about: "A chat room: messages posted by any client reach every client.",
    page: "/examples/chat",
    streams: [["/chat", "chat messages of every room"]],
    routes: [["POST", "/chat/send", "form fields user, room, message"]],
  },
  {
    title: "Live data feed",
    file: "streams/data-feed.js",
    about: "Simulated sensor readings, one live card per sensor.",
    page: "/examples/data-feed",
    streams: [["/data-feed", "sensor readings"]],
    routes: [["GET", "/broadcast-data?sensor=ID", "sends one reading of sensor ID", "/broadcast-data?sensor=rack-1"]],
  },
  {
    title: "Multiple stream coordination",
    file: "streams/multi.js",
    about: "Three streams in one script: sendStreamMessage reaches all of them, sendStreamMessageToPath just one.",
    page: "/examples/multi",
    streams: [
      ["/multi/notifications", "user actions"],
      ["/multi/system-status", "system status"],
      ["/multi/chat", "chat (quiet unless broadcast to)"],
    ],
    routes: [
      ["POST", "/multi/user-action", "the guide's handler: form fields user, action"],
      ["POST", "/multi/user-action/targeted", "the same with one stream per message"],
    ],
  },
  {
    title: "External webhook",
    file: "streams/webhook.js",
    about: "A GitHub-style webhook whose JSON payload becomes a stream message.",
    page: "/examples/webhook",
    streams: [["/external-updates", "one update per webhook call"]],
    routes: [["POST", "/webhook/github", "JSON body with action and repository.name"]],
  },
  {
    title: "GraphQL live notifications",
    file: "graphql/notifications.js",
    about: "The GraphQL subscriptions example: liveNotifications over /graphql/sse and as an EventSource stream.",
    page: "/examples/graphql-notifications",
    streams: [["/graphql/subscription/liveNotifications", "the subscription's payloads, as sent"]],
    routes: [
      ["POST", "/trigger-notification", "publishes the guide's \"New Message\" notification (also to /notifications)"],
      ["POST", "/graphql", "mutation { sendNotification(message: \"...\") }"],
    ],
  },
  {
    title: "GraphQL chat (typed)",
    file: "graphql/chat.js",
    about: "subscription chat(room) { user text } receives only its room's ChatMessages; postMessage publishes.",
    page: "/examples/graphql-chat",
    streams: [["/graphql/subscription/chat?room=general", "general's messages as JSON"]],
    routes: [["POST", "/graphql", "mutation { postMessage(room, user, text) { id } }"]],
  },
  {
    title: "Signed-in users: inbox and team chat",
    file: "identity/inbox.js",
    about: "Needs sign-in (README, Identity): each user receives only their own notifications; the team chat takes the sender's name from the token, and the authorize hook puts each user in their token's team.",
    page: "/examples/identity",
    streams: [
      ["/me/inbox", "your notifications only (auth: user)"],
      ["/team/chat", "your team's messages (authorize hook: the token's team claim)"],
    ],
    routes: [
      ["GET", "/me", "who you are (req.user); 401 when not signed in", "/me"],
      ["POST", "/me/notify", "form fields to, text: a notification to that user"],
      ["POST", "/team/chat/send", "form field message: to your team, from your name"],
      ["POST", "/graphql", "mutation { notifyUser(to, text) }, subscription { myInbox }"],
    ],
  },
  {
    title: "GraphQL live events (guide quick example)",
    file: "graphql/live-events.js",
    about: "The streaming guide's registerGraphQLSubscription example, as written.",
    streams: [["/graphql/subscription/liveEvents", "liveEvents payloads"]],
    routes: [["POST", "/live-events/trigger", "calls the guide's triggerEvent()"]],
  },
];

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function renderRoute(route) {
  const [method, path, about, link] = route;
  const shown = link ? "<a href=\"" + escapeHtml(link) + "\"><code>" + escapeHtml(path) + "</code></a>" : "<code>" + escapeHtml(path) + "</code>";
  return "<li><span class=\"method " + method.toLowerCase() + "\">" + method + "</span> " + shown + " — " + escapeHtml(about) + "</li>";
}

function renderStream(stream) {
  const [path, about] = stream;
  return "<li><span class=\"method sse\">SSE</span> <code>" + escapeHtml(path) + "</code> — " + escapeHtml(about) + "</li>";
}

function renderSample(sample) {
  const title = sample.page
    ? "<a href=\"" + escapeHtml(sample.page) + "\">" + escapeHtml(sample.title) + "</a>"
    : escapeHtml(sample.title);
  const page = sample.page
    ? "<li><span class=\"method page\">PAGE</span> <a href=\"" + escapeHtml(sample.page) + "\"><code>" + escapeHtml(sample.page) + "</code></a> — live demo page</li>"
    : "";
  return (
    "<section class=\"sample\">\n<h2>" + title + " <small><code>samples/" + escapeHtml(sample.file) + "</code></small></h2>\n" +
    "<p>" + escapeHtml(sample.about) + "</p>\n<ul>" + page +
    (sample.streams || []).map(renderStream).join("") +
    (sample.routes || []).map(renderRoute).join("") +
    "</ul>\n</section>"
  );
}

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>AiWebEngine samples</title>
<style>
  :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --card: rgba(127, 127, 127, 0.1); }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 900px; margin: 2rem auto; padding: 0 1rem; }
  h1 { margin-bottom: 0.2em; }
  h2 { font-size: 1.1em; margin: 0 0 0.3em; } h2 small { font-weight: normal; color: var(--muted); font-size: 0.8em; }
  code { background: var(--card); padding: 0 0.3em; border-radius: 4px; }
  a { color: var(--accent); }
  .sample { background: var(--card); border-radius: 8px; padding: 0.8rem 1rem; margin: 1rem 0; }
  .sample p { margin: 0 0 0.4em; }
  .sample ul { list-style: none; padding: 0; margin: 0; }
  .sample li { margin: 0.2em 0; }
  .method { display: inline-block; min-width: 4.2em; text-align: center; font: 600 0.72em ui-monospace, monospace; padding: 0.1em 0.3em; border-radius: 4px; color: #fff; background: #6b7280; }
  .method.get { background: #16a34a; } .method.post { background: #2563eb; } .method.delete { background: #dc2626; }
  .method.sse { background: #9333ea; } .method.page { background: #0891b2; }
  .muted { color: var(--muted); }
</style>
</head>
<body>
<h1>AiWebEngine samples</h1>
<p class="muted">Each sample is one JavaScript file under <code>samples/</code>; this page is <code>samples/index.js</code>.
  Pages marked PAGE show a stream live in the browser. Streams (SSE) can also be watched with
  <code>curl -N http://localhost:3000/events</code>; the curl line for every sample is in <code>samples/README.md</code>.</p>
${SAMPLES.map(renderSample).join("\n")}
<section class="sample">
<h2>Built into the engine</h2>
<ul><li><span class="method get">GET</span> <a href="/health"><code>/health</code></a> — loaded scripts, failed scripts, stream paths and connections</li></ul>
</section>
</body>
</html>
`;

function index(req) {
  return { status: 200, body: PAGE, contentType: "text/html; charset=utf-8" };
}

register("/", "index", "GET");
