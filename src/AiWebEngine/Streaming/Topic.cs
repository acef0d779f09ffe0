using AiWebEngine.Diagnostics.Metrics;

namespace AiWebEngine.Streaming;

/// <summary>
/// One topic of the in-memory bus: its subscribers, its message ids and the ring of the last
/// <see cref="StreamOptions.ReplayDepth"/> messages.
/// </summary>
/// <remarks>
/// Ids continue from <paramref name="idBase"/>: the first message gets <c>idBase + 1</c>.
/// Publishing, subscribing (with replay) and unsubscribing take one lock, so a message is either
/// replayed to a new subscriber or delivered to it live, never both and never neither, and every
/// subscriber receives messages in id order.
/// </remarks>
internal sealed class Topic(string name, int replayDepth, int queueCapacity, EngineMetrics? metrics = null, long idBase = 0)
{
    private readonly Lock _sync = new();
    private readonly HashSet<TopicSubscriber> _subscribers = [];
    private readonly BusMessage[] _ring = new BusMessage[replayDepth];
    private int _ringNext;
    private int _ringCount;
    private long _lastId = idBase;
    private long _published;
    private long _disconnected;
    private bool _completed;

    public string Name { get; } = name;

    public int Publish(string data, IReadOnlyDictionary<string, string>? filter)
    {
        lock (_sync)
        {
            return DeliverLocked(new BusMessage(_lastId + 1, data, filter));
        }
    }

    /// <summary>
    /// Delivers a message whose id was given elsewhere (by the Redis backplane). Ids must increase:
    /// a message at or below the last id is a duplicate and is ignored.
    /// </summary>
    /// <returns>The number of clients it was queued for.</returns>
    public int Deliver(BusMessage message)
    {
        lock (_sync)
        {
            return message.Id <= _lastId || _completed ? 0 : DeliverLocked(message);
        }
    }

    /// <summary>
    /// Fills the replay ring with messages that were published before this instance followed the
    /// topic (read back from the backplane), oldest first. Only before any other message.
    /// </summary>
    public void Seed(IEnumerable<BusMessage> kept, long lastId)
    {
        lock (_sync)
        {
            foreach (var message in kept)
            {
                if (message.Id > _lastId && _ring.Length > 0)
                {
                    _ring[_ringNext] = message;
                    _ringNext = (_ringNext + 1) % _ring.Length;
                    _ringCount = Math.Min(_ringCount + 1, _ring.Length);
                    _lastId = message.Id;
                }
            }

            _lastId = Math.Max(_lastId, lastId);
        }
    }

    /// <summary>The id of the last message published or delivered.</summary>
    public long LastId
    {
        get
        {
            lock (_sync)
            {
                return _lastId;
            }
        }
    }

    /// <summary>Whether the topic has been completed (it takes no more subscribers).</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_sync)
            {
                return _completed;
            }
        }
    }

    private int DeliverLocked(BusMessage message)
    {
        _lastId = message.Id;
        _published++;
        metrics?.MessagePublished();
        if (_ring.Length > 0)
        {
            _ring[_ringNext] = message;
            _ringNext = (_ringNext + 1) % _ring.Length;
            _ringCount = Math.Min(_ringCount + 1, _ring.Length);
        }

        var queued = 0;
        List<TopicSubscriber>? overflowed = null;
        foreach (var subscriber in _subscribers)
        {
            if (!message.IsFor(subscriber.Metadata))
            {
                continue;
            }

            if (subscriber.TryEnqueue(message))
            {
                queued += subscriber.Clients;
            }
            else
            {
                (overflowed ??= []).Add(subscriber);
            }
        }

        if (overflowed is not null)
        {
            // Too far behind: dropped here, disconnected by its transport, resumed by its client.
            _disconnected += overflowed.Count;
            metrics?.FramesDropped(overflowed.Count);
            _subscribers.ExceptWith(overflowed);
        }

        return queued;
    }

    public TopicSubscriber Subscribe(IReadOnlyDictionary<string, string> metadata, long? lastEventId)
    {
        var subscriber = new TopicSubscriber(metadata, queueCapacity + _ring.Length, Unsubscribe);
        lock (_sync)
        {
            if (_completed)
            {
                subscriber.Complete();
                return subscriber;
            }

            if (lastEventId is { } last)
            {
                var start = (_ringNext - _ringCount + _ring.Length) % Math.Max(_ring.Length, 1);
                for (var i = 0; i < _ringCount; i++)
                {
                    var message = _ring[(start + i) % _ring.Length];
                    if (message.Id > last && message.IsFor(metadata))
                    {
                        subscriber.TryEnqueue(message);
                    }
                }
            }

            _subscribers.Add(subscriber);
        }

        return subscriber;
    }

    private void Unsubscribe(TopicSubscriber subscriber)
    {
        lock (_sync)
        {
            _subscribers.Remove(subscriber);
        }
    }

    /// <summary>Ends every subscriber; the topic takes no new ones.</summary>
    public void Complete()
    {
        TopicSubscriber[] ended;
        lock (_sync)
        {
            _completed = true;
            ended = [.. _subscribers];
            _subscribers.Clear();
        }

        foreach (var subscriber in ended)
        {
            subscriber.Complete();
        }
    }

    public void ForEachSubscriber(Action<TopicSubscriber> action)
    {
        TopicSubscriber[] current;
        lock (_sync)
        {
            current = [.. _subscribers];
        }

        foreach (var subscriber in current)
        {
            action(subscriber);
        }
    }

    /// <summary>The clients a message with <paramref name="filter"/> would be queued for now.</summary>
    public int CountFor(IReadOnlyDictionary<string, string>? filter)
    {
        var probe = new BusMessage(0, "", filter);
        lock (_sync)
        {
            var count = 0;
            foreach (var subscriber in _subscribers)
            {
                if (probe.IsFor(subscriber.Metadata))
                {
                    count += subscriber.Clients;
                }
            }

            return count;
        }
    }

    public TopicStats Stats()
    {
        lock (_sync)
        {
            return new TopicStats(_subscribers.Sum(s => s.Clients), _published, _disconnected, _lastId);
        }
    }
}
