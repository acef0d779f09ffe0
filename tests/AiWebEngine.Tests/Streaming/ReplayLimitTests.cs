using System.Globalization;
using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Streaming;

/// <summary>
/// The replay bounds through the HTTP surface: a script that fills many streams with the largest
/// messages stays within the configured bytes (read back from <c>/engine/streams</c>), and
/// <c>Last-Event-ID: 0</c> against a full window gets at most the per-request bytes, over a real socket.
/// </summary>
public sealed class ReplayLimitTests
{
    private const int MiB = 1024 * 1024;

    // Six streams and a subscription per script; /fill sends n messages of 1 MiB (the message limit) to one of them.
    private static string Filler(string name) => $$"""
        for (let i = 0; i < 6; i++) registerWebStream("/{{name}}/" + i);
        registerGraphQLSubscription("{{name}}Ticks", "type Subscription { {{name}}Ticks: String }", null);
        const big = "x".repeat(1024 * 1024);
        register("/{{name}}/fill", (req) => {
          const n = Number(req.query.n);
          for (let k = 0; k < n; k++) {
            if (req.query.path) sendStreamMessageToPath(req.query.path, big); else sendSubscriptionMessage("{{name}}Ticks", big);
          }
          return { body: "ok" };
        }, "POST");
        """;

    [Fact]
    public async Task AScriptFillingManyStreamsWithOneMiBMessages_KeepsReplayBytesUnderTheStreamScriptAndProcessBounds()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["a.js"] = Filler("a"), ["b.js"] = Filler("b") },
            new Dictionary<string, string?>
            {
                ["AiWebEngine:Streams:ReplayMaxBytes"] = (4 * MiB).ToString(CultureInfo.InvariantCulture),
                ["AiWebEngine:Streams:ReplayMaxScriptBytes"] = (12 * MiB).ToString(CultureInfo.InvariantCulture),
                ["AiWebEngine:Streams:ReplayMaxTotalBytes"] = (16 * MiB).ToString(CultureInfo.InvariantCulture),
            });

        // 12 streams x 64 messages of 1 MiB, and 16 more on a subscription: 784 MiB sent in all.
        foreach (var script in new[] { "a", "b" })
        {
            for (var i = 0; i < 6; i++)
            {
                var sent = await host.Client.PostAsync($"/{script}/fill?n=64&path=/{script}/{i}", null);
                Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsync("/a/fill?n=16", null)).StatusCode);

        var streams = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/streams"));
        var kept = streams.GetProperty("streams").EnumerateArray().ToDictionary(s => s.GetProperty("path").GetString()!, s => s.GetProperty("replayBytes").GetInt64());
        var total = streams.GetProperty("replayBytes").GetInt64();
        Assert.Equal(12, kept.Count);
        Assert.All(kept.Values, bytes => Assert.InRange(bytes, MiB, 4 * MiB));
        Assert.InRange(kept.Where(k => k.Key.StartsWith("/b/", StringComparison.Ordinal)).Sum(k => k.Value), 1, 12 * MiB);
        Assert.InRange(total, 1, 16 * MiB);
        // The subscription's window is counted too: the total is more than the streams'.
        Assert.True(total > kept.Values.Sum(), $"total {total}, streams {kept.Values.Sum()}");

        // What is kept is each stream's newest: a client one message behind gets exactly that one.
        var last = streams.GetProperty("streams").EnumerateArray().First().GetProperty("lastId").GetInt64();
        var path = streams.GetProperty("streams").EnumerateArray().First().GetProperty("path").GetString()!;
        await using var resumed = await SseReader.OpenAsync(host.Client, path, (last - 1).ToString(CultureInfo.InvariantCulture));
        var frame = (await resumed.ReadMessagesAsync(1, TimeSpan.FromSeconds(30))).Single(f => f.Data is not null);
        Assert.Equal(last.ToString(CultureInfo.InvariantCulture), frame.Id);
    }

    private const string Feed = """
        registerWebStream("/feed");
        registerGraphQLSubscription("feed", "type Subscription { feed: String }", null);
        const chunk = "y".repeat(16 * 1024);
        register("/fill", () => {
          for (let i = 0; i < 256; i++) {
            sendStreamMessageToPath("/feed", chunk + String(i).padStart(3, "0"));
            sendSubscriptionMessage("feed", chunk + String(i).padStart(3, "0"));
          }
          return { body: "ok" };
        }, "POST");
        register("/live", () => ({ body: String(sendStreamMessageToPath("/feed", "live") + sendSubscriptionMessage("feed", "live")) }), "POST");
        """;

    [Theory]
    [InlineData("/feed")]
    [InlineData("/graphql/subscription/feed")]
    public async Task LastEventIdZero_AgainstAFullWindow_GetsAtMostTheRequestBound_TheNewestMessages_AfterAComment(string path)
    {
        const int cap = 256 * 1024;
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["feed.js"] = Feed },
            new Dictionary<string, string?>
            {
                ["AiWebEngine:Streams:ReplayMaxBytes"] = (64 * MiB).ToString(CultureInfo.InvariantCulture),
                ["AiWebEngine:Streams:MaxReplayBytesPerRequest"] = cap.ToString(CultureInfo.InvariantCulture),
            },
            kestrel: true);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsync("/fill", null)).StatusCode);

        // An 80-byte header asks for everything since the beginning: 256 messages, 4 MiB, are kept.
        await using var client = await SseReader.OpenAsync(host.Client, path, "0");
        await client.ReadUntilAsync(frames => frames.Count >= 1, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await host.Client.PostAsync("/live", null)).StatusCode);
        await client.ReadUntilAsync(frames => frames.Any(f => f.Data == "live"), TimeSpan.FromSeconds(30));

        var replay = client.Raw[..client.Raw.IndexOf("data: live\n", StringComparison.Ordinal)];
        var messages = SseReader.Parse(replay).Where(f => f.Data is not null).ToList();
        // 16 KiB + 3 bytes a message: 15 fit in 256 KiB. Framing is a few dozen bytes a message.
        Assert.Equal(15, messages.Count);
        Assert.InRange(replay.Length, cap - 16_500, cap + 15 * 64 + 512);
        Assert.Equal(Enumerable.Range(241, 15).Select(i => new string('y', 16 * 1024) + i.ToString("000", CultureInfo.InvariantCulture)), messages.Select(f => f.Data));
        var ids = messages.Select(f => long.Parse(f.Id!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(0, 15).Select(i => ids[0] + i), ids);
        // The client is told it missed some: a comment first, and the first id is not the one after its own.
        Assert.Contains(": replay cut: 241 older kept messages were not sent, only the newest 15 (AiWebEngine:Streams:MaxReplayBytesPerRequest is 262144 bytes)\n\n", replay, StringComparison.Ordinal);
        Assert.True(replay.IndexOf(": replay cut", StringComparison.Ordinal) < replay.IndexOf("id: ", StringComparison.Ordinal));

        // The server is fine: the next request with a small gap gets all of it.
        await using var small = await SseReader.OpenAsync(host.Client, path, ids[^2].ToString(CultureInfo.InvariantCulture));
        var tail = await small.ReadMessagesAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal([ids[^1].ToString(CultureInfo.InvariantCulture)], tail.Where(f => f.Data is not null).Take(1).Select(f => f.Id));
        Assert.DoesNotContain("replay cut", small.Raw, StringComparison.Ordinal);
        _ = JsonDocument.Parse(await host.Client.GetStringAsync("/health"));
    }
}
