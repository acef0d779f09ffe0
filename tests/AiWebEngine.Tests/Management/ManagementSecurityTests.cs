using System.Net;
using System.Net.Http.Headers;
using AiWebEngine.Management;
using AiWebEngine.Security;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Management;

/// <summary>Who may use <c>/engine/*</c> (SPEC §7): token, loopback, and the limit on failed attempts.</summary>
public sealed class ManagementSecurityTests
{
    private const string Token = "0123456789abcdef-test-token";

    private static Dictionary<string, string?> WithToken(int maxFailed = 10) => new()
    {
        ["AiWebEngine:Admin:Token"] = Token,
        ["AiWebEngine:Admin:MaxFailedAttempts"] = maxFailed.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Makes every request look as if it came from <paramref name="address"/> (TestServer sets none).</summary>
    private static Action<IServiceCollection> From(string address) =>
        services => services.AddSingleton<IStartupFilter>(new RemoteAddressFilter(IPAddress.Parse(address)));

    private static HttpRequestMessage Get(string path, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    [Fact]
    public async Task WithoutToken_LoopbackClient_IsServed()
    {
        await using var host = await EngineHost.StartAsync(services: From("127.0.0.1"));

        await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/scripts"));
    }

    [Fact]
    public async Task WithoutToken_InProcessRequestWithNoRemoteAddress_CountsAsLoopback()
    {
        await using var host = await EngineHost.StartAsync();

        await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/scripts"));
    }

    [Theory]
    [InlineData("/engine/scripts")]
    [InlineData("/engine/scripts/a.js")]
    [InlineData("/engine/logs")]
    [InlineData("/engine/logs/stream")]
    [InlineData("/engine/streams")]
    [InlineData("/engine/schedules")]
    [InlineData("/engine/storage?script=a.js")]
    [InlineData("/engine/types/aiwebengine.d.ts")]
    [InlineData("/engine/script-updates")]
    public async Task WithoutToken_RemoteClient_Gets403Json(string path)
    {
        await using var host = await EngineHost.StartAsync(services: From("203.0.113.7"));

        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync(path), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.Contains("AiWebEngine:Admin:Token", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task WithoutToken_RemoteClient_CannotUpload()
    {
        await using var host = await EngineHost.StartAsync(services: From("203.0.113.7"));

        await HttpAssert.ErrorAsync(await host.Client.PutAsync("/engine/scripts/x.js", new StringContent("writeLog('x')")), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "x.js")));
    }

    [Fact]
    public async Task WithToken_MissingHeader_Gets401Json_EvenFromLoopback()
    {
        await using var host = await EngineHost.StartAsync(settings: WithToken(), services: From("127.0.0.1"));

        var response = await host.Client.GetAsync("/engine/scripts");

        await HttpAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task WithToken_WrongToken_Gets401Json()
    {
        await using var host = await EngineHost.StartAsync(settings: WithToken());

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", Token + "x")), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", "short")), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task WithToken_RightToken_IsServed_FromAnyAddress()
    {
        await using var host = await EngineHost.StartAsync(settings: WithToken(), services: From("203.0.113.7"));

        await HttpAssert.JsonAsync(await host.Client.SendAsync(Get("/engine/scripts", Token)));
    }

    [Fact]
    public async Task RepeatedFailures_Get429Json_ButTheRightTokenIsStillServed()
    {
        // Behind a proxy every client shares one address: a stranger's wrong tokens must not lock the operator out.
        await using var host = await EngineHost.StartAsync(settings: WithToken(), services: From("203.0.113.7"));

        for (var i = 0; i < 10; i++)
        {
            await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", "wrong-token-" + i)), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        var refused = await host.Client.SendAsync(Get("/engine/scripts", "wrong-token-10"));
        var throttled = await HttpAssert.ErrorAsync(refused, (HttpStatusCode)429, "TOO_MANY_REQUESTS");
        await HttpAssert.JsonAsync(await host.Client.SendAsync(Get("/engine/scripts", Token)));
        await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/metrics", Token)));
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", "wrong-token-11")), (HttpStatusCode)429, "TOO_MANY_REQUESTS");
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts")), (HttpStatusCode)429, "TOO_MANY_REQUESTS");
        var seconds = throttled.GetProperty("details").GetProperty("retryAfterSeconds").GetInt32();
        Assert.True(seconds > 0);
        Assert.Equal(TimeSpan.FromSeconds(seconds), refused.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task RepeatedForbiddenRequests_AreRateLimitedToo()
    {
        await using var host = await EngineHost.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:Admin:MaxFailedAttempts"] = "2" }, services: From("203.0.113.7"));

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/scripts"), HttpStatusCode.Forbidden, "FORBIDDEN");
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/scripts"), HttpStatusCode.Forbidden, "FORBIDDEN");
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/scripts"), (HttpStatusCode)429, "TOO_MANY_REQUESTS");
    }

    [Fact]
    public async Task ScriptRoutes_AreNotGuarded()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["a.js"] = """register("/hi", () => ({ body: "hi" }));""" },
            WithToken(), services: From("203.0.113.7"));

        Assert.Equal("hi", await HttpAssert.TextAsync(await host.Client.GetAsync("/hi")));
    }

    [Theory]
    [InlineData("/engine/scripts")]
    [InlineData("/engine/logs/stream")]
    [InlineData("/engine/script-updates")]
    [InlineData("/engine/streams")]
    [InlineData("/engine/schedules")]
    [InlineData("/engine/storage?script=a.js")]
    [InlineData("/engine/types/aiwebengine.d.ts")]
    [InlineData("/metrics")]
    public async Task WithoutToken_LoopbackClient_AddressedByAForeignName_Gets403(string path)
    {
        // A DNS-rebinding page: its own name resolves to 127.0.0.1, so the connection is loopback.
        await using var host = await EngineHost.StartAsync(services: From("127.0.0.1"));
        using var request = Get(path);
        request.Headers.Host = "attacker.example";

        var error = await HttpAssert.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.Contains("loopback name", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task WithoutToken_UploadAddressedByAForeignName_ChangesNothing()
    {
        await using var host = await EngineHost.StartAsync(services: From("127.0.0.1"));
        using var request = new HttpRequestMessage(HttpMethod.Put, "/engine/scripts/pwn.js") { Content = new StringContent("register('/pwned', () => ({ body: 'pwned' }));") };
        request.Headers.Host = "attacker.example:3000";

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "pwn.js")));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/pwned"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost:3000")]
    [InlineData("LOCALHOST:3000")]
    [InlineData("dev.localhost:3000")]
    [InlineData("127.0.0.1:3000")]
    [InlineData("127.1.2.3")]
    [InlineData("[::1]:3000")]
    public async Task WithoutToken_LoopbackClient_AddressedByALoopbackName_IsServed(string hostHeader)
    {
        await using var host = await EngineHost.StartAsync(services: From("127.0.0.1"));
        using var request = Get("/engine/scripts");
        request.Headers.Host = hostHeader;

        await HttpAssert.JsonAsync(await host.Client.SendAsync(request));
    }

