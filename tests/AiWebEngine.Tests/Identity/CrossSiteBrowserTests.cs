using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// CORS and the cross-site request check (issue 18, point 7) proven in headless Chromium: a signed-in
/// user's browser opens pages of two other origins on the same site (other ports of 127.0.0.1, so his
/// SameSite=Lax session cookie goes along), one listed in <c>AiWebEngine:Cors:AllowedOrigins</c>.
/// The listed one may act with his session; the other cannot change anything, read anything or open a
/// WebSocket, whichever way it tries — and the victim's inbox proves nothing got through.
/// </summary>
public sealed class CrossSiteBrowserTests
{
    [Fact]
    public async Task PagesOfAnotherOrigin_CannotActWithTheSessionCookie_UnlessListed()
    {
        var providerPort = OidcProvider.FreePort();
        var listed = OidcProvider.FreePort();
        var unlisted = OidcProvider.FreePort();
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true, OidcProvider.Settings(providerPort, new Dictionary<string, string?>
        {
            ["AiWebEngine:Cors:AllowedOrigins:0"] = $"http://127.0.0.1:{listed}",
        }));
        await using var provider = await OidcProvider.StartAsync(providerPort, host.BaseAddress);
        var (alice, _) = await OidcProvider.SignInAsync(host.BaseAddress, "alice");
        using var open = new HttpRequestMessage(HttpMethod.Get, "/me/inbox");
        open.Headers.Add("Cookie", alice);
        await using var inbox = await SseReader.OpenAsync(host.Client, open);
        Assert.Equal(HttpStatusCode.OK, inbox.Response.StatusCode);

        await using var browser = NodeClient.Start("csrf-check.mjs", host.BaseAddress.ToString().TrimEnd('/'), listed.ToString(System.Globalization.CultureInfo.InvariantCulture), unlisted.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var line = await browser.WaitForLineAsync(l => l.StartsWith("result ", StringComparison.Ordinal) || l.StartsWith("error ", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        Assert.True(line.StartsWith("result ", StringComparison.Ordinal), browser.Output + "\n" + browser.Errors);
        Assert.Equal(0, await browser.WaitForExitAsync());
        var result = JsonDocument.Parse(line["result ".Length..]).RootElement;

        // The other origin: the request went out with the cookie (same site) and was refused before any
        // script ran; the browser hid every answer from the page; the WebSocket never opened; the form
        // navigation shows the refusal.
        var foreign = result.GetProperty("unlisted");
        Assert.StartsWith("blocked", foreign.GetProperty("notify").ToString(), StringComparison.Ordinal);
        Assert.StartsWith("blocked", foreign.GetProperty("mutation").ToString(), StringComparison.Ordinal);
        Assert.StartsWith("blocked", foreign.GetProperty("me").GetString(), StringComparison.Ordinal);
        Assert.Equal("refused", foreign.GetProperty("socket").GetString());
        Assert.Contains("CROSS_SITE_REQUEST", foreign.GetProperty("form").GetString(), StringComparison.Ordinal);

        // The listed origin acts as the signed-in user, with credentials, and reads the answers.
        var trusted = result.GetProperty("listed");
        Assert.Equal(200, trusted.GetProperty("notify").GetInt32());
        Assert.StartsWith("200 {\"user\":{\"id\":\"bob\"", trusted.GetProperty("me").GetString(), StringComparison.Ordinal);
        Assert.Equal("open", trusted.GetProperty("socket").GetString());
        Assert.Contains("delivered", trusted.GetProperty("form").GetString(), StringComparison.Ordinal);

        // What reached Alice: only what the listed origin sent, then the test's own closing message.
        using var closing = new HttpRequestMessage(HttpMethod.Post, "/me/notify") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["to"] = "alice", ["text"] = "the end" }) };
        closing.Headers.Add("Cookie", alice);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(closing)).StatusCode);
        await inbox.ReadUntilAsync(frames => frames.Any(f => f.Data?.Contains("the end", StringComparison.Ordinal) == true));
        var texts = inbox.Messages.Where(m => m.Data is not null).Select(m => JsonDocument.Parse(m.Data!).RootElement.GetProperty("text").GetString()).ToList();
        Assert.Contains("fetch from listed", texts);
        Assert.Contains("form from listed", texts);
        Assert.DoesNotContain(texts, t => t!.Contains("unlisted", StringComparison.Ordinal));
        Assert.Equal("the end", texts[^1]);
        Assert.Empty(result.GetProperty("errors").EnumerateArray());
    }
}
