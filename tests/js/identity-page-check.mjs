// The identity sample's page in headless Chromium (Debian's, through playwright-core), signed in with a
// pasted token: prints "signed in" with who the page says you are, then waits until every expected text
// shows in the inbox or chat list and prints "shown <text>" for each.
// usage: node identity-page-check.mjs <page-url> <token> <inbox-text> [chat-text]
// Then prints the page's lists ("lists: {...}"). Exits 0 when all texts appear within 20 s, 1 otherwise.
import { chromium } from "playwright-core";

const [pageUrl, token, inboxText, chatText] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let status = 1;
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(pageUrl);
  await page.fill("#token", token);
  await page.click("#token-form button");
  await page.waitForFunction(() => document.getElementById("who").textContent.startsWith("signed in"), null, { timeout: 10_000 });
  console.log("signed in: " + (await page.textContent("#who")));
  const wanted = [["#inbox", inboxText], ["#chat", chatText]].filter(([, text]) => text);
  const deadline = Date.now() + 20_000;
  const shown = new Set();
  while (Date.now() < deadline && shown.size < wanted.length) {
    for (const [list, text] of wanted) {
      if (!shown.has(text) && (await page.textContent(list)).includes(text)) {
        shown.add(text);
        console.log("shown " + text);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (shown.size === wanted.length && errors.length === 0) status = 0;
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log("lists: " + JSON.stringify({ inbox: await page.textContent("#inbox"), chat: await page.textContent("#chat"), errors }));
} catch (error) {
  console.log("error " + error.message);
} finally {
  await browser.close();
}
process.exit(status);
