namespace AiWebEngine.Streaming;

/// <summary>
/// Which stream paths exist and which script owns each. A path's messages travel on the bus topic
/// <see cref="TopicOf"/>; a path that stops being registered has its topic completed, which ends
/// its clients' streams. <see cref="StreamEndpointDataSource"/> serves each path as an endpoint.
/// </summary>
/// <remarks>
/// Changes publish a new immutable snapshot and then raise <see cref="Changed"/>: a path that a
/// reload keeps is in every snapshot, so its endpoint never goes away and its topic is not touched.
/// </remarks>
internal sealed class StreamRegistry
{
    private const string TopicPrefix = "stream:";
    private readonly ITopicBus _bus;
    private readonly TopicOwners? _topicOwners;
    private readonly Lock _sync = new();
    private Dictionary<string, StreamRegistration> _streams = new(StringComparer.Ordinal);

    public StreamRegistry(ITopicBus bus, TopicOwners? topicOwners = null)
    {
        _bus = bus;
        _topicOwners = topicOwners;
        topicOwners?.Add(topic => topic.StartsWith(TopicPrefix, StringComparison.Ordinal) ? OwnerOf(topic[TopicPrefix.Length..]) : null);
    }

    /// <summary>The bus topic of a stream path.</summary>
    public static string TopicOf(string path) => TopicPrefix + path;

    /// <summary>Raised after every change, with the lock released.</summary>
    public event Action? Changed;

    /// <summary>Path → registration, an immutable snapshot.</summary>
    public IReadOnlyDictionary<string, StreamRegistration> Snapshot => Volatile.Read(ref _streams);

    /// <summary>The rate limit policy a path's connects take a permit of, or <see langword="null"/>.</summary>
    public string? RateLimitOf(string path) => Snapshot.GetValueOrDefault(path)?.RateLimit;

    public string? OwnerOf(string path) => Snapshot.GetValueOrDefault(path)?.Owner;

    /// <summary>The stream paths <paramref name="uri"/> owns now.</summary>
    public List<string> PathsOf(string uri)
    {
        var paths = new List<string>();
        foreach (var (path, stream) in Snapshot)
        {
            if (stream.Owner == uri)
            {
                paths.Add(path);
            }
        }

        return paths;
    }

    /// <summary>Adds or replaces a path of a script that is serving. Returns the other owner on conflict.</summary>
    public string? Add(StreamRegistration stream)
    {
        lock (_sync)
        {
            // The owner registering its path again replaces the registration (its hook and options).
            if (_streams.TryGetValue(stream.Path, out var existing) && existing.Owner != stream.Owner)
            {
                return existing.Owner;
            }

            Volatile.Write(ref _streams, new Dictionary<string, StreamRegistration>(_streams, StringComparer.Ordinal) { [stream.Path] = stream });
        }

        _topicOwners?.Changed();
        Changed?.Invoke();
        return null;
    }

    /// <summary>The first of <paramref name="paths"/> another script owns, with its owner.</summary>
    public (string Path, string Owner)? FindConflict(string uri, IEnumerable<string> paths)
    {
        var streams = Snapshot;
        foreach (var path in paths)
        {
            if (streams.TryGetValue(path, out var stream) && stream.Owner != uri)
            {
                return (path, stream.Owner);
            }
        }

        return null;
    }

    /// <summary>Makes <paramref name="streams"/> the only paths of <paramref name="uri"/>; ends the clients of paths it no longer has.</summary>
    /// <remarks>Call <see cref="FindConflict"/> first, under the same outer lock.</remarks>
    public void ReplaceOwner(string uri, IReadOnlyCollection<StreamRegistration> streams)
    {
        var removed = new List<string>();
        lock (_sync)
        {
            var kept = streams.Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
            var next = new Dictionary<string, StreamRegistration>(StringComparer.Ordinal);
            foreach (var (path, stream) in _streams)
            {
                if (stream.Owner != uri)
                {
                    next[path] = stream;
                }
                else if (!kept.Contains(path))
                {
                    removed.Add(path);
                }
            }

            foreach (var stream in streams)
            {
                next[stream.Path] = stream;
            }

            Volatile.Write(ref _streams, next);
        }

        _topicOwners?.Changed();
        Changed?.Invoke();

        foreach (var path in removed)
        {
            _bus.Complete(TopicOf(path));
        }
    }
}
