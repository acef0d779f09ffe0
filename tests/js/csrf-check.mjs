// Cross-site requests from real pages of other origins, in headless Chromium: Bob signs in to the engine
// (identity sample, cookie session), then opens pages served by two other servers on 127.0.0.1 (other
// ports: the same site, so the browser sends his SameSite=Lax cookie along) — one origin the engine
// lists in AiWebEngine:Cors:AllowedOrigins, one it does not. Each page tries, as Bob, to notify Alice
// (fetch POST of a form, a GraphQL mutation as text/plain, both "simple" requests a browser sends
// without asking), to read /auth/me, to open a GraphQL WebSocket, and to submit a plain HTML form.
// usage: node csrf-check.mjs <engine-base-url> <listed-port> <unlisted-port>
// Prints one line "result {json}": per origin, what each attempt saw. Exits 0 unless a step failed.
import http from "node:http";
import { launch, signIn } from "./oidc-browser.mjs";

const [base, listedPort, unlistedPort] = process.argv.slice(2);
const engine = new URL(base);

function attackPage(tag) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${tag}</title></head><body>
<form id="form" method="post" action="${base}/me/notify"><input name="to" value="alice"><input name="text" value="form from ${tag}"></form>
<script>
async function attempt(run) { try { return await run(); } catch (error) { return "blocked: " + error.name; } }
window.attacks = (async () => {
  const seen = {};
  seen.notify = await attempt(async () => (await fetch("${base}/me/notify", { method: "POST", credentials: "include",
    headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "to=alice&text=" + encodeURIComponent("fetch from ${tag}") })).status);
  seen.mutation = await attempt(async () => (await fetch("${base}/graphql", { method: "POST", credentials: "include",
    headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ query: 'mutation { notifyUser(to: "alice", text: "mutation from ${tag}") }' }) })).status);
  seen.me = await attempt(async () => { const r = await fetch("${base}/auth/me", { credentials: "include" }); return r.status + " " + (await r.text()).slice(0, 60); });
  seen.socket = await new Promise((resolve) => {
    const socket = new WebSocket("ws://${engine.host}/graphql", "graphql-transport-ws");
    socket.onopen = () => { socket.close(); resolve("open"); };
    socket.onerror = () => resolve("refused");
  });
  return seen;
})();
</script></body></html>`;
}

function serve(port, tag) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(attackPage(tag));
  });
  return new Promise((resolve) => server.listen(Number(port), "127.0.0.1", () => resolve(server)));
}

const servers = [await serve(listedPort, "listed"), await serve(unlistedPort, "unlisted")];
const browser = await launch();
const errors = [];
let status = 1;
try {
  const bob = await signIn(browser, base, "bob", errors);
  const result = {};
  for (const [tag, port] of [["listed", listedPort], ["unlisted", unlistedPort]]) {
    const page = await bob.context.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const seen = await page.evaluate(() => window.attacks);
    // The plain HTML form: a top-level navigation, which no CORS rule stops; the engine's answer is the page.
    await Promise.all([page.waitForURL(`${base}/me/notify`, { timeout: 10_000 }), page.evaluate(() => document.getElementById("form").submit())]);
    seen.form = (await page.textContent("body")).slice(0, 200);
    result[tag] = seen;
    await page.close();
  }
  console.log("result " + JSON.stringify({ ...result, errors }));
  status = errors.length === 0 ? 0 : 1;
} catch (error) {
  console.log("error " + error.message);
} finally {
  await browser.close();
  servers.forEach((s) => s.close());
}
process.exit(status);
