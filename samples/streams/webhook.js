// streams/webhook.js: the guide's "Advanced Topics, Integration with External Systems".
//
//   stream  GET  /external-updates        { type: "external_update", source: "github", event, repository, timestamp }
//   route   POST /webhook/github          a GitHub-style webhook: JSON body with action and repository.name
//   page    GET  /examples/webhook        edit a payload, POST it to /webhook/github, watch the update arrive
//
// The handler is the guide's, unchanged: it trusts its input. A body that is not JSON, or has no
// repository, makes JSON.parse or the property access throw, and the engine answers
// 500 SCRIPT_EXECUTION_FAILED with the script's error message (the page has a button that shows this).
// A real webhook checks GitHub's X-Hub-Signature-256 header before trusting the payload:
//   route   POST /webhook/github/signed   the same handler behind that check (the secret from configuration)
//
// Try it:
//   curl -N http://localhost:3000/external-updates
//   curl -X POST http://localhost:3000/webhook/github -H "Content-Type: application/json" \
//        -d '{"action":"opened","repository":{"name":"aiwebengine"}}'

// ---- Integration with External Systems, exactly as in the guide --------------------------------

registerWebStream("/external-updates");

// Webhook handler for external system notifications
function webhookHandler(req) {
  const webhookData = JSON.parse(req.body);

  // Transform external data for your stream
  sendStreamMessage({
    type: "external_update",
    source: "github",
    event: webhookData.action,
    repository: webhookData.repository.name,
    timestamp: new Date().toISOString(),
  });

  return { status: 200, body: "Webhook processed" };
}

register("/webhook/github", "webhookHandler", "POST");

// ---- the same webhook, verified ------------------------------------------------------------------
//
// GitHub signs every delivery with the webhook's secret: X-Hub-Signature-256 is "sha256=" and the hex
// HMAC-SHA256 of the body's exact bytes (req.bodyBytes). The secret is the operator's, from
// configuration: AiWebEngine:Secrets:GITHUB_WEBHOOK_SECRET (for example the environment variable
// AiWebEngine__Secrets__GITHUB_WEBHOOK_SECRET).
//
//   body='{"action":"opened","repository":{"name":"aiwebengine"}}'
//   sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
//   curl -X POST http://localhost:3000/webhook/github/signed -H "X-Hub-Signature-256: sha256=$sig" -d "$body"

function signedWebhookHandler(req) {
  const secret = secrets.get("GITHUB_WEBHOOK_SECRET");
  if (!secret) {
    return { status: 503, body: { error: "set AiWebEngine:Secrets:GITHUB_WEBHOOK_SECRET to receive signed webhooks" } };
  }
  const expected = "sha256=" + crypto.createHmac("sha256", secret).update(req.bodyBytes).digest("hex");
  if (!crypto.timingSafeEqual(expected, req.headers["x-hub-signature-256"] || "")) {
    return { status: 401, body: { error: "X-Hub-Signature-256 does not match the body" } };
  }
  return webhookHandler(req);
}

register("/webhook/github/signed", "signedWebhookHandler", "POST");

// ---- the page ----------------------------------------------------------------------------------

function webhookPageHandler(req) {
  return servePage("External webhook", PAGE_BODY, [String(pageKit), String(webhookPage), "webhookPage(pageKit());"].join("\n\n"));
}

register("/examples/webhook", "webhookPageHandler", "GET");

const PAGE_BODY = `
<h1>External webhook <span id="status" class="badge">connecting</span></h1>
<p>Connected to <code>/external-updates</code>. The form plays GitHub: it POSTs a JSON payload to
  <code>/webhook/github</code>, whose handler parses <code>req.body</code> and streams an
  <code>external_update</code> to every open copy of this page.</p>
<form id="webhook-form" class="panel">
  <div class="row">
    <label>preset <select id="preset">
      <option value="opened">pull_request opened</option>
      <option value="closed">pull_request closed</option>
      <option value="created">issue_comment created</option>
      <option value="published">release published</option>
    </select></label>
    <label>repository <input id="repository" value="aiwebengine" size="16"></label>
  </div>
  <p><label>payload (JSON body)<textarea id="payload" rows="9" spellcheck="false"></textarea></label></p>
  <div class="row">
    <button type="submit">POST /webhook/github</button>
    <button type="button" class="secondary" id="invalid">POST an invalid body</button>
  </div>
</form>
<div class="response" id="response"></div>
<ul class="events" id="log"><li class="empty">No updates yet.</li></ul>
`;

