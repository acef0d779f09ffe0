// A real OpenID Connect provider (npm oidc-provider) for the sign-in tests: one confidential client,
// the authorization code flow with PKCE, and development interactions (any login, any password).
// usage: node oidc-provider.mjs <port> <client_id> <client_secret> <redirect_uri>
// Prints "ready <issuer>" once it listens. Its signing key is an RSA key made with jose; for the tests
// (loopback only, not OpenID Connect) it also answers:
//   POST /test/mint?sub=&aud=&ttl=   an access token (JWT) for sub, signed with the current key (the body)
//   POST /test/rotate                a new signing key replaces the old one in the JWKS (the body: its kid)
// The accounts it knows carry a name, roles and a team:
//   alice -> Alice, roles [reader], team red;  bob -> Bob, roles [reader, writer], team blue;
//   any other login -> its own name, no roles, team red.
import http from "node:http";
import Provider from "oidc-provider";
import * as jose from "jose";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const people = {
  alice: { name: "Alice", role: ["reader"], team: "red" },
  bob: { name: "Bob", role: ["reader", "writer"], team: "blue" },
};

async function newKey() {
  const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  const kid = `key-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  return { jwk: { ...(await jose.exportJWK(privateKey)), kid, alg: "RS256", use: "sig" }, privateKey };
}

let key = await newKey();
let provider = build();

function build() {
  const built = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    }],
    jwks: { keys: [key.jwk] },
    claims: { openid: ["sub"], profile: ["name", "role", "team"] },
    async findAccount(ctx, id) {
      const person = people[id] ?? { name: id, role: [], team: "red" };
      return { accountId: id, claims: async () => ({ sub: id, ...person }) };
    },
    pkce: { required: () => true },
    cookies: { keys: ["aiwebengine-tests-provider-cookie-key"] },
    features: { devInteractions: { enabled: true } },
  });
  built.on("server_error", (ctx, error) => console.error("server_error " + error.message));
  return built;
}

async function control(req, res, url) {
  const send = (status, body) => { res.writeHead(status, { "content-type": "text/plain" }); res.end(body); };
  if (req.method !== "POST") return send(405, "POST only");
  if (url.pathname === "/test/rotate") {
    key = await newKey();
    provider = build();
    return send(200, key.jwk.kid);
  }
  if (url.pathname === "/test/mint") {
    const p = url.searchParams;
    const token = await new jose.SignJWT({ sub: p.get("sub"), name: p.get("sub") })
      .setProtectedHeader({ alg: "RS256", kid: key.jwk.kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(p.get("aud"))
      .setIssuedAt()
      .setExpirationTime(`${Number(p.get("ttl") || 600)}s`)
      .sign(key.privateKey);
    return send(200, token);
  }
  return send(404, "unknown");
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith("/test/")) {
    control(req, res, url).catch((error) => { res.writeHead(500); res.end(String(error)); });
  } else {
    provider.callback()(req, res);
  }
});
server.listen(Number(port), "127.0.0.1", () => console.log("ready " + issuer));
