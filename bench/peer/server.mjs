// The benchmarks' peer: what a user would otherwise pick to serve live data from JavaScript,
// GraphQL Yoga 5 on Node.js (npm `graphql-yoga`), with the same workload as the engine's bench
// scripts, so bench/SseLoad and autocannon run unchanged against both.
//
//   node bench/peer/server.mjs --port P [--host 127.0.0.1]
//
//   GET  /hello        "Hello, world!" (text/plain) from a plain Node handler
//   POST /graphql      Yoga: { hello } (a resolver), mutation { publish(message) }
//   POST /graphql/sse  the same Yoga endpoint (`Accept: text/event-stream`): subscription { liveEvents }
//                      over SSE, which Yoga speaks as graphql-sse's distinct connections mode
//                      (`event: next` with `{"data":{"liveEvents":"…"}}`, then `event: complete`)
//   GET  /feed         a hand-written SSE stream (`retry:`, then `id: n` + `data:` per message)
//   POST /publish      body = the message text: sent to every /feed client and published to
//                      liveEvents (Yoga's pubsub); answers the number of clients it went to
//   GET  /health       {"status":"ok","streams":{"paths":1,"connections":N}} (N: /feed clients
//                      and liveEvents subscribers), the shape of the engine's /health
//   GET  /version      with --version-module FILE: the `version` that FILE exports (bench/reload.sh
//                      runs this under `node --watch`, which restarts the server when FILE changes)
//
// Loopback only: it refuses any other --host. No logging, no GraphiQL, errors masked (Yoga's
// production defaults), so it measures serving, not console output.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { createPubSub, createSchema, createYoga } from "graphql-yoga";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    "version-module": { type: "string" },
  },
});
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  throw new Error(`--port must be a TCP port, got ${JSON.stringify(args.port)}`);
}
if (!["127.0.0.1", "::1", "localhost"].includes(args.host)) {
  throw new Error(`refusing --host ${args.host}: the benchmark peer only listens on loopback`);
}

const versionModule = args["version-module"] ? await import(pathToFileURL(args["version-module"]).href) : null;

// GraphQL: one query, one mutation, one subscription, each on Yoga's own pubsub.
const pubSub = createPubSub();
let subscribers = 0;

async function* liveEvents() {
  subscribers++;
  try {
    yield* pubSub.subscribe("liveEvents");
  } finally {
    subscribers--;
  }
}

const yoga = createYoga({
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query { hello: String }
      type Mutation { publish(message: String!): Int }
      type Subscription { liveEvents: String }
    `,
    resolvers: {
      Query: { hello: () => "Hello, world!" },
      Mutation: {
        publish: (_, { message }) => {
          publishAll(message);
          return feed.size + subscribers;
        },
      },
      Subscription: {
        liveEvents: { subscribe: () => liveEvents(), resolve: (payload) => payload },
      },
    },
  }),
  graphqlEndpoint: "/graphql",
  graphiql: false,
  logging: false,
  landingPage: false,
});

// The plain SSE stream: every open /feed response; a message is encoded once and written to each.
const feed = new Set();
let lastId = 0;

function publishAll(message) {
  lastId++;
  if (feed.size > 0) {
    const frame = `id: ${lastId}\n${message.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join("")}\n`;
    for (const res of feed) res.write(frame);
  }
  pubSub.publish("liveEvents", message);
}

function serveFeed(req, res) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  res.write("retry: 3000\n\n");
  feed.add(res);
  const end = () => feed.delete(res);
  req.on("close", end);
  res.on("error", end);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer(async (req, res) => {
  const path = req.url.split("?", 1)[0];
  try {
    if (path === "/hello" && req.method === "GET") {
      send(res, 200, "text/plain; charset=utf-8", "Hello, world!");
    } else if (path === "/feed" && req.method === "GET") {
      serveFeed(req, res);
    } else if (path === "/publish" && req.method === "POST") {
      const message = await readBody(req);
      publishAll(message);
      send(res, 200, "text/plain; charset=utf-8", String(feed.size + subscribers));
    } else if (path === "/version" && req.method === "GET" && versionModule) {
      send(res, 200, "text/plain; charset=utf-8", String(versionModule.version));
    } else if (path === "/health" && req.method === "GET") {
      send(res, 200, "application/json", JSON.stringify({ status: "ok", streams: { paths: 1, connections: feed.size + subscribers } }));
    } else if (path === "/graphql" || path === "/graphql/sse") {
      // One Yoga endpoint; /graphql/sse is where the engine serves graphql-sse, so it is an alias.
      if (path === "/graphql/sse") req.url = "/graphql" + req.url.slice(path.length);
      yoga(req, res);
    } else {
      send(res, 404, "application/json", JSON.stringify({ error: { code: "NOT_FOUND", message: `no route ${req.method} ${path}` } }));
    }
  } catch (error) {
    if (!res.headersSent) send(res, 500, "application/json", JSON.stringify({ error: { code: "INTERNAL", message: String(error) } }));
    else res.destroy();
  }
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.requestTimeout = 0; // SSE responses stay open
server.maxConnections = 20_000;

server.listen(port, args.host, () => console.log(`peer listening on http://${args.host}:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const res of feed) res.end();
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
