using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Scripting;

/// <summary>
/// Loads every <c>*.js</c> file under <see cref="ScriptOptions.Path"/> at start, then watches the
/// directory: a file added or changed is (re)loaded, a file deleted is unloaded.
/// </summary>
/// <remarks>
/// Editors save in bursts (truncate, write, rename), so each file waits for
/// <see cref="ScriptOptions.ReloadDebounce"/> of quiet before it is read, and a file that cannot be
/// read yet is tried again a few times. A file that cannot be a script (a named pipe, an endless
/// device, over the size limit) is reported as a failed script without being read to the end.
/// While watching, the directory itself is checked every <see cref="DirectoryCheckInterval"/>: if it
/// is gone or unreadable (deleted, moved, replaced by a file), every script keeps serving, the
/// problem is logged and shown in <c>/health</c>, and when the directory is back it is watched and
/// synchronised again (files deleted meanwhile are unloaded then, not before).
/// The watcher itself may fail to start or fail later (inotify out of instances or watches, the
/// process out of file descriptors; .NET reports some of these as <see cref="OutOfMemoryException"/>):
/// that is logged, the scripts keep serving, and the next directory check starts a new watcher and
/// synchronises the directory, for as long as it takes. No watcher failure ends the process.
/// </remarks>
internal sealed partial class ScriptDirectory : IHostedService, IDisposable
{
    private readonly ScriptManager _manager;
    private readonly ScriptOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ScriptDirectory> _logger;
    private readonly ScriptWatcherFactory _watchers;
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _pending = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _initialLoad = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _watcherSync = new();
    private FileSystemWatcher? _watcher;
    private ITimer? _directoryCheck;
    private string? _directoryError;
    // Set when the watcher could not be started or reported an error: the next check starts a new one.
    private volatile bool _watcherLost;

    public ScriptDirectory(ScriptManager manager, IOptions<ScriptOptions> options, TimeProvider time, ILogger<ScriptDirectory> logger, ScriptWatcherFactory? watchers = null)
    {
        _manager = manager;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _watchers = watchers ?? new ScriptWatcherFactory();
        Root = Path.GetFullPath(_options.Path);
    }

    /// <summary>The absolute path of the scripts directory.</summary>
    public string Root { get; }

    /// <summary>
    /// Held while a file is read and loaded, and by the management API while it loads and writes a
    /// script: the disk and the loaded version change together, so a file read before an upload
    /// is never loaded after it (which would put the older version back).
    /// </summary>
    public SemaphoreSlim FileLock { get; } = new(1, 1);

    /// <summary>How often the scripts directory itself is checked while it is watched.</summary>
    public static readonly TimeSpan DirectoryCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>Why the scripts directory cannot be used now (gone, not a directory, unreadable), or <see langword="null"/>.</summary>
    public string? DirectoryError => Volatile.Read(ref _directoryError);

    /// <summary>Completes when every script present at start has been tried once.</summary>
    public Task InitialLoad => _initialLoad.Task;

