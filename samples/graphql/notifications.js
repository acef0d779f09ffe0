// graphql/notifications.js: the GraphQL subscriptions example: a liveNotifications subscription, a
// sendNotification mutation that publishes on it, the /trigger-notification route, and a page that
// subscribes over /graphql/sse with fetch (as the streaming guide's "Client Connection" does) and
// over /graphql/subscription/liveNotifications with EventSource.
//
//   subscription  liveNotifications: String           first event: the resolver's greeting
//   mutation      sendNotification(message: String!): String
//   route   POST  /trigger-notification                publishes a notification (and feeds the
//                                                      /notifications stream of streams/notifications.js)
//   page    GET   /examples/graphql-notifications
//
// Try it:
//   curl -N http://localhost:3000/graphql/sse -H "Content-Type: application/json" \
//        -d '{"query":"subscription { liveNotifications }"}'
//   curl -N http://localhost:3000/graphql/subscription/liveNotifications
//   curl -X POST http://localhost:3000/trigger-notification
//   curl http://localhost:3000/graphql -H "Content-Type: application/json" \
//        -d '{"query":"mutation { sendNotification(message: \"Deploy finished\") }"}'

registerGraphQLSubscription(
  "liveNotifications",
  "type Subscription { liveNotifications: String }",
  "liveNotificationsResolver",
);

function liveNotificationsResolver() {
  return "Subscribed to live notifications";
}

registerGraphQLMutation(
  "sendNotification",
  "type Mutation { sendNotification(message: String!): String }",
  "sendNotificationResolver",
);

function sendNotificationResolver(args) {
  const count = sendSubscriptionMessage(
    "liveNotifications",
    JSON.stringify({
      type: "notification",
      message: args.message,
      timestamp: new Date().toISOString(),
    }),
  );
  return "Notification sent to " + count + " subscriber(s)";
}

function triggerNotification(req) {
  const notification = {
    type: "notification",
    title: "New Message",
    body: "You have a new message",
    message: "You have a new message",
    timestamp: new Date().toISOString(),
    priority: "high",
  };
  const subscribers = sendSubscriptionMessage("liveNotifications", notification);
  // The streaming guide's curl test listens on /notifications (streams/notifications.js) for this.
  let clients = 0;
  try {
    clients = sendStreamMessageToPath("/notifications", notification);
  } catch (e) {
    writeLog("/notifications is not registered: " + e.message);
  }
  return { status: 200, body: "Notification sent (" + subscribers + " subscriber(s), " + clients + " stream client(s))" };
}

register("/trigger-notification", "triggerNotification", "POST");

function pageHandler() {
  return { contentType: "text/html; charset=utf-8", body: PAGE };
}

register("/examples/graphql-notifications", "pageHandler");

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphQL live notifications</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  h1 { font-size: 1.4rem; } code { background: #f1f3f7; padding: 0 .3em; border-radius: 3px; }
  .cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
  .panel { border: 1px solid #d8dde8; border-radius: 8px; padding: .8rem 1rem; }
  ul { list-style: none; padding: 0; } li { border-bottom: 1px solid #eef0f5; padding: .3rem 0; font-family: ui-monospace, monospace; font-size: 13px; }
  button { padding: .35rem .8rem; } input { padding: .3rem; width: 60%; }
</style>
</head>
<body>
<h1>GraphQL live notifications</h1>
<p>Left: <code>subscription { liveNotifications }</code> over <code>POST /graphql/sse</code>, read with <code>fetch</code>.
Right: the same subscription as a plain <code>EventSource</code> on <code>/graphql/subscription/liveNotifications</code>.</p>
<p><button id="trigger">POST /trigger-notification</button>
<input id="message" value="Deploy finished"> <button id="send">mutation sendNotification</button></p>
<div class="cols">
  <div class="panel"><h2>/graphql/sse</h2><ul id="sse"></ul></div>
  <div class="panel"><h2>EventSource</h2><ul id="es"></ul></div>
</div>
<script>
function show(list, text) {
  const item = document.createElement("li");
  item.textContent = text;
  document.getElementById(list).prepend(item);
}

// The streaming guide's "Client Connection": POST the subscription to /graphql/sse and read the stream.
fetch("/graphql/sse", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ query: "subscription { liveNotifications }" }),
}).then(async (response) => {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\\n\\n")) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame);
      const data = frame.split("\\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\\n");
      if (event && event[1] === "next" && data) show("sse", JSON.parse(data).data.liveNotifications);
    }
  }
});

// Or connect directly to the auto-registered stream path.
const eventSource = new EventSource("/graphql/subscription/liveNotifications");
eventSource.onmessage = (event) => show("es", event.data);

document.getElementById("trigger").onclick = () => fetch("/trigger-notification", { method: "POST" });
document.getElementById("send").onclick = () => fetch("/graphql", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({
    query: "mutation($m: String!) { sendNotification(message: $m) }",
    variables: { m: document.getElementById("message").value },
  }),
});
</script>
</body>
</html>`;
