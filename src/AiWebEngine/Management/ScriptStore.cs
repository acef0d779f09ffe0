using System.Text;
using AiWebEngine.Scripting;

namespace AiWebEngine.Management;

/// <summary>The outcome of an upload.</summary>
internal enum UploadResult
{
    Created,
    Replaced,
    Failed,
}

/// <summary>
/// Reads, uploads and deletes scripts for the management API, through the same loading path as file
/// changes, and keeps the scripts directory in step.
/// </summary>
/// <remarks>
/// An upload loads first and writes the file only once the new version serves: a version that fails
/// changes nothing, on disk or in memory. The file is written to a temporary name (not <c>*.js</c>, so
/// the watcher ignores it) and renamed over the script, so a crash never leaves half a script behind.
/// The watcher then sees the file, finds the source that already serves, and does nothing.
/// Uploads and deletes hold <see cref="ScriptDirectory.FileLock"/> while they load and write, as the
/// watcher does while it reads and loads a file, so the directory and the loaded scripts cannot
/// disagree: a file event read before an upload can never be loaded after it.
/// </remarks>
internal sealed partial class ScriptStore(ScriptManager scripts, ScriptDirectory directory, ScriptReplication replication, ILogger<ScriptStore> logger)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public string Root => directory.Root;

    /// <summary>The source of the version that serves or, for a script that failed to load, of its file; <see langword="null"/> when there is neither.</summary>
    public async Task<string?> ReadAsync(string uri, CancellationToken cancellationToken)
    {
        if (scripts.SourceOf(uri) is { } source)
        {
            return source;
        }

        try
        {
            return await File.ReadAllTextAsync(PathOf(uri), cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Loads <paramref name="source"/> as <paramref name="uri"/> and, when it serves, writes it into the scripts directory.</summary>
    public async Task<(UploadResult Result, ScriptFailedException? Error)> UploadAsync(string uri, string source, CancellationToken cancellationToken)
    {
        return await UploadCoreAsync(uri, source, replicate: true, cancellationToken);
    }

    /// <summary>
    /// Applies a change made on another instance of the cluster, through the same path as an upload or
    /// a delete (<paramref name="source"/> <see langword="null"/>). Nothing happens when this instance
    /// already has that version. Returns the load error, if the version fails to load here.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="uri"/> is not a script URI under the scripts directory (the change came from outside the process: never trusted).</exception>
    public async Task<ScriptFailedException?> ApplyRemoteAsync(string uri, string? source)
    {
        if (ScriptUris.Validate(uri, directory.Root) is { } problem)
        {
            throw new ArgumentException($"A replicated change names no script of this instance: {problem}.", nameof(uri));
        }

        if (source is null)
        {
            await DeleteCoreAsync(uri, replicate: false);
            return null;
        }

        if (scripts.SourceOf(uri) == source)
        {
            return null;
        }

        var (_, error) = await UploadCoreAsync(uri, source, replicate: false, CancellationToken.None);
        return error;
    }

    private async Task<(UploadResult Result, ScriptFailedException? Error)> UploadCoreAsync(string uri, string source, bool replicate, CancellationToken cancellationToken)
    {
        await directory.FileLock.WaitAsync(cancellationToken);
        try
        {
            var path = PathOf(uri);
            var previous = scripts.SourceOf(uri);
            var existed = previous is not null || File.Exists(path);
            if (await scripts.UploadAsync(uri, source, cancellationToken) is { } error)
            {
                return (UploadResult.Failed, error);
            }

            try
            {
                // A change from another instance of a shared directory is already there: not written again.
                if (replicate || !await HasContentAsync(path, source))
                {
                    await WriteAtomicallyAsync(path, source);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The disk refused: put memory back the way the disk still has it.
                WriteFailed(logger, uri, e.Message);
                if (previous is not null)
                {
                    await scripts.LoadAsync(uri, previous, isStartup: false, CancellationToken.None);
                }
                else
                {
                    await scripts.UnloadAsync(uri);
                }

                throw;
            }

            if (replicate)
            {
                replication.Record(uri, source);
            }

            return (existed ? UploadResult.Replaced : UploadResult.Created, null);
        }
        finally
        {
            directory.FileLock.Release();
        }
    }

    /// <summary>Deletes the file and unloads the script. Returns whether there was either.</summary>
    public Task<bool> DeleteAsync(string uri) => DeleteCoreAsync(uri, replicate: true);

    private async Task<bool> DeleteCoreAsync(string uri, bool replicate)
    {
        await directory.FileLock.WaitAsync();
        try
        {
            var path = PathOf(uri);
            var known = scripts.Statuses.Any(s => s.Uri == uri);
            var existed = File.Exists(path);
            if (existed)
            {
                File.Delete(path);
            }

            // Unloaded now rather than when the watcher notices, so that the 204 means "gone".
            await scripts.UnloadAsync(uri);
            if (replicate && (existed || known))
            {
                replication.Record(uri, null);
            }

            return existed || known;
        }
        finally
        {
            directory.FileLock.Release();
        }
    }

    private static async Task<bool> HasContentAsync(string path, string source)
    {
        try
        {
            return await File.ReadAllTextAsync(path) == source;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private string PathOf(string uri) => Path.Combine(directory.Root, uri.Replace('/', Path.DirectorySeparatorChar));

    private static async Task WriteAtomicallyAsync(string path, string source)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await file.WriteAsync(Utf8.GetBytes(source));
                // On disk before the rename, or a crash could leave the new name on empty content.
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }


    [LoggerMessage(EventId = 1510, Level = LogLevel.Error, Message = "Writing the uploaded script {ScriptUri} failed: {Error}; the version on disk keeps serving")]
    private static partial void WriteFailed(ILogger logger, string scriptUri, string error);
}
