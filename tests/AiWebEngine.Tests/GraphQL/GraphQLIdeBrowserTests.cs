using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>The IDE in headless Chromium, on the samples, with every request off the machine blocked.</summary>
public sealed class GraphQLIdeBrowserTests
{
    [Fact]
    public async Task Ide_InChromium_LoadsTheSamplesSchema_WithNoRequestLeavingTheServer()
    {
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true);
        await using var browser = NodeClient.Start("graphql-ide-check.mjs", new Uri(host.BaseAddress, "/graphql").ToString(), "rooms", "liveNotifications");

        var exit = await browser.WaitForExitAsync(TimeSpan.FromSeconds(150));

        Assert.True(exit == 0, $"IDE check failed:\n{browser.Output}\n{browser.Errors}");
        var report = JsonDocument.Parse(browser.Lines.Last(l => l.StartsWith('{'))).RootElement;
        Assert.True(report.GetProperty("introspected").GetBoolean(), "the IDE did not get the schema");
        Assert.True(report.GetProperty("shown").TryGetProperty("liveNotifications", out _), browser.Output);
        Assert.Empty(report.GetProperty("foreign").EnumerateArray());
        Assert.Empty(report.GetProperty("errors").EnumerateArray());
    }

    private const string Notify = """mutation { notifyUser(to: "bob", text: "from the IDE") }""";

    private static async Task<JsonElement> RunInIdeAsync(EngineHost host, Dictionary<string, string> environment)
    {
        environment["IDE_OPERATION"] = Notify;
        await using var browser = NodeClient.Start("graphql-ide-check.mjs", environment, new Uri(host.BaseAddress, "/graphql").ToString(), "notifyUser");
        var exit = await browser.WaitForExitAsync(TimeSpan.FromSeconds(150));
        Assert.True(exit == 0, $"IDE check failed:\n{browser.Output}\n{browser.Errors}");
        return JsonDocument.Parse(browser.Lines.Last(l => l.StartsWith('{'))).RootElement.Clone();
    }

    private static string Code(JsonElement run) =>
        JsonDocument.Parse(run.GetProperty("body").GetString()!).RootElement.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString()!;

    private static int Delivered(JsonElement run)
    {
        var body = JsonDocument.Parse(run.GetProperty("body").GetString()!).RootElement;
        Assert.False(body.TryGetProperty("errors", out _), body.ToString());
        return body.GetProperty("data").GetProperty("notifyUser").GetInt32();
    }

    /// <summary>
    /// Issue 18, point 10: a token entered in the IDE's HTTP Headers tab makes its operations run as that
    /// user. Typed into the real IDE and run with its Run button; Bob's inbox gets what Alice sent from it.
    /// </summary>
    [Fact]
    public async Task Ide_WithABearerTokenInItsHttpHeaders_RunsGuardedOperationsAsThatUser()
    {
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true, TestTokens.Settings());
        using var inbox = new HttpRequestMessage(HttpMethod.Get, "/me/inbox");
        inbox.Headers.Authorization = new("Bearer", TestTokens.Mint("bob", name: "Bob"));
        await using var bob = await SseReader.OpenAsync(host.Client, inbox);

        var report = await RunInIdeAsync(host, new() { ["IDE_HEADER"] = "Authorization: Bearer " + TestTokens.Mint("alice", name: "Alice") });

        var runs = report.GetProperty("runs");
        Assert.False(runs[0].GetProperty("authorization").GetBoolean());
        Assert.Equal("UNAUTHENTICATED", Code(runs[0]));
        Assert.True(runs[1].GetProperty("authorization").GetBoolean());
        Assert.Equal(1, Delivered(runs[1]));
        var message = (await bob.ReadMessagesAsync(1)).Single(m => m.Data is not null).Data!;
        Assert.Contains("\"from\":\"Alice\"", message, StringComparison.Ordinal);
        Assert.Contains("from the IDE", message, StringComparison.Ordinal);
    }

    /// <summary>A browser signed in with the session cookie (a real sign-in at npm oidc-provider) is signed in in the IDE.</summary>
    [Fact]
    public async Task Ide_InABrowserSignedInWithTheSessionCookie_RunsGuardedOperationsAsThatUser()
    {
        var port = OidcProvider.FreePort();
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true, OidcProvider.Settings(port));
        await using var provider = await OidcProvider.StartAsync(port, host.BaseAddress);
        var (cookie, _) = await OidcProvider.SignInAsync(host.BaseAddress, "alice");

        var report = await RunInIdeAsync(host, new() { ["IDE_COOKIE"] = cookie });

        var run = report.GetProperty("runs")[0];
        Assert.StartsWith("aiwebengine.session=", run.GetProperty("cookie").GetString());
        Assert.Equal(0, Delivered(run)); // Bob has nothing open; what counts is that Alice was let in
    }
}
