using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// CORS and CSRF (issue 18, point 7), each branch as a browser (or an attacker's page) would send it:
/// listed and unlisted origins, preflights, credentials, same origin, a sibling port, no Origin with
/// <c>Sec-Fetch-Site</c>, cookies or none, the WebSocket upgrade, and <c>/engine</c> left to its own rules.
/// </summary>
public sealed class CorsAndCsrfTests
{
    private const string Listed = "https://app.example";
    private const string Script = """
        let count = 0;
        register("/count", () => { count++; return { body: String(count) }; }, "POST");
        register("/count", () => ({ body: String(count) }));
        register("/count", () => { count++; return { body: String(count) }; }, "DELETE");
        registerWebStream("/feed");
        registerGraphQLMutation("bump", "type Mutation { bump: Int }", () => ++count);
        """;

    private static Task<EngineHost> StartAsync(bool withOrigins = true) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script },
            withOrigins ? new Dictionary<string, string?> { ["AiWebEngine:Cors:AllowedOrigins:0"] = Listed, ["AiWebEngine:Cors:AllowedOrigins:1"] = "http://localhost:5173" } : null);

    private static HttpRequestMessage Request(HttpMethod method, string path, string? origin = null, bool cookie = false, string? fetchSite = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (cookie)
        {
            request.Headers.Add("Cookie", "aiwebengine.session=abc");
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        return request;
    }

    private static async Task<int> CountAsync(EngineHost host) => int.Parse(await HttpAssert.TextAsync(await host.Client.GetAsync("/count")));

    [Fact]
    public async Task AListedOrigin_GetsCorsHeadersWithCredentials_AnUnlistedOneGetsNone()
    {
        await using var host = await StartAsync();

        using var listed = await host.Client.SendAsync(Request(HttpMethod.Get, "/count", Listed));
        Assert.Equal(Listed, listed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", listed.Headers.GetValues("Access-Control-Allow-Credentials").Single());

        using var unlisted = await host.Client.SendAsync(Request(HttpMethod.Get, "/count", "https://evil.example"));
        Assert.False(unlisted.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.OK, unlisted.StatusCode); // a GET is answered; the browser keeps the body from the page

        using var stream = await host.Client.SendAsync(Request(HttpMethod.Get, "/feed", Listed), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(Listed, stream.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var graphql = await host.Client.SendAsync(Request(HttpMethod.Post, "/graphql", Listed, content: new StringContent("""{"query":"{ _engine }"}""", System.Text.Encoding.UTF8, "application/json")));
        Assert.Equal(Listed, graphql.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Preflight_ForAListedOrigin_IsAnswered_ForAnUnlistedOne_HasNoCorsHeaders_AndNoScriptRuns()
    {
        await using var host = await StartAsync();
        HttpRequestMessage Preflight(string origin)
        {
            var request = Request(HttpMethod.Options, "/count", origin);
            request.Headers.Add("Access-Control-Request-Method", "DELETE");
            request.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
            return request;
        }

        using var listed = await host.Client.SendAsync(Preflight(Listed));
        Assert.Equal(HttpStatusCode.NoContent, listed.StatusCode);
        Assert.Equal(Listed, listed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("DELETE", listed.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("authorization", listed.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);

        using var unlisted = await host.Client.SendAsync(Preflight("http://localhost:5174"));
        Assert.False(unlisted.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(0, await CountAsync(host));
    }

    [Fact]
    public async Task WithNoListedOrigin_NoCorsHeaderIsEverSent()
    {
        await using var host = await StartAsync(withOrigins: false);
        using var response = await host.Client.SendAsync(Request(HttpMethod.Get, "/count", Listed));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("https://evil.example", null)]
    [InlineData("http://localhost:5174", null)]         // a sibling port of a listed one: same site, another origin
    [InlineData("http://localhost:8080", null)]          // the engine's own host, another port
    [InlineData("null", null)]                           // a sandboxed frame or a file: page
    [InlineData(null, "cross-site")]
    [InlineData(null, "same-site")]
    public async Task AStateChangingRequestWithCookies_FromAnotherOrigin_IsRefused_AndNoScriptRuns(string? origin, string? fetchSite)
    {
        await using var host = await StartAsync();

        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Delete })
        {
            using var refused = await host.Client.SendAsync(Request(method, "/count", origin, cookie: true, fetchSite: fetchSite, content: new StringContent("x")));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("CROSS_SITE_REQUEST", body.GetProperty("error").GetProperty("code").GetString());
        }

        using var mutation = await host.Client.SendAsync(Request(HttpMethod.Post, "/graphql", origin, cookie: true, fetchSite: fetchSite,
            content: new StringContent("""{"query":"mutation { bump }"}""", System.Text.Encoding.UTF8, "application/json")));
        Assert.Equal(HttpStatusCode.Forbidden, mutation.StatusCode);
        using var sse = await host.Client.SendAsync(Request(HttpMethod.Post, "/graphql/sse", origin, cookie: true, fetchSite: fetchSite,
            content: new StringContent("""{"query":"mutation { bump }"}""", System.Text.Encoding.UTF8, "application/json")));
        Assert.Equal(HttpStatusCode.Forbidden, sse.StatusCode);

        Assert.Equal(0, await CountAsync(host));
    }

    [Theory]
    [InlineData(Listed, null, true)]          // listed origin, with cookies
    [InlineData("http://localhost", null, true)] // TestServer's own origin
    [InlineData(null, "same-origin", true)]
    [InlineData(null, "none", true)]
    [InlineData(null, null, true)]            // curl, another server
    [InlineData("https://evil.example", null, false)] // no cookies: nothing ambient speaks for it
    public async Task OtherStateChangingRequests_AreServed(string? origin, string? fetchSite, bool cookie)
    {
        await using var host = await StartAsync();
        using var served = await host.Client.SendAsync(Request(HttpMethod.Post, "/count", origin, cookie, fetchSite, new StringContent("x")));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(1, await CountAsync(host));
    }

    [Fact]
    public async Task AGetWithCookies_FromAnotherOrigin_IsServed_ButItsBodyIsNotSharedWithThePage()
    {
        await using var host = await StartAsync();
        using var response = await host.Client.SendAsync(Request(HttpMethod.Get, "/count", "https://evil.example", cookie: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task AWebSocketUpgradeWithCookies_FromAnotherOrigin_IsRefusedBeforeTheUpgrade_AListedOriginIsAccepted()
    {
        await using var host = await StartAsync();
        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        client.ConfigureRequest = request =>
        {
            request.Headers.Origin = "http://localhost:9999";
            request.Headers.Cookie = "aiwebengine.session=abc";
        };
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);

        var listed = host.CreateWebSocketClient();
        listed.SubProtocols.Add("graphql-transport-ws");
        listed.ConfigureRequest = request =>
        {
            request.Headers.Origin = Listed;
            request.Headers.Cookie = "aiwebengine.session=abc";
        };
        using var socket = await listed.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task TheManagementApi_GetsNoCorsHeaders_AndKeepsItsOwnRule()
    {
        await using var host = await StartAsync();
        using var response = await host.Client.SendAsync(Request(HttpMethod.Get, "/engine/scripts", Listed));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("*", "'*' is not allowed")]
    [InlineData("https://app.example/path", "is not an origin")]
    [InlineData("app.example", "is not an origin")]
    public async Task Start_Fails_OnAWildcardOrAMalformedOrigin(string origin, string expected)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            EngineHost.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:Cors:AllowedOrigins:0"] = origin }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("AiWebEngine:Cors:AllowedOrigins", error.Message, StringComparison.Ordinal);
    }
}
