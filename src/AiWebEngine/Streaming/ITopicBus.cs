namespace AiWebEngine.Streaming;

/// <summary>
/// The one topic bus every real-time path uses: stream paths (topic <c>stream:/path</c>) and GraphQL
/// subscriptions. Endpoints only publish, subscribe and complete; where messages travel (memory,
/// or a backplane shared by several instances) is the implementation's business.
/// </summary>
public interface ITopicBus
{
    /// <summary>
    /// Publishes <paramref name="data"/> on <paramref name="topic"/>, to the subscribers whose
    /// metadata matches <paramref name="filter"/>. Never blocks on a subscriber.
    /// </summary>
    /// <returns>The number of subscribers the message was queued for.</returns>
    int Publish(string topic, string data, IReadOnlyDictionary<string, string>? filter = null);

    /// <summary>
    /// Subscribes to <paramref name="topic"/>. With <paramref name="lastEventId"/>, the kept messages
    /// after it come first, in order and without duplicates, then the live ones.
    /// </summary>
    TopicSubscriber Subscribe(string topic, IReadOnlyDictionary<string, string> metadata, long? lastEventId);

    /// <summary>Ends every subscription of <paramref name="topic"/> and forgets its messages.</summary>
    void Complete(string topic);

    /// <summary>Counters of one topic, or <see langword="null"/> if it has never been used.</summary>
    TopicStats? GetStats(string topic);

    /// <summary>Ends every subscription of every topic (on shutdown).</summary>
    void CompleteAll();

    /// <summary>The bytes every topic keeps for replay now (bounded by <see cref="StreamOptions.ReplayMaxTotalBytes"/>).</summary>
    long ReplayBytes { get; }
}

/// <summary>Counters of one topic.</summary>
/// <param name="Subscribers">Clients connected now (each client of a shared GraphQL subscription counts).</param>
/// <param name="Published">Messages published since the topic was created.</param>
/// <param name="Disconnected">Subscribers disconnected because their queue was full.</param>
/// <param name="LastId">The id of the last message.</param>
/// <param name="ReplayBytes">The UTF-8 bytes of the messages kept for replay.</param>
public sealed record TopicStats(int Subscribers, long Published, long Disconnected, long LastId, long ReplayBytes);
