using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// OpenID Connect sign-in with a cookie session (issue 18, point 1), against a real provider the test
/// starts (npm <c>oidc-provider</c>) and the engine on a real socket.
/// </summary>
public sealed class SignInTests
{
    private const string Script = """
        register("/whoami", (req) => ({ body: req.user }), { auth: "user" });
        registerWebStream("/inbox", { auth: "user" });
        register("/send", (req) => ({ body: String(sendToUser("/inbox", req.query.user, req.body)) }), "POST");
        """;

    private static async Task<(EngineHost Host, OidcProvider Provider)> StartAsync(IReadOnlyDictionary<string, string?>? more = null)
    {
        var port = OidcProvider.FreePort();
        var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, OidcProvider.Settings(port, more), kestrel: true);
        return (host, await OidcProvider.StartAsync(port, host.BaseAddress));
    }

    [Fact]
    public async Task SigningInAtTheProvider_GivesASessionCookie_ThatScriptsSeeAsTheUser()
    {
        var (host, provider) = await StartAsync();
        await using var _ = host;
        await using var __ = provider;

        var (cookie, me) = await OidcProvider.SignInAsync(host.BaseAddress, "alice");

        var user = JsonDocument.Parse(me).RootElement.GetProperty("user");
        Assert.Equal("alice", user.GetProperty("id").GetString());
        Assert.Equal("Alice", user.GetProperty("name").GetString());
        Assert.Equal(["reader"], user.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("red", user.GetProperty("claims").GetProperty("team").GetString());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add("Cookie", cookie);
        var whoami = JsonDocument.Parse(await HttpAssert.TextAsync(await host.Client.SendAsync(request))).RootElement;
        Assert.Equal("alice", whoami.GetProperty("id").GetString());
    }

    /// <summary>
    /// The whole path a user takes, in headless Chromium: the identity sample's page, "Sign in", the
    /// provider's login and consent, back on the page with its streams opened by the cookie. Bob's
    /// notification reaches Alice's page only, each team's chat its own team only; signing out ends it.
    /// </summary>
    [Fact]
    public async Task InChromium_TwoUsersSignInAtTheProvider_AndEachPageReceivesOnlyItsUsersMessages()
    {
        var port = OidcProvider.FreePort();
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true, OidcProvider.Settings(port, new Dictionary<string, string?>
        {
            ["AiWebEngine:Authentication:SessionLifetime"] = "00:30:00",
        }));
        await using var provider = await OidcProvider.StartAsync(port, host.BaseAddress);

        await using var browser = NodeClient.Start("oidc-signin-check.mjs", host.BaseAddress.ToString().TrimEnd('/'));
        var line = await browser.WaitForLineAsync(l => l.StartsWith("result ", StringComparison.Ordinal) || l.StartsWith("error ", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        Assert.True(line.StartsWith("result ", StringComparison.Ordinal), browser.Output + "\n" + browser.Errors);
        Assert.Equal(0, await browser.WaitForExitAsync());
        var result = JsonDocument.Parse(line["result ".Length..]).RootElement;

        Assert.Contains("signed in alice signed in as Alice (alice), team red", browser.Lines);
        Assert.Contains("signed in bob signed in as Bob (bob), team blue", browser.Lines);
        var alice = result.GetProperty("alice");
        var bob = result.GetProperty("bob");
        Assert.Contains("Bob: hello alice", alice.GetProperty("inbox").GetString());
        Assert.DoesNotContain("hello alice", bob.GetProperty("inbox").GetString());
        Assert.Contains("Alice: red team only", alice.GetProperty("chat").GetString());
        Assert.DoesNotContain("blue team only", alice.GetProperty("chat").GetString());
        Assert.Contains("Bob: blue team only", bob.GetProperty("chat").GetString());
        Assert.DoesNotContain("red team only", bob.GetProperty("chat").GetString());

        // The page's own fetch of /auth/me: the session's user, and when the session ends.
        var me = result.GetProperty("me");
        Assert.Equal(200, me.GetProperty("status").GetInt32());
        Assert.Equal("alice", me.GetProperty("body").GetProperty("user").GetProperty("id").GetString());
        var expires = DateTimeOffset.Parse(me.GetProperty("body").GetProperty("expiresAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddMinutes(27), DateTimeOffset.UtcNow.AddMinutes(31));

        // The session cookie: HttpOnly (no page script reads it), SameSite=Lax.
        var session = result.GetProperty("cookies").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "aiwebengine.session");
        Assert.True(session.GetProperty("httpOnly").GetBoolean());
        Assert.Equal("Lax", session.GetProperty("sameSite").GetString());

        // Signed out: the page says so, and the inbox refuses the same browser.
        Assert.StartsWith("not signed in (401)", alice.GetProperty("who").GetString());
        Assert.Equal(401, result.GetProperty("afterSignOut").GetInt32());
        Assert.Empty(result.GetProperty("errors").EnumerateArray());
    }
}
