// One GraphQL subscription with a token, over the npm graphql-ws or graphql-sse client, for the identity tests.
// usage: node graphql-auth-client.mjs <ws|sse> <url> <token|-> <subscription> <events>
// ws sends the token in the connection_init payload ({ Authorization: "Bearer <token>" }), sse in the
// Authorization header. Prints "subscribed" once the operation is sent, {"next": result} per event,
// "complete" when the server completes it, {"error": ...} for an error (the graphql-ws `error` message
// arrives as an array of GraphQL errors), "closed <code>" when a WebSocket closes. Exits after <events>
// events or the end; 1 after 20 s.
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

const [transport, url, token, query, wanted] = process.argv.slice(2);
const count = Number(wanted ?? 1);
const authorization = token && token !== "-" ? `Bearer ${token}` : undefined;
setTimeout(() => { console.log("timeout"); process.exit(1); }, 20_000);

const client = transport === "ws"
  ? createWsClient({
      url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: authorization ? { Authorization: authorization } : undefined,
      on: { connected: () => console.log("connected"), closed: (e) => console.log(`closed ${e?.code ?? ""}`) },
    })
  : createSseClient({ url, retryAttempts: 0, headers: authorization ? { Authorization: authorization } : {} });

let received = 0;
try {
  const subscription = client.iterate({ query });
  console.log("subscribed");
  for await (const result of subscription) {
    console.log(JSON.stringify({ next: result }));
    if (++received === count) {
      await subscription.return?.();
      console.log("done");
      break;
    }
  }
  if (received < count) console.log("complete");
} catch (error) {
  console.log(JSON.stringify({ error: Array.isArray(error) ? error : (error?.message ?? String(error?.code ?? error)) }));
}
await new Promise((resolve) => setTimeout(resolve, 50));
client.dispose();
process.exit(0);
