// Query phase of the GraphQL benchmark (bench/graphql.sh builds and starts the server, then runs
// this): wrk (bench/wrk.mjs) against `POST /graphql` with `{ hello }` (a JavaScript resolver) and, for
// comparison, the JavaScript HTTP route `GET /hello` of the same script; checks every answer and
// writes a markdown section (bench/graphql.sh puts it at the top of bench/results/graphql.md).
//
// usage: node bench/graphql-bench.mjs --base http://127.0.0.1:PORT --out FILE.md [--raw DIR]
//          [--server-pid PID] [--clock-ticks 100] [--summary FILE.json] [--peer]
// (--peer: the server is bench/peer, GraphQL Yoga on Node.js; only the labels change.)
// settings (environment): GRAPHQL_CONNECTIONS (50), GRAPHQL_DURATION (10 s), GRAPHQL_WARMUP (15 s),
// GRAPHQL_THREADS (2: wrk threads), GRAPHQL_ROUNDS (3; the targets alternate and the median round is kept).
// Needs wrk on PATH (Debian/Ubuntu: apt-get install -y wrk).

import { parseArgs } from "node:util";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { runWrk, wrkVersion } from "./wrk.mjs";

const toolVersion = wrkVersion();

const { values: args } = parseArgs({
  options: {
    base: { type: "string" },
    out: { type: "string" },
    raw: { type: "string" },
    summary: { type: "string" },
    peer: { type: "boolean", default: false },
    "server-pid": { type: "string" },
    "clock-ticks": { type: "string", default: "100" },
  },
});

function intSetting(name, fallback, min, max) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

// wrk sends one request at a time per connection (HTTP/1.1 keep-alive, as autocannon did by default).
if ((process.env.GRAPHQL_PIPELINING ?? "1") !== "1") {
  throw new Error("GRAPHQL_PIPELINING is no longer supported: the load tool is wrk, which does not pipeline requests");
}

const settings = {
  connections: intSetting("GRAPHQL_CONNECTIONS", 50, 1, 1000),
  duration: intSetting("GRAPHQL_DURATION", 10, 1, 120),
  warmup: intSetting("GRAPHQL_WARMUP", 15, 0, 60),
  threads: intSetting("GRAPHQL_THREADS", 2, 1, 16),
  rounds: intSetting("GRAPHQL_ROUNDS", 3, 1, 9),
};

if (!args.base || !args.out) throw new Error("--base and --out are required");
const base = new URL(args.base);
// Loopback only: this benchmark never sends traffic anywhere else.
if (!["127.0.0.1", "localhost", "[::1]"].includes(base.hostname)) {
  throw new Error(`refusing to load ${base.hostname}: the benchmark only targets loopback`);
}

const targets = [
  {
    key: "graphql",
    label: args.peer ? "Yoga `POST /graphql` `{ hello }` (JS resolver)" : "GraphQL `POST /graphql` `{ hello }` (JS resolver)",
    path: "/graphql",
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query: "{ hello }" }),
    expected: '{"data":{"hello":"Hello, world!"}}',
  },
  { key: "route", label: args.peer ? "Node.js handler `GET /hello`" : "JS route `GET /hello`", path: "/hello", method: "GET", expected: "Hello, world!" },
];

// CPU seconds the server process has used so far (user + system), from /proc; null when unknown.
const clockTicks = Number(args["clock-ticks"]) || 100;
function serverCpuSeconds() {
  if (!args["server-pid"]) return null;
  try {
    const stat = readFileSync(`/proc/${args["server-pid"]}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime (fields 14 and 15)
  } catch {
    return null;
  }
}

async function run(target, duration) {
  const serverBefore = serverCpuSeconds();
  const result = await runWrk({
    url: new URL(target.path, base).href,
    method: target.method,
    headers: target.headers,
    body: target.body,
    expected: target.expected,
    connections: settings.connections,
    threads: settings.threads,
    duration,
    clockTicks,
  });
  const serverAfter = serverCpuSeconds();
  const seconds = result.duration || duration;
  const serverCpu = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
  result.bench = {
    serverCpuSeconds: serverCpu,
    clientCpuSeconds: result.clientCpuSeconds,
    serverCpuPercent: serverCpu === null ? null : (serverCpu / seconds) * 100,
    serverCpuMicrosPerRequest: serverCpu === null || result.requests.total === 0 ? null : (serverCpu * 1e6) / result.requests.total,
  };
  result.bench.clientCpuPercent = (result.bench.clientCpuSeconds / seconds) * 100;
  return result;
}

function check(target, result) {
  const problems = [];
  if (result.errors > 0) problems.push(`${result.errors} errors`);
  if (result.timeouts > 0) problems.push(`${result.timeouts} timeouts`);
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx answers`);
  if (result.mismatches > 0) problems.push(`${result.mismatches} bodies other than ${JSON.stringify(target.expected)}`);
  if (result["2xx"] === 0) problems.push("no successful request");
  if (problems.length > 0) throw new Error(`${target.method} ${target.path}: ${problems.join(", ")}`);
}

const log = (message) => process.stderr.write(message + "\n");
const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n) ? "n/a" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function summary(r) {
  return `${fmt(r.requests.average)} req/s, mean ${fmt(r.latency.average, 2)} ms, p50 ${fmt(r.latency.p50, 2)} ms, p99 ${fmt(r.latency.p99, 2)} ms, ` +
    `server CPU ${fmt(r.bench.serverCpuPercent)} % (${fmt(r.bench.serverCpuMicrosPerRequest)} µs/request), client CPU ${fmt(r.bench.clientCpuPercent)} %`;
}

