// The GraphQL benchmark (bench/graphql.sh): one query field, one subscription, and the routes that
// drive them.
//   POST /graphql        { hello }                     answered by the JS resolver below
//                        mutation { publish(message) } sendSubscriptionMessage("liveEvents", message)
//   GET  /hello          "Hello, world!"               the JS HTTP route, for comparison
//   POST /graphql/sse    subscription { liveEvents }   the graphql-sse clients of bench/SseLoad
//   POST /publish        body = the message text (the load client sends {"run":…,"seq":…,"t":…});
//                        sendSubscriptionMessage("liveEvents", body); answers the number of subscribers
registerGraphQLQuery("hello", "type Query { hello: String }", () => "Hello, world!");
registerGraphQLSubscription("liveEvents", "type Subscription { liveEvents: String }", null);
register("/hello", () => ({ body: "Hello, world!" }));
register("/publish", (req) => ({ body: String(sendSubscriptionMessage("liveEvents", req.body)) }), "POST");
registerGraphQLMutation("publish", "type Mutation { publish(message: String!): Int }",
  (args) => sendSubscriptionMessage("liveEvents", args.message));
