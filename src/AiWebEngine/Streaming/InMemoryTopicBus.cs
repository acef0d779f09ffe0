using System.Collections.Concurrent;
using AiWebEngine.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>The single-node topic bus: topics live in this process.</summary>
internal sealed class InMemoryTopicBus(IOptions<StreamOptions> options, EngineMetrics? metrics = null) : ITopicBus
{
    private readonly ConcurrentDictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    private readonly StreamOptions _options = options.Value;

    public int Publish(string topic, string data, IReadOnlyDictionary<string, string>? filter = null) =>
        GetOrCreate(topic).Publish(data, filter);

    public TopicSubscriber Subscribe(string topic, IReadOnlyDictionary<string, string> metadata, long? lastEventId) =>
        GetOrCreate(topic).Subscribe(metadata, lastEventId);

    public void Complete(string topic)
    {
        if (_topics.TryRemove(topic, out var removed))
        {
            removed.Complete();
        }
    }

    public TopicStats? GetStats(string topic) => _topics.TryGetValue(topic, out var found) ? found.Stats() : null;

    public void CompleteAll()
    {
        foreach (var topic in _topics.Values)
        {
            topic.Complete();
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
        _topics.GetOrAdd(name, static (n, state) => new Topic(n, state.Options.ReplayDepth, state.Options.QueueCapacity, state.Metrics), (Options: _options, Metrics: metrics));
}
