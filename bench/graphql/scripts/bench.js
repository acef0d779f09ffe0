// The GraphQL benchmark (bench/graphql.sh): one query field, one subscription, and the routes that
// drive them.
//   POST /graphql        { hello }                     answered by the JS resolver below
//   GET  /hello          "Hello, world!"               the JS HTTP route, for comparison
//   POST /graphql/sse    subscription { benchTick }   the graphql-sse clients of bench/SseLoad
//   POST /publish        body = the message text (the load client sends {"run":…,"seq":…,"t":…});
//                        sendSubscriptionMessage("benchTick", body); answers the number of subscribers
registerGraphQLQuery("hello", "type Query { hello: String }", () => "Hello, world!");
registerGraphQLSubscription("benchTick", "type Subscription { benchTick: String }", null);
register("/hello", () => ({ body: "Hello, world!" }));
register("/publish", (req) => ({ body: String(sendSubscriptionMessage("benchTick", req.body)) }), "POST");
