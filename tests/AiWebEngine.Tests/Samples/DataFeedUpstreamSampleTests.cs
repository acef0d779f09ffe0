using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>Issue 19, point 9: the data feed sample polls an upstream with fetch (a local stand-in here) from a schedule.</summary>
public sealed class DataFeedUpstreamSampleTests
{
    [Fact]
    public async Task TheDataFeed_StreamsTheUpstreamsReadings()
    {
        await using var upstream = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["sensors.js"] = """
                let n = 0;
                register("/readings", () => ({ body: [{ sensor_id: "rack-7", value: 21.5 + n++, unit: "celsius", location: "hall" }, { sensor_id: "door", value: 1, unit: "state" }] }));
                """,
        }, kestrel: true);
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true, new Dictionary<string, string?>
        {
            ["AiWebEngine:Secrets:DATA_FEED_URL"] = new Uri(upstream.BaseAddress, "/readings").ToString(),
            ["AiWebEngine:Fetch:AllowedHosts:0"] = $"127.0.0.1:{upstream.BaseAddress.Port}",
        });
        await using var feed = await SseReader.OpenAsync(host.Client, "/data-feed");
        await feed.ReadUntilAsync(f => f.Count(m => m.Data?.Contains("\"source\":\"upstream\"", StringComparison.Ordinal) == true) >= 2, TimeSpan.FromSeconds(15));

        var readings = feed.Messages.Where(m => m.Data!.Contains("upstream", StringComparison.Ordinal)).Select(m => JsonDocument.Parse(m.Data!).RootElement).ToList();
        var rack = readings.First(r => r.GetProperty("sensor_id").GetString() == "rack-7");
        Assert.Equal("data_update", rack.GetProperty("type").GetString());
        Assert.Equal("hall", rack.GetProperty("location").GetString());
        Assert.True(rack.GetProperty("value").GetDouble() >= 21.5);
        Assert.Contains(readings, r => r.GetProperty("sensor_id").GetString() == "door" && r.GetProperty("location").GetString() == "upstream");
    }
}
