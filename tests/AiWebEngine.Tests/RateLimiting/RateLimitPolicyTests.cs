using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.RateLimiting;

/// <summary>
/// Issue 18, point 8: a script names a configured policy at registration (<c>{ rateLimit: "name" }</c>)
/// for a route, a stream or a GraphQL field; a name that is not configured is a registration error.
/// </summary>
public sealed class RateLimitPolicyTests
{
    private const string Attacker = "203.0.113.7";
    private const string Bystander = "198.51.100.9";

    private static readonly Dictionary<string, string?> Policies = new()
    {
        ["AiWebEngine:RateLimits:Policies:login:PermitLimit"] = "2",
        ["AiWebEngine:RateLimits:Policies:login:Window"] = "00:01:00",
        ["AiWebEngine:RateLimits:Policies:slow:PermitLimit"] = "1",
        ["AiWebEngine:RateLimits:Policies:slow:Window"] = "00:00:30",
        ["AiWebEngine:RateLimits:Policies:slow:Kind"] = "SlidingWindow",
        ["AiWebEngine:RateLimits:Policies:slow:SegmentsPerWindow"] = "3",
    };

    private const string Script = """
        register("/login", () => ({ body: "in" }), "POST", { rateLimit: "login" });
        register("/open", () => ({ body: "open" }));
        registerWebStream("/alerts", { rateLimit: "slow" });
        registerGraphQLQuery("price", "type Query { price: Int }", () => 7, { rateLimit: "login" });
        registerGraphQLQuery("free", "type Query { free: Int }", () => 1);
        """;

    private static Task<EngineHost> StartAsync(string script = Script) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = script }, Policies, services: TestCallers.Add);

    private static HttpRequestMessage Query(string address, string query)
    {
        var request = TestCallers.From(HttpMethod.Post, "/graphql", address);
        request.Content = new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json");
        return request;
    }

    [Fact]
    public async Task RouteNamingAPolicy_IsLimitedByIt_OtherRoutesAndClientsAreNot()
    {
        await using var host = await StartAsync();

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("in", await HttpAssert.TextAsync(await host.Client.SendAsync(TestCallers.From(HttpMethod.Post, "/login", Attacker))));
        }

        var error = await RateLimitTests.AssertRateLimitedAsync(await host.Client.SendAsync(TestCallers.From(HttpMethod.Post, "/login", Attacker)),
            "AiWebEngine:RateLimits:Policies:login", 60);
        Assert.Contains("'login'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("open", await HttpAssert.TextAsync(await host.Client.SendAsync(TestCallers.From(HttpMethod.Get, "/open", Attacker))));
        Assert.Equal("in", await HttpAssert.TextAsync(await host.Client.SendAsync(TestCallers.From(HttpMethod.Post, "/login", Bystander))));
    }

    [Fact]
    public async Task StreamNamingASlidingPolicy_RefusesTheSecondConnect_AndKeepsTheFirstOpen()
    {
        await using var host = await StartAsync();

        await using var open = await SseReader.OpenAsync(host.Client, TestCallers.From(HttpMethod.Get, "/alerts", Attacker));
        await open.ReadUntilAsync(f => f.Count > 0);
        // A sliding window's permit comes back with its segment: 30 s / 3.
        await RateLimitTests.AssertRateLimitedAsync(
            await host.Client.SendAsync(TestCallers.From(HttpMethod.Get, "/alerts", Attacker), HttpCompletionOption.ResponseHeadersRead),
            "AiWebEngine:RateLimits:Policies:slow", 30);
        Assert.False(open.Ended);
        await using var other = await SseReader.OpenAsync(host.Client, TestCallers.From(HttpMethod.Get, "/alerts", Bystander));
        Assert.Equal(HttpStatusCode.OK, other.Response.StatusCode);
    }

    [Fact]
    public async Task GraphQLFieldNamingAPolicy_AnswersRateLimitedWithoutRunningItsResolver()
    {
        await using var host = await StartAsync();

        for (var i = 0; i < 2; i++)
        {
            var root = await HttpAssert.JsonAsync(await host.Client.SendAsync(Query(Attacker, "{ price }")));
            Assert.Equal(7, root.GetProperty("data").GetProperty("price").GetInt32());
        }

        var limited = await HttpAssert.JsonAsync(await host.Client.SendAsync(Query(Attacker, "{ price free }")));
        var error = limited.GetProperty("errors")[0];
        Assert.Equal("RATE_LIMITED", error.GetProperty("extensions").GetProperty("code").GetString());
        Assert.Contains("AiWebEngine:RateLimits:Policies:login", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, limited.GetProperty("data").GetProperty("price").ValueKind);
        Assert.Equal(1, limited.GetProperty("data").GetProperty("free").GetInt32());

        var bystander = await HttpAssert.JsonAsync(await host.Client.SendAsync(Query(Bystander, "{ price }")));
        Assert.Equal(7, bystander.GetProperty("data").GetProperty("price").GetInt32());
    }

    [Theory]
    [InlineData("register(\"/x\", () => ({ body: \"x\" }), \"GET\", { rateLimit: \"nope\" });", "register")]
    [InlineData("registerWebStream(\"/s\", { rateLimit: \"nope\" });", "registerWebStream")]
    [InlineData("registerGraphQLQuery(\"q\", \"type Query { q: Int }\", () => 1, { rateLimit: \"nope\" });", "registerGraphQLQuery")]
    public async Task UnknownPolicyName_IsARegistrationError_NamingTheConfiguredOnes(string script, string api)
    {
        await using var host = await StartAsync("");

        var change = await host.WriteScriptAsync("bad.js", script);
        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Contains(api + ":", change.Error, StringComparison.Ordinal);
        Assert.Contains("rateLimit 'nope' is not a configured policy; the configured ones are login, slow (AiWebEngine:RateLimits:Policies)", change.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/x")).StatusCode);
    }

    [Theory]
    [InlineData("register(\"/x\", () => ({ body: \"x\" }), \"GET\", { rateLimit: 5 });", "register: rateLimit must be the name of a configured rate-limit policy")]
    [InlineData("registerWebStream(\"/s\", \"login\");", "options must be an object")]
    public async Task MalformedOption_IsARegistrationError(string script, string message)
    {
        await using var host = await StartAsync("");

        var change = await host.WriteScriptAsync("bad.js", script);
        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Contains(message, change.Error, StringComparison.Ordinal);
    }
}
