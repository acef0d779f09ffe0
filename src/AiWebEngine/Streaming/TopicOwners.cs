namespace AiWebEngine.Streaming;

/// <summary>
/// Which script owns a bus topic, for the per-script replay bound (<see cref="StreamOptions.ReplayMaxScriptBytes"/>).
/// The registries that give topics owners (stream paths, GraphQL subscriptions) add a lookup and say when ownership changes.
/// </summary>
/// <remarks>
/// A topic asks again only after a change (<see cref="Version"/>), so publishing costs one volatile read,
/// not a lookup. A topic no registry claims counts against no script (<c>""</c>), only against its own
/// and the process-wide bound.
/// </remarks>
internal sealed class TopicOwners
{
    private readonly Lock _sync = new();
    private Func<string, string?>[] _lookups = [];
    private int _version;

    /// <summary>Changes whenever some topic's owner may have changed.</summary>
    public int Version => Volatile.Read(ref _version);

    public void Add(Func<string, string?> lookup)
    {
        lock (_sync)
        {
            Volatile.Write(ref _lookups, [.. _lookups, lookup]);
        }

        Changed();
    }

    public void Changed() => Interlocked.Increment(ref _version);

    public string OwnerOf(string topic)
    {
        foreach (var lookup in Volatile.Read(ref _lookups))
        {
            if (lookup(topic) is { } owner)
            {
                return owner;
            }
        }

        return "";
    }
}
