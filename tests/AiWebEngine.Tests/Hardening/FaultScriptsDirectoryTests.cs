using System.Diagnostics;
using System.Net;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Faults of the scripts directory (issue 7, point 4): a file half-written, a file that cannot be
/// read as a script (a named pipe, an endless device), the directory itself replaced or deleted.
/// The versions that serve stay untouched, the error is in the log and in <c>/health</c>, and the
/// server recovers when the directory does.
/// </summary>
public sealed class FaultScriptsDirectoryTests
{
    private static string App(int version) => $$"""
        registerWebStream("/feed");
        register("/publish", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        register("/version", () => ({ body: "{{version}}" }));
        """;

    private const string Hello = """register("/hello", () => ({ body: "hello" }));""";

    private static Task<EngineHost> StartAsync() =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = App(1), ["hello.js"] = Hello }, kestrel: true);

    private static async Task PublishAsync(EngineHost host, int seq) =>
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/publish", new StringContent(seq.ToString(System.Globalization.CultureInfo.InvariantCulture)))));

    private static async Task<JsonElementAssert> HealthAsync(EngineHost host) => new(await FaultHelpers.HealthAsync(host.Client));

    [Fact]
    public async Task HalfWrittenFile_FailsToLoad_TheServingVersionStays_AndTheFullFileLoads()
    {
        await using var host = await StartAsync();
        await using var client = await FaultSseClient.OpenAsync(host.BaseAddress, "/feed");
        await PublishAsync(host, 1);

        // The writer stopped in the middle of the file.
        var full = App(2);
        var change = await host.WaitForChangeAsync("app.js", () => File.WriteAllText(Path.Combine(host.ScriptsDirectory, "app.js"), full[..(full.Length / 2)]));

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        var health = await HealthAsync(host);
        Assert.Equal("degraded", health.Status);
        var failed = Assert.Single(health.Failed);
        Assert.Equal("app.js", failed.GetProperty("uri").GetString());
        Assert.True(failed.GetProperty("previousVersionServing").GetBoolean());
        Assert.False(string.IsNullOrEmpty(failed.GetProperty("error").GetString()));
        Assert.Contains(host.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("app.js", StringComparison.Ordinal));
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
        await PublishAsync(host, 2);

        // The rest of the file arrives.
        Assert.Equal(ScriptChangeKind.Updated, (await host.WriteScriptAsync("app.js", full)).Kind);
        Assert.Equal("2", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
        await PublishAsync(host, 3);
        await client.WaitForCountAsync(3, TimeSpan.FromSeconds(30));
        client.AssertReceivedInOrder(1, 3);
        Assert.Equal("ok", (await HealthAsync(host)).Status);
    }

    [Fact]
    public async Task NamedPipeAndEndlessDevice_AreReportedWithoutBeingRead_AndTheWatcherKeepsWorking()
    {
        await using var host = await StartAsync();
        var pipe = Path.Combine(host.ScriptsDirectory, "pipe.js");
        var zero = Path.Combine(host.ScriptsDirectory, "zero.js");

        // Reading a named pipe blocks until someone writes; /dev/zero never ends.
        var pipeChange = await host.WaitForChangeAsync("pipe.js", () => Process.Start("mkfifo", pipe).WaitForExit());
        var zeroChange = await host.WaitForChangeAsync("zero.js", () => File.CreateSymbolicLink(zero, "/dev/zero"));

        Assert.Equal(ScriptChangeKind.Failed, pipeChange.Kind);
        Assert.Contains("not a regular file", pipeChange.Error, StringComparison.Ordinal);
        Assert.Equal(ScriptChangeKind.Failed, zeroChange.Kind);
        Assert.Contains("MaxSourceBytes", zeroChange.Error, StringComparison.Ordinal);
        var health = await HealthAsync(host);
        Assert.Equal("degraded", health.Status);
        Assert.Equal(["pipe.js", "zero.js"], health.Failed.Select(f => f.GetProperty("uri").GetString()));
        Assert.True(host.Logs.Lines.Count(l => l.Level == LogLevel.Error && (l.Message.Contains("pipe.js", StringComparison.Ordinal) || l.Message.Contains("zero.js", StringComparison.Ordinal))) >= 2);

        // The watcher is not stuck on them: a new script loads, the others serve.
        Assert.Equal(ScriptChangeKind.Inserted, (await host.WriteScriptAsync("more.js", """register("/more", () => ({ body: "more" }));""")).Kind);
        Assert.Equal("more", await HttpAssert.TextAsync(await host.Client.GetAsync("/more")));

        await host.WaitForChangeAsync("pipe.js", () => File.Delete(pipe));
        await host.WaitForChangeAsync("zero.js", () => File.Delete(zero));
        await FaultHelpers.AssertHealthyAsync(host.Client, "/hello", "hello", "/feed", "/publish");
    }

    [Theory]
    [InlineData("replaced by a file")]
    [InlineData("deleted")]
    public async Task ScriptsDirectoryGone_KeepsEveryScriptServing_ReportsIt_AndRecoversWhenItIsBack(string fault)
    {
        await using var host = await StartAsync();
        await using var client = await FaultSseClient.OpenAsync(host.BaseAddress, "/feed");
        await PublishAsync(host, 1);
        var root = host.ScriptsDirectory;
        var saved = root + ".saved";

        if (fault == "deleted")
        {
            CopyDirectory(root, saved);
            Directory.Delete(root, recursive: true);
        }
        else
        {
            Directory.Move(root, saved);
            await File.WriteAllTextAsync(root, "not a directory");
        }

        await FaultHelpers.WaitUntilAsync(async () => (await HealthAsync(host)).DirectoryError is not null, "/health to report the scripts directory");
        var health = await HealthAsync(host);
        Assert.Equal("degraded", health.Status);
        Assert.Contains(root, health.DirectoryError, StringComparison.Ordinal);
        Assert.Equal(2, health.Loaded);
        Assert.Contains(host.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains(root, StringComparison.Ordinal));
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
        Assert.Equal("hello", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
        await PublishAsync(host, 2);

        // The directory comes back: the error clears and changes are watched again.
        if (File.Exists(root))
        {
            File.Delete(root);
        }

        Directory.Move(saved, root);
        await FaultHelpers.WaitUntilAsync(async () => (await HealthAsync(host)).DirectoryError is null, "/health to clear the directory error");
        Assert.Equal(ScriptChangeKind.Updated, (await host.WriteScriptAsync("app.js", App(2))).Kind);
        Assert.Equal("2", await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
        await PublishAsync(host, 3);
        await client.WaitForCountAsync(3, TimeSpan.FromSeconds(30));
        client.AssertReceivedInOrder(1, 3);
        await FaultHelpers.AssertHealthyAsync(host.Client, "/hello", "hello", "/feed", "/publish");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    /// <summary>The parts of /health these tests read.</summary>
    private sealed class JsonElementAssert(System.Text.Json.JsonElement health)
    {
        public string? Status => health.GetProperty("status").GetString();

        public int Loaded => health.GetProperty("scripts").GetProperty("loaded").GetInt32();

        public IReadOnlyList<System.Text.Json.JsonElement> Failed => [.. health.GetProperty("scripts").GetProperty("failed").EnumerateArray()];

        public string? DirectoryError =>
            health.GetProperty("scripts").TryGetProperty("directoryError", out var error) ? error.GetString() : null;
    }
}
