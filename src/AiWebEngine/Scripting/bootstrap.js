// The JavaScript half of the script API. It runs first in every isolate and receives the host
// object as its only argument, so scripts see plain functions and never a .NET object. Arguments
// are validated here, where a clear Error can be thrown in the script's own terms; the host only
// ever receives strings and numbers. Host methods that can fail return an error message (or null).
(function (host) {
  "use strict";

  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const isArray = Array.isArray;
  // Taken before any script runs: a script can replace Promise.prototype.then and friends, and the
  // Promises handed to the host must not call the replacements (see hostPromise).
  const OwnPromise = Promise;
  const promiseThen = Promise.prototype.then;
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const functions = new Map();
  let nextFunctionId = 0;

  function describe(value) {
    if (value === null) return "null";
    if (value === undefined) return "undefined";
    if (isArray(value)) return "an array";
    if (typeof value === "string") return stringify(value.length > 60 ? value.slice(0, 57) + "..." : value);
    if (typeof value === "number" || typeof value === "boolean") return typeof value + " " + String(value);
    return typeof value === "object" ? "an object" : "a " + typeof value;
  }

  // A message quotes the bad value, which a hostile script can make megabytes long: keep the start
  // (what is wrong) and the end (the limit), and say how much was cut.
  const maxMessage = 1000;
  function fail(api, message) {
    message = api + ": " + message;
    if (message.length > maxMessage) {
      const cut = message.length - 800;
      message = message.slice(0, 600) + "... (" + cut + " characters cut) ..." + message.slice(-200);
    }
    throw new Error(message);
  }

  function check(api, error) {
    if (error !== null && error !== undefined) fail(api, error);
  }

  // A handler is named by the name of a global function, or given as a function. Functions are
  // kept here and referred to by an id that cannot collide with a name ("#3").
  function handlerRef(api, what, value) {
    if (typeof value === "function") {
      const id = "#" + (nextFunctionId++);
      functions.set(id, value);
      return id;
    }
    if (typeof value === "string" && value.length > 0) return value;
    fail(api, what + " must be the name of a global function or a function, got " + describe(value));
  }

  function resolve(ref) {
    const fn = ref.charCodeAt(0) === 35 ? functions.get(ref) : globalThis[ref];
    if (typeof fn !== "function") {
      throw new Error("'" + ref + "' is not a function (it is " + describe(fn) + ")");
    }
    return fn;
  }

  function format(value) {
    if (typeof value === "string") return value;
    if (value === undefined) return "undefined";
    if (typeof value === "function") return "[Function " + (value.name || "anonymous") + "]";
    if (value instanceof Error) return value.stack || String(value);
    try {
      const json = stringify(value);
      return json === undefined ? String(value) : json;
    } catch (e) {
      return String(value);
    }
  }

  function isThenable(value) {
    return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
  }

  // The Promise the host awaits. ClearScript subscribes to a pending Promise with
  // promise.then(onResolved, onRejected), two host delegates: this Promise's own `then` is the
  // original and its own `constructor` undefined (so the species is the original Promise too), so
  // that subscription runs no script code and the delegates never reach a script, whatever it did
  // to Promise.prototype. The script's thenable is followed through the original machinery as well.
  function hostPromise(value, onValue) {
    let resolveHost, rejectHost;
    const promise = new OwnPromise(function (resolve, reject) { resolveHost = resolve; rejectHost = reject; });
    defineProperty(promise, "then", { __proto__: null, value: promiseThen });
    defineProperty(promise, "constructor", { __proto__: null, value: undefined });
    const followed = new OwnPromise(function (resolve) { resolve(value); });
    defineProperty(followed, "constructor", { __proto__: null, value: undefined });
    apply(promiseThen, followed, [function (settled) {
      try {
        resolveHost(onValue(settled));
      } catch (e) {
        rejectHost(e);
      }
    }, rejectHost]);
    return promise;
  }

  // ---- registration options -----------------------------------------------------------------

  // The options object every register* call takes last: { auth, rateLimit } and, for streams,
  // authorize, for subscriptions, filter (functions or global function names). Copied key by key
  // into JSON; the host checks it again (RegistrationOptions), since a script can replace Object.keys.
  const functionOptions = ["authorize", "filter"];
  function optionsJson(api, options, names) {
    if (options === undefined || options === null) return null;
    if (typeof options !== "object" || isArray(options)) {
      fail(api, "options must be an object such as { auth: \"user\" }, got " + describe(options));
    }
    const copy = {};
    for (const key of Object.keys(options)) {
      if (!names.includes(key)) fail(api, "unknown option '" + key + "'; the options here are " + names.join(", "));
      const value = options[key];
      if (value === undefined || value === null) continue;
      copy[key] = functionOptions.includes(key) ? handlerRef(api, "options." + key, value) : value;
    }
    let json;
    try {
      json = stringify(copy);
    } catch (e) {
      fail(api, "options cannot be serialized as JSON: " + e.message);
    }
    return json;
  }

  // ---- routes and logging -------------------------------------------------------------------

  function register(path, handler, method, options) {
    if (typeof path !== "string") fail("register", "path must be a string starting with '/', got " + describe(path));
    const ref = handlerRef("register", "handler", handler);
    // register(path, handler, { auth: "user" }) is a GET route with options.
    if (options === undefined && method !== null && typeof method === "object") {
      options = method;
      method = undefined;
    }
    if (method === undefined || method === null) method = "GET";
    else if (typeof method !== "string") fail("register", "method must be a string (GET, POST, PUT, DELETE or PATCH), got " + describe(method));
    check("register", host.Register(path, ref, method, optionsJson("register", options, ["auth", "rateLimit"])));
  }

  // A long line is cut by the host (ScriptLogger.Cut), where a script cannot replace the cutting.
  function logLine(level, text) {
    host.Log(level, text);
  }

  function writeLog(message) {
    if (message === undefined || message === null) fail("writeLog", "message is required, got " + describe(message));
    logLine(2, format(message));
  }

  function logAt(level) {
    return function () {
      const parts = [];
      for (let i = 0; i < arguments.length; i++) parts.push(format(arguments[i]));
      logLine(level, parts.join(" "));
    };
  }

  const console = {
    debug: logAt(1),
    log: logAt(2),
    info: logAt(2),
    warn: logAt(3),
    error: logAt(4),
  };

  // ---- streams --------------------------------------------------------------------------------

  // Objects and arrays are sent as JSON; strings verbatim, so sendStreamMessage(JSON.stringify(x))
  // and sendStreamMessage(x) deliver the same bytes.
  function payload(api, data) {
    if (typeof data === "string") return data;
    if (data === null || typeof data !== "object") {
      fail(api, "data must be an object, an array or a string, got " + describe(data));
    }
    let json;
    try {
      json = stringify(data);
    } catch (e) {
      fail(api, "data cannot be serialized as JSON: " + e.message);
    }
    if (typeof json !== "string") fail(api, "data serializes to nothing (its toJSON returned undefined)");
    return json;
  }

  function filterJson(api, filter) {
    if (filter === undefined || filter === null) return null;
    if (typeof filter !== "object" || isArray(filter)) {
      fail(api, "filter must be an object of metadata values such as { room: \"general\" }, got " + describe(filter));
    }
    const copy = {};
    for (const key of Object.keys(filter)) {
      const value = filter[key];
      if (typeof value === "string") copy[key] = value;
      else if (typeof value === "number" || typeof value === "boolean") copy[key] = String(value);
      else fail(api, "filter." + key + " must be a string, number or boolean, got " + describe(value));
    }
    return stringify(copy);
  }

  function sent(api, result) {
    if (typeof result === "string") fail(api, result);
    return result;
  }

  function registerWebStream(path, options) {
    if (typeof path !== "string") fail("registerWebStream", "path must be a string starting with '/', got " + describe(path));
    check("registerWebStream", host.RegisterStream(path, optionsJson("registerWebStream", options, ["auth", "authorize", "rateLimit"])));
  }

  function sendStreamMessage(data) {
    return sent("sendStreamMessage", host.SendStreamMessage(payload("sendStreamMessage", data)));
  }

  function sendStreamMessageToPath(path, data, filter) {
    const api = "sendStreamMessageToPath";
    if (typeof path !== "string") fail(api, "path must be a string starting with '/', got " + describe(path));
    return sent(api, host.SendStreamMessageToPath(path, payload(api, data), filterJson(api, filter)));
  }

  // Reaches only the connections of the signed-in user userId: the host sets every connection's "user"
  // metadata from its identity (StreamEndpoint.WithUser), never from the client.
  function sendToUser(path, userId, data) {
    const api = "sendToUser";
    if (typeof path !== "string") fail(api, "path must be a string starting with '/', got " + describe(path));
    if (typeof userId !== "string" || userId.length === 0) fail(api, "userId must be a non-empty string (the user's id, the token's sub claim), got " + describe(userId));
    return sent(api, host.SendStreamMessageToPath(path, payload(api, data), filterJson(api, { user: userId })));
  }

  // ---- GraphQL --------------------------------------------------------------------------------

  function registerGraphQL(api, kind, name, sdl, resolver, resolverOptional, options, optionNames) {
    if (typeof name !== "string" || name.length === 0) fail(api, "name must be a non-empty string, got " + describe(name));
    if (typeof sdl !== "string") fail(api, "sdl must be a string such as \"type Query { " + name + ": String }\", got " + describe(sdl));
    let ref = null;
    if (resolver === undefined || resolver === null) {
      if (!resolverOptional) fail(api, "resolver must be the name of a global function or a function, got " + describe(resolver));
    } else {
      ref = handlerRef(api, "resolver", resolver);
    }
    check(api, host.RegisterGraphQL(kind, name, sdl, ref, optionsJson(api, options, optionNames)));
  }

  function registerGraphQLQuery(name, sdl, resolver, options) {
    registerGraphQL("registerGraphQLQuery", 0, name, sdl, resolver, false, options, ["auth", "rateLimit"]);
  }

  function registerGraphQLMutation(name, sdl, resolver, options) {
    registerGraphQL("registerGraphQLMutation", 1, name, sdl, resolver, false, options, ["auth", "rateLimit"]);
  }

  // registerGraphQLSubscription(name, sdl, { auth: "user" }) takes options without a resolver.
  function registerGraphQLSubscription(name, sdl, resolver, options) {
    if (options === undefined && resolver !== null && typeof resolver === "object" && !isArray(resolver)) {
      options = resolver;
      resolver = undefined;
    }
    registerGraphQL("registerGraphQLSubscription", 2, name, sdl, resolver, true, options, ["auth", "filter", "rateLimit"]);
  }

  function sendSubscriptionMessage(name, data, filter) {
    const api = "sendSubscriptionMessage";
    if (typeof name !== "string") fail(api, "name must be the name of a registered subscription, got " + describe(name));
    return sent(api, host.SendSubscriptionMessage(name, payload(api, data), filterJson(api, filter)));
  }

  // Reaches only the subscriptions of the signed-in user userId, on every transport: the host sets each
  // subscription's "user" metadata from its identity, never from its arguments.
  function sendSubscriptionToUser(name, userId, data) {
    const api = "sendSubscriptionToUser";
    if (typeof name !== "string") fail(api, "name must be the name of a registered subscription, got " + describe(name));
    if (typeof userId !== "string" || userId.length === 0) fail(api, "userId must be a non-empty string (the user's id, the token's sub claim), got " + describe(userId));
    return sent(api, host.SendSubscriptionMessage(name, payload(api, data), filterJson(api, { user: userId })));
  }

  // A resolver's result goes back as JSON; undefined (nothing to send) as null.
  function encodeResult(value) {
    if (value === undefined) return null;
    const json = stringify(value);
    return json === undefined ? null : json;
  }

  function resolveField(ref, argumentsJson, contextJson) {
    const result = resolve(ref)(parse(argumentsJson), parse(contextJson));
    if (isThenable(result)) return hostPromise(result, encodeResult);
    return encodeResult(result);
  }

  // ---- what the host calls --------------------------------------------------------------------

  // What HTTP can carry (RFC 9110 tokens; visible ASCII, space and tab in values): anything else
  // would fail in the server after the handler returned, or split the header. These checks give
  // the script a clear Error; the host checks the same again (ScriptResponse.TryCreate), since a
  // script can replace RegExp.prototype.test.
  const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const headerValue = /^[\t\x20-\x7e]*$/;
  const headerValueRule = "header values may hold visible ASCII characters, spaces and tabs only";
  // Framing and hop-by-hop headers are the server's: a Transfer-Encoding from a script would let
  // its body be read as further responses on the connection.
  const serverHeaders = ["transfer-encoding", "content-length", "connection", "upgrade", "keep-alive", "te", "trailer", "proxy-connection"];
  const serverHeadersRule = "Transfer-Encoding, Content-Length, Connection, Upgrade, Keep-Alive, TE, Trailer and Proxy-Connection are set by the server only";

  function respond(result) {
    if (result === null || typeof result !== "object" || isArray(result)) {
      throw new Error("a handler must return an object such as { status: 200, body: \"...\" }, got " + describe(result));
    }
    let status = result.status;
    if (status === undefined || status === null) status = 200;
    if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
      throw new Error("a handler returned status " + describe(status) + "; status must be an integer from 200 to 599");
    }
    let contentType = result.contentType;
    if (contentType !== undefined && contentType !== null && typeof contentType !== "string") {
      throw new Error("a handler returned contentType " + describe(contentType) + "; it must be a string");
    }
    if (typeof contentType === "string" && !headerValue.test(contentType)) {
      throw new Error("a handler returned contentType " + describe(contentType) + "; " + headerValueRule);
    }
    let body = result.body;
    let binary = false;
    const bytes = body !== null && typeof body === "object" ? bytesOf(body) : undefined;
    if (body === undefined || body === null) body = "";
    else if (bytes !== undefined) {
      // Bytes (a typed array or an ArrayBuffer) are sent as they are.
      body = toBinary(bytes);
      binary = true;
      if (contentType === undefined || contentType === null) contentType = "application/octet-stream";
    } else if (typeof body === "object") {
      body = stringify(body);
      if (contentType === undefined || contentType === null) contentType = "application/json; charset=utf-8";
    } else if (typeof body !== "string") body = String(body);
    let headers = null;
    if (result.headers !== undefined && result.headers !== null) {
      if (typeof result.headers !== "object" || isArray(result.headers)) {
        throw new Error("a handler returned headers " + describe(result.headers) + "; headers must be an object of strings");
      }
      const copy = {};
      for (const name of Object.keys(result.headers)) {
        const value = result.headers[name];
        if (value === undefined || value === null) continue;
        if (!headerName.test(name)) {
          throw new Error("a handler returned header " + describe(name).replace(/^"|"$/g, "'") + "; a header name is letters, digits and !#$%&'*+-.^_`|~");
        }
        if (serverHeaders.includes(name.toLowerCase())) {
          throw new Error("a handler returned header '" + name + "'; " + serverHeadersRule);
        }
        const text = typeof value === "string" ? value : String(value);
        if (!headerValue.test(text)) {
          throw new Error("a handler returned header '" + name + "' with value " + describe(text) + "; " + headerValueRule);
        }
        copy[name] = text;
      }
      headers = stringify(copy);
    }
    // The plain answer (status 200, the default content type, no headers) goes back as the call's
    // result, the body string; calling the host object costs more than the rest of the call.
    if (status === 200 && (contentType === undefined || contentType === null) && headers === null && !binary) return body;
    // The host keeps the checked answer and gives a token (a number) for this call to return; a string
    // is what HTTP cannot carry.
    const answer = binary
      ? host.RespondBytes(status, contentType, headers, body)
      : host.Respond(status, contentType === undefined || contentType === null ? "" : contentType, headers, body);
    if (typeof answer === "string") throw new Error(answer);
    return answer;
  }

  // req.bodyBytes: the request's exact bytes as a Uint8Array, decoded from the host's base64 on first read
  // (not enumerable, so logging or serializing req does not copy the body again).
  function withBodyBytes(req) {
    const encoded = req.bodyBase64;
    delete req.bodyBase64;
    let bytes;
    defineProperty(req, "bodyBytes", {
      __proto__: null,
      configurable: true,
      enumerable: false,
      get() {
        if (bytes === undefined) bytes = typeof encoded === "string" ? fromBase64(encoded) : new OwnUint8Array(0);
        return bytes;
      },
    });
    return req;
  }

  function dispatch(ref, requestJson) {
    const result = resolve(ref)(withBodyBytes(parse(requestJson)));
    if (isThenable(result)) return hostPromise(result, respond);
    return respond(result);
  }

  // A stream's connect hook: true, false, undefined or an object of strings, judged by the host (ScriptStreams).
  // A subscription's filter sees the event's data parsed when it is JSON, else the string as sent.
  function filterEvent(ref, payload, argumentsJson, contextJson) {
    let value = payload;
    try { value = parse(payload); } catch (e) { value = payload; }
    const result = resolve(ref)(value, parse(argumentsJson), parse(contextJson));
    if (isThenable(result)) return hostPromise(result, encodeResult);
    return encodeResult(result);
  }

  function authorizeStream(ref, requestJson) {
    const result = resolve(ref)(withBodyBytes(parse(requestJson)));
    if (isThenable(result)) return hostPromise(result, encodeResult);
    return encodeResult(result);
  }

  function runInit(contextJson) {
    if (typeof globalThis.init !== "function") return undefined;
    const result = globalThis.init(parse(contextJson));
    return isThenable(result) ? hostPromise(result, function () { return undefined; }) : undefined;
  }

  function isFunction(ref) {
    const fn = ref.charCodeAt(0) === 35 ? functions.get(ref) : globalThis[ref];
    return typeof fn === "function";
  }

  // ---- crypto and ids ---------------------------------------------------------------------------

  // Bytes cross to the host as binary strings (one char per byte) tagged "b", text as "t" + the string
  // (the host encodes it as UTF-8). The built-ins used here are taken before any script runs.
  const OwnUint8Array = Uint8Array;
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const typedArrayTag = getter(typedArrayProto, Symbol.toStringTag);
  const typedArrayBuffer = getter(typedArrayProto, "buffer");
  const typedArrayOffset = getter(typedArrayProto, "byteOffset");
  const typedArrayLength = getter(typedArrayProto, "byteLength");
  const arrayBufferLength = getter(ArrayBuffer.prototype, "byteLength");
  const fromCharCode = String.fromCharCode;
  const integerArrays = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array"];
  const hashAlgorithms = ["sha1", "sha256", "sha384", "sha512"];

  function tagOf(value) {
    return value !== null && typeof value === "object" ? apply(typedArrayTag, value, []) : undefined;
  }

  // The bytes of a typed array (its own window of its buffer) or an ArrayBuffer; undefined otherwise.
  function bytesOf(value) {
    if (tagOf(value) !== undefined) {
      return new OwnUint8Array(apply(typedArrayBuffer, value, []), apply(typedArrayOffset, value, []), apply(typedArrayLength, value, []));
    }
    if (value !== null && typeof value === "object") {
      try {
        apply(arrayBufferLength, value, []);
        return new OwnUint8Array(value);
      } catch (e) {
        return undefined;
      }
    }
    return undefined;
  }

  function toBinary(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      const end = i + 8192 < bytes.length ? i + 8192 : bytes.length;
      let chunk = "";
      for (let j = i; j < end; j++) chunk += fromCharCode(bytes[j]);
      text += chunk;
    }
    return text;
  }

  function fromBinary(text) {
    const bytes = new OwnUint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // Data for a digest, key or comparison: a string (as UTF-8) or bytes.
  function tagged(api, what, value) {
    if (typeof value === "string") return "t" + value;
    const bytes = bytesOf(value);
    if (bytes === undefined) fail(api, what + " must be a string, a Uint8Array (or another typed array) or an ArrayBuffer, got " + describe(value));
    return "b" + toBinary(bytes);
  }

  // "r" + the value, or "e" + the message (ScriptHostApi).
  function hostResult(api, result) {
    if (result.charCodeAt(0) === 101) fail(api, result.slice(1));
    return result.slice(1);
  }

  const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function base64(binary, url) {
    let out = "";
    for (let i = 0; i < binary.length; i += 3) {
      const a = binary.charCodeAt(i), b = binary.charCodeAt(i + 1), c = binary.charCodeAt(i + 2);
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += base64Chars[n >> 18] + base64Chars[(n >> 12) & 63]
        + (i + 1 < binary.length ? base64Chars[(n >> 6) & 63] : "=")
        + (i + 2 < binary.length ? base64Chars[n & 63] : "=");
    }
    return url ? out.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : out;
  }

  const base64Values = new OwnUint8Array(128);
  for (let i = 0; i < 64; i++) base64Values[base64Chars.charCodeAt(i)] = i;
  function fromBase64(text) {
    let end = text.length;
    while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
    const bytes = new OwnUint8Array((end * 3) >> 2);
    let n = 0, bits = 0, at = 0;
    for (let i = 0; i < end; i++) {
      n = (n << 6) | base64Values[text.charCodeAt(i)];
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[at++] = (n >> bits) & 255;
      }
    }
    return bytes;
  }

  function encodeDigest(api, binary, encoding) {
    if (encoding === undefined || encoding === null) return fromBinary(binary);
    if (encoding === "hex") {
      let out = "";
      for (let i = 0; i < binary.length; i++) {
        const b = binary.charCodeAt(i);
        out += (b < 16 ? "0" : "") + b.toString(16);
      }
      return out;
    }
    if (encoding === "base64") return base64(binary, false);
    if (encoding === "base64url") return base64(binary, true);
    if (encoding === "latin1" || encoding === "binary") return binary;
    fail(api, "encoding must be \"hex\", \"base64\", \"base64url\" or \"latin1\" (or none, for a Uint8Array), got " + describe(encoding));
  }

  function hashAlgorithm(api, algorithm) {
    const name = typeof algorithm === "string" ? algorithm.toLowerCase().replace("-", "") : null;
    if (!hashAlgorithms.includes(name)) fail(api, "algorithm must be one of " + hashAlgorithms.join(", ") + ", got " + describe(algorithm));
    return name;
  }

  // createHash / createHmac as in Node.js: update(data) any number of times (chainable), then digest(encoding) once.
  function hasher(kind, algorithm, key) {
    const parts = [];
    let done = false;
    const object = {
      update(data) {
        if (done) fail(kind + ".update", "digest() was already called");
        parts.push(tagged(kind + ".update", "data", data));
        return object;
      },
      digest(encoding) {
        if (done) fail(kind + ".digest", "digest() was already called");
        done = true;
        return encodeDigest(kind + ".digest", hostResult(kind + ".digest", host.Digest(algorithm, key, stringify(parts))), encoding);
      },
    };
    return object;
  }

  const crypto = {
    randomUUID() {
      return host.RandomUuid();
    },
    getRandomValues(array) {
      const api = "crypto.getRandomValues";
      if (!integerArrays.includes(tagOf(array))) fail(api, "array must be an integer typed array such as a Uint8Array, got " + describe(array));
      const view = bytesOf(array);
      if (view.length > 65536) fail(api, "can fill at most 65536 bytes at once, got " + view.length);
      const random = hostResult(api, host.RandomBytes(view.length));
      for (let i = 0; i < view.length; i++) view[i] = random.charCodeAt(i);
      return array;
    },
    createHash(algorithm) {
      return hasher("createHash", hashAlgorithm("crypto.createHash", algorithm), null);
    },
    createHmac(algorithm, key) {
      const name = hashAlgorithm("crypto.createHmac", algorithm);
      return hasher("createHmac", name, tagged("crypto.createHmac", "key", key));
    },
    timingSafeEqual(a, b) {
      const api = "crypto.timingSafeEqual";
      const result = host.TimingSafeEqual(tagged(api, "a", a), tagged(api, "b", b));
      if (typeof result === "string") fail(api, result);
      return result;
    },
  };
  Object.freeze(crypto);

  // ---- timers ----------------------------------------------------------------------------------

  // setTimeout / setInterval as in browsers and Deno: the id is a number, extra arguments are passed to
  // the callback, clearTimeout and clearInterval clear either kind, an unknown id is ignored. The host
  // schedules and limits them (ScriptInstance.SetTimer); a run is a call of its own (fireTimer).
  const timers = new Map();
  let nextTimerId = 1;

  function startTimer(api, callback, delay, args, repeat) {
    if (typeof callback !== "function") fail(api, "callback must be a function, got " + describe(callback));
    const ms = typeof delay === "number" ? delay : Number(delay);
    const id = nextTimerId++;
    timers.set(id, { callback, args, repeat });
    const error = host.SetTimer(id, ms === ms ? ms : 0, repeat);
    if (error !== null && error !== undefined) {
      timers.delete(id);
      fail(api, error);
    }
    return id;
  }

  function setTimeout(callback, delay, ...args) {
    return startTimer("setTimeout", callback, delay, args, false);
  }

  function setInterval(callback, delay, ...args) {
    return startTimer("setInterval", callback, delay, args, true);
  }

  function clearTimer(id) {
    if (typeof id === "number" && timers.delete(id)) host.ClearTimer(id);
  }

  function fireTimer(id) {
    const timer = timers.get(id);
    if (timer === undefined) return undefined;
    if (!timer.repeat) timers.delete(id);
    const result = apply(timer.callback, undefined, timer.args);
    return isThenable(result) ? hostPromise(result, function () { return undefined; }) : undefined;
  }

  // ---- fetch -----------------------------------------------------------------------------------

  // fetch(url, { method, headers, body }) as in Node.js and Deno, for what a script needs: a Promise of a
  // Response with status, ok, url, redirected, headers.get/has/forEach and text(), json(), arrayBuffer(),
  // bytes() (the body is read whole by the host, within its limits). A refused or failed fetch rejects
  // with an Error saying why. The host checks the request again (ScriptFetcher), whatever the script did.
  const fetches = new Map();
  let nextFetchId = 1;

  function fetch(url, init) {
    const api = "fetch";
    try {
      if (typeof url !== "string") fail(api, "url must be a string, got " + describe(url));
      if (init === undefined || init === null) init = {};
      if (typeof init !== "object" || isArray(init)) fail(api, "init must be an object such as { method: \"POST\", body }, got " + describe(init));
      const method = init.method === undefined || init.method === null ? "GET" : init.method;
      if (typeof method !== "string") fail(api, "method must be a string, got " + describe(method));
      let headers = null;
      if (init.headers !== undefined && init.headers !== null) {
        if (typeof init.headers !== "object" || isArray(init.headers)) fail(api, "headers must be an object of strings, got " + describe(init.headers));
        const copy = {};
        for (const name of Object.keys(init.headers)) copy[name] = String(init.headers[name]);
        headers = stringify(copy);
      }
      let body = null;
      if (init.body !== undefined && init.body !== null) {
        if (typeof init.body === "string") body = "t" + init.body;
        else if (bytesOf(init.body) !== undefined) body = "b" + toBinary(bytesOf(init.body));
        else fail(api, "body must be a string or bytes (a Uint8Array or ArrayBuffer); JSON.stringify an object, got " + describe(init.body));
      }
      const id = nextFetchId++;
      let resolveFetch, rejectFetch;
      const promise = new OwnPromise(function (resolve, reject) { resolveFetch = resolve; rejectFetch = reject; });
      fetches.set(id, { resolve: resolveFetch, reject: rejectFetch });
      const error = host.Fetch(id, url, method, headers, body);
      if (error !== null && error !== undefined) {
        fetches.delete(id);
        fail(api, error);
      }
      return promise;
    } catch (e) {
      return OwnPromise.reject(e);
    }
  }

  function makeResponse(status, url, headers, binary, redirected) {
    let used = false;
    function take(what) {
      if (used) throw new TypeError("fetch: the response body was already read (" + what + ")");
      used = true;
    }
    const names = Object.keys(headers);
    return {
      status, ok: status >= 200 && status < 300, url, redirected,
      headers: {
        get(name) { const value = headers[String(name).toLowerCase()]; return value === undefined ? null : value; },
        has(name) { return headers[String(name).toLowerCase()] !== undefined; },
        forEach(callback) { for (const name of names) callback(headers[name], name); },
        entries() { return names.map(function (name) { return [name, headers[name]]; })[Symbol.iterator](); },
      },
      get bodyUsed() { return used; },
      text() { return new OwnPromise(function (resolve) { take("text"); resolve(host.DecodeUtf8(binary)); }); },
      json() { return new OwnPromise(function (resolve) { take("json"); resolve(parse(host.DecodeUtf8(binary))); }); },
      arrayBuffer() { return new OwnPromise(function (resolve) { take("arrayBuffer"); resolve(fromBinary(binary).buffer); }); },
      bytes() { return new OwnPromise(function (resolve) { take("bytes"); resolve(fromBinary(binary)); }); },
    };
  }

  function settleFetch(id, error, status, url, headersJson, binary, redirected) {
    const pending = fetches.get(id);
    if (pending === undefined) return undefined;
    fetches.delete(id);
    if (error !== null && error !== undefined) pending.reject(new Error("fetch: " + error));
    else pending.resolve(makeResponse(status, url, parse(headersJson), binary || "", redirected === true));
    return undefined;
  }

  // ---- storage ---------------------------------------------------------------------------------

  // storage.get/set/delete/list/increment/compareAndSet: Promises, settled by the host (ScriptStorage) in a
  // run of their own. Values are JSON: what JSON.stringify makes of them is what is stored and read back.
  const storageCalls = new Map();
  let nextStorageId = 1;

  function storageCall(api, operation, key, argument) {
    try {
      if (typeof key !== "string") fail(api, (operation === "list" ? "prefix" : "key") + " must be a string, got " + describe(key));
      const id = nextStorageId++;
      let resolveCall, rejectCall;
      const promise = new OwnPromise(function (resolve, reject) { resolveCall = resolve; rejectCall = reject; });
      storageCalls.set(id, { api, resolve: resolveCall, reject: rejectCall });
      const error = host.Storage(id, operation, key, argument === undefined ? null : argument);
      if (error !== null && error !== undefined) {
        storageCalls.delete(id);
        fail(api, error);
      }
      return promise;
    } catch (e) {
      return OwnPromise.reject(e);
    }
  }

  function jsonOf(api, value) {
    let json;
    try {
      json = stringify(value);
    } catch (e) {
      fail(api, "the value cannot be stored as JSON: " + e.message);
    }
    if (json === undefined) fail(api, "the value cannot be stored as JSON, got " + describe(value));
    return json;
  }

  function ttlOf(api, options) {
    if (options === undefined || options === null) return null;
    if (typeof options !== "object" || isArray(options)) fail(api, "options must be an object such as { ttl: 60 }, got " + describe(options));
    if (options.ttl === undefined || options.ttl === null) return null;
    if (typeof options.ttl !== "number") fail(api, "ttl must be a number of seconds, got " + describe(options.ttl));
    return options.ttl;
  }

  const storage = {
    get(key) { return storageCall("storage.get", "get", key); },
    set(key, value, options) {
      try {
        return storageCall("storage.set", "set", key, stringify({ value: jsonOf("storage.set", value), ttl: ttlOf("storage.set", options) }));
      } catch (e) {
        return OwnPromise.reject(e);
      }
    },
    delete(key) { return storageCall("storage.delete", "delete", key); },
    list(prefix, options) {
      try {
        if (options !== undefined && options !== null && (typeof options !== "object" || isArray(options))) fail("storage.list", "options must be an object such as { limit: 100 }, got " + describe(options));
        return storageCall("storage.list", "list", prefix === undefined ? "" : prefix, options ? stringify({ limit: options.limit }) : null);
      } catch (e) {
        return OwnPromise.reject(e);
      }
    },
    increment(key, by) {
      try {
        const amount = by === undefined ? 1 : by;
        if (typeof amount !== "number" || amount !== amount || amount === Infinity || amount === -Infinity) fail("storage.increment", "by must be a finite number, got " + describe(by));
        return storageCall("storage.increment", "increment", key, String(amount));
      } catch (e) {
        return OwnPromise.reject(e);
      }
    },
    compareAndSet(key, expected, value, options) {
      try {
        const api = "storage.compareAndSet";
        return storageCall(api, "compareAndSet", key, stringify({
          expected: expected === undefined || expected === null ? null : jsonOf(api, expected),
          value: jsonOf(api, value),
          ttl: ttlOf(api, options),
        }));
      } catch (e) {
        return OwnPromise.reject(e);
      }
    },
  };
  Object.freeze(storage);

  // The host's answer: an error message, or the result as JSON (null: undefined, as for a missing key).
  function settleStorage(id, error, json) {
    const pending = storageCalls.get(id);
    if (pending === undefined) return undefined;
    storageCalls.delete(id);
    if (error !== null && error !== undefined) pending.reject(new Error(pending.api + ": " + error));
    else pending.resolve(json === null || json === undefined ? undefined : parse(json));
    return undefined;
  }

  // ---- named jobs ------------------------------------------------------------------------------

  // schedule(name, spec, handler): handler(context) at every tick of spec (an interval such as "5s" or a
  // cron expression), context = { name, script, scheduledAt }; once per tick across a cluster (the host's lease).
  function schedule(name, spec, handler) {
    const api = "schedule";
    if (typeof name !== "string" || name.length === 0) fail(api, "name must be a non-empty string, got " + describe(name));
    if (typeof spec !== "string") fail(api, "spec must be a string: an interval such as \"5s\" or a cron expression such as \"*/5 * * * * *\", got " + describe(spec));
    const ref = handlerRef(api, "handler", handler);
    check(api, host.Schedule(name, spec, ref));
  }

  function runJob(ref, contextJson) {
    const result = resolve(ref)(parse(contextJson));
    return isThenable(result) ? hostPromise(result, function () { return undefined; }) : undefined;
  }

  // ---- secrets ---------------------------------------------------------------------------------

  const secrets = {
    get(name) {
      if (typeof name !== "string" || name.length === 0) fail("secrets.get", "name must be a non-empty string, got " + describe(name));
      const result = host.GetSecret(name);
      if (result === "u") return undefined;
      return hostResult("secrets.get", result);
    },
  };
  Object.freeze(secrets);

  function generateId() {
    return host.RandomUuid();
  }

  const api = {
    register, writeLog, console, registerWebStream, sendStreamMessage, sendStreamMessageToPath, sendToUser,
    registerGraphQLQuery, registerGraphQLMutation, registerGraphQLSubscription, sendSubscriptionMessage, sendSubscriptionToUser,
    crypto, generateId, secrets,
    setTimeout, setInterval, clearTimeout: clearTimer, clearInterval: clearTimer, schedule, fetch, storage,
  };
  for (const name of Object.keys(api)) {
    Object.defineProperty(globalThis, name, { value: api[name], writable: true, configurable: true, enumerable: false });
  }

  return { dispatch, runInit, isFunction, resolveField, authorizeStream, filterEvent, fireTimer, runJob, settleFetch, settleStorage };
})