if (settings.warmup > 0) {
  for (const target of targets) {
    log(`warm-up ${target.method} ${target.path}: ${settings.warmup} s`);
    const result = await run(target, settings.warmup);
    check(target, result);
    log(`  ${summary(result)}`);
  }
}

const rounds = Object.fromEntries(targets.map((t) => [t.key, []]));
for (let round = 1; round <= settings.rounds; round++) {
  for (const target of targets) {
    log(`round ${round}/${settings.rounds} ${target.method} ${target.path}: ${settings.connections} connections, ${settings.threads} wrk threads, ${settings.duration} s`);
    const result = await run(target, settings.duration);
    check(target, result);
    rounds[target.key].push(result);
    if (args.raw) {
      mkdirSync(args.raw, { recursive: true });
      writeFileSync(join(args.raw, `graphql-${target.key}-${round}.json`), JSON.stringify(result, null, 2));
    }
    log(`  ${summary(result)}`);
  }
}

// The round with the median requests/s stands for the target.
function median(results) {
  const sorted = [...results].sort((a, b) => a.requests.average - b.requests.average);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const gq = median(rounds.graphql);
const route = median(rounds.route);
const row = (target, r) =>
  `| ${target.label} | ${fmt(r.requests.average)} | ${fmt(r.latency.average, 2)} | ${fmt(r.latency.p50, 2)} | ${fmt(r.latency.p99, 2)} | ${fmt(r.bench.serverCpuMicrosPerRequest)} | ${fmt(r.bench.serverCpuPercent)} % | ${fmt(r.bench.clientCpuPercent)} % |`;
const allRounds = (key) => rounds[key].map((r) => fmt(r.requests.average)).join(", ");

const lines = [
  "## Queries",
  "",
  `${toolVersion} (${settings.threads} threads), same machine, over 127.0.0.1; ` +
    `${settings.connections} connections (HTTP/1.1 keep-alive, no pipelining), ${settings.duration} s per run; ` +
    `${settings.rounds} round${settings.rounds > 1 ? "s, targets alternating, median round shown" : ""}; ${settings.warmup} s warm-up per target first.`,
  "",
  "| target | requests/s (avg) | mean latency (ms) | p50 latency (ms) | p99 latency (ms) | server CPU µs/request | server CPU | client CPU |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  row(targets[0], gq),
  row(targets[1], route),
  `| **GraphQL / route** | **${fmt((gq.requests.average / route.requests.average) * 100, 1)} %** | | | | | | |`,
  "",
  ...(settings.rounds > 1 ? [`Requests/s of every round: GraphQL ${allRounds("graphql")}; route ${allRounds("route")}.`] : []),
  "Latency in ms as wrk measures it (µs resolution). Server and client CPU are percent of one core (the server process from /proc,",
  "wrk from its rusage). Every answer was checked: status 200 and the exact body (`{\"data\":{\"hello\":\"Hello, world!\"}}`,",
  "`Hello, world!`); no errors, no timeouts. The C# baseline of the same machine is in `bench/results/http.md` (`bash bench/http.sh`).",
  "",
];
const markdown = lines.join("\n");
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, markdown);
// The numbers bench/run.sh puts side by side (SseLoad compare).
const brief = (r) => ({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuMicrosPerRequest: r.bench.serverCpuMicrosPerRequest });
if (args.summary) writeFileSync(args.summary, JSON.stringify({ graphql: brief(gq), route: brief(route) }, null, 2));
process.stdout.write(markdown);
