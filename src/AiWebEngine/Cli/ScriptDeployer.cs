using System.Threading.Channels;

namespace AiWebEngine.Cli;

/// <summary>
/// Uploads one file and reports the outcome like a compiler (<c>file:line: error CODE: message</c>);
/// with <see cref="WatchAsync"/>, again on every save.
/// </summary>
/// <remarks>
/// A watch outlives the server: while it cannot be reached the upload is retried every
/// <see cref="RetryInterval"/> (with the file as it is then), so a restarted server gets the latest
/// version as soon as it listens again.
/// </remarks>
internal sealed class ScriptDeployer(string path, string uri, ScriptUpload upload, TextWriter output, TextWriter error)
{
    /// <summary>Quiet time after a change before the file is read (editors save in several writes). Default 200 ms.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often an unreachable server is tried again while watching. Default 1 s.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Uploads the file once: 0 when the server loaded it, 1 otherwise.</summary>
    public async Task<int> DeployOnceAsync(CancellationToken cancellationToken)
    {
        var source = await ReadAsync(cancellationToken);
        if (source is null)
        {
            return 1;
        }

        try
        {
            return Report(await upload.PutAsync(uri, source, cancellationToken)) ? 0 : 1;
        }
        catch (Exception e) when (IsUnreachable(e, cancellationToken))
        {
            await error.WriteLineAsync($"{path}: error: cannot reach {upload.Server} ({e.Message})");
            return 1;
        }
    }

    /// <summary>Uploads now and after every save until <paramref name="cancellationToken"/> fires; returns 0.</summary>
    public async Task<int> WatchAsync(CancellationToken cancellationToken)
    {
        var changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        var full = Path.GetFullPath(path);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        watcher.Changed += (_, _) => changes.Writer.TryWrite(true);
        watcher.Created += (_, _) => changes.Writer.TryWrite(true);
        // Editors that save by writing a temporary file and renaming it over this one.
        watcher.Renamed += (_, _) => changes.Writer.TryWrite(true);
        watcher.EnableRaisingEvents = true;
        await output.WriteLineAsync($"Watching {path}: every save is uploaded to {upload.AddressOf(uri)}.");

        try
        {
            await DeployUntilAnsweredAsync(changes.Reader, cancellationToken);
            while (await changes.Reader.WaitToReadAsync(cancellationToken))
            {
                await Task.Delay(Debounce, cancellationToken);
                await DeployUntilAnsweredAsync(changes.Reader, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C (or the caller) ended the watch: the normal end.
        }

        return 0;
    }

    /// <summary>Uploads the file as it is now, retrying while the server cannot be reached.</summary>
    private async Task DeployUntilAnsweredAsync(ChannelReader<bool> changes, CancellationToken cancellationToken)
    {
        var waiting = false;
        while (true)
        {
            // This upload reads the file after every change seen so far.
            while (changes.TryRead(out _))
            {
            }

            var source = await ReadAsync(cancellationToken);
            if (source is null)
            {
                return;
            }

            try
            {
                Report(await upload.PutAsync(uri, source, cancellationToken));
                return;
            }
            catch (Exception e) when (IsUnreachable(e, cancellationToken))
            {
                if (!waiting)
                {
                    await error.WriteLineAsync($"{path}: cannot reach {upload.Server} ({e.Message}); retrying until it is back.");
                    waiting = true;
                }

                await Task.Delay(RetryInterval, cancellationToken);
            }
        }
    }

    private bool Report(UploadResult result)
    {
        if (result.Succeeded)
        {
            output.WriteLine($"Deployed {uri} to {upload.Server} ({(int)result.Status} {result.Status}).");
            return true;
        }

        var where = result.Line is { } line ? $"{path}:{line}" : path;
        var code = result.Code ?? ((int)result.Status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        error.WriteLine($"{where}: error {code}: {result.Message} ({(int)result.Status} {result.Status})");
        return false;
    }

    private async Task<string?> ReadAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await File.ReadAllTextAsync(path, cancellationToken);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                await error.WriteLineAsync($"{path}: error: the file does not exist.");
                return null;
            }
            catch (IOException) when (attempt < 5)
            {
                // The editor is still writing it.
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken);
            }
        }
    }

    // A refused connection, or the HttpClient's own timeout (which is not the caller cancelling).
    private static bool IsUnreachable(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);
}
