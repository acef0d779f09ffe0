using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Cluster;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, point 2: named jobs, <c>schedule(name, spec, handler)</c> with an interval or a cron expression;
/// each run bounded by the call timeout; jobs are registrations (a reload replaces them, a deleted script
/// has none); <c>GET /engine/schedules</c> and the metrics show their runs; in a cluster each tick runs once.
/// </summary>
public sealed class ScheduleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static async Task<JsonElement[]> SchedulesAsync(EngineHost host) =>
        [.. (await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/schedules"))).GetProperty("schedules").EnumerateArray()];

    [Fact]
    public async Task AJob_RunsAtEveryTick_WithItsContext_AndTheManagementApiAndMetricsShowIt()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["jobs/beat.js"] = """
                registerWebStream("/beats");
                schedule("beat", "1s", (context) => { sendStreamMessage(context); });
                schedule("cron-beat", "* * * * * *", "cronBeat");
                function cronBeat(context) { return Promise.resolve().then(() => sendStreamMessage({ cron: context.scheduledAt })); }
                """,
        });
        await using var reader = await SseReader.OpenAsync(host.Client, "/beats");
        await reader.ReadUntilAsync(f => f.Count(m => m.Data?.Contains("\"name\":\"beat\"", StringComparison.Ordinal) == true) >= 3
            && f.Any(m => m.Data?.Contains("\"cron\"", StringComparison.Ordinal) == true), Patience);

        var beats = reader.Messages.Where(m => m.Data!.Contains("\"name\":\"beat\"", StringComparison.Ordinal)).Select(m => JsonDocument.Parse(m.Data!).RootElement).ToList();
        Assert.All(beats, b => Assert.Equal("jobs/beat.js", b.GetProperty("script").GetString()));
        var ticks = beats.Select(b => DateTimeOffset.Parse(b.GetProperty("scheduledAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.All(ticks, t => Assert.Equal(0, t.Millisecond)); // on the second: the multiples of 1 s since 1970
        Assert.Equal(ticks.Count, ticks.Distinct().Count());

        var listed = await SchedulesAsync(host);
        var beat = listed.Single(j => j.GetProperty("name").GetString() == "beat");
        Assert.Equal("jobs/beat.js", beat.GetProperty("script").GetString());
        Assert.Equal("1s", beat.GetProperty("schedule").GetString());
        Assert.True(beat.GetProperty("runs").GetInt64() >= 3);
        Assert.Equal(0, beat.GetProperty("failures").GetInt64());
        Assert.Equal("ok", beat.GetProperty("lastOutcome").GetString());
        Assert.True(DateTimeOffset.Parse(beat.GetProperty("nextRun").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.Parse(beat.GetProperty("lastRun").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(JsonValueKind.Number, beat.GetProperty("lastDurationMs").ValueKind);
        Assert.Contains(listed, j => j.GetProperty("name").GetString() == "cron-beat" && j.GetProperty("schedule").GetString() == "* * * * * *");

        var metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("aiwebengine_schedule_runs_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("aiwebengine_schedule_name=\"beat\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJobThatFailsOrRunsPastTheCallTimeout_IsCountedAndLogged_AndKeepsItsSchedule()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            // Two scripts: in one, the spinning job would hold the isolate while the other waits past its budget.
            ["bad.js"] = """
                let n = 0;
                schedule("throws", "1s", () => { throw new Error("job failed " + ++n); });
                """,
            ["spin.js"] = """schedule("spins", "1s", () => { for (;;) {} });""",
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:00.200" });

        await ClusterWaits.WaitUntilAsync(async () =>
        {
            var jobs = await SchedulesAsync(host);
            return jobs.All(j => j.GetProperty("failures").GetInt64() >= 2);
        }, "both jobs failed twice", Patience);

        var listed = await SchedulesAsync(host);
        var throws = listed.Single(j => j.GetProperty("name").GetString() == "throws");
        Assert.Equal("error", throws.GetProperty("lastOutcome").GetString());
        Assert.StartsWith("job failed ", throws.GetProperty("lastError").GetString());
        Assert.Equal("timeout", listed.Single(j => j.GetProperty("name").GetString() == "spins").GetProperty("lastOutcome").GetString());
        Assert.Contains(host.Logs.Lines, l => l.Message.Contains("[bad.js] job throws failed: job failed", StringComparison.Ordinal));
        Assert.Equal("ok", (await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"))).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("schedule('a', '500ms', () => {})", "schedule: an interval must be from 1s to 366d, got '500ms'")]
    [InlineData("schedule('a', 'every 5 seconds', () => {})", "schedule: 'every 5 seconds' is neither an interval (such as \"5s\", \"10m\", \"1h\", \"1d\") nor a cron expression of 5 fields (minute hour day month weekday) or 6 (second first)")]
    [InlineData("schedule('a', '99 * * * *', () => {})", "schedule: '99 * * * *' is not a valid cron expression:")]
    [InlineData("schedule('a', 5, () => {})", "schedule: spec must be a string")]
    [InlineData("schedule('a', '5s')", "schedule: handler must be the name of a global function or a function, got undefined")]
    [InlineData("schedule('a b', '5s', () => {})", "schedule: name must be 1 to 100 letters, digits")]
    [InlineData("schedule('twice', '5s', () => {}); schedule('twice', '1m', () => {})", "schedule: a job named 'twice' is already scheduled by this script")]
    [InlineData("for (let i = 0; i < 4; i++) schedule('job' + i, '1h', () => {})", "schedule: a script may schedule at most 3 jobs (AiWebEngine:Scripts:MaxSchedules)")]
    public async Task BadSchedules_ThrowAnErrorNamingWhatIsWrong(string code, string message)
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["s.js"] = """
                register("/run", (req) => {
                  try { (0, eval)(req.body); return { body: "ran" }; } catch (e) { return { status: 400, body: e.message }; }
                }, "POST");
                """,
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxSchedules"] = "3" });
        Assert.StartsWith(message, await HttpAssert.TextAsync(await host.Client.PostAsync("/run", new StringContent(code)), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReload_ReplacesTheJobs_AndADeletedScriptHasNone()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["feed.js"] = """registerWebStream("/feed");""",
            ["j.js"] = """schedule("old", "1s", () => sendStreamMessageToPath("/feed", "old"));""",
        });
        Assert.Equal(["old"], (await SchedulesAsync(host)).Select(j => j.GetProperty("name").GetString()));

        await host.WriteScriptAsync("j.js", """schedule("new", "1s", () => sendStreamMessageToPath("/feed", "new"));""");
        Assert.Equal(["new"], (await SchedulesAsync(host)).Select(j => j.GetProperty("name").GetString()));
        await using var reader = await SseReader.OpenAsync(host.Client, "/feed");
        await reader.ReadUntilAsync(f => f.Count(m => m.Data == "new") >= 2, Patience);
        Assert.DoesNotContain(reader.Messages, m => m.Data == "old");

        await host.DeleteScriptAsync("j.js");
        Assert.Empty(await SchedulesAsync(host));
    }

    /// <summary>Three instances run the same job: each tick runs on exactly one of them.</summary>
    [Fact]
    public async Task InACluster_EachTick_RunsOnceAcrossTheInstances()
    {
        await using var redis = await RedisServer.StartAsync();
        const string Script = """
            registerWebStream("/ticks");
            schedule("tick", "1s", (context) => sendStreamMessageToPath("/ticks", context.scheduledAt));
            """;
        var hosts = new List<EngineHost>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                hosts.Add(await EngineHost.StartAsync(new Dictionary<string, string> { ["t.js"] = Script }, new Dictionary<string, string?>
                {
                    ["AiWebEngine:Bus:Redis"] = redis.ConnectionString,
                    ["AiWebEngine:Bus:PollInterval"] = "00:00:00.500",
                }, kestrel: true));
            }

            await using var reader = await SseReader.OpenAsync(hosts[0].Client, "/ticks");
            await reader.ReadUntilAsync(f => f.Count(m => m.Data is not null) >= 5, Patience);
            var ticks = reader.Messages.Select(m => m.Data!).ToList();
            Assert.Equal(ticks.Count, ticks.Distinct().Count());

            var runs = 0L;
            var elsewhere = 0L;
            foreach (var host in hosts)
            {
                var job = (await SchedulesAsync(host)).Single();
                runs += job.GetProperty("runs").GetInt64();
                elsewhere += job.GetProperty("ranElsewhere").GetInt64();
            }

            // Every instance saw every tick: one ran it, the two others counted it as run elsewhere.
            Assert.True(elsewhere >= runs, $"runs {runs}, ran elsewhere {elsewhere}");
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }
}
