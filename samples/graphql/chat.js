// graphql/chat.js: a typed GraphQL example. The subscription chat(room: String): ChatMessage
// receives only its room's messages: a subscription's arguments are its connection metadata, and
// postMessage publishes with the filter { room }.
//
//   query         rooms: [String!]!
//   query         chatHistory(room: String!, last: Int = 20): [ChatMessage!]!   the room's last messages, from storage
//   mutation      postMessage(room: String!, user: String!, text: String!): ChatMessage
//   subscription  chat(room: String): ChatMessage
//   page    GET   /examples/graphql-chat
//
// Try it:
//   curl -N http://localhost:3000/graphql/sse -H "Content-Type: application/json" \
//        -d '{"query":"subscription { chat(room: \"general\") { user text at } }"}'
//   curl http://localhost:3000/graphql -H "Content-Type: application/json" \
//        -d '{"query":"mutation { postMessage(room: \"general\", user: \"ada\", text: \"hi\") { id } }"}'

const CHAT_MESSAGE = `
  "One message of a chat room."
  type ChatMessage {
    id: ID!
    room: String!
    user: String!
    text: String!
    at: String!
  }`;

const rooms = new Set(["general", "random"]);

// The history survives restarts: every message is stored under room:<room>:<id> (ids from an atomic
// counter, zero-padded so that the keys list in order), and each room keeps its last HISTORY messages.
// A page that subscribes shows chatHistory first, then the live messages.
const HISTORY = 50;
const roomPrefix = (room) => "room:" + room + ":";

async function lastMessages(room, last) {
  const entries = await storage.list(roomPrefix(room));
  return entries.slice(-last).map((entry) => entry.value);
}

registerGraphQLQuery("rooms", "type Query { rooms: [String!]! }", () => [...rooms]);

registerGraphQLQuery(
  "chatHistory",
  "type Query { chatHistory(room: String!, last: Int = 20): [ChatMessage!]! }" + CHAT_MESSAGE,
  (args) => lastMessages(args.room, Math.max(0, Math.min(args.last, HISTORY))),
);

registerGraphQLMutation(
  "postMessage",
  "type Mutation { postMessage(room: String!, user: String!, text: String!): ChatMessage }" + CHAT_MESSAGE,
  async (args) => {
    if (!args.text.trim()) throw new Error("text must not be empty");
    rooms.add(args.room);
    const id = await storage.increment("next-id");
    const message = { id: String(id), room: args.room, user: args.user, text: args.text, at: new Date().toISOString() };
    await storage.set(roomPrefix(args.room) + String(id).padStart(12, "0"), message);
    const kept = await storage.list(roomPrefix(args.room));
    for (const old of kept.slice(0, -HISTORY)) await storage.delete(old.key);
    sendSubscriptionMessage("chat", message, { room: args.room });
    return message;
  },
);

registerGraphQLSubscription("chat", "type Subscription { chat(room: String): ChatMessage }" + CHAT_MESSAGE, null);

register("/examples/graphql-chat", () => ({ contentType: "text/html; charset=utf-8", body: PAGE }));

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphQL chat</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  ul { list-style: none; padding: 0; } li { border-bottom: 1px solid #eef0f5; padding: .3rem 0; }
  b { color: #3451b2; } input, select, button { padding: .3rem; }
</style>
</head>
<body>
<h1>GraphQL chat</h1>
<p>Room <select id="room"><option>general</option><option>random</option></select>
as <input id="user" value="ada" size="8">:
<input id="text" value="hello" size="24"> <button id="send">postMessage</button></p>
<ul id="log"></ul>
<script>
let stream = null;
function show(message) {
  const item = document.createElement("li");
  item.innerHTML = "<b></b> ";
  item.firstChild.textContent = message.user;
  item.append(message.text);
  document.getElementById("log").append(item);
}

async function subscribe(room) {
  if (stream) stream.abort();
  stream = new AbortController();
  document.getElementById("log").innerHTML = "";
  // The room's last messages first (kept in storage), then the live ones.
  const history = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query: "query($room: String!) { chatHistory(room: $room) { user text at } }", variables: { room } }),
  }).then((response) => response.json()).catch(() => null);
  for (const message of history?.data?.chatHistory ?? []) show(message);
  fetch("/graphql/sse", {
    method: "POST",
    signal: stream.signal,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query: "subscription($room: String) { chat(room: $room) { user text at } }", variables: { room } }),
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
        const data = frame.split("\\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
        if (!frame.startsWith("event: next") || !data) continue;
        show(JSON.parse(data).data.chat);
      }
    }
  }).catch(() => {});
}

document.getElementById("room").onchange = (e) => subscribe(e.target.value);
document.getElementById("send").onclick = () => fetch("/graphql", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({
    query: "mutation($room: String!, $user: String!, $text: String!) { postMessage(room: $room, user: $user, text: $text) { id } }",
    variables: { room: document.getElementById("room").value, user: document.getElementById("user").value, text: document.getElementById("text").value },
  }),
});
subscribe("general");
</script>
</body>
</html>`;
