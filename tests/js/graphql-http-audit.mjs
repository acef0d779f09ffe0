// Runs every graphql-http server audit (GraphQL over HTTP conformance) against a running engine.
// usage: node graphql-http-audit.mjs <url>      e.g. http://127.0.0.1:3000/graphql
// Prints one JSON document: { summary: { ok, error, warn, notice }, results: [{ id, name, status, reason? }] }.
// MUST failures are "error", SHOULD failures "warn", MAY failures "notice". Exits 0 when it ran.
import { auditServer } from "graphql-http";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node graphql-http-audit.mjs <url>");
  process.exit(2);
}

const results = await auditServer({ url });
const summary = { ok: 0, error: 0, warn: 0, notice: 0 };
const lines = [];
for (const result of results) {
  summary[result.status]++;
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    line.reason = result.reason;
    line.httpStatus = result.response?.status;
  }
  lines.push(line);
}
console.log(JSON.stringify({ summary, results: lines }));
