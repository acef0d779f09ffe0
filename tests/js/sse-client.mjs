// A real EventSource client (npm "eventsource") for the .NET tests.
// usage: node sse-client.mjs <url> <messages-to-wait-for>
// Prints "open" when connected, then one JSON line per message ({ id, data }), and exits 0 after
// the given number of messages (1 on error or after 20 s).
import { EventSource } from "eventsource";

const [url, wanted] = process.argv.slice(2);
const count = Number(wanted ?? 1);
let received = 0;
const timer = setTimeout(() => { console.log("timeout"); process.exit(1); }, 20_000);
const source = new EventSource(url);
source.onopen = () => console.log("open");
source.onmessage = (event) => {
  console.log(JSON.stringify({ id: event.lastEventId, data: event.data }));
  if (++received >= count) {
    clearTimeout(timer);
    source.close();
    process.exit(0);
  }
};
source.onerror = (event) => console.log("error " + (event.message ?? ""));
