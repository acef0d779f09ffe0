using System.Net;
using System.Net.Http.Headers;
using AiWebEngine.Management;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
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
    public async Task RepeatedFailures_Get429Json_ThenEvenTheRightTokenWaits()
    {
        await using var host = await EngineHost.StartAsync(settings: WithToken(maxFailed: 3), services: From("203.0.113.7"));

        for (var i = 0; i < 3; i++)
        {
            await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", "wrong")), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/engine/scripts", "wrong")), (HttpStatusCode)429, "TOO_MANY_REQUESTS");
        var refused = await host.Client.SendAsync(Get("/engine/scripts", Token));
        var error = await HttpAssert.ErrorAsync(refused, (HttpStatusCode)429, "TOO_MANY_REQUESTS");
        var seconds = error.GetProperty("details").GetProperty("retryAfterSeconds").GetInt32();
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
