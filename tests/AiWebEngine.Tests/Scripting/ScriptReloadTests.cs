using System.Net;
using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Scripting;

/// <summary>The reload rules of SPEC §2, through the watched scripts directory.</summary>
public sealed class ScriptReloadTests
{
    private static string Version(int n) => $$"""register("/version", () => ({ body: "v{{n}}" })); register("/only-v{{n}}", () => ({ body: "only" }));""";

    [Fact]
    public async Task EditedFile_Reloads_WhileRequestsRun_WithoutA404OrAFailure()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = Version(1) });
        using var stop = new CancellationTokenSource();
        var seen = new List<string>();
        var failures = new List<string>();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await host.Client.GetAsync("/version");
                var body = await response.Content.ReadAsStringAsync();
                lock (failures)
                {
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Add($"{(int)response.StatusCode} {body}");
                    }
                    else if (seen.Count == 0 || seen[^1] != body)
                    {
                        seen.Add(body);
                    }
                }
            }
        });

        for (var n = 2; n <= 5; n++)
        {
            Assert.Equal(ScriptChangeKind.Updated, (await host.WriteScriptAsync("app.js", Version(n))).Kind);
            await Task.Delay(50);
        }

        // Let the request loop observe the last version before stopping it.
        for (var i = 0; i < 200 && !SeenLast(); i++)
        {
            await Task.Delay(25);
        }

        await stop.CancelAsync();
        await load;

        bool SeenLast()
        {
            lock (failures)
            {
                return seen.Contains("v5");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal("v5", seen[^1]);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/only-v1"), HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal("only", await HttpAssert.TextAsync(await host.Client.GetAsync("/only-v5")));
    }

    [Fact]
    public async Task BrokenFile_KeepsTheOldVersionServing_AndReportsTheErrorInLogAndHealth()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = Version(1) });

        var change = await host.WriteScriptAsync("app.js", "register('/version', () => ({ body: 'v2' }));\nlet broken = ;\n");

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.StartsWith("SyntaxError", change.Error, StringComparison.Ordinal);
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
        Assert.True(host.Logs.Contains("app.js failed to load: SyntaxError", LogLevel.Error));
        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));
        var failed = health.GetProperty("scripts").GetProperty("failed").EnumerateArray().Single();
        Assert.Equal("app.js", failed.GetProperty("uri").GetString());
        Assert.StartsWith("SyntaxError", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, failed.GetProperty("line").GetInt32());
        Assert.True(failed.GetProperty("previousVersionServing").GetBoolean());
        Assert.Equal("degraded", health.GetProperty("status").GetString());

        Assert.Equal(ScriptChangeKind.Updated, (await host.WriteScriptAsync("app.js", Version(3))).Kind);
        health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal("v3", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
    }

    [Fact]
    public async Task ThrowingTopLevel_KeepsTheOldVersion()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = Version(1) });

        var change = await host.WriteScriptAsync("app.js", "register('/version', () => ({ body: 'v2' }));\nthrow new Error('not today');");

        Assert.Equal("not today", change.Error);
        Assert.Equal(2, change.ErrorLine);
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
    }

    [Fact]
    public async Task ErrorLine_IsReported_ForScriptsInSubfolders_AcrossReloads()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["chat/rooms.js"] = Version(1) });

        var first = await host.WriteScriptAsync("chat/rooms.js", "// one\n// two\nthrow new Error('first');");
        var second = await host.WriteScriptAsync("chat/rooms.js", "// one\nnull.boom;");

        Assert.Equal(3, first.ErrorLine);
        Assert.Equal(2, second.ErrorLine);
        Assert.StartsWith("TypeError", second.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConflictingRegistration_FailsTheLoad_AndKeepsBothOldVersions()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["a.js"] = """register("/a", () => ({ body: "a1" }));""",
            ["b.js"] = """register("/b", () => ({ body: "b1" }));""",
        });

        var change = await host.WriteScriptAsync("b.js", """register("/b", () => ({ body: "b2" })); register("/a", () => ({ body: "stolen" }));""");

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Equal("register: GET /a is already registered by a.js", change.Error);
        Assert.Equal("a1", await HttpAssert.TextAsync(await host.Client.GetAsync("/a")));
        Assert.Equal("b1", await HttpAssert.TextAsync(await host.Client.GetAsync("/b")));
    }

    [Fact]
    public async Task DeletedFile_RemovesEveryRoute()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["app.js"] = Version(1),
            ["nested/other.js"] = """register("/nested", () => ({ body: "nested" }));""",
        });

        Assert.Equal("nested", await HttpAssert.TextAsync(await host.Client.GetAsync("/nested")));
        var change = await host.DeleteScriptAsync("nested/other.js");

        Assert.Equal(ScriptChangeKind.Removed, change.Kind);
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/nested"), HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));
        Assert.Equal(1, health.GetProperty("scripts").GetProperty("loaded").GetInt32());
    }

    [Fact]
    public async Task NewFile_InASubfolder_LoadsWithItsRelativeUri()
    {
        await using var host = await EngineHost.StartAsync();

        var change = await host.WriteScriptAsync("chat/rooms.js", """function init(ctx) { name = ctx.scriptName; } var name; register("/rooms", () => ({ body: name }));""");

        Assert.Equal(ScriptChangeKind.Inserted, change.Kind);
        Assert.Equal("chat/rooms.js", await HttpAssert.TextAsync(await host.Client.GetAsync("/rooms")));
    }

    [Fact]
    public async Task Init_GetsItsContext_IsStartupOnlyAtStart()
    {
        const string script = """
            var context;
            function init(ctx) { context = ctx; }
            register("/context", () => ({ body: context }));
            """;
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["ctx.js"] = script });

        var atStart = await HttpAssert.JsonAsync(await host.Client.GetAsync("/context"));
        await host.WriteScriptAsync("ctx.js", script + "\n// edited");
        var afterReload = await HttpAssert.JsonAsync(await host.Client.GetAsync("/context"));

        Assert.Equal("ctx.js", atStart.GetProperty("scriptName").GetString());
        Assert.True(atStart.GetProperty("isStartup").GetBoolean());
        Assert.True(DateTimeOffset.TryParse(atStart.GetProperty("timestamp").GetString(), out _));
        Assert.False(afterReload.GetProperty("isStartup").GetBoolean());
    }

    [Fact]
    public async Task AsyncInit_IsAwaited_BeforeTheVersionServes()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["async-init.js"] = """
                let ready = "no";
                async function init() { await Promise.resolve(); ready = "yes"; register("/ready", () => ({ body: ready })); }
                """,
        });

        Assert.Equal("yes", await HttpAssert.TextAsync(await host.Client.GetAsync("/ready")));
    }

    [Fact]
    public async Task HandlerRegisteringARoute_AddsItAtOnce()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["dynamic.js"] = """
                register("/rooms/{name}", (req) => {
                  register("/room/" + req.params.name, () => ({ body: "room " + req.params.name }));
                  return { status: 201 };
                }, "POST");
                """,
        });

        await HttpAssert.TextAsync(await host.Client.PostAsync("/rooms/lobby", null), HttpStatusCode.Created);

        Assert.Equal("room lobby", await HttpAssert.TextAsync(await host.Client.GetAsync("/room/lobby")));
        var change = await host.WriteScriptAsync("dynamic.js", """register("/other", () => ({}));""");
        Assert.Equal(ScriptChangeKind.Updated, change.Kind);
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/room/lobby"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task WriteLogAndConsole_GoToTheLog_TaggedWithTheScriptUri()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["logs.js"] = """
                writeLog("plain line");
                writeLog({ structured: true });
                console.log("log", 1, { a: [1, 2] });
                console.warn("careful");
                console.error("bad", new Error("oops").message);
                console.debug("details");
                """,
        });

        var lines = host.Logs.Lines.Where(l => l.Category == "AiWebEngine.Scripts").ToList();
        Assert.Contains(lines, l => l.Level == LogLevel.Information && l.Message == "[logs.js] plain line");
        Assert.Contains(lines, l => l.Level == LogLevel.Information && l.Message == "[logs.js] {\"structured\":true}");
        Assert.Contains(lines, l => l.Level == LogLevel.Information && l.Message == "[logs.js] log 1 {\"a\":[1,2]}");
        Assert.Contains(lines, l => l.Level == LogLevel.Warning && l.Message == "[logs.js] careful");
        Assert.Contains(lines, l => l.Level == LogLevel.Error && l.Message == "[logs.js] bad oops");
        Assert.Contains(lines, l => l.Level == LogLevel.Debug && l.Message == "[logs.js] details");
    }

    [Fact]
    public async Task ABurstOfWrites_CloserThanTheDebounce_LoadsOnce_TheFinalContent()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["app.js"] = TopLevelLogging(0) },
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:ReloadDebounce"] = "00:00:01" });
        var changes = new System.Collections.Concurrent.ConcurrentQueue<ScriptChange>();
        host.Scripts.Changed += change => changes.Enqueue(change);
        var path = Path.Combine(host.ScriptsDirectory, "app.js");

        // Ten versions 100 ms apart: each write comes well inside the 1 s quiet time the one before waits for.
        for (var n = 1; n <= 10; n++)
        {
            await File.WriteAllTextAsync(path, TopLevelLogging(n));
            await Task.Delay(100);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (changes.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }

        // Longer than the debounce again, so that a second (late) load would have happened by now.
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var loads = host.Logs.Lines.Where(l => l.Message.StartsWith("[app.js] top level v", StringComparison.Ordinal)).Select(l => l.Message).ToList();
        Assert.Equal(["[app.js] top level v0", "[app.js] top level v10"], loads);
        Assert.Equal([ScriptChangeKind.Updated], changes.Select(c => c.Kind));
        Assert.Equal("v10", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
    }

    private static string TopLevelLogging(int n) => $$"""writeLog("top level v{{n}}"); register("/version", () => ({ body: "v{{n}}" }));""";
}
