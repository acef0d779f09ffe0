using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// These tests throw OutOfMemoryException on purpose: it is what the runtime throws for some inotify failures.
#pragma warning disable CA2201

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// The scripts directory watcher failing (issue 16, point 2): inotify out of instances or the process
/// out of file descriptors makes .NET throw IOException or OutOfMemoryException when a watcher
/// starts, or raise the watcher's Error event later. Neither ends the process: the failure is
/// logged, the scripts keep serving, and a new watcher is started until one works.
/// </summary>
public sealed class FaultScriptsWatcherTests
{
    private const string Hello = """register("/hello", () => ({ body: "hello" }));""";

    [Fact]
    public async Task WatcherThatCannotStart_OutOfMemory_IsLoggedAndRetried_AndChangesLoadOnceItStarts()
    {
        var watchers = new FlakyWatcherFactory(failures: 3, () => new OutOfMemoryException("Out of memory."));
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["hello.js"] = Hello },
            services: s => s.AddSingleton<ScriptWatcherFactory>(watchers));

        // The start-up load does not need the watcher; the process is up and serving.
        Assert.Equal("hello", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
        Assert.Contains(host.Logs.Lines, l => l.EventId == 1301 && l.Level == LogLevel.Error);

        // A file written while no watcher runs is found when one starts (the retry synchronises the directory).
        await File.WriteAllTextAsync(Path.Combine(host.ScriptsDirectory, "late.js"), """register("/late", () => ({ body: "late" }));""");
        await FaultHelpers.WaitUntilAsync(() => host.Logs.Contains("Watching the scripts directory"), "the watcher to be started again", TimeSpan.FromSeconds(60));
        await FaultHelpers.WaitUntilAsync(async () => (await host.Client.GetAsync("/late")).IsSuccessStatusCode, "late.js to load");
        Assert.True(watchers.Attempts >= 4);

        // And the new watcher sees changes.
        Assert.Equal(ScriptChangeKind.Updated, (await host.WriteScriptAsync("hello.js", """register("/hello", () => ({ body: "hello again" }));""")).Kind);
        Assert.Equal("hello again", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
    }

    [Fact]
    public async Task WatcherThatCannotStart_TooManyOpenFiles_DoesNotFailTheStart()
    {
        var watchers = new FlakyWatcherFactory(failures: int.MaxValue, () => new IOException("Too many open files"));
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["hello.js"] = Hello },
            services: s => s.AddSingleton<ScriptWatcherFactory>(watchers));

        await FaultHelpers.WaitUntilAsync(() => watchers.Attempts >= 3, "the watcher to be retried");
        Assert.Equal("hello", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
        Assert.Single(host.Logs.Lines, l => l.EventId == 1301);
    }

    [Fact]
    public async Task WatcherErrorEvent_IsLogged_AndTheWatcherIsReplaced()
    {
        var watchers = new FlakyWatcherFactory(failures: 0, () => new InvalidOperationException());
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["hello.js"] = Hello },
            services: s => s.AddSingleton<ScriptWatcherFactory>(watchers));
        var first = watchers.Last!;

        // What the runtime raises when inotify fails after the start (on the watcher's own thread).
        first.Fail(new OutOfMemoryException("Out of memory."));

        Assert.Contains(host.Logs.Lines, l => l.EventId == 1301 && l.Level == LogLevel.Error);
        await FaultHelpers.WaitUntilAsync(() => watchers.Last != first, "a new watcher");
        Assert.Equal(ScriptChangeKind.Updated, (await host.WriteScriptAsync("hello.js", """register("/hello", () => ({ body: "hello again" }));""")).Kind);
        Assert.Equal("hello again", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
    }

    /// <summary>Throws from the first <c>failures</c> creations, then makes real watchers.</summary>
    private sealed class FlakyWatcherFactory(int failures, Func<Exception> failure) : ScriptWatcherFactory
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public FailingWatcher? Last { get; private set; }

        public override FileSystemWatcher Create(string root)
        {
            if (Interlocked.Increment(ref _attempts) <= failures)
            {
                throw failure();
            }

            var watcher = new FailingWatcher(root);
            Last = watcher;
            return watcher;
        }
    }

    private sealed class FailingWatcher(string root) : FileSystemWatcher(root)
    {
        public void Fail(Exception error) => OnError(new ErrorEventArgs(error));
    }
}
