// The npm graphql-sse client (distinct connections mode) for the .NET tests.
// usage: node graphql-sse-client.mjs <url> <events> [complete|leave] [subscription] [query]
// Runs a query (default `{ hello(name: "sse") }`) and prints {"query": result}, then subscribes to the
// subscription (default `subscription { liveEvents }`), printing
// "connected" when the stream is open and one line {"next": result} per event. After <events> events it
// waits for the server's complete (prints "complete"), or with "leave" stops listening itself (prints
// "left"). Exits 0, or 1 on an error or after 20 s.
import { createClient } from "graphql-sse";

const [url, wanted, mode, subscriptionQuery, query] = process.argv.slice(2);
const count = Number(wanted ?? 1);
setTimeout(() => { console.log("timeout"); process.exit(1); }, 20_000);

let streams = 0;
const client = createClient({
  url,
  retryAttempts: 0,
  on: { connected: () => { if (++streams === 2) console.log("connected"); } },
});

try {
  for await (const result of client.iterate({ query: query || "{ hello(name: \"sse\") }" })) {
    console.log(JSON.stringify({ query: result }));
  }

  let received = 0;
  const subscription = client.iterate({ query: subscriptionQuery || "subscription { liveEvents }" });
  for await (const result of subscription) {
    console.log(JSON.stringify({ next: result }));
    if (++received === count && mode === "leave") {
      await subscription.return();
      console.log("left");
      break;
    }
  }
  if (mode !== "leave") console.log("complete");
  client.dispose();
  process.exit(0);
} catch (error) {
  console.log("error " + (error?.message ?? JSON.stringify(error)));
  process.exit(1);
}
