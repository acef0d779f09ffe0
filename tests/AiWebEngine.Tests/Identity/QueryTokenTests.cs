using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// The <c>access_token</c> query parameter for EventSource (<c>AiWebEngine:Authentication:AllowQueryToken</c>):
/// off by default; when on, accepted only on a GET of a stream, <c>/graphql/subscription/&lt;name&gt;</c> or
/// <c>/graphql/sse</c>, validated like a header's token, and never seen by a script or the engine's logs.
/// </summary>
public sealed class QueryTokenTests
{
    private const string Script = """
        const seen = [];
        registerWebStream("/inbox", { auth: "user" });
        registerWebStream("/hooked", { authorize: (req) => { seen.push(req.query); return { room: "a" }; } });
        registerGraphQLSubscription("mail", "type Subscription { mail: String }", { auth: "user" });
        register("/me", (req) => ({ body: { user: req.user, query: req.query } }), "GET", { auth: "user" });
        register("/open", (req) => ({ body: { user: req.user, query: req.query } }));
        register("/seen", () => ({ body: seen }));
        register("/send", (req) => ({ body: String(sendToUser("/inbox", req.query.user, req.body)) }), "POST");
        register("/mail", (req) => ({ body: String(sendSubscriptionToUser("mail", req.query.user, req.body)) }), "POST");
        """;

    private static Task<EngineHost> StartAsync(bool allow, IReadOnlyDictionary<string, string?>? more = null, Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>(more ?? new Dictionary<string, string?>());
        if (allow)
        {
            settings["AiWebEngine:Authentication:AllowQueryToken"] = "true";
        }

        return EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, TestTokens.Settings(settings), services: services);
    }

    private static HttpRequestMessage EventSource(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        return request;
    }

    [Fact]
    public async Task Off_ByDefault_AQueryTokenOnAGuardedStream_Is401()
    {
        await using var host = await StartAsync(allow: false);

        using var response = await host.Client.SendAsync(EventSource($"/inbox?access_token={TestTokens.Mint("alice")}"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task On_AStreamOpenedWithAQueryToken_IsThatUsers_AndGetsOnlyTheirMessages()
    {
        await using var host = await StartAsync(allow: true);
        await using var alice = await SseReader.OpenAsync(host.Client, EventSource($"/inbox?access_token={TestTokens.Mint("alice")}"));
        await using var bob = await SseReader.OpenAsync(host.Client, EventSource($"/inbox?access_token={TestTokens.Mint("bob")}"));
        Assert.Equal(HttpStatusCode.OK, alice.Response.StatusCode);

        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/send?user=alice", new StringContent("for alice"))));
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/send?user=bob", new StringContent("for bob"))));

        Assert.Equal(["for alice"], (await alice.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
        Assert.Equal(["for bob"], (await bob.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
    }

    [Fact]
    public async Task On_TheNpmEventSourceClient_OverARealSocket_OpensItsUsersStreamWithAQueryToken()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script },
            TestTokens.Settings(new Dictionary<string, string?> { ["AiWebEngine:Authentication:AllowQueryToken"] = "true" }), kestrel: true);
        await using var client = NodeClient.Start("sse-client.mjs", new Uri(host.BaseAddress, $"/inbox?access_token={TestTokens.Mint("alice")}").ToString(), "1");
        await client.WaitForLineAsync(l => l == "open");

        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/send?user=alice", new StringContent("for alice"))));

        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Contains(client.Lines, l => l.Contains("\"data\":\"for alice\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task On_TheEventSourceSubscriptionPath_AcceptsAQueryToken()
    {
        await using var host = await StartAsync(allow: true);
        await using var reader = await SseReader.OpenAsync(host.Client, EventSource($"/graphql/subscription/mail?access_token={TestTokens.Mint("alice")}"));
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);

        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/mail?user=alice", new StringContent("hello"))));

        Assert.Contains("hello", (await reader.ReadMessagesAsync(1)).Single(m => m.Data is not null).Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_TheTokenNeverReachesAScript_NorTheLogs()
    {
        await using var host = await StartAsync(allow: true);
        var token = TestTokens.Mint("alice");
        await using (var reader = await SseReader.OpenAsync(host.Client, EventSource($"/hooked?room=x&access_token={token}")))
        {
            Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        }

        var seen = await HttpAssert.JsonAsync(await host.Client.GetAsync("/seen"));
        var query = Assert.Single(seen.EnumerateArray().ToArray());
        Assert.Equal("x", query.GetProperty("room").GetString());
        Assert.False(query.TryGetProperty("access_token", out _));
        Assert.DoesNotContain(host.Logs.Lines, l => l.Message.Contains(token, StringComparison.Ordinal));
    }

    public static TheoryData<string, string> RefusedTokens => new()
    {
        { TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-5)), "expired" },
        { TestTokens.Mint("alice", key: TestTokens.OtherKey), "refused" },
        { TestTokens.AlgNone("alice"), "refused" },
        { TestTokens.Mint("alice", audience: "another-service"), "audience" },
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task On_ABadQueryToken_Is401_SayingWhy(string token, string reason)
    {
        await using var host = await StartAsync(allow: true);

        using var response = await host.Client.SendAsync(EventSource($"/inbox?access_token={token}"));

        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains(reason, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_ARouteNeverTakesATokenFromTheUrl()
    {
        await using var host = await StartAsync(allow: true);
        var token = TestTokens.Mint("alice");

        using var guarded = await host.Client.GetAsync($"/me?access_token={token}");
        await HttpAssert.ErrorAsync(guarded, HttpStatusCode.Unauthorized, "UNAUTHORIZED");

        var open = await HttpAssert.JsonAsync(await host.Client.GetAsync($"/open?access_token={token}"));
        Assert.Equal(JsonValueKind.Null, open.GetProperty("user").ValueKind);
    }

    [Fact]
    public async Task On_AnAuthorizationHeader_WinsOverAQueryToken()
    {
        await using var host = await StartAsync(allow: true);
        var request = EventSource($"/inbox?access_token={TestTokens.Mint("alice")}");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestTokens.Mint("bob"));
        await using var reader = await SseReader.OpenAsync(host.Client, request);
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);

        Assert.Equal("0", await HttpAssert.TextAsync(await host.Client.PostAsync("/send?user=alice", new StringContent("for alice"))));
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/send?user=bob", new StringContent("for bob"))));
        Assert.Equal(["for bob"], (await reader.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
    }

    [Fact]
    public async Task On_TwoQueryTokens_AreNeitherUsed()
    {
        await using var host = await StartAsync(allow: true);
        var token = TestTokens.Mint("alice");

        using var response = await host.Client.SendAsync(EventSource($"/inbox?access_token={token}&access_token={token}"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task On_TheManagementApiNeverTakesATokenFromTheUrl()
    {
        await using var host = await StartAsync(allow: true, new Dictionary<string, string?> { ["AiWebEngine:Admin:Role"] = "engine-admin" },
            services: s => s.AddSingleton<IStartupFilter>(new RemoteAddress()));
        var admin = TestTokens.Mint("root", roles: ["engine-admin"]);

        using var response = await host.Client.GetAsync($"/engine/scripts?access_token={admin}");

        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"got {response.StatusCode}");
    }

    // The management API serves loopback callers without credentials: this host's callers come from elsewhere.
    private sealed class RemoteAddress : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2.3");
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
