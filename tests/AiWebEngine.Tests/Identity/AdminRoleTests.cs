using System.Net;
using System.Net.Http.Headers;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// The management API accepts a JWT with the configured admin role (issue 18, point 9), beside
/// <c>Admin:Token</c>, which keeps working; every other token is refused, from a remote address.
/// </summary>
public sealed class AdminRoleTests
{
    private const string AdminToken = "0123456789abcdef-admin-token";

    private static Task<EngineHost> StartAsync(string address, bool withAdminToken = false, bool withRole = true)
    {
        var settings = new Dictionary<string, string?>();
        if (withRole)
        {
            settings["AiWebEngine:Admin:Role"] = "engine-admin";
        }

        if (withAdminToken)
        {
            settings["AiWebEngine:Admin:Token"] = AdminToken;
        }

        return EngineHost.StartAsync(settings: TestTokens.Settings(settings),
            services: s => s.AddSingleton<IStartupFilter>(new RemoteAddress(IPAddress.Parse(address))));
    }

    private static async Task<HttpStatusCode> GetAsync(EngineHost host, string? bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/engine/scripts");
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AJwtWithTheRole_IsAdmin_FromARemoteAddress_AndTheAdminTokenStillWorks(bool withAdminToken)
    {
        await using var host = await StartAsync("10.1.2.3", withAdminToken);

        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, TestTokens.Mint("root", roles: ["engine-admin"])));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, TestTokens.Mint("root", roles: ["reader", "engine-admin"])));
        if (withAdminToken)
        {
            Assert.Equal(HttpStatusCode.OK, await GetAsync(host, AdminToken));
        }
    }

    [Fact]
    public async Task EveryOtherToken_IsRefused()
    {
        await using var host = await StartAsync("10.1.2.3", withAdminToken: true);

        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(host, TestTokens.Mint("alice", roles: ["ops"])));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(host, TestTokens.Mint("alice", roles: ["Engine-Admin"]))); // exact case
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, TestTokens.Mint("root", roles: ["engine-admin"], lifetime: TimeSpan.FromMinutes(-5))));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, TestTokens.Mint("root", roles: ["engine-admin"], key: TestTokens.OtherKey)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, TestTokens.Mint("root", roles: ["engine-admin"], issuer: "https://evil.test")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, TestTokens.Mint("root", roles: ["engine-admin"], audience: "someone-else")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, TestTokens.AlgNone("root")));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, AdminToken + "x"));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, null));
    }

    [Fact]
    public async Task WithoutAToken_ARemoteClientWithoutTheRole_IsRefused_AndLoopbackRulesStay()
    {
        await using (var remote = await StartAsync("10.1.2.3"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(remote, null));
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(remote, TestTokens.Mint("root", roles: ["engine-admin"], key: TestTokens.OtherKey)));
        }

        await using var local = await StartAsync("127.0.0.1");
        Assert.Equal(HttpStatusCode.OK, await GetAsync(local, null));
    }

    [Fact]
    public async Task WithoutTheRoleConfigured_NoJwtGrantsAdmin()
    {
        await using var host = await StartAsync("10.1.2.3", withAdminToken: true, withRole: false);

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(host, TestTokens.Mint("root", roles: ["engine-admin"])));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, AdminToken));
    }

    private sealed class RemoteAddress(IPAddress address) : IStartupFilter
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
