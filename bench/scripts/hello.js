// The benchmark's JavaScript route: the same bytes as the C# baseline endpoint
// GET /engine/baseline/hello ("Hello, world!", text/plain; charset=utf-8).
register("/hello", function (req) {
  return { body: "Hello, world!" };
});
