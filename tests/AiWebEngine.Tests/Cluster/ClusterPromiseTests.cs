using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Streaming;
using AiWebEngine.Streaming.Redis;
using AiWebEngine.Tests.Infrastructure;
using StackExchange.Redis;

namespace AiWebEngine.Tests.Cluster;

/// <summary>
/// What README's "Running a cluster" promises, each on a Redis of the test's own: an instance killed
/// (<c>SIGKILL</c>, a child process) mid-stream, its clients resuming elsewhere; two instances changing
/// one script at once; the outbox after a Redis outage; two clusters on one Redis, told apart by their
/// key prefix; and the <c>StreamLength</c> trim.
/// </summary>
public sealed class ClusterPromiseTests
{
    private const string Chat = """
        registerWebStream("/chat");
        register("/send", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        register("/burst", (req) => {
          const n = Number(req.query.n);
          const from = Number(req.query.from || 0);
          for (let i = from; i < from + n; i++) sendStreamMessage(req.query.p + i);
          return { body: String(n) };
        }, "POST");
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string?> Settings(RedisServer redis, string? prefix = null, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AiWebEngine:Bus:Redis"] = redis.ConnectionString,
            ["AiWebEngine:Bus:PollInterval"] = "00:00:00.500",
        };
        if (prefix is not null)
        {
            settings["AiWebEngine:Bus:KeyPrefix"] = prefix;
        }

        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static Task<EngineHost> StartAsync(RedisServer redis, string? prefix = null, params (string Key, string Value)[] extra) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["chat.js"] = Chat }, Settings(redis, prefix, extra), kestrel: true);

    private static async Task SendAsync(HttpClient client, string text)
    {
        var response = await client.PostAsync("/send", new StringContent(text));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task BurstAsync(HttpClient client, string prefix, int count)
    {
        var response = await client.PostAsync($"/burst?p={prefix}&n={count}", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static Task<List<SseFrame>> ReadAsync(SseReader client, int count) => ClusterWaits.ReadAsync(client, count, Patience);

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => ClusterWaits.WaitUntilAsync(condition, what, Patience);

    private static Task<string> ReadyStatusAsync(EngineHost host) => ClusterWaits.ReadyStatusAsync(host);

    private static RedisTopicBus Bus(EngineHost host) => (RedisTopicBus)host.Services.GetService(typeof(ITopicBus))!;

    private static async Task<SseReader> ConnectAsync(HttpClient client, string? lastEventId = null)
    {
        var reader = await SseReader.OpenAsync(client, "/chat", lastEventId);
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        await reader.ReadUntilAsync(f => f.Count >= 1, Patience);
        return reader;
    }

    [Fact]
    public async Task AnInstanceKilledMidStream_ItsClientsResumeOnAnother_WithLastEventId_GettingEveryMessageOnce_InOrder()
    {
        const int Total = 120;
        await using var redis = await RedisServer.StartAsync();
        var scripts = Directory.CreateTempSubdirectory("aiwebengine-killed-").FullName;
        await File.WriteAllTextAsync(Path.Combine(scripts, "chat.js"), Chat);
        try
        {
            await using var survivor = await StartAsync(redis);
            await using var doomed = await EngineProcess.StartAsync(scripts, Settings(redis));
            var clients = new List<SseReader>();
            for (var i = 0; i < 5; i++)
            {
                clients.Add(await ConnectAsync(doomed.Client));
            }

            // Published on the survivor at a steady pace, before, during and after the kill.
            using var stop = new CancellationTokenSource();
            var sent = 0;
            var publisher = Task.Run(async () =>
            {
                for (var i = 0; i < Total; i++)
                {
                    await SendAsync(survivor.Client, $"m{i}");
                    Volatile.Write(ref sent, i + 1);
                    await Task.Delay(20);
                }
            });

            // Mid-stream: every client has part of the messages, and more are on their way.
            await Task.WhenAll(clients.Select(c => c.ReadMessagesAsync(20, Patience)));
            await doomed.KillAsync();
            Assert.True(Volatile.Read(ref sent) < Total, "the publisher finished before the kill; nothing was sent while the instance was dead");

            var resumed = new List<(List<SseFrame> Before, SseReader After)>();
            foreach (var client in clients)
            {
                Assert.True(await client.WaitForEndAsync(Patience), "a client of the killed instance did not see its connection end");
                var before = client.Messages.ToList();
                await client.DisposeAsync();
                resumed.Add((before, await ConnectAsync(survivor.Client, before[^1].Id)));
            }

            await publisher;
            foreach (var (before, after) in resumed)
            {
                await after.ReadMessagesAsync(Total - before.Count, Patience);
                var all = before.Concat(after.Messages).ToList();
                Assert.Equal(Enumerable.Range(0, Total).Select(i => $"m{i}"), all.Select(f => f.Data));
                var ids = all.Select(f => long.Parse(f.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
                Assert.Equal(ids.Order(), ids);
                Assert.Equal(Total, ids.Distinct().Count());
                await after.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(scripts, recursive: true);
        }
    }

    [Fact]
    public async Task TwoInstancesChangingTheSameScriptAtOnce_EndOnTheSameVersion_TheLastInTheStream()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis);
        await using var b = await StartAsync(redis);

        static async Task UploadAsync(EngineHost host, string version)
        {
            var response = await host.Client.PutAsync("/engine/scripts/hello.js", new StringContent($$"""register("/hello", () => ({ body: "{{version}}" }));""", Encoding.UTF8, "text/javascript"));
            Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{version}: {(int)response.StatusCode}");
        }

        // Ten versions each, both instances at once.
        await Task.WhenAll(
            Task.Run(async () => { for (var i = 0; i < 10; i++) await UploadAsync(a, $"a{i}"); }),
            Task.Run(async () => { for (var i = 0; i < 10; i++) await UploadAsync(b, $"b{i}"); }));

        // The winner is the change Redis's stream holds last for the script, once all twenty are in it
        // (an upload is answered before its change is appended).
        using var redisClient = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        StreamEntry[] changes = [];
        await WaitUntilAsync(async () =>
        {
            changes = [.. (await redisClient.GetDatabase().StreamRangeAsync("aiwebengine:scripts", "-", "+", messageOrder: Order.Descending)).Where(e => e["u"] == "hello.js")];
            return changes.Length == 20;
        }, "every upload is in the cluster's stream of changes");
        var last = changes[0];
        var winner = System.Text.RegularExpressions.Regex.Match((string)last["s"]!, "body: \"([ab][0-9])\"").Groups[1].Value;
        Assert.True(winner is "a9" or "b9", $"the last change in the stream is {winner}, not either instance's last upload");

        foreach (var host in new[] { a, b })
        {
            await WaitUntilAsync(async () => await host.Client.GetStringAsync("/hello") == winner, $"{host.BaseAddress} serves {winner}");
            // The file is written after the version is activated.
            await WaitUntilAsync(async () => (await File.ReadAllTextAsync(Path.Combine(host.ScriptsDirectory, "hello.js"))).Contains(winner, StringComparison.Ordinal), $"{host.BaseAddress}'s scripts directory holds {winner}");
        }

        // And it stays so: nothing later undoes it on either, in memory or on disk.
        await Task.Delay(1500);
        foreach (var host in new[] { a, b })
        {
            Assert.Equal(winner, await host.Client.GetStringAsync("/hello"));
            Assert.Contains(winner, await File.ReadAllTextAsync(Path.Combine(host.ScriptsDirectory, "hello.js")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MessagesSentWhileRedisIsAway_WaitInTheOutbox_ThenReachEveryClientOnce_InOrder()
    {
        const int PerInstance = 500;
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis);
        await using var b = await StartAsync(redis);
        await using var onA = await ConnectAsync(a.Client);
        await using var onB = await ConnectAsync(b.Client);
        await SendAsync(a.Client, "before");
        await ReadAsync(onA, 1);
        await ReadAsync(onB, 1);

        await redis.StopAsync();
        foreach (var host in new[] { a, b })
        {
            await WaitUntilAsync(async () => await ReadyStatusAsync(host) == "Degraded", "the instance reports degraded readiness");
        }

        await BurstAsync(a.Client, "a", PerInstance);
        await BurstAsync(b.Client, "b", PerInstance);
        // Held, not lost: the writer may hold one of them in its retry loop.
        Assert.InRange(Bus(a).OutboxCount, PerInstance - 1, PerInstance);
        Assert.InRange(Bus(b).OutboxCount, PerInstance - 1, PerInstance);

        await redis.StartAgainAsync();
        foreach (var host in new[] { a, b })
        {
            await WaitUntilAsync(() => Task.FromResult(Bus(host).OutboxCount == 0), "the outbox drains");
        }

        await SendAsync(a.Client, "after");
        List<(string?, string?)>? reference = null;
        foreach (var client in new[] { onA, onB })
        {
            var messages = await ReadAsync(client, (2 * PerInstance) + 2);
            var data = messages.Select(f => f.Data!).ToList();
            Assert.Equal("before", data[0]);
            Assert.Equal("after", data[^1]);
            // Every message once; each instance's own in the order it sent them.
            Assert.Equal(Enumerable.Range(0, PerInstance).Select(i => $"a{i}"), data.Where(d => d.StartsWith('a') && d != "after"));
            Assert.Equal(Enumerable.Range(0, PerInstance).Select(i => $"b{i}"), data.Where(d => d.StartsWith('b') && d != "before"));
            var frames = messages.Select(f => (f.Id, f.Data)).ToList();
            Assert.Equal(frames.Count, frames.Select(f => f.Id).Distinct().Count());
            reference ??= frames;
            Assert.Equal(reference, frames);
        }
    }

    [Fact]
    public async Task TwoClustersOnOneRedis_WithTheirOwnKeyPrefixes_ShareNoMessageScriptOrKey()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var one1 = await StartAsync(redis, "one:");
        await using var one2 = await StartAsync(redis, "one:");
        await using var two = await StartAsync(redis, "two:");
        await using var clientOfOne = await ConnectAsync(one2.Client);
        await using var clientOfTwo = await ConnectAsync(two.Client);

        // The same path in both clusters: each message stays in its own.
        await SendAsync(one1.Client, "for one");
        await SendAsync(two.Client, "for two");
        await SendAsync(one1.Client, "for one again");
        Assert.Equal(["for one", "for one again"], (await ReadAsync(clientOfOne, 2)).Select(f => f.Data));
        Assert.Equal(["for two"], (await ReadAsync(clientOfTwo, 1)).Select(f => f.Data));

        // A script uploaded in one cluster serves on all of its instances, and on none of the other's.
        var put = await one1.Client.PutAsync("/engine/scripts/hello.js", new StringContent("""register("/hello", () => ({ body: "one" }));""", Encoding.UTF8, "text/javascript"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await WaitUntilAsync(async () => (await one2.Client.GetAsync("/hello")).StatusCode == HttpStatusCode.OK, "the cluster's other instance serves /hello");
        put = await two.Client.PutAsync("/engine/scripts/marker.js", new StringContent("""register("/marker", () => ({ body: "two" }));""", Encoding.UTF8, "text/javascript"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await WaitUntilAsync(async () => await ReadyStatusAsync(two) == "Healthy", "the other cluster is caught up");
        Assert.Equal(HttpStatusCode.NotFound, (await two.Client.GetAsync("/hello")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await one2.Client.GetAsync("/marker")).StatusCode);
        Assert.Equal("one", await one2.Client.GetStringAsync("/hello"));

        // Every key and channel the engine uses carries its cluster's prefix.
        using var redisClient = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = redisClient.GetServer(redis.ConnectionString);
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: "*"))
        {
            keys.Add(key!);
        }

        Assert.Contains(keys, k => k.StartsWith("one:", StringComparison.Ordinal));
        Assert.Contains(keys, k => k.StartsWith("two:", StringComparison.Ordinal));
        Assert.All(keys, k => Assert.True(k.StartsWith("one:", StringComparison.Ordinal) || k.StartsWith("two:", StringComparison.Ordinal), k));
        // StackExchange.Redis's own configuration channel (configChannel in the connection string) aside.
        var channels = (await server.SubscriptionChannelsAsync()).Select(c => c.ToString()).Where(c => c != "__Booksleeve_MasterChanged").ToList();
        Assert.NotEmpty(channels);
        Assert.All(channels, c => Assert.True(c.StartsWith("one:", StringComparison.Ordinal) || c.StartsWith("two:", StringComparison.Ordinal), c));
    }

    [Fact]
    public async Task ATopicKeepsAboutStreamLengthMessagesInRedis_AndAnInstanceThatJoinsLaterReplaysOnlyThose()
    {
        const int StreamLength = 100;
        const int Sent = 1_000;
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis, extra: ("AiWebEngine:Bus:StreamLength", StreamLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var onA = await ConnectAsync(a.Client);

        // In bursts the instances keep up with (see the next test for one they do not).
        for (var i = 0; i < Sent; i += 50)
        {
            var response = await a.Client.PostAsync($"/burst?p=m&n=50&from={i}", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await ReadAsync(onA, i + 50);
        }

        var live = await ReadAsync(onA, Sent);
        Assert.Equal(Enumerable.Range(0, Sent).Select(i => $"m{i}"), live.Select(f => f.Data));

        // The reader trims (XTRIM MAXLEN ~) once caught up, just after it has read: MAXLEN ~ keeps at
        // least StreamLength, and at most one of Redis's stream nodes (100 entries) more.
        using var redisClient = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        long kept = 0;
        await WaitUntilAsync(async () => (kept = await redisClient.GetDatabase().StreamLengthAsync("aiwebengine:topic:stream:/chat")) <= StreamLength + 100, "the caught-up reader has trimmed the topic");
        Assert.InRange(kept, StreamLength, StreamLength + 100);

        // An instance that never followed the topic replays from Redis: the newest `kept` messages, in
        // order, with the ids every instance gives them; the older ones are gone.
        await using var b = await StartAsync(redis, extra: ("AiWebEngine:Bus:StreamLength", StreamLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var late = await ConnectAsync(b.Client, lastEventId: "0");
        var replayed = await ReadAsync(late, (int)kept);
        Assert.Equal(Enumerable.Range(Sent - (int)kept, (int)kept).Select(i => $"m{i}"), replayed.Select(f => f.Data));
        Assert.Equal(live.Skip(Sent - (int)kept).Select(f => f.Id), replayed.Select(f => f.Id));
        await SendAsync(a.Client, "next");
        Assert.Equal("next", (await ReadAsync(late, (int)kept + 1))[^1].Data);
    }

    /// <summary>
    /// README: "an instance away from Redis for longer than StreamLength messages of a topic loses the
    /// oldest of them", so an instance that stays connected loses none. Every instance, the sending one
    /// included, delivers a topic's messages as it reads them back from Redis, so a burst of more than
    /// StreamLength messages in one go must still reach the sender's own clients.
    /// </summary>
    [Fact]
    public async Task ABurstOfMoreThanStreamLengthMessages_ReachesTheSendingInstancesOwnClients_WithNoneLost()
    {
        const int StreamLength = 100;
        const int Sent = 1_000;
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis, extra: ("AiWebEngine:Bus:StreamLength", StreamLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var onA = await ConnectAsync(a.Client);

        await BurstAsync(a.Client, "m", Sent);

        Assert.Equal(Enumerable.Range(0, Sent).Select(i => $"m{i}"), (await ReadAsync(onA, Sent)).Select(f => f.Data));
    }

    /// <summary>
    /// README: the writer only caps a topic at about 16 × StreamLength (its readers trim it to
    /// StreamLength once caught up), so a topic that no instance follows (no reader ever trims it) still
    /// cannot grow without bound, and holds more than StreamLength for a reader that is behind.
    /// </summary>
    [Fact]
    public async Task ATopicNoInstanceFollows_IsCappedAtSixteenTimesStreamLength_NotTrimmedToStreamLengthByTheWriter()
    {
        const int StreamLength = 16;
        const int Cap = 16 * StreamLength;
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis, extra: ("AiWebEngine:Bus:StreamLength", StreamLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        await BurstAsync(a.Client, "m", 1_000);
        await WaitUntilAsync(() => Task.FromResult(Bus(a).OutboxCount == 0), "the outbox drains");

        // MAXLEN ~: at least the cap, and at most one of Redis's stream nodes (100 entries) more.
        using var redisClient = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.InRange(await redisClient.GetDatabase().StreamLengthAsync("aiwebengine:topic:stream:/chat"), Cap, Cap + 100);
    }
}
