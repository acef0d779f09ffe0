using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Cluster;

/// <summary>The waits the cluster tests share: each fails the test, naming what it waited for, once its patience is spent.</summary>
internal static class ClusterWaits
{
    /// <summary>The first <paramref name="count"/> messages (frames with data) of a stream.</summary>
    public static async Task<List<SseFrame>> ReadAsync(SseReader client, int count, TimeSpan patience)
    {
        await client.ReadMessagesAsync(count, patience);
        return [.. client.Messages.Take(count)];
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>The status of the <c>redis</c> readiness check, or <c>absent</c> when the instance has none.</summary>
    public static async Task<string> ReadyStatusAsync(EngineHost host)
    {
        using var json = JsonDocument.Parse(await host.Client.GetStringAsync("/health/ready"));
        return json.RootElement.GetProperty("checks").TryGetProperty("redis", out var redis) ? redis.GetProperty("status").GetString()! : "absent";
    }
}
