using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Streaming;

/// <summary>Streams over a real loopback socket, with real clients.</summary>
public sealed class RealClientStreamTests
{
    private const string Script = """
        registerWebStream("/events");
        register("/trigger", (req) => ({ body: String(sendStreamMessage({ type: "event", n: Number(req.query.n || 0) })) }), "POST");
        register("/big", (req) => { const chunk = "x".repeat(64 * 1024); let sent = 0; for (let i = 0; i < Number(req.query.count); i++) sent += sendStreamMessage(chunk); return { body: String(sent) }; }, "POST");
        """;

    [Fact]
    public async Task EventSourceClient_FromNpm_ReceivesMessagesWithIds()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["events.js"] = Script }, kestrel: true);
        await using var client = NodeClient.Start("sse-client.mjs", new Uri(host.BaseAddress, "/events").ToString(), "3");
        await client.WaitForLineAsync(l => l == "open");

        for (var n = 1; n <= 3; n++)
        {
            await host.Client.PostAsync($"/trigger?n={n}", null);
        }

        Assert.Equal(0, await client.WaitForExitAsync());
        var messages = client.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var b = StreamEndpointTests.IdBase(host, "/events");
        Assert.Equal([$"{b + 1}", $"{b + 2}", $"{b + 3}"], messages.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal("{\"type\":\"event\",\"n\":2}", messages[1].GetProperty("data").GetString());
    }

    [Fact]
    public async Task ClientThatStopsReading_IsDisconnected_AndDoesNotDelayTheOthers()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["events.js"] = Script },
            new Dictionary<string, string?> { ["AiWebEngine:Streams:QueueCapacity"] = "16", ["AiWebEngine:Streams:ReplayDepth"] = "4" },
            kestrel: true);
        using var stalled = new TcpClient();
        stalled.ReceiveBufferSize = 4096;
        await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        var stalledStream = stalled.GetStream();
        await stalledStream.WriteAsync(Encoding.ASCII.GetBytes($"GET /events HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\n\r\n"));
        var head = new byte[256];
        _ = await stalledStream.ReadAsync(head);
        await using var reader = await SseReader.OpenAsync(host.Client, "/events");
        await reader.ReadUntilAsync(f => f.Count > 0);
        await StreamEndpointTests.WaitForConnectionsAsync(host, 2);

        // 400 messages of 64 KiB: far more than the stalled socket's buffers and queue can hold.
        // The reading client keeps up batch by batch; the stalled one never reads.
        IReadOnlyList<SseFrame> frames = [];
        for (var i = 1; i <= 40; i++)
        {
            await host.Client.PostAsync("/big?count=10", null);
            frames = await reader.ReadMessagesAsync(i * 10, TimeSpan.FromSeconds(30));
        }

        var b = StreamEndpointTests.IdBase(host, "/events");
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (b + i).ToString()), frames.Where(f => f.Data is not null).Select(f => f.Id));
        await StreamEndpointTests.WaitForConnectionsAsync(host, 1);
        var stats = host.Services.GetRequiredService<ITopicBus>().GetStats(StreamRegistry.TopicOf("/events"))!;
        Assert.Equal(1, stats.Disconnected);
        Assert.Equal(1, stats.Subscribers);
    }

    [Fact]
    public async Task Health_OverARealSocket_CountsConnections()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["events.js"] = Script }, kestrel: true);
        await using var client = await SseReader.OpenAsync(host.Client, "/events");
        await client.ReadUntilAsync(f => f.Count > 0);

        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));

        Assert.Equal(1, health.GetProperty("streams").GetProperty("connections").GetInt32());
        Assert.Equal(HttpStatusCode.OK, client.Response.StatusCode);
    }
}
