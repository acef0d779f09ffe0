// The npm graphql-ws client (graphql-transport-ws) for the .NET tests, on the npm "ws" WebSocket.
// usage: node graphql-ws-client.mjs [--origin=<origin>] <ws-url> <events> [complete|leave] [subscription] [query]
// Opens one socket, subscribes (default `subscription { liveEvents }`; prints "subscribing"), runs a
// query (default `query Greeting { hello(name: "ws") }`) on the same socket while the subscription is
// live (prints {"query": result}), prints {"next": result} per event, and "complete" when the server
// completes the subscription, or with "leave" stops the subscription itself after <events> events
// (prints "left"). Prints "connected" per socket opened. Exits 0, or 1 on an error or after 20 s.
// --origin sends that Origin header with the upgrade, as a browser page of that origin would.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const args = process.argv.slice(2);
const origin = args.find((a) => a.startsWith("--origin="))?.slice("--origin=".length);
const [url, wanted, mode, subscriptionQuery, query] = args.filter((a) => !a.startsWith("--origin="));
const count = Number(wanted ?? 1);
setTimeout(() => { console.log("timeout"); process.exit(1); }, 20_000);

const client = createClient({
  url,
  webSocketImpl: origin ? class extends WebSocket { constructor(address, protocols) { super(address, protocols, { origin }); } } : WebSocket,
  lazy: false,
  retryAttempts: 0,
  on: { connected: () => console.log("connected"), closed: (e) => console.log(`closed ${e?.code ?? ""}`) },
});

try {
  const subscription = client.iterate({ query: subscriptionQuery || "subscription { liveEvents }" });
  console.log("subscribing");
  const first = subscription.next();
  for await (const result of client.iterate(query ? { query } : { query: "query Greeting { hello(name: \"ws\") }", operationName: "Greeting" })) {
    console.log(JSON.stringify({ query: result }));
  }

  let received = 0;
  for (let item = await first; !item.done; item = await subscription.next()) {
    console.log(JSON.stringify({ next: item.value }));
    if (++received === count && mode === "leave") break;
  }
  if (mode === "leave") {
    await subscription.return();
    console.log("left");
  } else {
    console.log(received >= count ? "complete" : `complete after ${received} of ${count}`);
  }
  await client.dispose();
  process.exit(0);
} catch (error) {
  console.log("error " + (error?.message ?? JSON.stringify(error)));
  process.exit(1);
}
