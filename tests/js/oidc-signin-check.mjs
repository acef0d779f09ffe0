// A full OpenID Connect sign-in in headless Chromium (Debian's, through playwright-core), against the
// identity sample: Alice and Bob each sign in on their own browser (a context each) at the provider the
// test started, the sample page opens their streams with the session cookie (EventSource), Bob sends
// Alice a notification and a team chat message, and each page shows only what is its user's.
// usage: node oidc-signin-check.mjs <engine-base-url>
// Prints "signed in <user> <who>" per user, then one line "result {json}" with both pages' lists, what
// /auth/me said, and what a signed-out page sees. Exits 0 unless a step failed (then "error <message>").
import { launch, signIn as signInAt } from "./oidc-browser.mjs";

const [base] = process.argv.slice(2);
const browser = await launch();
const errors = [];
let status = 1;
const signIn = (login) => signInAt(browser, base, login, errors);

async function waitForText(page, selector, text) {
  await page.waitForFunction(([s, t]) => document.querySelector(s).textContent.includes(t), [selector, text], { timeout: 15_000 });
}

try {
  const alice = await signIn("alice");
  const bob = await signIn("bob");
  // Both pages' streams are open (the page opens them right after /me answers); give them a moment.
  await new Promise((resolve) => setTimeout(resolve, 500));

  await bob.page.fill("#notify-form input[name=to]", "alice");
  await bob.page.fill("#notify-form input[name=text]", "hello alice");
  await bob.page.click("#notify-form button");
  await waitForText(bob.page, "#response", "POST /me/notify");
  await bob.page.fill("#chat-form input[name=message]", "blue team only");
  await bob.page.click("#chat-form button");
  await waitForText(bob.page, "#response", "POST /team/chat/send");
  await alice.page.fill("#chat-form input[name=message]", "red team only");
  await alice.page.click("#chat-form button");

  await waitForText(alice.page, "#inbox", "Bob: hello alice");
  await waitForText(bob.page, "#chat", "Bob: blue team only");
  await waitForText(alice.page, "#chat", "Alice: red team only");
  await new Promise((resolve) => setTimeout(resolve, 500));

  const lists = {
    alice: { inbox: await alice.page.textContent("#inbox"), chat: await alice.page.textContent("#chat") },
    bob: { inbox: await bob.page.textContent("#inbox"), chat: await bob.page.textContent("#chat"), who: await bob.page.textContent("#who") },
  };
  const me = await alice.page.evaluate(async () => { const r = await fetch("/auth/me"); return { status: r.status, body: await r.json() }; });
  const cookies = (await alice.context.cookies(base)).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }));

  // Signing out ends the session: the page reloads not signed in, and the inbox refuses the old page's fetch.
  await alice.page.click("#signout button");
  await alice.page.waitForFunction(() => document.getElementById("who").textContent.startsWith("not signed in"), null, { timeout: 10_000 });
  const afterSignOut = await alice.page.evaluate(async () => (await fetch("/me/inbox", { headers: { Accept: "text/event-stream" } })).status);

  lists.alice.who = await alice.page.textContent("#who");
  const result = { ...lists, me, cookies, afterSignOut, errors };
  console.log("result " + JSON.stringify(result));
  status = errors.length === 0 ? 0 : 1;
} catch (error) {
  console.log("error " + error.message);
} finally {
  await browser.close();
}
process.exit(status);
