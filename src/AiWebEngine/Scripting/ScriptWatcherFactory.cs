namespace AiWebEngine.Scripting;

/// <summary>Creates the watcher of the scripts directory; tests replace it to make creation fail.</summary>
internal class ScriptWatcherFactory
{
    /// <summary>A watcher of <paramref name="root"/> and everything below it, not yet raising events.</summary>
    /// <remarks>
    /// No name filter: a folder created with scripts already in it (mkdir, then write) only shows up
    /// as the folder, so its files are scanned when it appears.
    /// </remarks>
    public virtual FileSystemWatcher Create(string root) =>
        new(root) { IncludeSubdirectories = true, InternalBufferSize = 64 * 1024 };
}
