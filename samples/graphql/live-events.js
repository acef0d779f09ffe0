// graphql/live-events.js: the streaming guide's "GraphQL Subscriptions" quick example, as written
// there, plus a route that calls its triggerEvent().
//
//   subscription  liveEvents: String
//   route   POST  /live-events/trigger
//
// Try it:
//   curl -N http://localhost:3000/graphql/subscription/liveEvents
//   curl -X POST http://localhost:3000/live-events/trigger

// Register a GraphQL subscription
registerGraphQLSubscription(
  "liveEvents",
  "type Subscription { liveEvents: String }",
  "liveEventsResolver",
);

// Subscription resolver
function liveEventsResolver() {
  return "Live events subscription active";
}

// Send messages to subscribers
function triggerEvent() {
  sendSubscriptionMessage(
    "liveEvents",
    JSON.stringify({
      event: "user_joined",
      timestamp: new Date().toISOString(),
    }),
  );
}

register("/live-events/trigger", (req) => {
  triggerEvent();
  return { status: 200, body: "Event sent" };
}, "POST");
