using System.Collections.Concurrent;
using AiWebEngine.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>The single-node topic bus: topics live in this process.</summary>
/// <remarks>
/// Ids must never repeat for a topic, or a client's <c>Last-Event-ID</c> would hide newer messages:
/// after a restart (the ids of the old process live only in its memory) and after a stream path is
/// removed and registered again. So a topic's ids start above the microseconds since 1970 when it is
/// created, and above every id a removed topic of this process reached: a later life of a topic
/// always has greater ids than an earlier one (unless the clock goes back, or an earlier life
/// published more than one message per microsecond on average).
/// </remarks>
internal sealed class InMemoryTopicBus(IOptions<StreamOptions> options, EngineMetrics? metrics = null, TimeProvider? time = null, TopicOwners? owners = null, ILogger<InMemoryTopicBus>? logger = null) : ITopicBus
{
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    private readonly StreamOptions _options = options.Value;
    private readonly EngineMetrics? _metrics = metrics;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ReplayBudget _replay = new(options.Value);
    private readonly TopicOwners? _owners = owners;
    private readonly ILogger? _logger = logger;
    private long _removedHighWater;

    public int Publish(string topic, string data, IReadOnlyDictionary<string, string>? filter = null) =>
        GetOrCreate(topic).Publish(data, filter);

    public TopicSubscriber Subscribe(string topic, IReadOnlyDictionary<string, string> metadata, long? lastEventId) =>
        GetOrCreate(topic).Subscribe(metadata, lastEventId);

    public void Complete(string topic)
    {
        if (_topics.TryRemove(topic, out var removed))
        {
            removed.Complete();
            RaiseHighWater(removed.Stats().LastId);
        }
    }

    public long ReplayBytes => _replay.Bytes;

    public TopicStats? GetStats(string topic) => _topics.TryGetValue(topic, out var found) ? found.Stats() : null;

    public void CompleteAll()
    {
        foreach (var topic in _topics.Values)
        {
            topic.Complete();
            RaiseHighWater(topic.Stats().LastId);
        }

        _topics.Clear();
    }

    /// <summary>Every subscriber of every topic, for the keep-alive sweep.</summary>
    public void ForEachSubscriber(Action<TopicSubscriber> action)
    {
        foreach (var topic in _topics.Values)
        {
            topic.ForEachSubscriber(action);
        }
    }

    private Topic GetOrCreate(string name) =>
        _topics.GetOrAdd(name, static (n, self) => new Topic(n, self._replay, self._options.QueueCapacity, self._metrics, self.IdBase(), self._time, self._owners, logger: self._logger), this);

    /// <summary>Where the ids of a new topic start (see the remarks of the class).</summary>
    private long IdBase()
    {
        var microseconds = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        return Math.Max(microseconds, Volatile.Read(ref _removedHighWater));
    }

    private void RaiseHighWater(long lastId)
    {
        var current = Volatile.Read(ref _removedHighWater);
        while (lastId > current)
        {
            var seen = Interlocked.CompareExchange(ref _removedHighWater, lastId, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
