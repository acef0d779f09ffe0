using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>Issue 19, point 9: the dashboard sample pushes real measurements every second from a schedule.</summary>
public sealed class LiveDashboardSampleTests
{
    [Fact]
    public async Task TheLiveDashboard_GetsAMeasurementEverySecond_CountingItsOwnConnection()
    {
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true);
        await using var live = await SseReader.OpenAsync(host.Client, "/dashboard/live");
        await live.ReadMessagesAsync(3, TimeSpan.FromSeconds(15));

        var pushes = live.Messages.Take(3).Select(m => JsonDocument.Parse(m.Data!).RootElement).ToList();
        Assert.All(pushes, p => Assert.Equal("live", p.GetProperty("type").GetString()));
        var updates = pushes.Select(p => p.GetProperty("updates").GetInt32()).ToList();
        Assert.Equal(updates.Order(), updates);
        Assert.Equal(updates.Count, updates.Distinct().Count());
        // The push after one that reached this connection says so.
        Assert.True(pushes[^1].GetProperty("clients").GetInt32() >= 1);
        Assert.All(pushes, p => Assert.InRange(p.GetProperty("lagMs").GetInt32(), 0, 5000));
    }
}
