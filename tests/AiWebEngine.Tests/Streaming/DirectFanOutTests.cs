using System.Globalization;
using System.Text.Json;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.GraphQL;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Streaming;

/// <summary>
/// The fan-out that writes one encoded chunk straight to every idle connection's socket
/// (<c>DirectSendGate</c>), over real sockets: with more clients than one fan-out thread takes,
/// racing publishers, clients joining mid-burst with <c>Last-Event-ID</c>, filters, and streams that
/// end, every client gets exactly its messages, once, in order.
/// </summary>
public sealed class DirectFanOutTests
{
    private const string Script = """
        registerWebStream("/feed");
        register("/publish-many", (req) => {
          let queued = 0;
          for (let i = 1; i <= Number(req.query.count); i++) queued += sendStreamMessage(req.query.tag + ":" + i);
          return { body: String(queued) };
        }, "POST");
        register("/publish-rooms", (req) => {
          for (let i = 1; i <= Number(req.query.count); i++) {
            const room = i % 3 === 0 ? null : (i % 3 === 1 ? "a" : "b");
            sendStreamMessageToPath("/feed", (room || "all") + ":" + i, room ? { room } : undefined);
          }
          return { body: "ok" };
        }, "POST");
        """;

    // More clients than FanOutPass.SplitAt: a pass runs on two threads.
    private const int ManyClients = FanOutPass.SplitAt + 40;

    private static Task<EngineHost> StartAsync(Dictionary<string, string>? scripts = null) =>
        EngineHost.StartAsync(scripts ?? new Dictionary<string, string> { ["feed.js"] = Script }, kestrel: true);

    private static async Task<SseReader[]> OpenAsync(EngineHost host, int count, string path)
    {
        var readers = new SseReader[count];
        for (var i = 0; i < count; i += 50)
        {
            var opened = await Task.WhenAll(Enumerable.Range(i, Math.Min(50, count - i)).Select(_ => SseReader.OpenAsync(host.Client, path)));
            opened.CopyTo(readers, i);
        }

        // retry: is out, so each writer has opened its gate: from now on the fan-out sends directly.
        await Task.WhenAll(readers.Select(r => r.ReadUntilAsync(f => f.Count > 0, TimeSpan.FromSeconds(60))));
        return readers;
    }

    private static List<long> Ids(SseReader reader) =>
        [.. reader.Messages.Select(m => long.Parse(m.Id!, CultureInfo.InvariantCulture))];

