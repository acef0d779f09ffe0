using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// <c>register(path, handler, method, { auth })</c>: refused callers get 401/403 with the engine's JSON body and
/// the handler never runs; scripts see <c>req.user</c> and never the credential.
/// </summary>
public sealed class RouteAccessTests
{
    // Every guarded handler counts its calls; /calls (public) tells how many ran.
    private const string Script = """
        let calls = 0;
        register("/calls", () => ({ body: String(calls) }));
        register("/public", (req) => ({ body: { user: req.user, headers: req.headers } }));
        register("/me", (req) => { calls++; return { body: { user: req.user } }; }, "GET", { auth: "user" });
        register("/post", (req) => { calls++; return { body: "posted" }; }, "POST", { auth: "user" });
        register("/admin", (req) => { calls++; return { body: "admin" }; }, { auth: { roles: ["admin", "ops"] } });
        register("/acme", (req) => { calls++; return { body: "acme" }; }, "GET", { auth: { policy: "acme" } });
        """;

    private static Task<EngineHost> StartAsync(IReadOnlyDictionary<string, string?>? more = null, bool kestrel = false) =>
        EngineHost.StartAsync(
            new Dictionary<string, string> { ["access.js"] = Script },
            TestTokens.Settings(new Dictionary<string, string?>(more ?? new Dictionary<string, string?>())
            {
                ["AiWebEngine:Authorization:Policies:acme:Claims:tenant:0"] = "acme",
            }),
            kestrel: kestrel);

