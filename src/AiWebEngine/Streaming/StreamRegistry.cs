using AiWebEngine.Routing;

namespace AiWebEngine.Streaming;

/// <summary>
/// Which stream paths exist and which script owns each. A path's messages travel on the bus topic
/// <see cref="TopicOf"/>; a path that stops being registered has its topic completed, which ends
/// its clients' streams.
/// </summary>
internal sealed class StreamRegistry
{
    private const string TopicPrefix = "stream:";
    private readonly ITopicBus _bus;
    private readonly TopicOwners? _topicOwners;
    private readonly Lock _sync = new();
    private Dictionary<string, string> _owners = new(StringComparer.Ordinal);
    private Dictionary<string, string> _rateLimits = new(StringComparer.Ordinal);

    public StreamRegistry(ITopicBus bus, TopicOwners? topicOwners = null)
    {
        _bus = bus;
        _topicOwners = topicOwners;
        topicOwners?.Add(topic => topic.StartsWith(TopicPrefix, StringComparison.Ordinal) ? OwnerOf(topic[TopicPrefix.Length..]) : null);
    }

    /// <summary>The bus topic of a stream path.</summary>
    public static string TopicOf(string path) => TopicPrefix + path;

    /// <summary>Path → owning script URI, an immutable snapshot.</summary>
    public IReadOnlyDictionary<string, string> Snapshot => Volatile.Read(ref _owners);

    public string? OwnerOf(string path) => Snapshot.GetValueOrDefault(path);

    /// <summary>The rate limit policy the stream at <paramref name="path"/> was registered with, or <see langword="null"/>.</summary>
    public string? RateLimitOf(string path) => Volatile.Read(ref _rateLimits).GetValueOrDefault(path);

    /// <summary>The stream paths <paramref name="uri"/> owns now.</summary>
    public List<string> PathsOf(string uri)
    {
        var paths = new List<string>();
        foreach (var (path, owner) in Snapshot)
        {
            if (owner == uri)
            {
                paths.Add(path);
            }
        }

        return paths;
    }

    /// <summary>The checks of SPEC §3 for a stream path; <see langword="null"/> when valid.</summary>
    public static string? Validate(string path)
    {
        if (RoutePath.Validate(path) is { } error)
        {
            return error;
        }

        return path.Contains("..", StringComparison.Ordinal) ? $"path '{path}' contains '..'" : null;
    }

    /// <summary>Adds a path for a script that is serving. Returns the other owner on conflict.</summary>
    public string? Add(string uri, string path, string? rateLimit = null)
    {
        lock (_sync)
        {
            if (_owners.TryGetValue(path, out var owner) && owner != uri)
            {
                return owner;
            }

            SetRateLimit(path, rateLimit);
            if (owner is not null)
            {
                return null;
            }

            Volatile.Write(ref _owners, new Dictionary<string, string>(_owners, StringComparer.Ordinal) { [path] = uri });
        }

        _topicOwners?.Changed();
        return null;
    }

    /// <summary>The first of <paramref name="paths"/> another script owns, with its owner.</summary>
    public (string Path, string Owner)? FindConflict(string uri, IEnumerable<string> paths)
    {
        var owners = Snapshot;
        foreach (var path in paths)
        {
            if (owners.TryGetValue(path, out var owner) && owner != uri)
            {
                return (path, owner);
            }
        }

        return null;
    }

    /// <summary>Makes <paramref name="paths"/> the only paths of <paramref name="uri"/>; ends the clients of paths it no longer has.</summary>
    /// <remarks>Call <see cref="FindConflict"/> first, under the same outer lock.</remarks>
    public void ReplaceOwner(string uri, IReadOnlyCollection<string> paths, IReadOnlyDictionary<string, string>? rateLimits = null)
    {
        var removed = new List<string>();
        lock (_sync)
        {
            var next = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (path, owner) in _owners)
            {
                if (owner != uri)
                {
                    next[path] = owner;
                }
                else if (!paths.Contains(path))
                {
                    removed.Add(path);
                }
            }

            foreach (var path in paths)
            {
                next[path] = uri;
            }

            var limits = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (path, policy) in _rateLimits)
            {
                if (next.TryGetValue(path, out var owner) && owner != uri)
                {
                    limits[path] = policy;
                }
            }

            foreach (var (path, policy) in rateLimits ?? new Dictionary<string, string>())
            {
                limits[path] = policy;
            }

            Volatile.Write(ref _rateLimits, limits);
            Volatile.Write(ref _owners, next);
        }

        _topicOwners?.Changed();

        foreach (var path in removed)
        {
            _bus.Complete(TopicOf(path));
        }
    }

    // Under _sync: one path's policy, in a new snapshot.
    private void SetRateLimit(string path, string? rateLimit)
    {
        if (_rateLimits.GetValueOrDefault(path) == rateLimit)
        {
            return;
        }

        var next = new Dictionary<string, string>(_rateLimits, StringComparer.Ordinal);
        if (rateLimit is null)
        {
            next.Remove(path);
        }
        else
        {
            next[path] = rateLimit;
        }

        Volatile.Write(ref _rateLimits, next);
    }
}
