using System.Net;
using System.Net.Http.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>The options object of <c>register*</c>: wrong shapes and names are clear errors at registration, never a public path.</summary>
public sealed class RegistrationOptionsTests
{
    private static async Task<string> ErrorOfAsync(string call, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var script = $$"""
            let error = "none";
            try { {{call}}; } catch (e) { error = e.message; }
            register("/error", () => ({ body: error }));
            """;
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["options.js"] = script }, settings);
        return await HttpAssert.TextAsync(await host.Client.GetAsync("/error"));
    }

    [Theory]
    [InlineData("""register("/a", () => ({}), "GET", { auht: "user" })""", "register: unknown option 'auht'; the options here are auth, rateLimit")]
    [InlineData("""register("/a", () => ({}), "GET", { auth: "users" })""", "register: auth must be \"user\", { roles: [\"...\"] } or { policy: \"name\" }")]
    [InlineData("""register("/a", () => ({}), "GET", { auth: { roles: [] } })""", "register: auth.roles must name at least one role")]
    [InlineData("""register("/a", () => ({}), "GET", { auth: { roles: ["a", 1] } })""", "register: auth.roles must hold non-empty strings")]
    [InlineData("""register("/a", () => ({}), "GET", { auth: { roles: ["a"], policy: "p" } })""", "one of roles or policy")]
    [InlineData("""register("/a", () => ({}), "GET", { auth: { policy: "nope" } })""", "register: auth.policy 'nope' is not configured (AiWebEngine:Authorization:Policies:nope)")]
    [InlineData("""register("/a", () => ({}), 42)""", "register: method must be a string")]
    [InlineData("""register("/a", () => ({}), "GET", "user")""", "register: options must be an object")]
    [InlineData("""register("/a", () => ({}), "GET", ["auth"])""", "register: options must be an object")]
    [InlineData("""registerWebStream("/s", { filter: () => true })""", "registerWebStream: unknown option 'filter'; the options here are auth, authorize, rateLimit")]
    [InlineData("""registerGraphQLQuery("q", "type Query { q: String }", () => "x", { authorize: () => true })""", "registerGraphQLQuery: unknown option 'authorize'; the options here are auth, rateLimit")]
    [InlineData("""registerGraphQLSubscription("s", "type Subscription { s: String }", { filter: 42 })""", "registerGraphQLSubscription: options.filter must be the name of a global function or a function")]
    public async Task BadOptions_AreARegistrationError(string call, string message)
    {
        Assert.Contains(message, await ErrorOfAsync(call), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisterWithOptionsInPlaceOfTheMethod_IsAGetRoute()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["g.js"] = """register("/g", () => ({ body: "ok" }), { auth: "user" });""" },
            TestTokens.Settings());

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/g"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var request = new HttpRequestMessage(HttpMethod.Get, "/g");
        request.Headers.Authorization = new("Bearer", TestTokens.Mint("alice"));
        Assert.Equal("ok", await HttpAssert.TextAsync(await host.Client.SendAsync(request)));
    }
}

/// <summary>A bearer configuration that would accept more tokens than meant does not start.</summary>
public sealed class BearerConfigurationTests
{
    [Theory]
    [InlineData("ValidAudiences", "set ValidAudiences")]
    [InlineData("ValidIssuer", "set ValidIssuer")]
    [InlineData("SigningKeys", "set Authority (an OpenID Connect issuer) or SigningKeys")]
    public async Task AMissingPart_StopsTheStart_NamingIt(string missing, string message)
    {
        var settings = TestTokens.Settings();
        foreach (var key in settings.Keys.Where(k => k.Contains(":" + missing, StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => EngineHost.StartAsync(settings: settings));

        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GraphQLResolvers_SeeContextUser_AndNoCredentialHeader()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["q.js"] = """registerGraphQLQuery("me", "type Query { me: String }", (args, context) => JSON.stringify({ user: context.user, auth: context.headers.authorization ?? null }));""" },
            TestTokens.Settings());
        var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = JsonContent.Create(new { query = "{ me }" }) };
        request.Headers.Authorization = new("Bearer", TestTokens.Mint("alice", name: "Alice"));

        var data = await HttpAssert.JsonAsync(await host.Client.SendAsync(request));
        var me = System.Text.Json.JsonDocument.Parse(data.GetProperty("data").GetProperty("me").GetString()!).RootElement;

        Assert.Equal("alice", me.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal("Alice", me.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, me.GetProperty("auth").ValueKind);
    }
}
