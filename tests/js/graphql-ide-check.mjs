// Opens the GraphQL IDE (Banana Cake Pop) in headless Chromium (Debian's, through playwright-core),
// waits until it has introspected the server's schema, and looks for the expected field names in its
// Schema Definition view.
// usage: node graphql-ide-check.mjs <ide-url> <expected-text>...
// Prints one JSON report and exits 0 when the schema was fetched, every text was shown and no request
// left the page's host; 1 otherwise. Requests to any other host are blocked and listed in "foreign".
// Optional, from the environment:
//   IDE_COOKIE="name=value"    a cookie of the server's origin in the browser before the IDE loads
//   IDE_OPERATION="..."        typed into the IDE's Request editor and run; its answer is report.runs[0]
//   IDE_HEADER="Name: value"   then entered in the IDE's HTTP Headers tab, and the operation run again (runs[1])
// Each run records the text the IDE sent, the answer's status and body and whether the request carried Authorization / the cookie.
import { chromium } from "playwright-core";

const [ideUrl, ...expected] = process.argv.slice(2);
const host = new URL(ideUrl).host;
const timeout = 60_000;
const started = Date.now();
const report = { introspected: false, steps: {}, shown: {}, foreign: [], errors: [], failed: [], graphql: [], text: "" };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let status = 1;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  if (process.env.IDE_COOKIE) {
    const at = process.env.IDE_COOKIE.indexOf("=");
    await context.addCookies([{ name: process.env.IDE_COOKIE.slice(0, at), value: process.env.IDE_COOKIE.slice(at + 1), url: new URL(ideUrl).origin, httpOnly: true, sameSite: "Lax" }]);
  }
  // Every request, the page's, its workers' and its service worker's: only the server's host passes.
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || url.host === host) return route.continue();
    report.foreign.push(route.request().url());
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("websocket", (socket) => {
    if (new URL(socket.url()).host !== host) report.foreign.push(socket.url());
  });
  page.on("pageerror", (error) => report.errors.push(error.message));
  page.on("requestfailed", (request) => report.failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  const introspected = new Promise((resolve) => {
    page.on("response", (response) => {
      const request = response.request();
      if (request.method() !== "POST" || new URL(response.url()).pathname !== "/graphql") return;
      report.graphql.push(response.status());
      if (response.status() === 200 && (request.postData() ?? "").includes("__schema")) resolve(true);
    });
  });

  const operation = process.env.IDE_OPERATION;
  await page.goto(ideUrl, { timeout });
  report.steps.loaded = Date.now() - started;
  // A fresh profile opens on the welcome screen; a document tab fetches the schema.
  await page.getByText("Create Document", { exact: true }).click({ timeout });
  report.introspected = await Promise.race([introspected, page.waitForTimeout(timeout).then(() => false)]);
  report.steps.introspected = Date.now() - started;
  await page.getByText("Schema available").waitFor({ timeout });
  report.steps.available = Date.now() - started;

  // The Schema Definition view prints the SDL the IDE built from its introspection result. (The Schema
  // Reference view is not used: opened while the IDE is still indexing, it may stay at "No Schema".)
  const until = Date.now() + 20_000;
  while (Date.now() < until && expected.some((t) => !report.shown[t])) {
    await page.getByText("Schema Definition", { exact: true }).click({ timeout });
    await page.waitForTimeout(500);
    const text = await page.evaluate(() => document.body.innerText);
    for (const t of expected.filter((t) => text.includes(t))) {
      report.shown[t] ??= Date.now() - started;
    }
  }

  if (operation) {
    report.runs = [];
    // Back from the Schema Definition view: the Request editor takes a moment to be wired to the
    // document again (typed too early, the text shows but the IDE sends an empty query).
    await page.getByText("Operation", { exact: true }).click({ timeout });
    await page.waitForTimeout(1000);
    const type = async () => {
      await page.locator(".monaco-editor").first().click({ timeout });
      await page.keyboard.press("Control+A");
      await page.keyboard.insertText(operation);
      await page.waitForTimeout(300);
    };
    // One run: the first POST /graphql after the click that is not the IDE's own introspection.
    const send = async () => {
      const answered = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/graphql"
        && !(r.request().postData() ?? "").includes("IntrospectionQuery"), { timeout });
      await page.getByRole("button", { name: /Run Operation/ }).click({ timeout });
      return answered;
    };
    const run = async () => {
      let response = await send();
      // Still not wired: the request went out without the text. Type it again (a few times at most).
      for (let attempt = 0; attempt < 5 && JSON.parse(response.request().postData() ?? "{}").query !== operation; attempt++) {
        report.retyped = (report.retyped ?? 0) + 1;
        await type();
        response = await send();
      }
      const headers = await response.request().allHeaders();
      report.runs.push({ status: response.status(), sent: JSON.parse(response.request().postData() ?? "{}").query ?? null, body: await response.text(), authorization: "authorization" in headers, cookie: headers.cookie ?? null });
    };
    await type();
    await run();
    if (process.env.IDE_HEADER) {
      const at = process.env.IDE_HEADER.indexOf(":");
      await page.getByText("HTTP Headers", { exact: true }).click({ timeout });
      await page.getByPlaceholder("Name").first().fill(process.env.IDE_HEADER.slice(0, at).trim(), { timeout });
      await page.getByPlaceholder("Value").first().fill(process.env.IDE_HEADER.slice(at + 1).trim(), { timeout });
      await page.waitForTimeout(500);
      await run();
    }
  }

  status = report.introspected && expected.every((t) => report.shown[t]) && report.foreign.length === 0
    && (!operation || report.runs.every((r) => r.sent === operation)) ? 0 : 1;
} catch (error) {
  report.errors.push(`check: ${error.message}`);
} finally {
  try {
    report.text = (await browser.contexts()[0]?.pages()[0]?.evaluate(() => document.body.innerText))?.slice(0, 3000) ?? "";
  } catch {
    // the page is gone; the report says what happened before
  }

  console.log(JSON.stringify(report));
  await browser.close();
}
process.exit(status);
