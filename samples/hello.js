// hello.js: the smallest useful script.
//
//   GET /hello              -> "Hello, World!"
//   GET /hello?name=Ada     -> "Hello, Ada!"
//
// Try it:  curl "http://localhost:3000/hello?name=Ada"

function hello(req) {
  // req.query holds the query string as strings; a missing key is undefined.
  const name = (req.query.name || "").trim() || "World";
  return { status: 200, body: "Hello, " + name + "!" };
}

register("/hello", "hello", "GET");
