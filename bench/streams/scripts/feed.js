// The stream benchmark (bench/streams.sh): one stream, one publish route.
//   GET  /feed     the Server-Sent-Events stream every load client opens
//   POST /publish  body = the message text (the load client sends {"run":…,"seq":…,"t":…});
//                  answers the number of clients the message was queued for
registerWebStream("/feed");
register("/publish", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
