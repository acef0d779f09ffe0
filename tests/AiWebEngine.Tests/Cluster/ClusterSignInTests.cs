using System.Net;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Cluster;

/// <summary>
/// Sign-in in a cluster: a session cookie issued by one instance is the user on every other, because the
/// data protection key ring is the cluster's (in Redis). Each instance is given a key directory of its own,
/// as instances on separate machines have; the control case without Redis shows that this alone makes
/// the other instance's cookie nobody.
/// </summary>
public sealed class ClusterSignInTests
{
    private const string Inbox = """
        registerWebStream("/inbox", { auth: "user" });
        register("/dm", (req) => ({ body: String(sendToUser("/inbox", req.query.to, req.body)) }), "POST");
        """;

    private static async Task<EngineHost> StartAsync(int providerPort, RedisServer? redis)
    {
        var settings = OidcProvider.Settings(providerPort);
        if (redis is not null)
        {
            settings["AiWebEngine:Bus:Redis"] = redis.ConnectionString;
            settings["AiWebEngine:Bus:PollInterval"] = "00:00:00.500";
        }

        // A key ring of its own, like a machine of its own (in-process hosts would otherwise share the user's).
        var keys = Directory.CreateTempSubdirectory("aiwebengine-keys-");
        return await EngineHost.StartAsync(
            new Dictionary<string, string> { ["inbox.js"] = Inbox }, settings, kestrel: true,
            services: s => s.AddDataProtection().PersistKeysToFileSystem(keys));
    }

    private static HttpRequestMessage WithCookie(string path, string cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        request.Headers.Accept.ParseAdd("text/event-stream");
        return request;
    }

    [Fact]
    public async Task ASessionCookieIssuedByOneInstance_IsTheUserOnAnother_AndOpensItsStreamThere()
    {
        await using var redis = await RedisServer.StartAsync();
        var port = OidcProvider.FreePort();
        await using var first = await StartAsync(port, redis);
        await using var second = await StartAsync(port, redis);
        await using var provider = await OidcProvider.StartAsync(port, first.BaseAddress);
        var (cookie, _) = await OidcProvider.SignInAsync(first.BaseAddress, "alice");

        using var me = await second.Client.SendAsync(WithCookie("/auth/me", cookie));
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal("alice", (await HttpAssert.JsonAsync(me)).GetProperty("user").GetProperty("id").GetString());

        // Alice's page on the second instance gets what the first sends her.
        await using var inbox = await SseReader.OpenAsync(second.Client, WithCookie("/inbox", cookie));
        Assert.Equal(HttpStatusCode.OK, inbox.Response.StatusCode);
        await ClusterWaits.WaitUntilAsync(async () => int.Parse(await HttpAssert.TextAsync(await second.Client.PostAsync("/dm?to=alice", new StringContent("warm-up")))) == 1, "the inbox is counted", TimeSpan.FromSeconds(30));
        await first.Client.PostAsync("/dm?to=alice", new StringContent("from the first instance"));
        await inbox.ReadUntilAsync(f => f.Any(m => m.Data == "from the first instance"), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task WithoutACluster_AnotherMachinesCookie_IsNobody()
    {
        var port = OidcProvider.FreePort();
        await using var first = await StartAsync(port, redis: null);
        await using var second = await StartAsync(port, redis: null);
        await using var provider = await OidcProvider.StartAsync(port, first.BaseAddress);
        var (cookie, _) = await OidcProvider.SignInAsync(first.BaseAddress, "alice");

        Assert.Equal(HttpStatusCode.OK, (await first.Client.SendAsync(WithCookie("/auth/me", cookie))).StatusCode);
        await HttpAssert.ErrorAsync(await second.Client.SendAsync(WithCookie("/auth/me", cookie)), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }
}