    [Theory]
    [InlineData("http://evil.example", "cross-site")]
    [InlineData("http://evil.example", null)]
    [InlineData(null, "cross-site")]
    [InlineData("http://localhost:8080", "same-site")] // another port of localhost is the same site, not the same origin
    [InlineData("http://localhost:8080", null)]
    [InlineData("null", null)] // a sandboxed iframe or a file:// page
    [InlineData(null, "bogus")]
    public async Task BrowserRequestFromAnotherOrigin_Gets403_WithoutToken(string? origin, string? fetchSite)
    {
        await using var host = await EngineHost.StartAsync(services: From("127.0.0.1"));

        var error = await HttpAssert.ErrorAsync(await host.Client.SendAsync(FromBrowser(HttpMethod.Put, "/engine/scripts/pwn.js", origin, fetchSite)), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.Contains("another origin", error.GetProperty("message").GetString());
        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "pwn.js")));
    }

    [Fact]
    public async Task BrowserRequestFromAnotherOrigin_Gets403_EvenWithTheRightToken()
    {
        await using var host = await EngineHost.StartAsync(settings: WithToken(), services: From("203.0.113.7"));
        using var request = FromBrowser(HttpMethod.Get, "/engine/scripts", "http://evil.example", "cross-site");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "FORBIDDEN");
    }

    [Theory]
    [InlineData("http://localhost", "same-origin")]
    [InlineData(null, "same-origin")]
    [InlineData(null, "none")] // typed into the address bar
    public async Task BrowserRequestFromTheServersOwnOrigin_IsServed(string? origin, string? fetchSite)
    {
        await using var host = await EngineHost.StartAsync(services: From("127.0.0.1"));

        await HttpAssert.JsonAsync(await host.Client.SendAsync(FromBrowser(HttpMethod.Get, "/engine/scripts", origin, fetchSite)));
    }

    [Fact]
    public async Task Health_ForAnOutsideClient_IsAStatusWithCounts_WithoutUrisOrErrors()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["secret/billing.js"] = "let x = 1;\nthrow new Error('password=hunter2');", ["ok.js"] = "1;" },
            services: From("203.0.113.7"));

        var text = await HttpAssert.TextAsync(await host.Client.GetAsync("/health"));

        var health = System.Text.Json.JsonDocument.Parse(text).RootElement;
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal(1, health.GetProperty("scripts").GetProperty("loaded").GetInt32());
        Assert.Equal(1, health.GetProperty("scripts").GetProperty("failedCount").GetInt32());
        Assert.False(health.GetProperty("scripts").TryGetProperty("failed", out _));
        Assert.DoesNotContain("billing", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_ForTheAdmin_ListsTheFailedScripts()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["secret/billing.js"] = "let x = 1;\nthrow new Error('password=hunter2');" },
            WithToken(), services: From("203.0.113.7"));

        var health = await HttpAssert.JsonAsync(await host.Client.SendAsync(Get("/health", Token)));

        var failed = Assert.Single(health.GetProperty("scripts").GetProperty("failed").EnumerateArray());
        Assert.Equal("secret/billing.js", failed.GetProperty("uri").GetString());
        Assert.Contains("hunter2", failed.GetProperty("error").GetString());
        Assert.Equal(2, failed.GetProperty("line").GetInt32());
    }

    [Fact]
    public async Task HandlerError_ForAnOutsideClient_HasAGenericMessageAndNoDetails_ButTheLogHasTheError()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["failing.js"] = "register('/throws', () => {\n  throw new Error('db password=hunter2'); });" },
            services: From("203.0.113.7"));

        var response = await host.Client.GetAsync("/throws");
        var text = await response.Content.ReadAsStringAsync();
        using var again = await host.Client.GetAsync("/throws");
        var error = await HttpAssert.ErrorAsync(again, HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        Assert.False(error.TryGetProperty("details", out _));
        Assert.Equal("The handler of GET /throws failed.", error.GetProperty("message").GetString());
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("failing.js", text, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Lines, l => l.Message.Contains("hunter2", StringComparison.Ordinal) && l.Message.Contains(error.GetProperty("requestId").GetString()!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HandlerError_ForTheAdmin_HasTheScriptsMessageAndLine()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["failing.js"] = "register('/throws', () => {\n  throw new Error('db is down'); });" },
            WithToken(), services: From("203.0.113.7"));

        var error = await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/throws", Token)), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        var details = error.GetProperty("details");
        Assert.Equal("db is down", details.GetProperty("message").GetString());
        Assert.Equal("failing.js", details.GetProperty("script").GetString());
        Assert.Equal(2, details.GetProperty("line").GetInt32());
    }

    [Fact]
    public async Task HandlerError_WithAWrongBearerToken_HasNoDetails_AndCostsNoAttempt()
    {
        // A script route's own users send bearer tokens that are not the engine's: no details, no 429 later.
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["failing.js"] = "register('/throws', () => { throw new Error('db is down'); });" },
            WithToken(maxFailed: 1), services: From("203.0.113.7"));

        for (var i = 0; i < 3; i++)
        {
            var error = await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/throws", "a-users-own-token")), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
            Assert.False(error.TryGetProperty("details", out _));
        }

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", "wrong")), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("localhost:3000", true)]
    [InlineData("a.b.localhost:1", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.255.0.9:80", true)]
    [InlineData("[::1]:3000", true)]
    [InlineData("[::ffff:127.0.0.1]", true)]
    [InlineData("", false)]
    [InlineData(".localhost", false)]
    [InlineData("localhost.attacker.example", false)]
    [InlineData("attacker.example", false)]
    [InlineData("127.0.0.1.nip.io", false)]
    [InlineData("2130706433", false)] // 127.0.0.1 as one number: not a form a browser sends
    [InlineData("0.0.0.0:3000", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("[2001:db8::1]", false)]
    public void IsLoopbackHost_JudgesTheHostHeader(string host, bool expected) =>
        Assert.Equal(expected, BrowserRequests.IsLoopbackHost(new HostString(host)));

    private static HttpRequestMessage FromBrowser(HttpMethod method, string path, string? origin, string? fetchSite)
    {
        var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Put)
        {
            request.Content = new StringContent("register('/pwned', () => ({ body: 'pwned' }));");
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        return request;
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    public void IsLoopback_JudgesTheRemoteAddress(string? address, bool expected) =>
        Assert.Equal(expected, AdminAccess.IsLoopback(address is null ? null : IPAddress.Parse(address)));

    private sealed class RemoteAddressFilter(IPAddress address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
