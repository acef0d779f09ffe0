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
}