    /// <summary>The URI of a file: its path relative to <see cref="Root"/> with <c>/</c> separators.</summary>
    public string UriOf(string fullPath) => Path.GetRelativePath(Root, fullPath).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Starts watching (when configured), then loads every script; the host listens only after this.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Watch)
        {
            // Watch before the first scan, so that a file written during the scan is not missed. A
            // watcher that cannot start now is retried by the directory check.
            TryWatch();
            _directoryCheck = _time.CreateTimer(_ => CheckDirectoryGuarded(), null, DirectoryCheckInterval, DirectoryCheckInterval);
        }

        // The first load runs before the server listens: no request sees a half-loaded directory.
        await LoadAllAsync(cancellationToken);
    }

    /// <summary>Nothing runs in the background but the watcher's events and the directory check, which <see cref="Dispose"/> ends.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Starts a new watcher in place of the old one; <see langword="false"/> (logged) when it cannot start.</summary>
    private bool TryWatch()
    {
        try
        {
            Watch();
            if (_watcherLost)
            {
                _watcherLost = false;
                WatchingAgain(_logger, Root);
            }

            return true;
        }
        catch (Exception e)
        {
            // Every exception, OutOfMemoryException included: starting inotify when descriptors or
            // kernel memory run out throws IOException or OutOfMemoryException, and neither may end
            // the process. The directory check tries again.
            if (!_watcherLost)
            {
                _watcherLost = true;
                WatcherFailed(_logger, e);
            }
            else
            {
                WatcherStillFailing(_logger, e.Message);
            }

            return false;
        }
    }

    private void Watch()
    {
        var watcher = _watchers.Create(Root);
        watcher.Created += (_, e) => ScheduleTree(e.FullPath);
        watcher.Changed += (_, e) => Schedule(e.FullPath);
        watcher.Deleted += (_, e) => Schedule(e.FullPath);
        watcher.Renamed += (_, e) =>
        {
            Schedule(e.OldFullPath);
            ScheduleTree(e.FullPath);
        };
        watcher.Error += (_, e) =>
        {
            // Events may have been lost (a full buffer) or the watcher may have stopped: the next
            // check replaces it and synchronises every file. Nothing here may throw: this runs on
            // the watcher's own thread, where an exception ends the process.
            _watcherLost = true;
            WatcherFailed(_logger, e.GetException());
        };
        try
        {
            watcher.EnableRaisingEvents = true;
        }
        catch
        {
            watcher.Dispose();
            throw;
        }

        lock (_watcherSync)
        {
            (_watcher, var previous) = (watcher, _watcher);
            previous?.Dispose();
        }
    }

    private async Task LoadAllAsync(CancellationToken stoppingToken)
    {
        try
        {
            var files = Directory.EnumerateFiles(Root, "*.js", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            foreach (var file in files)
            {
                await SyncAsync(file, isStartup: true, stoppingToken);
            }

            InitialLoadDone(_logger, files.Count, Root);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down during the first load.
        }
        finally
        {
            _initialLoad.TrySetResult();
        }
    }

    private void ScheduleTree(string fullPath)
    {
        if (!Directory.Exists(fullPath))
        {
            Schedule(fullPath);
            return;
        }

        try
        {
            foreach (var file in Directory.EnumerateFiles(fullPath, "*.js", SearchOption.AllDirectories))
            {
                Schedule(file);
            }
        }
        catch (IOException)
        {
            // The folder went away again; its own events say so.
        }
    }

    private void Schedule(string fullPath)
    {
        if (!fullPath.EndsWith(".js", StringComparison.Ordinal))
        {
            return;
        }

        // Every change restarts the file's wait: the wait that was pending is cancelled, so a burst of
        // writes closer together than ReloadDebounce loads the file once, after the last of them.
        // (AddOrUpdate returns the value it stored, never the one it replaced: that comes from the
        // update factory, whose last run is the one that won.)
        var fresh = new CancellationTokenSource();
        CancellationTokenSource? previous = null;
        _pending.AddOrUpdate(fullPath, fresh, (_, replaced) =>
        {
            previous = replaced;
            return fresh;
        });
        previous?.Cancel();

        _ = DebounceAsync(fullPath, fresh);
    }

    private async Task DebounceAsync(string fullPath, CancellationTokenSource token)
    {
        try
        {
            await Task.Delay(_options.ReloadDebounce, _time, token.Token);
            await _initialLoad.Task;
            _pending.TryRemove(new KeyValuePair<string, CancellationTokenSource>(fullPath, token));
            await SyncAsync(fullPath, isStartup: false, CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
            // A newer change of the same file superseded this one.
        }
        catch (Exception e)
        {
            // Everything, OutOfMemoryException included (nothing awaits this task, so a failure not
            // logged here is never seen): .NET reports some kernel resource exhaustion (ENOMEM, as
            // inotify gives when descriptors run out) as OutOfMemoryException; the next change tries again.
            SyncFailed(_logger, fullPath, e);
        }

        // The token is not disposed: a later change may still cancel it (Cancel on a disposed source
        // throws, on the watcher's thread), and a source without a timer holds nothing to release.
    }

    /// <summary>Makes the loaded state of one file match the disk.</summary>
    private async Task SyncAsync(string fullPath, bool isStartup, CancellationToken cancellationToken)
    {
        var uri = UriOf(fullPath);
        await FileLock.WaitAsync(cancellationToken);
        try
        {
            if (!File.Exists(fullPath))
            {
                // Every file "deleted" because the whole directory went away is not a delete of the script.
                CheckDirectory();
                if (DirectoryError is null)
                {
                    await _manager.UnloadAsync(uri);
                }

                return;
            }

            var (source, error) = await ReadAsync(fullPath, cancellationToken);
            if (error is not null)
            {
                await _manager.ReportUnreadableAsync(uri, error);
            }
            else if (source is not null)
            {
                await _manager.LoadAsync(uri, source, isStartup, cancellationToken);
            }
        }
        finally
        {
            FileLock.Release();
        }
    }

    private async Task<(string? Source, string? Error)> ReadAsync(string fullPath, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ScriptFileReader.ReadAsync(fullPath, _options.MaxSourceBytes, cancellationToken);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return (null, null);
            }
            catch (IOException) when (attempt < 5)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _time, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"the file cannot be read: {e.Message}");
            }
        }
    }

    public void Dispose()
    {
        _directoryCheck?.Dispose();
        lock (_watcherSync)
        {
            _watcher?.Dispose();
        }
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Loaded {Count} script file(s) from {Root}")]
    private static partial void InitialLoadDone(ILogger logger, int count, string root);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Error, Message = "The scripts directory watcher failed")]
    private static partial void WatcherFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Debug, Message = "The scripts directory watcher still cannot start: {Error}")]
    private static partial void WatcherStillFailing(ILogger logger, string error);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Information, Message = "Watching the scripts directory {Root} again")]
    private static partial void WatchingAgain(ILogger logger, string root);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Error, Message = "Applying the change of {Path} failed")]
    private static partial void SyncFailed(ILogger logger, string path, Exception error);
}
