using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// OpenID Connect sign-in with a cookie session (issue 18, point 1), through TestServer against
/// <see cref="FakeOidcProvider"/>: <c>/auth/signin</c> challenges the provider, <c>/auth/callback</c>
/// signs the user in with the <c>aiwebengine.session</c> cookie, and that cookie is the user on routes,
/// streams and <c>/auth/me</c>; the scheme selection prefers a bearer header; refusals stay 401/403 JSON;
/// no open redirect, no cross-site sign-out; a session ends at the id token's expiry or its lifetime,
/// whichever comes first.
/// </summary>
public sealed class OidcSessionTests
{
    private const string Script = """
        registerWebStream("/inbox", { auth: "user" });
        register("/whoami", (req) => ({ body: { user: req.user, headers: req.headers } }), "GET", { auth: "user" });
        register("/admin", () => ({ body: "admin" }), "GET", { auth: { roles: ["admin"] } });
        register("/send", (req) => ({ body: String(sendToUser("/inbox", req.query.user, req.body)) }), "POST");
        registerGraphQLQuery("me", "type Query { me: String }", (args, context) => context.user.id, { auth: "user" });
        registerGraphQLSubscription("mail", "type Subscription { mail: String }", { auth: "user" });
        register("/mail", (req) => ({ body: String(sendSubscriptionToUser("mail", req.query.user, req.body)) }), "POST");
        """;

    // Each test plays browsers itself: a client that keeps no cookies (the host's own client has a cookie jar).
    private static HttpClient Browserless(EngineHost host) => ((TestServer)host.Services.GetRequiredService<IServer>()).CreateClient();

