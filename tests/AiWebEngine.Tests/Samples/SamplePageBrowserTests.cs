using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>Sample pages in headless Chromium: the page's own EventSource receives and shows the event.</summary>
public sealed class SamplePageBrowserTests(SampleFixture fixture) : IClassFixture<SampleFixture>
{
    [Theory]
    [InlineData("/examples/basic/guide", "POST", "/trigger", "Something happened! at", "")]
    [InlineData("/examples/notifications", "POST", "/trigger-notification", "You have a new message", "")]
    [InlineData("/examples/chat", "POST", "/chat/send", "hello from chromium", "user=ada&room=general&message=hello%20from%20chromium")]
    public async Task Page_ShowsTheEvent_ItsEventSourceReceived(string page, string method, string trigger, string expected, string form)
    {
        await using var browser = NodeClient.Start("page-check.mjs", new Uri(fixture.Host.BaseAddress, page).ToString(), method, trigger, expected, form);

        var exit = await browser.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, $"page check failed:\n{browser.Output}\n{browser.Errors}");
        var report = JsonDocument.Parse(browser.Lines.Last(l => l.StartsWith('{'))).RootElement;
        Assert.True(report.GetProperty("shown").GetBoolean());
        Assert.Empty(report.GetProperty("foreign").EnumerateArray());
        Assert.Empty(report.GetProperty("errors").EnumerateArray());
    }
}
