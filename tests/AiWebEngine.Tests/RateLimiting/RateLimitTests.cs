using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Tests.RateLimiting;

/// <summary>
/// Issue 18, point 8: per-client rate limits (<c>AiWebEngine:RateLimits</c>) on script routes, stream
/// connects, GraphQL operations and open connections; refusals are 429 with <c>Retry-After</c> and the
/// JSON error body, and count against one client only.
/// </summary>
public sealed class RateLimitTests
{
    private const string Script = """
        registerWebStream("/feed");
        register("/hello", () => ({ body: "hello" }));
        register("/send", (req) => ({ body: String(sendStreamMessageToPath("/feed", req.query.text || "m")) }), "POST");
        registerGraphQLQuery("answer", "type Query { answer: Int }", () => 42);
        registerGraphQLSubscription("ticks", "type Subscription { ticks: String }");
        """;

    private const string Attacker = "203.0.113.7";
    private const string Bystander = "198.51.100.9";

    private static Task<EngineHost> StartAsync(Dictionary<string, string?> settings, string script = Script) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = script }, settings, services: TestCallers.Add);

    private static HttpRequestMessage Get(string path, string address, string? user = null) =>
        TestCallers.From(HttpMethod.Get, path, address, user);

    private static HttpRequestMessage Query(string address, string query = "{ answer }")
    {
        var request = TestCallers.From(HttpMethod.Post, "/graphql", address);
        request.Content = new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json");
        return request;
    }

    /// <summary>Asserts a rate limit refusal: 429, RATE_LIMITED, Retry-After within the window, the limit's key named.</summary>
    internal static async Task<JsonElement> AssertRateLimitedAsync(HttpResponseMessage response, string key, int maxRetryAfterSeconds)
    {
        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, maxRetryAfterSeconds);
        Assert.Contains(key, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(key, error.GetProperty("details").GetProperty("limit").GetString());
        Assert.Equal((int)retryAfter.Value.TotalSeconds, error.GetProperty("details").GetProperty("retryAfterSeconds").GetInt32());
        return error;
    }

    [Fact]
    public async Task ScriptRoute_OverTheLimit_Gets429WithRetryAfter_WhileAnotherAddressIsServed()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:Requests:PermitLimit"] = "3",
            ["AiWebEngine:RateLimits:Requests:Window"] = "00:01:00",
        });

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("hello", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/hello", Attacker))));
        }

        await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/hello", Attacker)), "AiWebEngine:RateLimits:Requests", 60);
        await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/hello", Attacker)), "AiWebEngine:RateLimits:Requests", 60);

        // Another client has its own budget; engine endpoints and 404s are not script routes.
        Assert.Equal("hello", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/hello", Bystander))));
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/health", Attacker))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.SendAsync(Get("/nothing", Attacker))).StatusCode);
    }

    [Fact]
    public async Task SignedInUser_IsCountedByUserId_AcrossAddresses_AndApartFromItsAddress()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:Requests:PermitLimit"] = "2",
            ["AiWebEngine:RateLimits:Requests:Window"] = "00:01:00",
        });

        // Alice's budget follows her from one address to another...
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", Attacker, "alice"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", Bystander, "alice"))).StatusCode);
        await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/hello", "192.0.2.1", "alice")), "AiWebEngine:RateLimits:Requests", 60);

        // ...and is not Bob's, nor that of an anonymous client at her address.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", Attacker, "bob"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", Attacker))).StatusCode);
    }

    [Fact]
    public async Task IPv6Client_IsCountedByItsSlash64_SoNewAddressesOfOneNetworkBuyNoBudget()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:Requests:PermitLimit"] = "2",
            ["AiWebEngine:RateLimits:Requests:Window"] = "00:01:00",
        });

        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", "2001:db8:1:2::1"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", "2001:db8:1:2:aaaa::2"))).StatusCode);
        await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/hello", "2001:db8:1:2:ffff:ffff:ffff:ffff")), "AiWebEngine:RateLimits:Requests", 60);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", "2001:db8:1:3::1"))).StatusCode);
    }

    [Fact]
    public async Task StreamConnects_OverTheLimit_AreRefused_AndTheOpenStreamKeepsReceiving()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:StreamConnects:PermitLimit"] = "2",
            ["AiWebEngine:RateLimits:StreamConnects:Window"] = "00:01:00",
        });

        await using var open = await SseReader.OpenAsync(host.Client, Get("/feed", Attacker));
        await open.ReadUntilAsync(f => f.Count > 0);
        await using var second = await SseReader.OpenAsync(host.Client, Get("/graphql/subscription/ticks", Attacker));

        // Every kind of stream connect draws on the same budget.
        await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/feed", Attacker), HttpCompletionOption.ResponseHeadersRead), "AiWebEngine:RateLimits:StreamConnects", 60);
        await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/graphql/subscription/ticks", Attacker), HttpCompletionOption.ResponseHeadersRead), "AiWebEngine:RateLimits:StreamConnects", 60);
        var sse = TestCallers.From(HttpMethod.Post, "/graphql/sse", Attacker);
        sse.Content = new StringContent("""{"query":"subscription { ticks }"}""", Encoding.UTF8, "application/json");
        sse.Headers.Add("Accept", "text/event-stream");
        await AssertRateLimitedAsync(await host.Client.SendAsync(sse, HttpCompletionOption.ResponseHeadersRead), "AiWebEngine:RateLimits:StreamConnects", 60);

        // The refused connects disturbed nothing: the open stream still gets every message.
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.SendAsync(TestCallers.From(HttpMethod.Post, "/send?text=after", Bystander))));
        await open.ReadMessagesAsync(1);
        Assert.Equal("after", open.Messages[0].Data);
        Assert.False(open.Ended);

        await using var bystander = await SseReader.OpenAsync(host.Client, Get("/feed", Bystander));
        Assert.Equal(HttpStatusCode.OK, bystander.Response.StatusCode);
    }

    [Fact]
    public async Task ConnectionsPerClient_RefusesOneMoreStream_UntilOneCloses()
    {
        await using var host = await StartAsync(new() { ["AiWebEngine:RateLimits:ConnectionsPerClient"] = "2" });

        var first = await SseReader.OpenAsync(host.Client, Get("/feed", Attacker));
        await using var second = await SseReader.OpenAsync(host.Client, Get("/graphql/subscription/ticks", Attacker));
        await first.ReadUntilAsync(f => f.Count > 0);
        await second.ReadUntilAsync(f => f.Count > 0);

        var refused = await AssertRateLimitedAsync(await host.Client.SendAsync(Get("/feed", Attacker), HttpCompletionOption.ResponseHeadersRead), "AiWebEngine:RateLimits:ConnectionsPerClient", 60);
        Assert.Contains("2 at once", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        await using (var other = await SseReader.OpenAsync(host.Client, Get("/feed", Bystander)))
        {
            Assert.Equal(HttpStatusCode.OK, other.Response.StatusCode);
        }

        // Both open streams still deliver; closing one frees its slot.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(TestCallers.From(HttpMethod.Post, "/send?text=x", Bystander))).StatusCode);
        await first.ReadMessagesAsync(1);
        Assert.Equal("x", first.Messages[0].Data);
        await first.DisposeAsync();
        HttpResponseMessage? again = null;
        for (var i = 0; i < 100; i++)
        {
            again = await host.Client.SendAsync(Get("/feed", Attacker), HttpCompletionOption.ResponseHeadersRead);
            if (again.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.OK, again!.StatusCode);
        again.Dispose();
    }

    [Fact]
    public async Task GraphQLOperations_OverTheLimit_Get429_WhileAnotherClientQueries()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:GraphQLOperations:PermitLimit"] = "2",
            ["AiWebEngine:RateLimits:GraphQLOperations:Window"] = "00:01:00",
        });

        for (var i = 0; i < 2; i++)
        {
            var root = await HttpAssert.JsonAsync(await host.Client.SendAsync(Query(Attacker)));
            Assert.Equal(42, root.GetProperty("data").GetProperty("answer").GetInt32());
        }

        await AssertRateLimitedAsync(await host.Client.SendAsync(Query(Attacker)), "AiWebEngine:RateLimits:GraphQLOperations", 60);
        await HttpAssert.JsonAsync(await host.Client.SendAsync(Query(Bystander)));
    }

    [Fact]
    public async Task Disabled_NothingIsCounted()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:Enabled"] = "false",
            ["AiWebEngine:RateLimits:Requests:PermitLimit"] = "1",
            ["AiWebEngine:RateLimits:Requests:Window"] = "00:01:00",
            ["AiWebEngine:RateLimits:GraphQLOperations:PermitLimit"] = "1",
            ["AiWebEngine:RateLimits:GraphQLOperations:Window"] = "00:01:00",
            ["AiWebEngine:RateLimits:ConnectionsPerClient"] = "1",
        });

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", Attacker))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Query(Attacker))).StatusCode);
        }

        await using var one = await SseReader.OpenAsync(host.Client, Get("/feed", Attacker));
        await using var two = await SseReader.OpenAsync(host.Client, Get("/feed", Attacker));
        Assert.Equal(HttpStatusCode.OK, two.Response.StatusCode);
    }

    [Fact]
    public async Task Defaults_AreOnesARealUserNeverMeets()
    {
        // Enabled said explicitly only because EngineHost turns the limits off for other tests.
        await using var host = await StartAsync(new Dictionary<string, string?> { ["AiWebEngine:RateLimits:Enabled"] = "true" });
        var options = host.Services.GetRequiredService<IOptions<AiWebEngine.RateLimiting.RateLimitOptions>>().Value;
        Assert.True(options.Enabled);
        Assert.Equal(1000, options.Requests.PermitLimit);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Requests.Window);
        Assert.Equal(50, options.ConnectionsPerClient);

        // A burst of a busy page (on loopback, with no exemption) passes.
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Get("/hello", "127.0.0.1"))).StatusCode);
        }
    }

    [Theory]
    [InlineData("AiWebEngine:RateLimits:Requests:PermitLimit", "0", "PermitLimit")]
    [InlineData("AiWebEngine:RateLimits:StreamConnects:Window", "00:00:00", "Window")]
    [InlineData("AiWebEngine:RateLimits:ConnectionsPerClient", "0", "ConnectionsPerClient")]
    [InlineData("AiWebEngine:RateLimits:Policies:bad name:PermitLimit", "5", "Policies:bad name")]
    [InlineData("AiWebEngine:RateLimits:Policies:login:PermitLimit", "5", "Policies:login: Window")]
    public async Task InvalidConfiguration_FailsAtStart_NamingTheKey(string key, string value, string named)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(settings: new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
