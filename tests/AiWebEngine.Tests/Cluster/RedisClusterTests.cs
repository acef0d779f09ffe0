using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Cluster;

/// <summary>
/// Three engine instances on three loopback ports (real Kestrel sockets) on one Redis of the test's
/// own: cross-instance delivery, one order and one set of ids, replay after a change of instance,
/// script propagation and a Redis restart.
/// </summary>
public sealed class RedisClusterTests
{
    private const string Chat = """
        registerWebStream("/chat");
        register("/send", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        register("/send-to", (req) => ({ body: String(sendStreamMessageToPath("/chat", req.body, { room: req.query.room })) }), "POST");
        registerGraphQLSubscription("ticks", "type Subscription { ticks: String }", null);
        register("/tick", (req) => ({ body: String(sendSubscriptionMessage("ticks", req.body)) }), "POST");
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static async Task<EngineHost[]> StartClusterAsync(RedisServer redis, int count, string? sharedScripts = null, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var hosts = new List<EngineHost>();
        for (var i = 0; i < count; i++)
        {
            var settings = new Dictionary<string, string?>
            {
                ["AiWebEngine:Bus:Redis"] = redis.ConnectionString,
                ["AiWebEngine:Bus:PollInterval"] = "00:00:00.500",
            };
            if (sharedScripts is not null)
            {
                settings["AiWebEngine:Scripts:Path"] = sharedScripts;
            }

            foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
            {
                settings[key] = value;
            }

            hosts.Add(await EngineHost.StartAsync(sharedScripts is null ? new Dictionary<string, string> { ["chat.js"] = Chat } : null, settings, kestrel: true));
        }

        return [.. hosts];
    }

    private static async Task DisposeAllAsync(IEnumerable<EngineHost> hosts)
    {
        foreach (var host in hosts)
        {
            await host.DisposeAsync();
        }
    }

    private static async Task<int> SendAsync(EngineHost host, string text, string path = "/send")
    {
        var response = await host.Client.PostAsync(path, new StringContent(text));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return int.Parse(await response.Content.ReadAsStringAsync());
    }

    private static Task<List<SseFrame>> ReadAsync(SseReader client, int count) => ClusterWaits.ReadAsync(client, count, Patience);

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => ClusterWaits.WaitUntilAsync(condition, what, Patience);

    private static Task<string> ReadyStatusAsync(EngineHost host) => ClusterWaits.ReadyStatusAsync(host);

    [Fact]
    public async Task Messages_ReachEveryClientOfEveryInstance_InOneOrder_WithTheSameIds()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 3);
        var clients = new List<SseReader>();
        try
        {
            foreach (var host in hosts)
            {
                for (var i = 0; i < 2; i++)
                {
                    var client = await SseReader.OpenAsync(host.Client, "/chat");
                    await client.ReadUntilAsync(f => f.Count >= 1);
                    clients.Add(client);
                }
            }

            // Published in turn on each instance; each POST returns once its message is queued.
            const int count = 30;
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(2, await SendAsync(hosts[i % 3], $"m{i}"));
            }

            var received = new List<List<SseFrame>>();
            foreach (var client in clients)
            {
                received.Add(await ReadAsync(client, count));
            }

            // One order everywhere: Redis's. Each instance's own messages keep the order they were sent in
            // (messages of different instances are ordered by when they reach Redis).
            var first = received[0].Select(f => (f.Id, f.Data)).ToList();
            Assert.Equal(Enumerable.Range(0, count).Select(i => $"m{i}").Order(), first.Select(f => f.Data!).Order());
            for (var instance = 0; instance < 3; instance++)
            {
                var own = first.Select(f => int.Parse(f.Data![1..])).Where(i => i % 3 == instance).ToList();
                Assert.Equal(own.Order(), own);
            }

            var ids = first.Select(f => long.Parse(f.Id!)).ToList();
            Assert.Equal(ids.Order(), ids);
            Assert.Equal(count, ids.Distinct().Count());
            foreach (var other in received.Skip(1))
            {
                Assert.Equal(first, other.Select(f => (f.Id, f.Data)).ToList());
            }

            // A filter is honoured on every instance.
            var roomA = await SseReader.OpenAsync(hosts[2].Client, "/chat?room=a");
            var roomB = await SseReader.OpenAsync(hosts[1].Client, "/chat?room=b");
            await roomA.ReadUntilAsync(f => f.Count >= 1);
            await roomB.ReadUntilAsync(f => f.Count >= 1);
            clients.Add(roomA);
            clients.Add(roomB);
            await SendAsync(hosts[0], "for b", "/send-to?room=b");
            await SendAsync(hosts[0], "for a", "/send-to?room=a");
            Assert.Equal("for a", (await ReadAsync(roomA, 1)).Single().Data);
            Assert.Equal("for b", (await ReadAsync(roomB, 1)).Single().Data);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            await DisposeAllAsync(hosts);
        }
    }

    [Fact]
    // An instance stopped cleanly; ClusterPromiseTests.AnInstanceKilledMidStream_… kills one with SIGKILL.
    public async Task AClientWhoseInstanceStops_ResumesOnAnother_WithoutLossOrDuplicates()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 3);
        try
        {
            string lastId;
            var client = await SseReader.OpenAsync(hosts[0].Client, "/chat");
            await using (client)
            {
                await client.ReadUntilAsync(f => f.Count >= 1);
                for (var i = 0; i < 5; i++)
                {
                    await SendAsync(hosts[1], $"before{i}");
                }

                var before = await ReadAsync(client, 5);
                Assert.Equal(Enumerable.Range(0, 5).Select(i => $"before{i}"), before.Select(f => f.Data));
                lastId = before[^1].Id!;

                // The instance is stopped with its client attached; messages go on meanwhile.
                await hosts[0].DisposeAsync();
                Assert.True(await client.WaitForEndAsync(Patience));
            }

            for (var i = 0; i < 5; i++)
            {
                await SendAsync(hosts[2], $"after{i}");
            }

            // Instance 1 has never followed /chat: it reads the kept messages from Redis for the replay.
            await using var resumed = await SseReader.OpenAsync(hosts[1].Client, "/chat", lastId);
            var replayed = await ReadAsync(resumed, 5);
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"after{i}"), replayed.Select(f => f.Data));
            Assert.All(replayed, f => Assert.True(long.Parse(f.Id!) > long.Parse(lastId)));

            await SendAsync(hosts[2], "live");
            var all = await ReadAsync(resumed, 6);
            Assert.Equal("live", all[^1].Data);
            Assert.Equal(6, all.Select(f => f.Id).Distinct().Count());

            // The same id means the same place on every instance.
            await using var elsewhere = await SseReader.OpenAsync(hosts[2].Client, "/chat", lastId);
            Assert.Equal(all.Select(f => (f.Id, f.Data)), (await ReadAsync(elsewhere, 6)).Select(f => (f.Id, f.Data)));
        }
        finally
        {
            await DisposeAllAsync(hosts.Skip(1));
        }
    }

    [Fact]
    public async Task ScriptsChangedThroughTheApiOnOneInstance_TakeEffectOnAll_AndAFailingVersionChangesNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 3);
        try
        {
            async Task<string?> HelloAsync(EngineHost host)
            {
                var response = await host.Client.GetAsync("/hello");
                return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : null;
            }

            var created = await hosts[0].Client.PutAsync("/engine/scripts/hello.js", new StringContent("""register("/hello", () => ({ body: "v1" }));""", Encoding.UTF8, "text/javascript"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            foreach (var host in hosts)
            {
                await WaitUntilAsync(async () => await HelloAsync(host) == "v1", "every instance serves v1");
            }

            // A change is loaded first and written once it serves: the file follows shortly after.
            await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(hosts[2].ScriptsDirectory, "hello.js"))), "the file is written on every instance");

            var replaced = await hosts[1].Client.PutAsync("/engine/scripts/hello.js", new StringContent("""register("/hello", () => ({ body: "v2" }));""", Encoding.UTF8, "text/javascript"));
            Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
            foreach (var host in hosts)
            {
                await WaitUntilAsync(async () => await HelloAsync(host) == "v2", "every instance serves v2");
            }

            // A version that fails is refused where it is sent, and never reaches the others.
            var failing = await hosts[2].Client.PutAsync("/engine/scripts/hello.js", new StringContent("""throw new Error("broken");""", Encoding.UTF8, "text/javascript"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, failing.StatusCode);
            foreach (var host in hosts)
            {
                Assert.Equal("v2", await HelloAsync(host));
            }

            // A new instance applies what the cluster changed before it started.
            var late = (await StartClusterAsync(redis, 1))[0];
            hosts = [.. hosts, late];
            await WaitUntilAsync(async () => await HelloAsync(late) == "v2", "the late instance serves v2");
            await WaitUntilAsync(async () => await ReadyStatusAsync(late) == "Healthy", "the late instance is ready");

            var deleted = await hosts[0].Client.DeleteAsync("/engine/scripts/hello.js");
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            foreach (var host in hosts)
            {
                await WaitUntilAsync(async () => await HelloAsync(host) is null, "no instance serves /hello");
                Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "hello.js")));
            }
        }
        finally
        {
            await DisposeAllAsync(hosts);
        }
    }

    [Fact]
    public async Task InstancesSharingAScriptsDirectory_KeepWorking()
    {
        await using var redis = await RedisServer.StartAsync();
        var shared = Directory.CreateTempSubdirectory("aiwebengine-shared-").FullName;
        var hosts = await StartClusterAsync(redis, 2, shared);
        try
        {
            var created = await hosts[0].Client.PutAsync("/engine/scripts/hello.js", new StringContent("""register("/hello", () => ({ body: "shared" }));""", Encoding.UTF8, "text/javascript"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await WaitUntilAsync(async () => (await hosts[1].Client.GetAsync("/hello")).StatusCode == HttpStatusCode.OK, "the second instance serves /hello");
            Assert.Equal("shared", await hosts[1].Client.GetStringAsync("/hello"));
            await WaitUntilAsync(() => Task.FromResult(Directory.GetFiles(shared).Select(Path.GetFileName).SequenceEqual(["hello.js"])), "the shared directory holds hello.js alone");
        }
        finally
        {
            await DisposeAllAsync(hosts);
            Directory.Delete(shared, recursive: true);
        }
    }

    [Fact]
    public async Task RedisRestart_InstancesReportDegraded_Reconnect_AndDeliverWhatWasSentMeanwhile()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 3);
        var clients = new List<SseReader>();
        try
        {
            foreach (var host in hosts)
            {
                var client = await SseReader.OpenAsync(host.Client, "/chat");
                await client.ReadUntilAsync(f => f.Count >= 1);
                clients.Add(client);
                Assert.Equal("Healthy", await ReadyStatusAsync(host));
            }

            await SendAsync(hosts[0], "one");
            foreach (var client in clients)
            {
                await ReadAsync(client, 1);
            }

            await redis.StopAsync();
            foreach (var host in hosts)
            {
                await WaitUntilAsync(async () => await ReadyStatusAsync(host) == "Degraded", "the instance reports degraded readiness");
                var ready = await host.Client.GetAsync("/health/ready");
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            // Sent while Redis is away: kept in order, and the local routes keep answering.
            await SendAsync(hosts[1], "two");
            await SendAsync(hosts[2], "three");
            await SendAsync(hosts[1], "four");

            await redis.StartAgainAsync();
            foreach (var host in hosts)
            {
                await WaitUntilAsync(async () => await ReadyStatusAsync(host) == "Healthy", "the instance reconnects by itself");
            }

            // Connected is not yet sent: an outbox goes out on its writer's next retry. "five" is to be
            // the last message, so it waits until every instance's outbox is in Redis.
            foreach (var host in hosts)
            {
                var bus = (AiWebEngine.Streaming.Redis.RedisTopicBus)host.Services.GetService(typeof(AiWebEngine.Streaming.ITopicBus))!;
                await WaitUntilAsync(() => Task.FromResult(bus.OutboxCount == 0), "the instance sends what it kept while Redis was away");
            }

            await SendAsync(hosts[0], "five");
            var expected = new[] { "one", "two", "four", "three", "five" };
            List<(string?, string?)>? reference = null;
            foreach (var client in clients)
            {
                var messages = await ReadAsync(client, 5);
                var data = messages.Select(f => f.Data).ToList();
                // Each instance's own messages keep their order; instances' outboxes may interleave either way.
                Assert.Equal("one", data[0]);
                Assert.Equal("five", data[4]);
                Assert.True(data.IndexOf("two") < data.IndexOf("four"));
                Assert.Equal(expected.Order(), data.Order());
                var frames = messages.Select(f => (f.Id, f.Data)).ToList();
                reference ??= frames;
                Assert.Equal(reference, frames);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            await DisposeAllAsync(hosts);
        }
    }

    [Fact]
    public async Task GraphQLSubscriptionMessages_CrossInstances_OverGraphQLSseAndThePlainStream()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 3);
        try
        {
            await using var plain = await SseReader.OpenAsync(hosts[1].Client, "/graphql/subscription/ticks");
            await plain.ReadUntilAsync(f => f.Count >= 1);
            var request = new HttpRequestMessage(HttpMethod.Post, "/graphql/sse")
            {
                Content = new StringContent("""{"query":"subscription { ticks }"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Accept.ParseAdd("text/event-stream");
            await using var graphqlSse = await SseReader.OpenAsync(hosts[2].Client, request);

            // The graphql-sse client subscribes when its operation starts: send until it has one.
            var sent = 0;
            var deadline = DateTime.UtcNow + Patience;
            while (true)
            {
                await SendAsync(hosts[0], $"t{sent++}", "/tick");
                try
                {
                    await graphqlSse.ReadUntilAsync(f => f.Any(x => x.Data?.Contains("\"ticks\":\"t", StringComparison.Ordinal) == true), TimeSpan.FromSeconds(2));
                    break;
                }
                catch (TimeoutException)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the graphql-sse client never received a tick sent on another instance");
                }
            }

