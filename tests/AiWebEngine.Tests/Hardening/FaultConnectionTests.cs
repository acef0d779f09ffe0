using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.GraphQL;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Hardening;

/// <summary>The fault tests that measure the process's memory run alone, so no other test's allocations count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultMemoryTests
{
    public const string Name = "Fault tests that measure memory";
}

/// <summary>
/// Connections that come and go, and a client that stops reading (issue 7, point 4): nothing
/// outlives a connection, and a stalled client neither slows the others nor grows memory.
/// </summary>
[Collection(FaultMemoryTests.Name)]
public sealed class FaultConnectionTests
{
    private const string Feed = """
        registerWebStream("/feed");
        register("/publish", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        register("/publish-many", (req) => {
          const padding = "x".repeat(Number(req.query.size));
          let queued = 0;
          for (let i = Number(req.query.from); i <= Number(req.query.to); i++) queued += sendStreamMessage(i + ":" + padding);
          return { body: String(queued) };
        }, "POST");
        registerGraphQLSubscription("ticks", "type Subscription { ticks: String }", null);
        register("/tick", (req) => ({ body: String(sendSubscriptionMessage("ticks", req.body)) }), "POST");
        register("/hello", () => ({ body: "hello" }));
        """;

    private static long ManagedMemory()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public async Task TenThousandConnectDisconnectCycles_LeaveNoConnectionSubscriberOrMemoryBehind()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["feed.js"] = Feed }, kestrel: true);
        var bus = host.Services.GetRequiredService<ITopicBus>();
        var keepAlive = host.Services.GetRequiredService<SseKeepAlive>();
        var limiter = host.Services.GetRequiredService<StreamConnectionLimiter>();
        string[] paths = ["/feed", "/feed?room=a", "/graphql/subscription/ticks", "/graphql/subscription/ticks?room=b"];

        // Each cycle: connect, receive the stream's first line, leave; one in four leaves with a reset.
        async Task CyclesAsync(int count)
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
                {
                    var client = await FaultSseClient.OpenAsync(host.BaseAddress, paths[i % paths.Length]);
                    Assert.Contains(" 200 ", client.StatusLine, StringComparison.Ordinal);
                    await (i % 4 == 3 ? client.ResetAsync() : client.DisposeAsync());
                }
            }));
        }

        await CyclesAsync(500);
        await FaultHelpers.WaitForConnectionsAsync(host.Client, 0);
        var baseline = ManagedMemory();

        await CyclesAsync(10_000);

        await FaultHelpers.WaitForConnectionsAsync(host.Client, 0, TimeSpan.FromSeconds(60));
        Assert.Equal(0, limiter.Open);
        Assert.Equal(0, bus.GetStats(StreamRegistry.TopicOf("/feed"))!.Subscribers);
        Assert.Equal(0, bus.GetStats(GraphQLField.TopicOf("ticks"))!.Subscribers);
        await FaultHelpers.WaitUntilAsync(() => keepAlive.Count == 0, "the keep-alive sweep to forget every connection");
        var after = ManagedMemory();
        // 10 000 leaked connections would hold at least their queues and subscribers: tens of MiB.
        Assert.True(after - baseline < 8 * 1024 * 1024, $"managed memory grew from {baseline / 1024} KiB to {after / 1024} KiB over 10 000 cycles");

        // And the server serves as before.
        await FaultHelpers.AssertHealthyAsync(host.Client, "/hello", "hello", "/feed", "/publish");
        await using var ticks = await FaultSseClient.OpenAsync(host.BaseAddress, "/graphql/subscription/ticks");
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/tick", new StringContent("7"))));
        await ticks.WaitForCountAsync(1, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ClientThatStopsReading_IsDisconnected_WhileTheOthersGetEveryMessage_AndMemoryStaysBounded()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["feed.js"] = Feed },
            new Dictionary<string, string?> { ["AiWebEngine:Streams:QueueCapacity"] = "64", ["AiWebEngine:Streams:ReplayDepth"] = "16" },
            kestrel: true);
        var readers = new List<FaultSseClient>();
        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        try
        {
            // The stalled client sends its request and never reads a byte of the answer.
            await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
            await stalled.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /feed HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\n\r\n"));
            for (var i = 0; i < 20; i++)
            {
                readers.Add(await FaultSseClient.OpenAsync(host.BaseAddress, "/feed"));
            }

            await FaultHelpers.WaitForConnectionsAsync(host.Client, 21);
            var baseline = ManagedMemory();

            // 1 600 messages of 32 KiB (50 MiB), in batches the readers keep up with.
            const int total = 1600, batch = 50; // a batch is published in one call: it must fit a queue of 64
            for (var from = 1; from <= total; from += batch)
            {
                using var response = await host.Client.PostAsync($"/publish-many?from={from}&to={from + batch - 1}&size={32 * 1024}", null);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                foreach (var reader in readers)
                {
                    await reader.WaitForCountAsync(from + batch - 1, TimeSpan.FromSeconds(60));
                }
            }

            foreach (var reader in readers)
            {
                reader.AssertReceivedInOrder(1, total);
            }

            // The stalled one was dropped once its queue was full; its frames are not kept for it.
            await FaultHelpers.WaitForConnectionsAsync(host.Client, 20);
            var streams = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/streams"));
            var feed = streams.GetProperty("streams").EnumerateArray().Single(s => s.GetProperty("path").GetString() == "/feed");
            Assert.Equal(1, feed.GetProperty("clientsDropped").GetInt64());
            var peak = ManagedMemory();
            // Bounded: the queue (64 frames) and the replay ring (16) of 32 KiB frames are 2.5 MiB,
            // and each connection buffers about 64 KiB of writes; without those bounds the stalled
            // client alone would hold all 50 MiB (and each reader up to 64 frames, 2 MiB, per write).
            Assert.True(peak - baseline < 16 * 1024 * 1024, $"managed memory grew from {baseline / 1024} KiB to {peak / 1024} KiB");
            await FaultHelpers.AssertHealthyAsync(host.Client, "/hello", "hello", "/feed", "/publish");
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }
}
