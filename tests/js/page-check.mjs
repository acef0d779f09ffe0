// Opens a page in headless Chromium (Debian's, through playwright-core), triggers a route from
// inside the page until the expected text shows up, and reports what the page shows.
// usage: node page-check.mjs <page-url> <METHOD> <trigger-path> <expected-text> [form-body] [where]
// METHOD CLICK clicks the page's own button instead: <trigger-path> is its CSS selector and
// [form-body] (urlencoded, selector=value) the fields to fill first. [where] is a comma-separated
// list of CSS selectors that must each show the text (default: the whole body).
// Exits 0 when the text appears, 1 otherwise. Every request the page makes must stay on the
// page's own origin; any other request fails the check.
import { chromium } from "playwright-core";

const [pageUrl, method, triggerPath, expected, formBody, where] = process.argv.slice(2);
const places = where ? where.split(",") : ["body"];
const origin = new URL(pageUrl).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let status = 1;
try {
  const page = await browser.newPage();
  const foreign = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(origin) && !request.url().startsWith("data:")) foreign.push(request.url());
  });
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(pageUrl);
  const deadline = Date.now() + 15_000;
  let shown = false;
  while (!shown && Date.now() < deadline) {
    if (method === "CLICK") {
      for (const [selector, value] of new URLSearchParams(formBody ?? "")) await page.fill(selector, value);
      await page.click(triggerPath);
    } else {
      await page.evaluate(async ([m, path, body]) => {
        const init = { method: m };
        if (body) {
          init.body = body;
          init.headers = { "Content-Type": "application/x-www-form-urlencoded" };
        }
        await fetch(path, init);
      }, [method, triggerPath, formBody ?? ""]);
    }
    try {
      await page.waitForFunction(([text, selectors]) => selectors.every((s) => document.querySelector(s)?.innerText.includes(text)),
        [expected, places], { timeout: 1000 });
      shown = true;
    } catch {
      // not yet: the page's EventSource may still be connecting
    }
  }
  console.log(JSON.stringify({ shown, foreign, errors, text: (await page.evaluate(() => document.body.innerText)).slice(0, 2000) }));
  status = shown && foreign.length === 0 ? 0 : 1;
} finally {
  await browser.close();
}
process.exit(status);
