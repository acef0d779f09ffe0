// The authenticated fan-out benchmark (bench/auth.sh): the same stream twice, once open to anyone and
// once for signed-in users only; each load client of /feed-auth is its own user (sub user-<i>).
//   GET  /feed               anonymous subscribers
//   GET  /feed-auth          { auth: "user" }: a JWT per connection, checked once, at connect
//   POST /publish?to=PATH    body = the message; answers the number of clients it was queued for
registerWebStream("/feed");
registerWebStream("/feed-auth", { auth: "user" });
register("/publish", (req) => ({ body: String(sendStreamMessageToPath(req.query.to || "/feed", req.body)) }), "POST");
