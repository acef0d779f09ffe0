using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Diagnostics;

[Collection(ProcessWideMetrics.Name)]
public sealed class MetricsEndpointTests
{
    private const string Script = """
        registerWebStream("/ticks");
        register("/tick", () => ({ body: String(sendStreamMessage({ tick: true })) }), "POST");
        registerGraphQLQuery("ping", "type Query { ping: String }", () => "pong");
        """;

    [Fact]
    public async Task Scrape_ShowsTheStreamScriptAndGraphQLCountersMoving()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["metrics.js"] = Script });
        var before = MetricsText.Parse(await HttpAssert.TextAsync(await host.Client.GetAsync("/metrics")));

        await using var stream = await SseReader.OpenAsync(host.Client, "/ticks");
        await stream.ReadUntilAsync(frames => frames.Count >= 1);
        await HttpAssert.TextAsync(await host.Client.PostAsync("/tick", null));
        await stream.ReadMessagesAsync(1);
        await HttpAssert.JsonAsync(await host.Client.GetAsync("/graphql?query=%7Bping%7D"));
        var after = MetricsText.Parse(await HttpAssert.TextAsync(await host.Client.GetAsync("/metrics")));

        Assert.True(after.Sum("aiwebengine_stream_connections") >= 1, "an open stream connection is counted");
        foreach (var counter in new[] { "aiwebengine_stream_messages_published_total", "aiwebengine_stream_frames_delivered_total", "aiwebengine_graphql_operations_total" })
        {
            Assert.True(after.Sum(counter) > before.Sum(counter), $"{counter} did not move: {before.Sum(counter)} → {after.Sum(counter)}");
        }

        const string OfThisScript = "aiwebengine_script_uri=\"metrics.js\"";
        Assert.True(after.Sum("aiwebengine_script_calls_total", OfThisScript) > before.Sum("aiwebengine_script_calls_total", OfThisScript), $"script calls of metrics.js did not move:\n{after.Text}");
        Assert.True(after.Sum("aiwebengine_script_call_duration_seconds_count") > before.Sum("aiwebengine_script_call_duration_seconds_count"));
    }

    [Fact]
    public async Task Scrape_Answers401_WithoutTheAdminToken_And200_WithIt()
    {
        await using var host = await EngineHost.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:Admin:Token"] = "s3cret-metrics-token" });

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/metrics"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "guess") } };
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(wrong), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        using var right = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-metrics-token") } };
        var text = await HttpAssert.TextAsync(await host.Client.SendAsync(right));

        Assert.Contains("# TYPE", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_ServesALoopbackClient_OverARealSocket_WhenNoTokenIsSet()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);

        var response = await host.Client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
    }

    /// <summary>The Prometheus text format, read just enough to sum the samples of a series.</summary>
    private sealed record MetricsText(string Text)
    {
        public static MetricsText Parse(string text) => new(text);

        /// <summary>The sum of every sample of <paramref name="name"/>, or of those whose labels include <paramref name="label"/>.</summary>
        public double Sum(string name, string label = "") => Text.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' ')
            .Where(line => line.Contains(label, StringComparison.Ordinal))
            .Sum(line =>
            {
                var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
                return double.Parse(value, CultureInfo.InvariantCulture);
            });
    }
}
