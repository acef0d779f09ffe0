// The npm urql client (@urql/core, fetch exchange) for the .NET tests.
// usage: node urql-client.mjs <url>
// Runs a query and prints {"query": result}, then a mutation and prints {"mutation": result}, then
// subscribes over fetch (fetchSubscriptions: true, an event stream) to `subscription { liveEvents }`,
// printing one line {"next": result} per event, and "complete" when the server completes it; then
// exits 0. Exits 1 on an error (a result with errors included) or after 20 s.
// The subscription is ended by the server, not unsubscribed: urql 6 in Node rejects an abort of a
// fetch stream it is reading as an unhandled AbortError, whatever the server (the way a query answered
// with an event stream used to kill it: toPromise unsubscribes after the first result).
import { Client, fetchExchange } from "@urql/core";

const [url] = process.argv.slice(2);
setTimeout(() => { console.log("timeout"); process.exit(1); }, 20_000);

const fail = (what) => { console.log("error " + what); process.exit(1); };
const client = new Client({ url, exchanges: [fetchExchange], fetchSubscriptions: true, requestPolicy: "network-only" });

try {
  const query = await client.query(`{ hello(name: "urql") }`, {}).toPromise();
  if (query.error) fail(query.error.message);
  console.log(JSON.stringify({ query: { data: query.data } }));

  const mutation = await client.mutation(`mutation { send(message: "u") }`, {}).toPromise();
  if (mutation.error) fail(mutation.error.message);
  console.log(JSON.stringify({ mutation: { data: mutation.data } }));

  client.subscription(`subscription { liveEvents }`, {}).subscribe((result) => {
    if (result.error) fail(result.error.message);
    if (result.hasNext === false) {
      console.log("complete");
      process.exit(0);
    }
    console.log(JSON.stringify({ next: { data: result.data } }));
  });
} catch (error) {
  fail(error?.message ?? JSON.stringify(error));
}
