using System.Net;
using System.Net.Http.Headers;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// Bearer tokens from an OpenID Connect authority (discovery + JWKS), keys rotated without a restart
/// (issue 18, points 1 and 11), against a real provider the test starts (npm <c>oidc-provider</c>).
/// </summary>
public sealed class JwksRotationTests
{
    private const string Audience = "aiwebengine-api";

    private const string Script = """
        registerWebStream("/inbox", { auth: "user" });
        register("/whoami", (req) => ({ body: req.user.id }), { auth: "user" });
        register("/send", (req) => ({ body: String(sendToUser("/inbox", req.query.user, req.body)) }), "POST");
        """;

    private static HttpRequestMessage Get(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.ParseAdd("text/event-stream");
        return request;
    }

    [Fact]
    public async Task TheProviderRotatesItsKey_NewTokensAreAcceptedWithoutARestart_OldKeysTokensAreRefused_AndOpenStreamsStayOpen()
    {
        var port = OidcProvider.FreePort();
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, new Dictionary<string, string?>
        {
            ["Authentication:Schemes:Bearer:Authority"] = $"http://127.0.0.1:{port}",
            ["Authentication:Schemes:Bearer:RequireHttpsMetadata"] = "false",
            ["Authentication:Schemes:Bearer:ValidAudiences:0"] = Audience,
            // How soon an unknown key id may fetch the JWKS again (default 5 minutes).
            ["Authentication:Schemes:Bearer:RefreshInterval"] = "00:00:01",
        }, kestrel: true);
        await using var provider = await OidcProvider.StartAsync(port, host.BaseAddress);

        var before = await provider.MintAsync("alice", Audience);
        Assert.Equal("alice", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/whoami", before))));
        await using var stream = await SseReader.OpenAsync(host.Client, Get("/inbox", before));
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);

        await provider.RotateKeyAsync();
        var after = await provider.MintAsync("bob", Audience);

        // The first token with the new key id makes the handler fetch the JWKS again; from then on it is accepted.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status;
        do
        {
            status = (await host.Client.SendAsync(Get("/whoami", after))).StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(300);
            }
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("bob", await HttpAssert.TextAsync(await host.Client.SendAsync(Get("/whoami", after))));

        // The old key left the JWKS: its tokens open nothing new...
        using var refused = await host.Client.SendAsync(Get("/whoami", before));
        await HttpAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        // ...but a stream it opened was authenticated once, at connect, and keeps receiving.
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/send?user=alice", new StringContent("after the rotation"))));
        Assert.Equal(["after the rotation"], (await stream.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
    }
}