            var ticks = await ReadAsync(plain, sent);
            Assert.Equal(Enumerable.Range(0, sent).Select(i => $"t{i}"), ticks.Select(f => f.Data));
        }
        finally
        {
            await DisposeAllAsync(hosts);
        }
    }

    [Fact]
    public async Task AMessageWhoseNotificationIsLost_IsStillDelivered_InOrder()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 2);
        try
        {
            await using var a = await SseReader.OpenAsync(hosts[0].Client, "/chat");
            await using var b = await SseReader.OpenAsync(hosts[1].Client, "/chat");
            await a.ReadUntilAsync(f => f.Count >= 1);
            await b.ReadUntilAsync(f => f.Count >= 1);
            await SendAsync(hosts[0], "notified");
            await ReadAsync(a, 1);
            await ReadAsync(b, 1);

            // Appended behind the engine's back: no notification, as when one is lost while an
            // instance is disconnected. The periodic read finds it.
            Assert.StartsWith("$", await redis.CommandAsync("XADD aiwebengine:topic:stream:/chat * d silent f \"\""));
            foreach (var client in new[] { a, b })
            {
                Assert.Equal(["notified", "silent"], (await ReadAsync(client, 2)).Select(f => f.Data));
            }

            await SendAsync(hosts[1], "after");
            foreach (var client in new[] { a, b })
            {
                Assert.Equal(["notified", "silent", "after"], (await ReadAsync(client, 3)).Select(f => f.Data));
            }
        }
        finally
        {
            await DisposeAllAsync(hosts);
        }
    }

    [Fact]
    public async Task AMessageCrossesRedisOncePerInstance_NotOncePerClient()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 2);
        var clients = new List<SseReader>();
        try
        {
            foreach (var host in hosts)
            {
                for (var i = 0; i < 10; i++)
                {
                    var client = await SseReader.OpenAsync(host.Client, "/chat");
                    await client.ReadUntilAsync(f => f.Count >= 1);
                    clients.Add(client);
                }
            }

            // The kept messages were read when the topic was first followed; from here on only new ones cross.
            var before = await OutputBytesAsync(redis);
            var big = new string('x', 200_000);
            await SendAsync(hosts[0], big);
            foreach (var client in clients)
            {
                Assert.Equal(big, (await ReadAsync(client, 1)).Single().Data);
            }

            var crossed = await OutputBytesAsync(redis) - before;
            // Twice (two instances) plus notifications and periodic reads; once per client would be 20 times.
            Assert.InRange(crossed, 2 * 200_000, 4 * 200_000);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            await DisposeAllAsync(hosts);
        }

        static async Task<long> OutputBytesAsync(RedisServer redis)
        {
            var info = await redis.CommandAsync("INFO stats");
            var line = info.Split("\r\n").Single(l => l.StartsWith("total_net_output_bytes:", StringComparison.Ordinal));
            return long.Parse(line["total_net_output_bytes:".Length..]);
        }
    }

    [Fact]
    public async Task WithoutRedis_NothingChanges_ReadinessHasNoRedisCheck_AndIdsAreConsecutive()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["chat.js"] = Chat }, kestrel: true);
        Assert.Equal("absent", await ReadyStatusAsync(host));
        Assert.IsNotType<AiWebEngine.Streaming.Redis.RedisTopicBus>(host.Services.GetService(typeof(AiWebEngine.Streaming.ITopicBus)));
        await using var client = await SseReader.OpenAsync(host.Client, "/chat");
        await client.ReadUntilAsync(f => f.Count >= 1);
        Assert.Equal(1, await SendAsync(host, "a"));
        Assert.Equal(1, await SendAsync(host, "b"));
        var ids = (await ReadAsync(client, 2)).Select(f => long.Parse(f.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(ids[0] + 1, ids[1]);
    }

    [Fact]
    public async Task AFullOutbox_MakesTheSendFunctionThrow_WithAClearMessage()
    {
        await using var redis = await RedisServer.StartAsync();
        var hosts = await StartClusterAsync(redis, 1, extra: new Dictionary<string, string?> { ["AiWebEngine:Bus:OutboxCapacity"] = "2" });
        try
        {
            await redis.StopAsync();
            await WaitUntilAsync(async () => await ReadyStatusAsync(hosts[0]) == "Degraded", "the instance reports degraded readiness");
            await SendAsync(hosts[0], "a");
            await SendAsync(hosts[0], "b");
            // The writer may hold one message of the outbox in its retry loop; at most one more fits.
            HttpResponseMessage response;
            var attempts = 0;
            do
            {
                response = await hosts[0].Client.PostAsync("/send", new StringContent("c"));
                attempts++;
            }
            while (response.StatusCode == HttpStatusCode.OK && attempts < 5);

            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Contains("AiWebEngine:Bus:OutboxCapacity", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            await DisposeAllAsync(hosts);
        }
    }
}
