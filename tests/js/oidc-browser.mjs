// Shared by the headless Chromium checks: the browser, and a sign-in through the identity sample's page
// at the test's OpenID Connect provider (oidc-provider.mjs: its login form, then its consent screen).
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Signs login in on a new browser context; resolves to { context, page } with the sample page open and signed in. */
export async function signIn(browser, base, login, errors) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(login + ": " + error.message));
  await page.goto(base + "/examples/identity");
  await page.waitForFunction(() => document.getElementById("who").textContent.startsWith("not signed in"), null, { timeout: 10_000 });
  await page.click("text=Sign in");
  await page.waitForSelector("input[name=login]", { timeout: 10_000 });
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await page.click("button[type=submit]");
  await page.waitForSelector("button[type=submit]", { timeout: 10_000 });
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/examples/identity", { timeout: 10_000 });
  await page.waitForFunction(() => document.getElementById("who").textContent.startsWith("signed in"), null, { timeout: 10_000 });
  console.log(`signed in ${login} ${await page.textContent("#who")}`);
  return { context, page };
}