    private static async Task<(EngineHost Host, FakeOidcProvider Provider)> StartAsync(
        IReadOnlyDictionary<string, string?>? more = null, TimeProvider? time = null, bool endSession = false)
    {
        var provider = new FakeOidcProvider(endSession);
        var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script },
            TestTokens.Settings(FakeOidcProvider.Settings(more)), time: time, services: provider.Configure);
        return (host, provider);
    }

    /// <summary>The browser's side of a sign-in; returns the session cookie's Set-Cookie header.</summary>
    private static async Task<string> SignInAsync(EngineHost host, FakeOidcProvider provider, string sub, string returnUrl = "/whoami",
        string? name = null, string[]? roles = null, TimeSpan? lifetime = null)
    {
        using var challenge = await Browserless(host).GetAsync($"/auth/signin?returnUrl={Uri.EscapeDataString(returnUrl)}");
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var cookies = Cookies(challenge);

        var callback = new Uri(provider.Approve(challenge.Headers.Location!, sub, name, roles, lifetime));
        Assert.Equal(new Uri(host.BaseAddress, "/auth/callback").AbsoluteUri, callback.GetLeftPart(UriPartial.Path));
        using var request = new HttpRequestMessage(HttpMethod.Get, callback.PathAndQuery);
        request.Headers.Add("Cookie", cookies);
        using var signedIn = await Browserless(host).SendAsync(request);

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal(returnUrl, signedIn.Headers.Location!.OriginalString);
        return Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("aiwebengine.session=", StringComparison.Ordinal));
    }

    // The name=value pairs of a response's Set-Cookie headers, as a Cookie header.
    private static string Cookies(HttpResponseMessage response) =>
        string.Join("; ", response.Headers.TryGetValues("Set-Cookie", out var values) ? values.Select(v => v.Split(';')[0]) : []);

    private static HttpRequestMessage WithCookie(HttpMethod method, string path, string setCookie, string? bearer = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", setCookie.Split(';')[0]);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return request;
    }

    [Fact]
    public async Task SignIn_ThroughTheProvider_GivesAnHttpOnlyLaxSessionCookie_ThatIsTheUserOnRoutes()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;

        var session = await SignInAsync(host, provider, "alice", name: "Alice Doe", roles: ["admin", "reader"]);

        var attributes = session.ToLowerInvariant();
        Assert.Contains("httponly", attributes, StringComparison.Ordinal);
        Assert.Contains("samesite=lax", attributes, StringComparison.Ordinal);
        Assert.Contains("path=/", attributes, StringComparison.Ordinal);
        Assert.DoesNotContain("secure", attributes, StringComparison.Ordinal); // plain http: Secure only over https
        Assert.DoesNotContain("expires=", attributes, StringComparison.Ordinal); // a browser-session cookie
        Assert.Equal(1, provider.Exchanges);

        var body = await HttpAssert.JsonAsync(await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/whoami", session)));
        var user = body.GetProperty("user");
        Assert.Equal("alice", user.GetProperty("id").GetString());
        Assert.Equal("Alice Doe", user.GetProperty("name").GetString());
        Assert.Equal(["admin", "reader"], user.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.False(body.GetProperty("headers").TryGetProperty("cookie", out var cookie), "the script must not see the session cookie");
        Assert.Equal(HttpStatusCode.OK, (await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/admin", session))).StatusCode);

        var me = await HttpAssert.JsonAsync(await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/auth/me", session)));
        Assert.Equal("alice", me.GetProperty("user").GetProperty("id").GetString());
        using var anonymous = await Browserless(host).GetAsync("/auth/me");
        await HttpAssert.ErrorAsync(anonymous, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSessionCookie_OpensAGuardedStream_ThatGetsOnlyItsUsersMessages()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;
        var alice = await SignInAsync(host, provider, "alice");
        var bob = await SignInAsync(host, provider, "bob");

        await using var aliceStream = await SseReader.OpenAsync(Browserless(host), WithCookie(HttpMethod.Get, "/inbox", alice));
        await using var bobStream = await SseReader.OpenAsync(Browserless(host), WithCookie(HttpMethod.Get, "/inbox", bob));
        Assert.Equal(HttpStatusCode.OK, aliceStream.Response.StatusCode);
        Assert.Equal("1", await HttpAssert.TextAsync(await Browserless(host).PostAsync("/send?user=alice", new StringContent("for alice"))));
        Assert.Equal("1", await HttpAssert.TextAsync(await Browserless(host).PostAsync("/send?user=bob", new StringContent("for bob"))));

        Assert.Equal(["for alice"], (await aliceStream.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
        Assert.Equal(["for bob"], (await bobStream.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
    }

    [Fact]
    public async Task ABearerHeader_WinsOverTheSessionCookie()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;
        var alice = await SignInAsync(host, provider, "alice");

        var body = await HttpAssert.JsonAsync(await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/whoami", alice, TestTokens.Mint("bob"))));
        Assert.Equal("bob", body.GetProperty("user").GetProperty("id").GetString());

        // A bad header is refused; the cookie does not stand in for it.
        using var refused = await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/whoami", alice, TestTokens.Mint("bob", key: TestTokens.OtherKey)));
        await HttpAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    private static HttpRequestMessage Graph(string path, string query, string? setCookie, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd(accept);
        if (setCookie is not null)
        {
            request.Headers.Add("Cookie", setCookie.Split(';')[0]);
        }

        return request;
    }

    private static async Task<int> MailAsync(EngineHost host, string user, string text) =>
        int.Parse(await HttpAssert.TextAsync(await Browserless(host).PostAsync($"/mail?user={user}", new StringContent(text))));

    // Sends until the bus counts the subscribers: a subscription is in place a moment after its response starts.
    private static async Task MailUntilDeliveredAsync(EngineHost host, string user, string text, int subscribers)
    {
        for (var i = 0; i < 500 && await MailAsync(host, user, "warm-up") < subscribers; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(subscribers, await MailAsync(host, user, text));
    }

    private static async Task<WebSocket> ConnectAsync(EngineHost host, string? setCookie)
    {
        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        if (setCookie is not null)
        {
            client.ConfigureRequest = r => r.Headers.Cookie = setCookie.Split(';')[0];
        }

        var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"subscription { mail }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        return socket;
    }

    [Fact]
    public async Task TheSessionCookie_IsTheUser_OnEveryGraphQLTransport_AndAForgedOneIsNobody()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;
        var alice = await SignInAsync(host, provider, "alice");
        var bob = await SignInAsync(host, provider, "bob");
        const string Forged = "aiwebengine.session=CfDJ8forged";

        // HTTP: the cookie is context.user; a forged one is anonymous, so the guarded field is UNAUTHENTICATED.
        var me = await HttpAssert.JsonAsync(await Browserless(host).SendAsync(Graph("/graphql", "{ me }", alice, "application/graphql-response+json")));
        Assert.Equal("alice", me.GetProperty("data").GetProperty("me").GetString());
        var forgedMe = JsonDocument.Parse(await (await Browserless(host).SendAsync(Graph("/graphql", "{ me }", Forged, "application/graphql-response+json"))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("UNAUTHENTICATED", forgedMe.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());

        // graphql-sse, the EventSource subscription path and the WebSocket, each opened with a cookie.
        await using var aliceSse = await SseReader.OpenAsync(Browserless(host), Graph("/graphql/sse", "subscription { mail }", alice, "text/event-stream"));
        await using var bobSse = await SseReader.OpenAsync(Browserless(host), Graph("/graphql/sse", "subscription { mail }", bob, "text/event-stream"));
        await using var alicePath = await SseReader.OpenAsync(Browserless(host), WithCookie(HttpMethod.Get, "/graphql/subscription/mail", alice));
        Assert.Equal(HttpStatusCode.OK, alicePath.Response.StatusCode);
        using var aliceSocket = await ConnectAsync(host, alice);

        await MailUntilDeliveredAsync(host, "alice", "for alice", 3);
        Assert.Equal(1, await MailAsync(host, "bob", "for bob"));

        await aliceSse.ReadUntilAsync(f => f.Any(m => m.Data?.Contains("for alice", StringComparison.Ordinal) == true));
        Assert.DoesNotContain(aliceSse.Messages, m => m.Data?.Contains("for bob", StringComparison.Ordinal) == true);
        await bobSse.ReadUntilAsync(f => f.Any(m => m.Data?.Contains("for bob", StringComparison.Ordinal) == true));
        Assert.DoesNotContain(bobSse.Messages, m => m.Data?.Contains("for alice", StringComparison.Ordinal) == true);
        await alicePath.ReadUntilAsync(f => f.Any(m => m.Data == "for alice"));
        string? frame;
        do
        {
            frame = await WebSocketPair.ReceiveAsync(aliceSocket);
            Assert.NotNull(frame);
            Assert.DoesNotContain("for bob", frame, StringComparison.Ordinal);
        }
        while (!frame.Contains("for alice", StringComparison.Ordinal));

        // A forged cookie opens nothing on any of them.
        await using var forgedSse = await SseReader.OpenAsync(Browserless(host), Graph("/graphql/sse", "subscription { mail }", Forged, "text/event-stream"));
        Assert.True(await forgedSse.WaitForEndAsync());
        Assert.Contains("\"code\":\"UNAUTHENTICATED\"", forgedSse.Raw, StringComparison.Ordinal);
        await HttpAssert.ErrorAsync(await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/graphql/subscription/mail", Forged)), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        using var forgedSocket = await ConnectAsync(host, Forged);
        var refused = await WebSocketPair.ReceiveAsync(forgedSocket);
        Assert.Contains("\"type\":\"error\"", refused, StringComparison.Ordinal);
        Assert.Contains("UNAUTHENTICATED", refused, StringComparison.Ordinal);
        Assert.Equal(1, await MailAsync(host, "bob", "only bob's"));
    }

    [Theory]
    [InlineData("aiwebengine.session=forged")]
    [InlineData("aiwebengine.session=")]
    public async Task AForgedSessionCookie_Is401Json_NeverARedirect(string cookie)
    {
        var (host, _) = await StartAsync();
        await using var __ = host;

        foreach (var path in new[] { "/whoami", "/inbox" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Cookie", cookie);
            using var response = await Browserless(host).SendAsync(request);
            await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            Assert.Null(response.Headers.Location);
        }
    }

    [Fact]
    public async Task ASignedInUserWithoutTheRole_Is403Json_NeverARedirect()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;
        var session = await SignInAsync(host, provider, "alice", roles: ["reader"]);

        using var response = await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/admin", session));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "FORBIDDEN");
        Assert.Null(response.Headers.Location);
    }

    [Theory]
    [InlineData("https://evil.test/")]
    [InlineData("//evil.test/")]
    [InlineData("/\\evil.test/")]
    [InlineData("javascript:alert(1)")]
    [InlineData("evil")]
    [InlineData("/ok\r\nLocation: https://evil.test")]
    public async Task SignIn_RefusesAReturnUrlThatIsNotALocalPath(string returnUrl)
    {
        var (host, _) = await StartAsync();
        await using var __ = host;

        using var response = await Browserless(host).GetAsync($"/auth/signin?returnUrl={Uri.EscapeDataString(returnUrl)}");

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "INVALID_RETURN_URL");
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task TheCallback_RefusesAnAnswerWithoutItsSignInsCookies_Or_ForAnotherAudience()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;

        // A code and state replayed in another browser (no correlation cookie): refused, nothing exchanged.
        using var challenge = await Browserless(host).GetAsync("/auth/signin?returnUrl=/whoami");
        var callback = new Uri(provider.Approve(challenge.Headers.Location!, "mallory"));
        using var replayed = await Browserless(host).GetAsync(callback.PathAndQuery);
        await HttpAssert.ErrorAsync(replayed, HttpStatusCode.BadRequest, "SIGN_IN_FAILED");
        Assert.False(replayed.Headers.Contains("Set-Cookie") && replayed.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("aiwebengine.session=", StringComparison.Ordinal)));

        // An id token minted for another client.
        using var second = await Browserless(host).GetAsync("/auth/signin?returnUrl=/whoami");
        var wrong = new Uri(provider.Approve(second.Headers.Location!, "mallory", audience: "another-client"));
        using var request = new HttpRequestMessage(HttpMethod.Get, wrong.PathAndQuery);
        request.Headers.Add("Cookie", Cookies(second));
        using var refused = await Browserless(host).SendAsync(request);
        await HttpAssert.ErrorAsync(refused, HttpStatusCode.BadRequest, "SIGN_IN_FAILED");
        Assert.Equal(1, provider.Exchanges);
        Assert.False(refused.Headers.Contains("Set-Cookie") && refused.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("aiwebengine.session=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task SignOut_IsPostOnly_SameOriginOnly_AndEndsTheSessionCookie()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;
        var session = await SignInAsync(host, provider, "alice");

        using var get = await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/auth/signout", session));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);

        var crossSite = WithCookie(HttpMethod.Post, "/auth/signout", session);
        crossSite.Headers.Add("Origin", "https://evil.test");
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        await HttpAssert.ErrorAsync(await Browserless(host).SendAsync(crossSite), HttpStatusCode.Forbidden, "CROSS_SITE_REQUEST");

        var own = WithCookie(HttpMethod.Post, "/auth/signout?returnUrl=/bye", session);
        own.Headers.Add("Origin", host.BaseAddress.GetLeftPart(UriPartial.Authority));
        using var signedOut = await Browserless(host).SendAsync(own);
        Assert.Equal(HttpStatusCode.SeeOther, signedOut.StatusCode);
        Assert.Equal("/bye", signedOut.Headers.Location!.OriginalString);
        var cleared = Assert.Single(signedOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith("aiwebengine.session=", StringComparison.Ordinal));
        Assert.Contains("expires=Thu, 01 Jan 1970", cleared, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WithoutTheSection_SignInIsNotFound_AndASessionCookieIsNobody()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, TestTokens.Settings());

        await HttpAssert.ErrorAsync(await Browserless(host).GetAsync("/auth/signin"), HttpStatusCode.NotFound, "SIGN_IN_NOT_CONFIGURED");
        await HttpAssert.ErrorAsync(await Browserless(host).PostAsync("/auth/signout", null), HttpStatusCode.NotFound, "SIGN_IN_NOT_CONFIGURED");
        await HttpAssert.ErrorAsync(await Browserless(host).GetAsync("/auth/callback?code=x&state=y"), HttpStatusCode.NotFound, "NOT_FOUND");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add("Cookie", "aiwebengine.session=anything");
        await HttpAssert.ErrorAsync(await Browserless(host).SendAsync(request), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    // In keep-alive-sized steps, as real time passes: one jump of minutes would look like a stalled client.
    private static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan by)
    {
        for (var done = TimeSpan.Zero; done < by; done += TimeSpan.FromSeconds(10))
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(5);
        }
    }

    // A message sent now still arrives (reading with a timeout would break a TestServer response).
    private static async Task StillOpenAsync(EngineHost host, SseReader reader)
    {
        Assert.Equal("1", await HttpAssert.TextAsync(await Browserless(host).PostAsync("/send?user=alice", new StringContent("still here"))));
        await reader.ReadUntilAsync(f => f.Any(m => m.Data == "still here"));
    }

    [Fact]
    public async Task AStreamOpenedWithTheSession_EndsWhenTheIdTokenExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (host, provider) = await StartAsync(time: time);
        await using var _ = host;
        var session = await SignInAsync(host, provider, "alice", lifetime: TimeSpan.FromMinutes(10));
        await using var reader = await SseReader.OpenAsync(Browserless(host), WithCookie(HttpMethod.Get, "/inbox", session));
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);

        await AdvanceAsync(time, TimeSpan.FromMinutes(9));
        await StillOpenAsync(host, reader);
        await AdvanceAsync(time, TimeSpan.FromMinutes(2));

        Assert.True(await reader.WaitForEndAsync());
        Assert.Equal("credential-expired", reader.Messages[^1].Event);
        // The same cookie no longer opens anything.
        await HttpAssert.ErrorAsync(await Browserless(host).SendAsync(WithCookie(HttpMethod.Get, "/whoami", session)), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task ASession_EndsAtTheConfiguredLifetime_WhenTheIdTokenLastsLonger()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (host, provider) = await StartAsync(new Dictionary<string, string?> { ["AiWebEngine:Authentication:SessionLifetime"] = "00:05:00" }, time);
        await using var _ = host;
        var session = await SignInAsync(host, provider, "alice", lifetime: TimeSpan.FromHours(1));
        await using var reader = await SseReader.OpenAsync(Browserless(host), WithCookie(HttpMethod.Get, "/inbox", session));

        await AdvanceAsync(time, TimeSpan.FromMinutes(4));
        await StillOpenAsync(host, reader);
        await AdvanceAsync(time, TimeSpan.FromMinutes(2));

        Assert.True(await reader.WaitForEndAsync());
        Assert.Equal("credential-expired", reader.Messages[^1].Event);
    }
}