    private static HttpRequestMessage Get(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static async Task<int> CallsAsync(EngineHost host) => int.Parse(await HttpAssert.TextAsync(await host.Client.GetAsync("/calls")));

    [Fact]
    public async Task SignedInUser_IsServed_AndSeesItselfAsReqUser()
    {
        await using var host = await StartAsync();
        var token = TestTokens.Mint("alice", name: "Alice Doe", roles: ["reader", "writer"], claims: new Dictionary<string, object> { ["tenant"] = "acme" });

        var user = (await HttpAssert.JsonAsync(await host.Client.SendAsync(Get("/me", token)))).GetProperty("user");

        Assert.Equal("alice", user.GetProperty("id").GetString());
        Assert.Equal("Alice Doe", user.GetProperty("name").GetString());
        Assert.Equal(["reader", "writer"], user.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("acme", user.GetProperty("claims").GetProperty("tenant").GetString());
        Assert.Equal(1, await CallsAsync(host));
    }

    public static TheoryData<string, string?, string> Refused => new()
    {
        { "no token", null, "sign in" },
        { "expired", TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-5)), "expired" },
        { "not yet valid", TestTokens.Mint("alice", notBefore: DateTime.UtcNow.AddMinutes(10), lifetime: TimeSpan.FromMinutes(20)), "not valid yet" },
        { "wrong issuer", TestTokens.Mint("alice", issuer: "https://evil.test"), "refused" },
        { "wrong audience", TestTokens.Mint("alice", audience: "another-service"), "audience" },
        { "bad signature", TestTokens.Mint("alice", key: TestTokens.OtherKey), "refused" },
        { "alg none", TestTokens.AlgNone("alice"), "refused" },
        { "not a JWT", "the-admin-token", "refused" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task RefusedCredential_Gets401WithChallenge_AndTheHandlerNeverRuns(string what, string? token, string reason)
    {
        await using var host = await StartAsync();

        var response = await host.Client.SendAsync(Get("/me", token));

        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains(reason, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("a signed-in user", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(await CallsAsync(host) == 0, what);
    }

    [Fact]
    public async Task TokenWithoutSub_IsAnonymous()
    {
        await using var host = await StartAsync();
        var token = TestTokens.Mint("", name: "nobody");

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/me", token)), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task StateChangingRoute_RefusesAnonymousPost()
    {
        await using var host = await StartAsync();

        await HttpAssert.ErrorAsync(await host.Client.PostAsync("/post", new StringContent("x")), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(0, await CallsAsync(host));
    }

    [Fact]
    public async Task RoleRule_ForbidsUsersWithoutTheRole_AndServesAnyListedRole()
    {
        await using var host = await StartAsync();

        var forbidden = await host.Client.SendAsync(Get("/admin", TestTokens.Mint("bob", roles: ["reader"])));
        var error = await HttpAssert.ErrorAsync(forbidden, HttpStatusCode.Forbidden, "FORBIDDEN");
        Assert.Contains("role admin or ops", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await CallsAsync(host));

        Assert.Equal("admin", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/admin", TestTokens.Mint("carol", roles: ["ops"])))));
        // A single "role" claim counts as well as the "roles" array.
        Assert.Equal("admin", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/admin",
            TestTokens.Mint("dave", claims: new Dictionary<string, object> { ["role"] = "admin" })))));
        // A role name in another claim (or another case) is not a role.
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/admin",
            TestTokens.Mint("eve", roles: ["Admin"], claims: new Dictionary<string, object> { ["group"] = "admin" }))), HttpStatusCode.Forbidden, "FORBIDDEN");
    }

    [Fact]
    public async Task NamedPolicy_FromConfiguration_IsEnforced()
    {
        await using var host = await StartAsync();

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/acme", TestTokens.Mint("alice", claims: new Dictionary<string, object> { ["tenant"] = "globex" }))),
            HttpStatusCode.Forbidden, "FORBIDDEN");
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/acme", null)), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal("acme", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/acme",
            TestTokens.Mint("alice", claims: new Dictionary<string, object> { ["tenant"] = "acme" })))));
    }

    [Fact]
    public async Task Scripts_NeverSeeTheCredential_UnlessTheOperatorOptsIn()
    {
        await using var host = await StartAsync();
        var request = Get("/public", TestTokens.Mint("alice"));
        request.Headers.Add("Cookie", "aiwebengine.session=secret");
        request.Headers.Add("X-Other", "kept");

        var seen = await HttpAssert.JsonAsync(await host.Client.SendAsync(request));

        var headers = seen.GetProperty("headers");
        Assert.False(headers.TryGetProperty("authorization", out _));
        Assert.False(headers.TryGetProperty("cookie", out _));
        Assert.Equal("kept", headers.GetProperty("x-other").GetString());
        Assert.Equal("alice", seen.GetProperty("user").GetProperty("id").GetString());

        var anonymous = await HttpAssert.JsonAsync(await host.Client.GetAsync("/public"));
        Assert.Equal(JsonValueKind.Null, anonymous.GetProperty("user").ValueKind);

        await using var exposing = await StartAsync(new Dictionary<string, string?> { ["AiWebEngine:Scripts:ExposeCredentials"] = "true" });
        var token = TestTokens.Mint("alice");
        var exposed = await HttpAssert.JsonAsync(await exposing.Client.SendAsync(Get("/public", token)));
        Assert.Equal("Bearer " + token, exposed.GetProperty("headers").GetProperty("authorization").GetString());
    }

    [Fact]
    public async Task WithoutAnyAuthenticationConfigured_GuardedRoutesRefuseEveryone()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["access.js"] = Script.Replace("""register("/acme", (req) => { calls++; return { body: "acme" }; }, "GET", { auth: { policy: "acme" } });""", "") });

        var response = await host.Client.SendAsync(Get("/me", TestTokens.Mint("alice")));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(JsonValueKind.Null, (await HttpAssert.JsonAsync(await host.Client.SendAsync(Get("/public", TestTokens.Mint("alice"))))).GetProperty("user").ValueKind);
    }

    [Fact]
    public async Task OverARealSocket_TheTokenIsCheckedAndTheUserServed()
    {
        await using var host = await StartAsync(kestrel: true);

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/me", TestTokens.Mint("alice", key: TestTokens.OtherKey))), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var user = (await HttpAssert.JsonAsync(await host.Client.SendAsync(Get("/me", TestTokens.Mint("alice"))))).GetProperty("user");
        Assert.Equal("alice", user.GetProperty("id").GetString());
    }
}
