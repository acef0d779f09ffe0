using System.Net;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Tests.Hosting;

public sealed class HostingTests
{
    [Fact]
    public async Task Health_ReportsLoadedAndFailedScripts()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["good.js"] = """register("/good", () => ({}));""",
            ["bad.js"] = "this is not javascript",
        });

        var response = await host.Client.GetAsync("/health");
        var health = await HttpAssert.JsonAsync(response);

        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.Equal(1, health.GetProperty("scripts").GetProperty("loaded").GetInt32());
        var failed = health.GetProperty("scripts").GetProperty("failed").EnumerateArray().Single();
        Assert.Equal("bad.js", failed.GetProperty("uri").GetString());
        Assert.StartsWith("SyntaxError", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(failed.GetProperty("previousVersionServing").GetBoolean());
    }

    [Fact]
    public async Task Start_Fails_WhenTheScriptsDirectoryDoesNotExist_NamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(
            settings: new Dictionary<string, string?> { ["AiWebEngine:Scripts:Path"] = "/no/such/dir" }));

        Assert.Contains("AiWebEngine:Scripts:Path: the scripts directory '/no/such/dir' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AiWebEngine:Scripts:CallTimeout", "00:00:00")]
    [InlineData("AiWebEngine:Scripts:MaxHeapMiB", "2")]
    [InlineData("AiWebEngine:Http:MaxRequestBodyBytes", "0")]
    [InlineData("AiWebEngine:Streams:ReplayMaxBytes", "-1")]
    [InlineData("AiWebEngine:Streams:ReplayMaxScriptBytes", "-1")]
    [InlineData("AiWebEngine:Streams:ReplayMaxTotalBytes", "-1")]
    [InlineData("AiWebEngine:Streams:MaxReplayBytesPerRequest", "-1")]
    public async Task Start_Fails_OnAnOutOfRangeOption_NamingIt(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(
            settings: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(key.Split(':')[^1], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RealSocket_ServesAScriptRoute_AndJsonErrors()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["hello.js"] = """register("/hello", () => ({ body: "Hello over TCP" })); register("/upload", (req) => ({ body: String(req.body.length) }), "POST");""" },
            kestrel: true);

        Assert.True(host.BaseAddress.IsLoopback && host.BaseAddress.Port is > 0 and not 80, host.BaseAddress.ToString());
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal("Hello over TCP", await HttpAssert.TextAsync(await client.GetAsync("/hello")));
        await HttpAssert.ErrorAsync(await client.GetAsync("/missing"), HttpStatusCode.NotFound, "NOT_FOUND");
        // With Expect: 100-continue the client waits for the server's verdict before sending the body.
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/upload") { Content = new ByteArrayContent(new byte[(1024 * 1024) + 10]) };
        upload.Headers.ExpectContinue = true;
        await HttpAssert.ErrorAsync(await client.SendAsync(upload), HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
    }
}
