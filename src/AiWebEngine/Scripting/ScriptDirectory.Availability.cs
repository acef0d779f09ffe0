namespace AiWebEngine.Scripting;

/// <summary>The scripts directory itself going away and coming back (see the remarks of the class).</summary>
internal sealed partial class ScriptDirectory
{
    // The timer's callback: an exception escaping a timer callback ends the process.
    private void CheckDirectoryGuarded()
    {
        try
        {
            CheckDirectory();
        }
        catch (Exception e)
        {
            // OutOfMemoryException included, for the reason TryWatch gives; the next tick tries again.
            CheckFailed(_logger, Root, e);
        }
    }

    /// <summary>Notices the scripts directory going away or coming back, and a lost watcher (see the remarks of the class).</summary>
    private void CheckDirectory()
    {
        var error = ProbeDirectory();
        var previous = Interlocked.Exchange(ref _directoryError, error);
        if (error is not null && previous is null)
        {
            DirectoryUnavailable(_logger, Root, error);
        }
        else if (error is null && previous is not null)
        {
            DirectoryBack(_logger, Root);
            Resynchronise();
        }
        else if (error is null && _watcherLost)
        {
            Resynchronise();
        }
    }

    private string? ProbeDirectory()
    {
        try
        {
            if (!Directory.Exists(Root))
            {
                return $"the scripts directory {Root} does not exist or is not a directory; the loaded scripts keep serving";
            }

            using var entries = Directory.EnumerateFileSystemEntries(Root).GetEnumerator();
            entries.MoveNext();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"the scripts directory {Root} cannot be read ({e.Message}); the loaded scripts keep serving";
        }
    }

    // The directory is back, maybe as another directory: watch it anew, then bring every script in
    // step with it (a file that is identical to the version that serves changes nothing).
    private void Resynchronise()
    {
        if (!TryWatch())
        {
            return;
        }

        try
        {
            foreach (var file in Directory.EnumerateFiles(Root, "*.js", SearchOption.AllDirectories))
            {
                Schedule(file);
            }

            foreach (var status in _manager.Statuses)
            {
                Schedule(Path.Combine(Root, status.Uri.Replace('/', Path.DirectorySeparatorChar)));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Gone again already: the next check reports it.
            WatcherFailed(_logger, e);
        }
    }

    [LoggerMessage(EventId = 1308, Level = LogLevel.Error, Message = "Checking the scripts directory {Root} failed; the next check tries again")]
    private static partial void CheckFailed(ILogger logger, string root, Exception error);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Error, Message = "The scripts directory {Root} is unavailable: {Error}")]
    private static partial void DirectoryUnavailable(ILogger logger, string root, string error);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Information, Message = "The scripts directory {Root} is back; watching and synchronising it again")]
    private static partial void DirectoryBack(ILogger logger, string root);
}