// browser: the page.
function webhookPage(kit) {
  const events = { opened: "pull_request", closed: "pull_request", created: "issue_comment", published: "release" };

  function fillPayload() {
    const action = kit.$("preset").value;
    const name = kit.$("repository").value || "aiwebengine";
    const payload = { action: action, repository: { name: name, full_name: "octocat/" + name }, sender: { login: "octocat" } };
    if (events[action] === "pull_request") payload.pull_request = { number: 42, title: "Add live streams" };
    if (events[action] === "issue_comment") payload.comment = { body: "Looks good to me!" };
    if (events[action] === "release") payload.release = { tag_name: "v1.0.0" };
    kit.$("payload").value = JSON.stringify(payload, null, 2);
  }

  function post(body) {
    return kit.send("/webhook/github", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-GitHub-Event": events[kit.$("preset").value] },
      body: body,
    });
  }

  function showErrorMessage(text) {
    kit.$("response").textContent = text;
  }

  const eventSource = new EventSource("/external-updates");
  kit.watch(eventSource, "status");
  // The guide's client-side error handling (Best Practices, Error Handling), as written.
  eventSource.onerror = function (event) {
    console.error("Stream error:", event);
    // Handle the error appropriately
    showErrorMessage("Connection lost. Attempting to reconnect...");
  };
  eventSource.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (data.type !== "external_update") return;
    kit.add("log", data.source + ": " + data.event + " on " + data.repository, "external_update", data.timestamp);
  };

  kit.$("preset").addEventListener("change", fillPayload);
  kit.$("repository").addEventListener("input", fillPayload);
  kit.$("webhook-form").addEventListener("submit", (e) => {
    e.preventDefault();
    post(kit.$("payload").value);
  });
  kit.$("invalid").addEventListener("click", () => post("this is not JSON"));
  fillPayload();
  window.addEventListener("beforeunload", () => eventSource.close());
}

// ---- page shell --------------------------------------------------------------------------------
// Scripts cannot share code, so each sample carries this small copy. Functions marked "browser" are
// never called on the server: the page embeds their source text (String(fn)) in a <script> element.

const STYLE = `
  :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --card: rgba(127, 127, 127, 0.1); }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 900px; margin: 2rem auto; padding: 0 1rem; }
  nav a { color: var(--muted); text-decoration: none; font-size: 0.9em; }
  h1 { margin: 0.2em 0; } h2 { font-size: 1.05em; margin: 0 0 0.5em; }
  code { background: var(--card); padding: 0 0.3em; border-radius: 4px; }
  .panel { background: var(--card); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
  .row { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: end; }
  .cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 1rem; }
  label { display: flex; flex-direction: column; font-size: 0.85em; color: var(--muted); }
  input, select, textarea, button { font: inherit; }
  input, select, textarea { padding: 0.3em 0.5em; border: 1px solid rgba(127, 127, 127, 0.5); border-radius: 6px; }
  textarea { width: 100%; box-sizing: border-box; font-family: ui-monospace, monospace; font-size: 0.85em; }
  button { background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 0.4em 1em; cursor: pointer; }
  button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
  .badge { display: inline-block; padding: 0.1em 0.7em; border-radius: 1em; font-size: 0.8rem; font-weight: 600; color: #fff; background: #9ca3af; vertical-align: middle; }
  .badge.open { background: #16a34a; } .badge.error { background: #dc2626; }
  .response { font-family: ui-monospace, monospace; font-size: 0.85em; color: var(--muted); min-height: 1.5em; white-space: pre-wrap; }
  .events { list-style: none; padding: 0; margin: 0; }
  .events li { border-left: 3px solid var(--accent); background: var(--card); padding: 0.3em 0.6em; margin: 0.4em 0; border-radius: 0 6px 6px 0; }
  .events li.high, .events li.critical { border-color: #dc2626; } .events li.low { border-color: #9ca3af; }
  .meta { color: var(--muted); font-size: 0.8em; }
  .empty { color: var(--muted); font-style: italic; }
`;

function servePage(title, bodyHtml, browserCode) {
  const html =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n" +
    "<title>" + title + "</title>\n<style>" + STYLE + "</style>\n</head>\n<body>\n" +
    "<nav><a href=\"/\">&larr; all samples</a></nav>\n" + bodyHtml + "\n<script>\n" + browserCode + "\n</script>\n</body>\n</html>\n";
  return { status: 200, body: html, contentType: "text/html; charset=utf-8" };
}

// browser: small helpers every page uses.
function pageKit() {
  const $ = (id) => document.getElementById(id);
  return {
    $,
    // Shows the state of an EventSource in a badge. addEventListener leaves onmessage/onerror free.
    watch(source, badgeId) {
      const badge = $(badgeId);
      source.addEventListener("open", () => { badge.textContent = "connected"; badge.className = "badge open"; });
      source.addEventListener("error", () => {
        badge.textContent = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
        badge.className = "badge error";
      });
    },
    // Adds an entry at the top of a list: a title line, an optional detail line, and a time.
    add(listId, title, detail, timestamp, cls) {
      const list = $(listId);
      const empty = list.querySelector(".empty");
      if (empty) empty.remove();
      const li = document.createElement("li");
      if (cls) li.className = cls;
      const head = document.createElement("div");
      head.textContent = title;
      li.appendChild(head);
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = (detail ? detail + " · " : "") + new Date(timestamp || Date.now()).toLocaleTimeString();
      li.appendChild(meta);
      list.prepend(li);
      while (list.children.length > 50) list.lastElementChild.remove();
    },
    // fetch() that shows "status body" of the answer in the element with id "response".
    async send(url, init) {
      const out = $("response");
      try {
        const answer = await fetch(url, init);
        out.textContent = (init && init.method ? init.method : "GET") + " " + url + " → " + answer.status + " " + (await answer.text());
        return answer;
      } catch (e) {
        out.textContent = "request failed: " + e.message;
        return null;
      }
    },
    // A form's fields as application/x-www-form-urlencoded, which the engine parses into req.form.
    formBody(form) {
      return new URLSearchParams(/** @type {any} */ (new FormData(form)));
    },
  };
}
