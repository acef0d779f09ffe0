using System.Net;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Scripting;

/// <summary>Every limit of SPEC §2, breached for real.</summary>
public sealed class ScriptLimitTests
{
    private static readonly Dictionary<string, string?> ShortTimeout = new() { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:00.500" };

    [Fact]
    public async Task InfiniteLoopInAHandler_Gets504_AndEveryScriptKeepsServing()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["loop.js"] = """
                    let calls = 0;
                    register("/loop", () => { calls++; while (true) {} });
                    register("/calls", () => ({ body: String(calls) }));
                    """,
                ["other.js"] = """register("/other", () => ({ body: "other" }));""",
            },
            ShortTimeout);

        var slow = host.Client.GetAsync("/loop");
        var other = await host.Client.GetAsync("/other");
        var error = await HttpAssert.ErrorAsync(await slow, HttpStatusCode.GatewayTimeout, "SCRIPT_TIMEOUT");

        Assert.Equal("other", await HttpAssert.TextAsync(other));
        Assert.Contains("500 ms", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.GetAsync("/calls")));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/loop"), HttpStatusCode.GatewayTimeout, "SCRIPT_TIMEOUT");
        Assert.Equal("2", await HttpAssert.TextAsync(await host.Client.GetAsync("/calls")));
    }

    [Fact]
    public async Task PromiseThatNeverSettles_Gets504()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["pending.js"] = """register("/pending", () => new Promise(() => {}));  register("/ok", () => ({ body: "ok" }));""" },
            ShortTimeout);

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/pending"), HttpStatusCode.GatewayTimeout, "SCRIPT_TIMEOUT");
        Assert.Equal("ok", await HttpAssert.TextAsync(await host.Client.GetAsync("/ok")));
    }

    [Fact]
    public async Task InfiniteLoopAtTopLevelOrInInit_FailsTheLoad_AndKeepsThePreviousVersion()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["app.js"] = """register("/v", () => ({ body: "v1" }));""" },
            ShortTimeout);

        var topLevel = await host.WriteScriptAsync("app.js", """register("/v", () => ({ body: "v2" })); while (true) {}""");
        var init = await host.WriteScriptAsync("app.js", """register("/v", () => ({ body: "v3" })); function init() { for (;;) {} }""");

        Assert.Equal(ScriptChangeKind.Failed, topLevel.Kind);
        Assert.Contains("did not finish within 500 ms", topLevel.Error, StringComparison.Ordinal);
        Assert.Equal(ScriptChangeKind.Failed, init.Kind);
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/v")));
    }

    [Fact]
    public async Task UnboundedAllocation_FailsTheCall_AndTheScriptRecoversInAFreshIsolate()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["hog.js"] = """
                    let calls = 0;
                    register("/hog", () => { const a = []; while (true) a.push(new Array(100000).fill(calls++)); });
                    register("/alive", () => ({ body: "alive" }));
                    """,
            },
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxHeapMiB"] = "32", ["AiWebEngine:Scripts:CallTimeout"] = "00:00:20" });

        var recovered = host.WaitForChangeAsync("hog.js", () => { });
        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync("/hog"), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
        var reload = await recovered;

        Assert.Contains("heap limit", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(ScriptChangeKind.Updated, reload.Kind);
        Assert.Equal("alive", await HttpAssert.TextAsync(await host.Client.GetAsync("/alive")));
    }

    [Fact]
    public async Task DeepRecursion_FailsTheCall_NotTheProcess()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["deep.js"] = """
                function down(n) { return down(n + 1) + 1; }
                register("/deep", () => ({ body: String(down(0)) }));
                register("/ok", () => ({ body: "ok" }));
                """,
        });

        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync("/deep"), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        Assert.Contains("stack", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ok", await HttpAssert.TextAsync(await host.Client.GetAsync("/ok")));
    }

    [Fact]
    public async Task SourceOverTheLimit_FailsTheLoad_WithTheSizes()
    {
        await using var host = await EngineHost.StartAsync();
        var big = "// " + new string('x', 1024 * 1024) + "\nregister('/big', () => ({}));";

        var change = await host.WriteScriptAsync("big.js", big);

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Equal($"the script is {big.Length} bytes; the limit is 1048576 bytes (AiWebEngine:Scripts:MaxSourceBytes)", change.Error);
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/big"), HttpStatusCode.NotFound, "NOT_FOUND");
    }
}