    [Fact]
    public async Task ManyClients_RacingPublishers_AndLateJoiners_EachGetEveryMessageOnceInOrder()
    {
        await using var host = await StartAsync();
        var readers = await OpenAsync(host, ManyClients, "/feed");
        await StreamEndpointTests.WaitForConnectionsAsync(host, ManyClients);

        // Two publishers race; half-way, clients join with the id they last saw.
        var first = host.Client.PostAsync("/publish-many?tag=p&count=60", null);
        var second = host.Client.PostAsync("/publish-many?tag=q&count=60", null);
        Assert.Equal($"{60 * ManyClients}", await (await first).Content.ReadAsStringAsync());
        var b = StreamEndpointTests.IdBase(host, "/feed");
        var joinedAfter = b + 30;
        var late = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => SseReader.OpenAsync(host.Client, "/feed", $"{joinedAfter}")));
        await second;
        using var third = await host.Client.PostAsync("/publish-many?tag=r&count=30", null);
        third.EnsureSuccessStatusCode();

        const int total = 150;
        var expected = Enumerable.Range(1, total).Select(i => b + i).ToList();
        foreach (var reader in readers)
        {
            await reader.ReadMessagesAsync(total, TimeSpan.FromSeconds(60));
            Assert.Equal(expected, Ids(reader));
        }

        // Every publisher's messages in its own order, the same interleaving for every client.
        var data = readers[0].Messages.Select(m => m.Data!).ToList();
        foreach (var tag in new[] { "p", "q", "r" })
        {
            var mine = data.Where(d => d.StartsWith(tag + ":", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(1, tag == "r" ? 30 : 60).Select(i => $"{tag}:{i}"), mine);
        }

        Assert.All(readers, r => Assert.Equal(data, r.Messages.Select(m => m.Data!)));

        // A late joiner: the replay after its id, then live, with no gap and no repeat.
        foreach (var reader in late)
        {
            await reader.ReadMessagesAsync(total - 30, TimeSpan.FromSeconds(60));
            Assert.Equal(expected.Skip(30), Ids(reader));
        }

        foreach (var reader in readers.Concat(late))
        {
            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task Filters_OverTheDirectPath_EachClientGetsOnlyItsMessages_InOrder()
    {
        await using var host = await StartAsync();
        var a = await OpenAsync(host, 3, "/feed?room=a");
        var bRoom = await OpenAsync(host, 3, "/feed?room=b");
        var everyone = await OpenAsync(host, 2, "/feed");
        await StreamEndpointTests.WaitForConnectionsAsync(host, 8);

        // One burst mixes messages for a, for b and for everyone: a fan-out pass holds all three kinds.
        const int count = 300;
        using var publish = await host.Client.PostAsync($"/publish-rooms?count={count}", null);
        publish.EnsureSuccessStatusCode();

        static IEnumerable<string> Expected(Func<int, bool> mine) =>
            Enumerable.Range(1, count).Where(mine).Select(i => (i % 3 == 0 ? "all" : i % 3 == 1 ? "a" : "b") + ":" + i);

        foreach (var reader in a)
        {
            var want = Expected(i => i % 3 != 2).ToList();
            await reader.ReadMessagesAsync(want.Count, TimeSpan.FromSeconds(60));
            Assert.Equal(want, reader.Messages.Select(m => m.Data!));
        }

        foreach (var reader in bRoom)
        {
            var want = Expected(i => i % 3 != 1).ToList();
            await reader.ReadMessagesAsync(want.Count, TimeSpan.FromSeconds(60));
            Assert.Equal(want, reader.Messages.Select(m => m.Data!));
        }

        // No metadata: only the unfiltered messages (a filtered one reaches only connections whose metadata holds it).
        foreach (var reader in everyone)
        {
            var want = Expected(i => i % 3 == 0).ToList();
            await reader.ReadMessagesAsync(want.Count, TimeSpan.FromSeconds(60));
            Assert.Equal(want, reader.Messages.Select(m => m.Data!));
        }

        foreach (var reader in a.Concat(bRoom).Concat(everyone))
        {
            Assert.Equal(Ids(reader).Order(), Ids(reader));
            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task AStreamThatIsRemoved_DeliversEverythingPublishedBefore_ThenEnds()
    {
        await using var host = await StartAsync();
        var readers = await OpenAsync(host, 20, "/feed");
        await StreamEndpointTests.WaitForConnectionsAsync(host, 20);

        // The stream goes away right after a burst, while the fan-out may still be delivering it.
        using var publish = await host.Client.PostAsync("/publish-many?tag=x&count=200", null);
        Assert.Equal("4000", await publish.Content.ReadAsStringAsync());
        await host.DeleteScriptAsync("feed.js");

        foreach (var reader in readers)
        {
            Assert.True(await reader.WaitForEndAsync(TimeSpan.FromSeconds(60)), "the stream ends");
            Assert.Equal(Enumerable.Range(1, 200).Select(i => $"x:{i}"), reader.Messages.Select(m => m.Data!));
            await reader.DisposeAsync();
        }

        await StreamEndpointTests.WaitForConnectionsAsync(host, 0);
    }

    [Fact]
    public async Task ManyGraphQLSseClients_OfOneSharedExecution_GetEveryEventOnceInOrder_ThenComplete()
    {
        const string Ticks = """
            registerGraphQLSubscription("ticks", "type Subscription { ticks: String }", null);
            register("/tick", (req) => {
              for (let i = 1; i <= Number(req.query.count); i++) sendSubscriptionMessage("ticks", "t" + i);
              return { body: "ok" };
            }, "POST");
            """;
        await using var host = await StartAsync(new Dictionary<string, string> { ["ticks.js"] = Ticks });
        const string Body = """{"query":"subscription { ticks }"}""";
        var readers = new SseReader[ManyClients];
        for (var i = 0; i < ManyClients; i += 50)
        {
            var opened = await Task.WhenAll(Enumerable.Range(i, Math.Min(50, ManyClients - i))
                .Select(_ => SseReader.OpenAsync(host.Client, GraphQLHttpTests.Post("/graphql/sse", Body))));
            opened.CopyTo(readers, i);
        }

        var bus = host.Services.GetRequiredService<ITopicBus>();
        for (var i = 0; i < 1000 && bus.GetStats("graphql:ticks")?.Subscribers != ManyClients; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(ManyClients, bus.GetStats("graphql:ticks")!.Subscribers);
        Assert.Equal(1, host.Services.GetRequiredService<GraphQLOperations>().SharedExecutions);

        const int count = 100;
        using (var tick = await host.Client.PostAsync($"/tick?count={count}", null))
        {
            tick.EnsureSuccessStatusCode();
        }

        var expected = Enumerable.Range(1, count).Select(i => "{\"data\":{\"ticks\":\"t" + i + "\"}}").ToList();
        foreach (var reader in readers)
        {
            await reader.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= count, TimeSpan.FromSeconds(60));
        }

        await host.DeleteScriptAsync("ticks.js");
        foreach (var reader in readers)
        {
            Assert.True(await reader.WaitForEndAsync(TimeSpan.FromSeconds(60)), "complete ends the stream");
            Assert.Equal(expected, reader.Messages.Where(m => m.Event == "next").Select(m => m.Data!));
            Assert.Equal("complete", reader.Messages[^1].Event);
            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task GraphQLSseClients_JoiningWhileEventsFlow_GetTheirFirstEventFirst_ThenTheSharedOnesInOrder()
    {
        const string Ticks = """
            registerGraphQLSubscription("ticks", "type Subscription { ticks: String }", () => "first");
            register("/tick", (req) => {
              for (let i = 1; i <= Number(req.query.count); i++) sendSubscriptionMessage("ticks", req.query.from + ":" + i);
              return { body: "ok" };
            }, "POST");
            """;
        await using var host = await StartAsync(new Dictionary<string, string> { ["ticks.js"] = Ticks });
        const string Body = """{"query":"subscription { ticks }"}""";

        // Events flow the whole time clients join: each joins between two passes, or during one.
        using var stop = new CancellationTokenSource();
        var ticking = Task.Run(async () =>
        {
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                using var tick = await host.Client.PostAsync($"/tick?from={round}&count=20", null);
                tick.EnsureSuccessStatusCode();
            }
        });
        var readers = new List<SseReader>();
        for (var i = 0; i < 30; i++)
        {
            readers.Add(await SseReader.OpenAsync(host.Client, GraphQLHttpTests.Post("/graphql/sse", Body)));
        }

        foreach (var reader in readers)
        {
            await reader.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= 40, TimeSpan.FromSeconds(60));
        }

        await stop.CancelAsync();
        await ticking;
        foreach (var reader in readers)
        {
            var data = reader.Messages.Where(m => m.Event == "next").Select(m => m.Data!).ToList();
            Assert.Equal("""{"data":{"ticks":"first"}}""", data[0]);
            var shared = data.Skip(1).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("data").GetProperty("ticks").GetString()!)
                .Select(t => (Round: int.Parse(t.Split(':')[0], CultureInfo.InvariantCulture), N: int.Parse(t.Split(':')[1], CultureInfo.InvariantCulture)))
                .ToList();
            for (var i = 1; i < shared.Count; i++)
            {
                var (round, n) = shared[i - 1];
                Assert.Equal(n == 20 ? (round + 1, 1) : (round, n + 1), shared[i]);
            }

            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task FanOutQueue_DeliversEveryItemOnce_InEachProducersOrder_InBatches()
    {
        var seen = new List<(int Producer, int Item)>();
        var batches = 0;
        var done = new TaskCompletionSource();
        const int producers = 4;
        const int items = 5000;
        var queue = new FanOutQueue<(int, int)>(batch =>
        {
            batches++;
            seen.AddRange(batch); // one pass at a time: no lock needed
            if (seen.Count == producers * items)
            {
                done.SetResult();
            }
        });

        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(() =>
        {
            for (var i = 0; i < items; i++)
            {
                queue.Post((p, i));
            }
        })));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(producers * items, seen.Count);
        for (var p = 0; p < producers; p++)
        {
            Assert.Equal(Enumerable.Range(0, items), seen.Where(s => s.Producer == p).Select(s => s.Item));
        }

        Assert.True(batches < producers * items, "items posted during a pass are delivered together");
    }

    [Fact]
    public void FanOutPass_ReachesEveryTargetOnce_CountsDirectSends_AndReportsAFailure()
    {
        var targets = Enumerable.Range(0, 3 * FanOutPass.SplitAt).ToArray();
        var hits = new int[targets.Length];
        var sent = FanOutPass.Run(targets, hits, static (t, h) => Interlocked.Increment(ref h[t]) == 1 && t % 3 == 0);
        Assert.All(hits, h => Assert.Equal(1, h));
        Assert.Equal(FanOutPass.SplitAt, sent);

        // A delivery that throws (on either thread) does not stop the others; the pass reports it.
        var reached = new int[targets.Length];
        var failure = Assert.Throws<AggregateException>(() =>
            FanOutPass.Run(targets, reached, static (t, r) =>
            {
                Interlocked.Increment(ref r[t]);
                return t == 0 || t == r.Length - 1 ? throw new InvalidOperationException("boom " + t) : true;
            }));
        Assert.All(reached, r => Assert.Equal(1, r));
        Assert.Equal(2, failure.InnerExceptions.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(4097)]
    [InlineData(65536)]
    public void AChunk_IsHexSize_Crlf_Frames_Crlf_OfExactlyItsLength(int size)
    {
        List<ReadOnlyMemory<byte>> frames = [new byte[size / 2], Enumerable.Repeat((byte)'z', size - (size / 2)).ToArray()];
        var chunk = DirectSendGate.Chunk(frames, 0, 2, static f => f);
        var header = size.ToString("x", CultureInfo.InvariantCulture) + "\r\n";
        Assert.Equal(DirectSendGate.ChunkLength(size), chunk.Length);
        Assert.Equal(header, System.Text.Encoding.ASCII.GetString(chunk, 0, header.Length));
        Assert.Equal(size, chunk.Length - header.Length - 2);
        Assert.Equal("\r\n"u8.ToArray(), chunk[^2..]);
        Assert.Equal((byte)'z', chunk[^3]);
    }
}
