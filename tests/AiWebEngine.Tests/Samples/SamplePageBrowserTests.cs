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
    public Task Page_ShowsTheEvent_ItsEventSourceReceived(string page, string method, string trigger, string expected, string form) =>
        CheckPageAsync(page, method, trigger, expected, form, "");

    /// <summary>
    /// The GraphQL sample pages: <c>#sse</c> and <c>#log</c> are filled from <c>fetch("/graphql/sse")</c>,
    /// <c>#es</c> from an EventSource on <c>/graphql/subscription/liveNotifications</c>; CLICK presses the page's own button.
    /// </summary>
    [Theory]
    [InlineData("/examples/graphql-notifications", "POST", "/trigger-notification", "Subscribed to live notifications", "", "#sse")]
    [InlineData("/examples/graphql-notifications", "POST", "/trigger-notification", "You have a new message", "", "#sse,#es")]
    [InlineData("/examples/graphql-notifications", "CLICK", "#send", "Shipped from chromium", "%23message=Shipped%20from%20chromium", "#sse,#es")]
    [InlineData("/examples/graphql-chat", "CLICK", "#send", "ada hello from chromium", "%23text=hello%20from%20chromium", "#log")]
    public Task GraphQLPage_ShowsTheEvent_ItsSubscriptionReceived(string page, string method, string trigger, string expected, string form, string where) =>
        CheckPageAsync(page, method, trigger, expected, form, where);

    private async Task CheckPageAsync(string page, string method, string trigger, string expected, string form, string where)
    {
        await using var browser = NodeClient.Start("page-check.mjs", new Uri(fixture.Host.BaseAddress, page).ToString(), method, trigger, expected, form, where);

        var exit = await browser.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, $"page check failed:\n{browser.Output}\n{browser.Errors}");
        var report = JsonDocument.Parse(browser.Lines.Last(l => l.StartsWith('{'))).RootElement;
        Assert.True(report.GetProperty("shown").GetBoolean());
        Assert.Empty(report.GetProperty("foreign").EnumerateArray());
        Assert.Empty(report.GetProperty("errors").EnumerateArray());
    }
}
