using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using StackExchange.Redis;

namespace AiWebEngine.Tests.Cluster;

/// <summary>
/// Redis is not the operator: what an attacker (or a bug) writes straight into Redis is validated,
/// skipped and logged, and replication and delivery go on after it. Real redis-server processes and
/// real Kestrel sockets, as in <see cref="RedisClusterTests"/>.
/// </summary>
public sealed class RedisTrustTests
{
    private const string Chat = """
        registerWebStream("/chat");
        register("/send", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static async Task<EngineHost> StartAsync(RedisServer redis, IReadOnlyDictionary<string, string?>? extra = null, TimeProvider? time = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AiWebEngine:Bus:Redis"] = redis.ConnectionString,
            ["AiWebEngine:Bus:PollInterval"] = "00:00:00.500",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return await EngineHost.StartAsync(new Dictionary<string, string> { ["chat.js"] = Chat }, settings, kestrel: true, time: time);
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => ClusterWaits.WaitUntilAsync(condition, what, Patience);

    private static async Task<bool> ServesAsync(EngineHost host, string path, string body)
    {
        var response = await host.Client.GetAsync(path);
        return response.StatusCode == HttpStatusCode.OK && await response.Content.ReadAsStringAsync() == body;
    }

    private static async Task PutScriptAsync(EngineHost host, string uri, string source)
    {
        var response = await host.Client.PutAsync("/engine/scripts/" + uri, new StringContent(source, Encoding.UTF8, "text/javascript"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> ReplicationHealthAsync(EngineHost host)
    {
        using var json = JsonDocument.Parse(await host.Client.GetStringAsync("/health"));
        return json.RootElement.GetProperty("replication").Clone();
    }

    /// <summary>Appends a script change with exactly these fields, behind every instance's back, and wakes the followers.</summary>
    private static async Task AppendChangeAsync(IDatabase redis, params (string Field, RedisValue Value)[] fields)
    {
        await redis.StreamAddAsync("aiwebengine:scripts", fields.Select(f => new NameValueEntry(f.Field, f.Value)).ToArray());
        await redis.PublishAsync(RedisChannel.Literal("aiwebengine:scripts:notify"), "1");
    }

    [Fact]
    public async Task HostileScriptNamesWrittenIntoRedis_AreWrittenNowhere_Logged_AndALaterValidScriptStillReplicates()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis);
        await using var b = await StartAsync(redis);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = connection.GetDatabase();
        var marker = Guid.NewGuid().ToString("N");
        var pwn = """register("/pwn", () => ({ body: "pwned" }));""";
        var absolute = Path.Combine(Path.GetTempPath(), $"aiwebengine-absolute-{marker}.js");
        var escaping = $"../../aiwebengine-escaped-{marker}.js";
        var hostile = new[] { escaping, absolute, $"sub/../../aiwebengine-dotted-{marker}.js", $"..\\aiwebengine-backslash-{marker}.js", $"nul\0{marker}.js" };

        foreach (var uri in hostile)
        {
            await AppendChangeAsync(db, ("u", uri), ("o", "attacker"), ("s", pwn), ("x", "0"));
        }

        // A starting instance's catch-up reads the state hash: hostile names there too.
        await db.HashSetAsync("aiwebengine:scripts:state", escaping, JsonSerializer.Serialize(new { Source = pwn, Instance = "attacker" }));
        await db.HashSetAsync("aiwebengine:scripts:state", "state.js", "{ not json");
        await using var late = await StartAsync(redis);

        await PutScriptAsync(a, "later.js", """register("/later", () => ({ body: "later" }));""");
        foreach (var host in new[] { b, late })
        {
            await WaitUntilAsync(() => ServesAsync(host, "/later", "later"), "the valid script replicates after the hostile ones");
            Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/pwn")).StatusCode);
        }

        foreach (var host in new[] { a, b, late })
        {
            var root = host.ScriptsDirectory;
            // A replicated change is loaded first and written once it serves: the file follows shortly after.
            await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(root, "later.js"))), "later.js is written on every instance");
            Assert.False(File.Exists(Path.GetFullPath(Path.Combine(root, escaping))));
            Assert.False(File.Exists(Path.GetFullPath(Path.Combine(root, $"sub/../../aiwebengine-dotted-{marker}.js"))));
            Assert.Equal(["chat.js", "later.js"], Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order());
        }

        Assert.False(File.Exists(absolute));
        Assert.Empty(Directory.EnumerateFiles(Path.GetTempPath(), $"*{marker}*"));

        var health = await ReplicationHealthAsync(b);
        Assert.True(health.GetProperty("following").GetBoolean());
        Assert.True(health.GetProperty("entriesSkipped").GetInt64() >= hostile.Length);
        Assert.Contains(b.Logs.Lines, l => l.EventId == 1724 && l.Message.Contains(escaping, StringComparison.Ordinal) && l.Message.Contains("'..'", StringComparison.Ordinal));
        Assert.Contains(late.Logs.Lines, l => l.EventId == 1724 && l.Message.Contains("state.js", StringComparison.Ordinal));
        Assert.True((await ReplicationHealthAsync(late)).GetProperty("caughtUp").GetBoolean());
    }

    [Fact]
    public async Task MalformedEntries_MissingFieldsNonUtf8OrHuge_AreSkipped_AndReplicationContinues()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis);
        await using var b = await StartAsync(redis);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = connection.GetDatabase();
        var script = """register("/bad", () => ({ body: "bad" }));""";

        await AppendChangeAsync(db, ("u", "only-uri.js"));
        await AppendChangeAsync(db, ("u", "no-flag.js"), ("o", "attacker"), ("s", script));
        await AppendChangeAsync(db, ("u", "no-source.js"), ("o", "attacker"), ("x", "0"));
        await AppendChangeAsync(db, ("u", "no-origin.js"), ("s", script), ("x", "0"));
        await AppendChangeAsync(db, ("u", "odd-flag.js"), ("o", "attacker"), ("s", script), ("x", "maybe"));
        await AppendChangeAsync(db, ("u", "latin1.js"), ("o", "attacker"), ("s", (RedisValue)new byte[] { 0x2f, 0x2f, 0xff, 0xfe, 0xc3 }), ("x", "0"));
        await AppendChangeAsync(db, ("u", (RedisValue)new byte[] { 0x61, 0xff, 0x2e, 0x6a, 0x73 }), ("o", "attacker"), ("s", script), ("x", "0"));
        await AppendChangeAsync(db, ("u", "huge.js"), ("o", "attacker"), ("s", "//" + new string('x', 2 * 1024 * 1024)), ("x", "0"));
        await AppendChangeAsync(db, ("u", new string('u', 100_000) + ".js"), ("o", "attacker"), ("s", script), ("x", "0"));

        await PutScriptAsync(a, "after.js", """register("/after", () => ({ body: "after" }));""");
        await WaitUntilAsync(() => ServesAsync(b, "/after", "after"), "a valid script replicates after the malformed entries");

        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.GetAsync("/bad")).StatusCode);
        // A replicated change is loaded first and written once it serves: the file follows shortly after.
        await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(b.ScriptsDirectory, "after.js"))), "after.js is written");
        Assert.Equal(["after.js", "chat.js"], Directory.EnumerateFiles(b.ScriptsDirectory).Select(Path.GetFileName).Order());
        var health = await ReplicationHealthAsync(b);
        Assert.Equal(9, health.GetProperty("entriesSkipped").GetInt64());
        Assert.True(health.GetProperty("following").GetBoolean());
        foreach (var problem in new[] { "no field 'x'", "no field 's'", "no field 'o'", "'maybe', not 0 or 1", "field 's' is not valid UTF-8", "field 'u' is not valid UTF-8", "over 1048576", "field 'u' is 100003 bytes" })
        {
            Assert.True(b.Logs.Lines.Any(l => l.EventId == 1724 && l.Message.Contains(problem, StringComparison.Ordinal)), "no log line says " + problem);
        }
    }

    [Fact]
    public async Task AChangeWhoseApplyThrows_IsShownInHealth_AndTheNextChangesStillReplicate()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis);
        await using var b = await StartAsync(redis);
        // Something on instance b fails in a way no one planned for (not Redis, not the disk, not the script).
        b.Scripts.Changed += change =>
        {
            if (change.Uri == "boom.js")
            {
                throw new InvalidOperationException("a listener of script changes is broken");
            }
        };

        await PutScriptAsync(a, "boom.js", """register("/boom", () => ({ body: "boom" }));""");
        await PutScriptAsync(a, "after.js", """register("/after", () => ({ body: "after" }));""");
        await WaitUntilAsync(() => ServesAsync(b, "/after", "after"), "the change after the one that threw replicates");

        var health = await ReplicationHealthAsync(b);
        Assert.True(health.GetProperty("following").GetBoolean());
        Assert.Equal(1, health.GetProperty("entriesSkipped").GetInt64());
        Assert.Contains("boom.js", health.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Contains("a listener of script changes is broken", health.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.True(DateTimeOffset.Parse(health.GetProperty("lastErrorAt").GetString()!, CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Contains(b.Logs.Lines, l => l.EventId == 1725 && l.Message.Contains("boom.js", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HostileTopicEntries_AreSkipped_AndTheStreamKeepsDeliveringInOrder()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await StartAsync(redis);
        await using var b = await StartAsync(redis);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = connection.GetDatabase();
        await using var client = await SseReader.OpenAsync(a.Client, "/chat");
        await client.ReadUntilAsync(f => f.Count >= 1, Patience);
        await b.Client.PostAsync("/send", new StringContent("before"));
        await client.ReadMessagesAsync(1, Patience);

        const string key = "aiwebengine:topic:stream:/chat";
        await db.StreamAddAsync(key, [new NameValueEntry("f", "")]);
        await db.StreamAddAsync(key, [new NameValueEntry("d", new byte[] { 0x22, 0xff, 0x22 }), new NameValueEntry("f", "")]);
        await db.StreamAddAsync(key, [new NameValueEntry("d", new string('x', 2 * 1024 * 1024)), new NameValueEntry("f", "")]);
        await db.StreamAddAsync(key, [new NameValueEntry("d", "bad filter"), new NameValueEntry("f", "{ not json")]);
        await db.StreamAddAsync(key, [new NameValueEntry("d", "null filter"), new NameValueEntry("f", "null")]);
        await db.PublishAsync(RedisChannel.Literal("aiwebengine:notify"), "stream:/chat");

        await b.Client.PostAsync("/send", new StringContent("after"));
        await client.ReadMessagesAsync(2, Patience);
        Assert.Equal(["before", "after"], client.Messages.Select(f => f.Data));

        // An instance that follows the topic only now seeds past the same entries.
        await using var late = await SseReader.OpenAsync(b.Client, "/chat", "0");
        await late.ReadMessagesAsync(2, Patience);
        Assert.Equal(["before", "after"], late.Messages.Select(f => f.Data));
        foreach (var problem in new[] { "no field 'd'", "not valid UTF-8", "over 1048576", "not a JSON object of strings", "filter 'f' is null" })
        {
            Assert.True(a.Logs.Lines.Any(l => l.EventId == 1713 && l.Message.Contains(problem, StringComparison.Ordinal)), "no log line says " + problem);
        }
    }

    /// <summary>The system clock, an hour ahead: an instance whose clock is ahead of Redis's.</summary>
    private sealed class AnHourAhead : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddHours(1);
    }

    [Fact]
    public async Task ATopicFirstFollowedWhileRedisIsAway_TakesItsIdsFromRedis_SoAClockAheadDropsNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var ahead = await StartAsync(redis, time: new AnHourAhead());
        await using var other = await StartAsync(redis);
        await redis.StopAsync();
        await WaitUntilAsync(async () => (await ahead.Client.GetStringAsync("/health/ready")).Contains("Degraded", StringComparison.Ordinal), "the instance sees Redis gone");

        // The first follow of /chat on this instance: Redis cannot say where the topic stands. The stream starts anyway.
        await using var client = await SseReader.OpenAsync(ahead.Client, "/chat");
        await client.ReadUntilAsync(f => f.Count >= 1, Patience);

        await redis.StartAgainAsync();
        foreach (var host in new[] { ahead, other })
        {
            await WaitUntilAsync(async () => (await host.Client.GetStringAsync("/health/ready")).Contains("\"Healthy\"", StringComparison.Ordinal), "the instance reconnects");
        }

        // Sent on an instance with a right clock: its Redis id is an hour behind the other instance's clock.
        Assert.Equal(HttpStatusCode.OK, (await other.Client.PostAsync("/send", new StringContent("sent after Redis came back"))).StatusCode);
        await client.ReadMessagesAsync(1, Patience);
        Assert.Equal("sent after Redis came back", client.Messages.Single().Data);
    }

    [Fact]
    public async Task KeptMessagesReadBackFromRedis_ObeyTheReplayBounds()
    {
        await using var redis = await RedisServer.StartAsync();
        var bounds = new Dictionary<string, string?>
        {
            ["AiWebEngine:Streams:ReplayMaxBytes"] = (256 * 1024).ToString(CultureInfo.InvariantCulture),
            ["AiWebEngine:Streams:MaxReplayBytesPerRequest"] = (64 * 1024).ToString(CultureInfo.InvariantCulture),
        };
        await using var a = await StartAsync(redis, bounds);
        await using var b = await StartAsync(redis, bounds);
        await using var live = await SseReader.OpenAsync(a.Client, "/chat");
        await live.ReadUntilAsync(f => f.Count >= 1, Patience);
        var chunk = new string('k', 16 * 1024);
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await a.Client.PostAsync("/send", new StringContent(chunk + i.ToString("00", CultureInfo.InvariantCulture)))).StatusCode);
        }

        await live.ReadMessagesAsync(40, Patience);

        // Instance b has never followed /chat: its window comes from XREVRANGE, within the same bounds.
        await using var resumed = await SseReader.OpenAsync(b.Client, "/chat", "0");
        await resumed.ReadMessagesAsync(3, Patience);
        Assert.Equal(Enumerable.Range(37, 3).Select(i => chunk + i.ToString("00", CultureInfo.InvariantCulture)), resumed.Messages.Select(f => f.Data));
        Assert.Contains(": replay cut: 12 older kept messages were not sent, only the newest 3", resumed.Raw, StringComparison.Ordinal);

        using var streams = JsonDocument.Parse(await b.Client.GetStringAsync("/engine/streams"));
        var kept = streams.RootElement.GetProperty("streams").EnumerateArray().Single().GetProperty("replayBytes").GetInt64();
        Assert.Equal(15 * (16 * 1024 + 2), kept);
    }
}
