using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiWebEngine.Routing;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Scripting;

/// <summary>
/// Calls into one script run one at a time (SPEC: one isolate per script, calls serialized): callers
/// that find the isolate busy wait their turn, and a caller that gives up while waiting is never run.
/// </summary>
public sealed class ScriptCallSerializationTests
{
    private static readonly Dictionary<string, string?> LongTimeout = new() { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:30" };

    [Fact]
    public async Task ConcurrentRouteAndResolverCalls_RunOneAtATime_EachExactlyOnce()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["counter.js"] = """
                    let inside = false, overlaps = 0, calls = 0;
                    function next() {
                      if (inside) overlaps++;
                      inside = true;
                      const n = ++calls;
                      const end = Date.now() + 1;
                      while (Date.now() < end) {}
                      inside = false;
                      return n;
                    }
                    register("/next", () => ({ body: String(next()) }));
                    register("/overlaps", () => ({ body: String(overlaps) }));
                    registerGraphQLQuery("next", "type Query { next: Int }", () => next());
                    """,
            },
            LongTimeout);

        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            if (i % 2 == 0)
            {
                return int.Parse(await HttpAssert.TextAsync(await host.Client.GetAsync("/next")), System.Globalization.CultureInfo.InvariantCulture);
            }

            var result = await HttpAssert.JsonAsync(await host.Client.PostAsJsonAsync("/graphql", new { query = "{ next }" }));
            return result.GetProperty("data").GetProperty("next").GetInt32();
        });
        var numbers = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(1, 200), numbers.Order());
        Assert.Equal("0", await HttpAssert.TextAsync(await host.Client.GetAsync("/overlaps")));
    }

    [Fact]
    public async Task ACallWhoseClientGivesUpWhileQueued_NeverRuns_AndTheScriptKeepsServing()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["slow.js"] = """
                    let counted = 0;
                    register("/block", () => {
                      console.log("blocking now");
                      // Long enough that the two calls below are sent while it runs, even when a
                      // loaded machine delays this test's own continuations by seconds.
                      const end = Date.now() + 8000;
                      while (Date.now() < end) {}
                      return { body: "done" };
                    });
                    register("/count", () => ({ body: String(++counted) }));
                    registerGraphQLQuery("count", "type Query { count: Int }", () => ++counted);
                    """,
            },
            LongTimeout);

        var block = host.Client.GetAsync("/block");
        await WaitUntilAsync(() => host.Logs.Contains("blocking now"));

        // Both queue behind /block; their clients give up long before it ends.
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            var route = host.Client.GetAsync("/count", giveUp.Token);
            var query = host.Client.PostAsJsonAsync("/graphql", new { query = "{ count }" }, giveUp.Token);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => route);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query);
        }

        Assert.Equal("done", await HttpAssert.TextAsync(await block));
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.GetAsync("/count")));
        var result = await HttpAssert.JsonAsync(await host.Client.PostAsJsonAsync("/graphql", new { query = "{ count }" }));
        Assert.Equal(2, result.GetProperty("data").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task CallsQueuedBehindAReload_AreAllAnswered()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["app.js"] = """
                    register("/v", () => { const end = Date.now() + 20; while (Date.now() < end) {} return { body: "v1" }; });
                    """,
            },
            LongTimeout);

        var calls = Enumerable.Range(0, 40).Select(_ => host.Client.GetAsync("/v")).ToArray();
        var change = await host.WriteScriptAsync("app.js", """register("/v", () => ({ body: "v2" }));""");
        var answers = await Task.WhenAll(calls.Select(async call => await HttpAssert.TextAsync(await call)));

        Assert.Equal(AiWebEngine.Scripting.ScriptChangeKind.Updated, change.Kind);
        Assert.All(answers, answer => Assert.Contains(answer, new[] { "v1", "v2" }));
        Assert.Equal("v2", await HttpAssert.TextAsync(await host.Client.GetAsync("/v")));
    }

    [Fact]
    public async Task CallsOverTheQueueLimit_Get503ScriptBusy_WithRetryAfter_AndNeverRun()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["slow.js"] = """
                    let counted = 0;
                    register("/block", () => {
                      console.log("blocking now");
                      const end = Date.now() + 8000;
                      while (Date.now() < end) {}
                      return { body: "done" };
                    });
                    register("/count", () => ({ body: String(++counted) }));
                    registerGraphQLQuery("count", "type Query { count: Int }", () => ++counted);
                    """,
            },
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:30", ["AiWebEngine:Scripts:MaxQueuedCalls"] = "2" });
        var script = host.Services.GetRequiredService<RouteTable>().Snapshot.Values.First(r => r.Path.Path == "/count").Instance;

        var block = host.Client.GetAsync("/block");
        await WaitUntilAsync(() => host.Logs.Contains("blocking now"));
        var queued = new[] { host.Client.GetAsync("/count"), host.Client.GetAsync("/count") };
        await WaitUntilAsync(() => script.QueuedCalls == 2);

        // The queue is full: refused at once, with a hint when to come back.
        var refused = await host.Client.GetAsync("/count");
        var error = await HttpAssert.ErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "SCRIPT_BUSY");
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("AiWebEngine:Scripts:MaxQueuedCalls", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        var query = await HttpAssert.JsonAsync(await host.Client.PostAsJsonAsync("/graphql", new { query = "{ count }" }));
        Assert.Equal("SCRIPT_BUSY", query.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());
        Assert.Equal(2, script.QueuedCalls);

        // The queued ones run after the running one; the refused ones never ran.
        Assert.Equal("done", await HttpAssert.TextAsync(await block));
        var answers = await Task.WhenAll(queued.Select(async call => await HttpAssert.TextAsync(await call)));
        Assert.Equal(["1", "2"], answers.Order(StringComparer.Ordinal));
        Assert.Equal("3", await HttpAssert.TextAsync(await host.Client.GetAsync("/count")));
    }

    [Fact]
    public async Task ACallThatWaitsItsWholeCallTimeoutInTheQueue_Answers504_WithoutRunning()
    {
        // Fake time stands still while the first call runs (JavaScript's clock is real), then jumps
        // past CallTimeout: the queued call has spent its whole budget waiting.
        var time = new FakeTimeProvider();
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["slow.js"] = """
                    let counted = 0;
                    register("/block", () => {
                      console.log("blocking now");
                      const end = Date.now() + 6000;
                      while (Date.now() < end) {}
                      return { body: "done" };
                    });
                    register("/count", () => ({ body: String(++counted) }));
                    """,
            },
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:05" },
            time: time);
        var script = host.Services.GetRequiredService<RouteTable>().Snapshot.Values.First(r => r.Path.Path == "/count").Instance;

        var block = host.Client.GetAsync("/block");
        await WaitUntilAsync(() => host.Logs.Contains("blocking now"));
        var waited = host.Client.GetAsync("/count");
        await WaitUntilAsync(() => script.QueuedCalls == 1);
        time.Advance(TimeSpan.FromSeconds(5));

        var error = await HttpAssert.ErrorAsync(await waited, HttpStatusCode.GatewayTimeout, "SCRIPT_TIMEOUT");
        Assert.Contains("for the script's earlier calls and was not run", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, script.QueuedCalls);

        // The running call is past its budget too (the watchdog interrupts it); the waiting one never ran.
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await block).StatusCode);
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.GetAsync("/count")));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 30 s");
            await Task.Delay(10);
        }
    }
}
