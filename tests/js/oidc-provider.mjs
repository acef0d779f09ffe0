// A real OpenID Connect provider (npm oidc-provider) for the sign-in tests: one confidential client,
// the authorization code flow with PKCE, and development interactions (any login, any password).
// usage: node oidc-provider.mjs <port> <client_id> <client_secret> <redirect_uri>
// Prints "ready <issuer>" once it listens. The accounts it knows carry a name, roles and a team:
//   alice -> Alice, roles [reader], team red;  bob -> Bob, roles [reader, writer], team blue;
//   any other login -> its own name, no roles, team red.
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const people = {
  alice: { name: "Alice", role: ["reader"], team: "red" },
  bob: { name: "Bob", role: ["reader", "writer"], team: "blue" },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_post",
  }],
  claims: { openid: ["sub"], profile: ["name", "role", "team"] },
  async findAccount(ctx, id) {
    const person = people[id] ?? { name: id, role: [], team: "red" };
    return { accountId: id, claims: async () => ({ sub: id, ...person }) };
  },
  pkce: { required: () => true },
  cookies: { keys: ["aiwebengine-tests-provider-cookie-key"] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
// The interactions' warnings are expected in a test; anything else goes to stderr as usual.
provider.on("server_error", (ctx, error) => console.error("server_error " + error.message));
provider.listen(Number(port), "127.0.0.1", () => console.log("ready " + issuer));
