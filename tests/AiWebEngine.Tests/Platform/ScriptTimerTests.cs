using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, points 1 and 2: a call that awaits does not hold its script (other calls of the script run
/// meanwhile, one at a time); <c>setTimeout</c>, <c>setInterval</c>, <c>clearTimeout</c> and
/// <c>clearInterval</c> with their limits; timers are registrations of a version (a reload replaces them,
/// a deleted script leaves none running); a failing or runaway timer is logged and changes nothing else.
/// </summary>
public sealed class ScriptTimerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AHandlerThatAwaits_DoesNotHoldTheScript_ItsOtherCallsRunMeanwhile()
    {
        // The first call waits for the second to arrive: if an awaiting call held the script, the second
        // could never run and the first would time out. Both also sleep on a timer.
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["slow.js"] = """
                const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
                let arrived;
                const second = new Promise((resolve) => { arrived = resolve; });
                const order = [];
                register("/first", async () => { order.push("first starts"); await second; await sleep(50); order.push("first ends"); return { body: order.join(", ") }; });
                register("/second", async () => { order.push("second starts"); arrived(); await sleep(50); order.push("second ends"); return { body: "second" }; });
                """,
        });

        var first = host.Client.GetAsync("/first");
        await Task.Delay(100);
        Assert.False(first.IsCompleted);
        Assert.Equal("second", await HttpAssert.TextAsync(await host.Client.GetAsync("/second")));
        var order = await HttpAssert.TextAsync(await first);
        Assert.StartsWith("first starts, second starts, ", order, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetTimeout_RunsOnceWithItsArguments_SetIntervalRepeats_AndClearingStopsThem()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["t.js"] = """
                registerWebStream("/ticks");
                let ticks = 0;
                const cleared = setTimeout(() => sendStreamMessage("cleared timeout ran"), 30);
                clearTimeout(cleared);
                clearTimeout(12345); clearInterval("nonsense"); // unknown ids are ignored, as in browsers
                register("/start", () => {
                  setTimeout((a, b) => sendStreamMessage("timeout " + a + b), 20, "x", "y");
                  const interval = setInterval(() => {
                    sendStreamMessage("tick " + ++ticks);
                    if (ticks === 3) clearInterval(interval);
                  }, 20);
                  return { body: typeof interval };
                });
                register("/ticks-so-far", () => ({ body: String(ticks) }));
                """,
        });
        await using var reader = await SseReader.OpenAsync(host.Client, "/ticks");
        Assert.Equal("number", await HttpAssert.TextAsync(await host.Client.GetAsync("/start")));

        await reader.ReadUntilAsync(f => f.Count(m => m.Data?.StartsWith("tick", StringComparison.Ordinal) == true) >= 3, Patience);
        await Task.Delay(200);
        Assert.Equal("3", await HttpAssert.TextAsync(await host.Client.GetAsync("/ticks-so-far")));
        var messages = reader.Messages.Select(m => m.Data).ToList();
        Assert.Contains("timeout xy", messages);
        Assert.Equal(["tick 1", "tick 2", "tick 3"], messages.Where(m => m!.StartsWith("tick", StringComparison.Ordinal)));
        Assert.DoesNotContain("cleared timeout ran", messages);
    }

    [Theory]
    [InlineData("setInterval(() => {}, 1)", "setInterval: the shortest interval is 10 ms (AiWebEngine:Scripts:MinTimerInterval), got 1")]
    [InlineData("setTimeout('alert(1)', 10)", "setTimeout: callback must be a function, got \"alert(1)\"")]
    [InlineData("setInterval()", "setInterval: callback must be a function, got undefined")]
    [InlineData("for (let i = 0; i < 21; i++) setTimeout(() => {}, 60000)", "setTimeout: a script may hold at most 20 timers at once (AiWebEngine:Scripts:MaxTimers); clear the ones it no longer needs")]
    public async Task Limits_AndMisuse_ThrowAnErrorNamingThem(string code, string message)
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["t.js"] = """
                register("/run", (req) => {
                  try { (0, eval)(req.body); return { body: "ran" }; } catch (e) { return { status: 400, body: e.message }; }
                }, "POST");
                """,
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxTimers"] = "20" });
        Assert.Equal(message, await HttpAssert.TextAsync(await host.Client.PostAsync("/run", new StringContent(code)), HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task FiredTimeouts_NoLongerCount_AgainstTheLimit()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["t.js"] = """
                let fired = 0;
                register("/burst", () => { for (let i = 0; i < 20; i++) setTimeout(() => fired++, 1); return { body: "set" }; });
                register("/fired", () => ({ body: String(fired) }));
                """,
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxTimers"] = "20" });
        for (var round = 1; round <= 3; round++)
        {
            Assert.Equal("set", await HttpAssert.TextAsync(await host.Client.GetAsync("/burst")));
            await ClusterWaitsUntilAsync(async () => await HttpAssert.TextAsync(await host.Client.GetAsync("/fired")) == (20 * round).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task ATimerThatThrowsOrRunsAway_IsLogged_AndTheScriptAndItsOtherTimersGoOn()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["t.js"] = """
                let good = 0, bad = 0;
                setInterval(() => { bad++; throw new Error("tick failed " + bad); }, 20);
                setTimeout(() => { for (;;) {} }, 10);
                setInterval(() => good++, 20);
                register("/counts", () => ({ body: { good, bad } }));
                """,
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:00.300" });

        await ClusterWaitsUntilAsync(async () =>
        {
            // While the runaway timer holds the script (until it is interrupted), a call waits and may time out.
            using var response = await host.Client.GetAsync("/counts");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            var counts = await HttpAssert.JsonAsync(response);
            return counts.GetProperty("good").GetInt32() >= 5 && counts.GetProperty("bad").GetInt32() >= 5;
        });
        Assert.Contains(host.Logs.Lines, l => l.Message.Contains("[t.js] timer 1 failed: tick failed", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Lines, l => l.Message.Contains("[t.js] timer 2 failed: the script did not finish within 300 ms", StringComparison.Ordinal));
        Assert.Equal("ok", (await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AReload_ReplacesTheTimers_AndADeletedScriptLeavesNoneRunning()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["feed.js"] = """registerWebStream("/feed"); register("/mark", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");""",
            ["ticker.js"] = """setInterval(() => sendStreamMessageToPath("/feed", "v1"), 20);""",
        });
        await using var reader = await SseReader.OpenAsync(host.Client, "/feed");
        await reader.ReadUntilAsync(f => f.Any(m => m.Data == "v1"), Patience);

        await host.WriteScriptAsync("ticker.js", """setInterval(() => sendStreamMessageToPath("/feed", "v2"), 20);""");
        await reader.ReadUntilAsync(f => f.Any(m => m.Data == "v2"), Patience);
        var afterFirstV2 = reader.Messages.SkipWhile(m => m.Data != "v2").ToList();
        await reader.ReadUntilAsync(f => f.Count(m => m.Data == "v2") >= 5, Patience);
        Assert.DoesNotContain(reader.Messages.SkipWhile(m => m.Data != "v2"), m => m.Data == "v1");
        Assert.NotEmpty(afterFirstV2);

        await host.DeleteScriptAsync("ticker.js");
        // A tick that was running as the script went may still land: mark the stream a moment later, then
        // again after many intervals; nothing may arrive between the marks.
        await Task.Delay(100);
        await host.Client.PostAsync("/mark", new StringContent("first mark"));
        await Task.Delay(300);
        await host.Client.PostAsync("/mark", new StringContent("second mark"));
        await reader.ReadUntilAsync(f => f.Any(m => m.Data == "second mark"), Patience);
        var between = reader.Messages.SkipWhile(m => m.Data != "first mark").Skip(1).TakeWhile(m => m.Data != "second mark").ToList();
        Assert.Empty(between);
    }

    /// <summary>A timer flood: as many intervals as the limit allows, at the shortest period, each spinning. Other scripts and /health are unaffected.</summary>
    [Fact]
    public async Task ATimerFlood_StaysWithinItsLimits_AndOtherScriptsKeepServing()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["flood.js"] = """
                try {
                  for (;;) setInterval(() => { const end = Date.now() + 5; while (Date.now() < end) {} }, 10);
                } catch (e) { writeLog("refused: " + e.message); }
                """,
            ["canary.js"] = """register("/canary", () => ({ body: "alive" }));""",
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxTimers"] = "200" });

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("alive", await HttpAssert.TextAsync(await host.Client.GetAsync("/canary")));
            await Task.Delay(25);
        }

        Assert.Equal("ok", (await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"))).GetProperty("status").GetString());
        Assert.Contains(host.Logs.Lines, l => l.Message.Contains("[flood.js] refused: setInterval: a script may hold at most 200 timers at once", StringComparison.Ordinal));
    }

    /// <summary>Promises that never settle: each call ends at its deadline (504), holds nothing meanwhile, and a reload is not kept waiting by them.</summary>
    [Fact]
    public async Task PromisesThatNeverSettle_EndAtTheirDeadline_AndHoldNothing()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["never.js"] = """
                register("/never", () => new Promise(() => {}));
                register("/chain", async () => { await new Promise(() => {}); return { body: "unreachable" }; });
                register("/other", () => ({ body: "served" }));
                """,
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:00.400" });

        var pending = Enumerable.Range(0, 20).Select(i => host.Client.GetAsync(i % 2 == 0 ? "/never" : "/chain")).ToList();
        Assert.Equal("served", await HttpAssert.TextAsync(await host.Client.GetAsync("/other")));
        foreach (var response in await Task.WhenAll(pending))
        {
            await HttpAssert.ErrorAsync(response, HttpStatusCode.GatewayTimeout, "SCRIPT_TIMEOUT");
        }

        var reloaded = await host.WriteScriptAsync("never.js", """register("/other", () => ({ body: "v2" }));""");
        Assert.Equal("v2", await HttpAssert.TextAsync(await host.Client.GetAsync("/other")));
        Assert.Equal("ok", (await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"))).GetProperty("status").GetString());
    }

    private static Task ClusterWaitsUntilAsync(Func<Task<bool>> condition) =>
        Cluster.ClusterWaits.WaitUntilAsync(condition, "the timers ran", Patience);
}
