using AiWebEngine.Diagnostics.Metrics;

namespace AiWebEngine.Streaming;

/// <summary>
/// One topic of the bus: its subscribers, its message ids and its replay window (the newest messages
/// within the bounds of its <see cref="ReplayBudget"/>).
/// </summary>
/// <remarks>
/// <para>
/// Ids continue from <paramref name="idBase"/>: the first message gets <c>idBase + 1</c>.
/// Publishing, subscribing (with replay) and unsubscribing take one lock, so a message is either
/// replayed to a new subscriber or delivered to it live, never both and never neither, and every
/// subscriber receives messages in id order.
/// </para>
/// <para>
/// A topic created not <paramref name="seeded"/> (a cluster topic whose last id only Redis knows)
/// delivers nothing until <see cref="Seed"/> gives it its kept messages and last id: subscribers
/// taken before that get their replay then, ahead of anything live; one without a last id gets what
/// came after the id <paramref name="startAt"/> said when it subscribed (if it could say).
/// </para>
/// </remarks>
internal sealed partial class Topic(
    string name,
    ReplayBudget replay,
    int queueCapacity,
    EngineMetrics? metrics = null,
    long idBase = 0,
    TimeProvider? time = null,
    TopicOwners? owners = null,
    bool seeded = true,
    ILogger? logger = null,
    Func<long?>? startAt = null)
{
    private readonly Lock _sync = new();
    private readonly HashSet<TopicSubscriber> _subscribers = [];
    private readonly HashSet<TopicSubscriber> _direct = [];
    private TopicSubscriber[]? _directSnapshot;
    private FanOutQueue<BusMessage>? _fanOut;

    // Posted to the fan-out by Complete: it ends the direct subscribers after the messages before it.
    private static readonly BusMessage CompletionMarker = new(0, "", null);
    private readonly ReplayWindow? _window = replay.CreateWindow();
    private readonly TaskCompletionSource _ready = NewReady(seeded);
    private List<(TopicSubscriber Subscriber, long After)>? _awaitingReplay;
    private bool _seeded = seeded;
    private string _owner = "";
    private int _ownerVersion = -1;
    private long _lastId = idBase;
    private long _published;
    private long _disconnected;
    private bool _completed;

    public string Name { get; } = name;

    /// <summary>Completes once the topic knows its last id (at once, unless it was created not seeded).</summary>
    public Task Ready => _ready.Task;

    /// <summary>Whether the topic knows its last id.</summary>
    public bool IsSeeded
    {
        get
        {
            lock (_sync)
            {
                return _seeded;
            }
        }
    }

    public int Publish(string data, IReadOnlyDictionary<string, string>? filter)
    {
        lock (_sync)
        {
            return DeliverLocked(new BusMessage(_lastId + 1, data, filter));
        }
    }

    /// <summary>
    /// Delivers a message whose id was given elsewhere (by the Redis backplane). Ids must increase:
    /// a message at or below the last id is a duplicate and is ignored, as is everything before the seed.
    /// </summary>
    /// <returns>The number of clients it was queued for.</returns>
    public int Deliver(BusMessage message)
    {
        lock (_sync)
        {
            return message.Id <= _lastId || _completed || !_seeded ? 0 : DeliverLocked(message);
        }
    }

    /// <summary>
    /// Gives the topic the messages published before this instance followed it (read back from the
    /// backplane), oldest first, and its last id; then replays to the subscribers that came before.
    /// Once: a topic seeded already ignores it.
    /// </summary>
    public void Seed(IEnumerable<BusMessage> kept, long lastId)
    {
        lock (_sync)
        {
            if (_seeded)
            {
                return;
            }

            foreach (var message in kept)
            {
                if (message.Id > _lastId)
                {
                    KeepLocked(message);
                    _lastId = message.Id;
                }
            }

            _lastId = Math.Max(_lastId, lastId);
            foreach (var (subscriber, after) in _awaitingReplay ?? [])
            {
                if (_subscribers.Contains(subscriber))
                {
                    ReplayLocked(subscriber, after);
                }
            }

            _awaitingReplay = null;
            _seeded = true;
        }

        _ready.TrySetResult();
    }

    private static TaskCompletionSource NewReady(bool seeded)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (seeded)
        {
            ready.SetResult();
        }

        return ready;
    }

    /// <summary>Keeps a message for replay, counted against the topic's owner as of now.</summary>
    private void KeepLocked(BusMessage message)
    {
        if (_window is null)
        {
            return;
        }

        if (owners is not null && owners.Version is var version && version != _ownerVersion)
        {
            _ownerVersion = version;
            _owner = owners.OwnerOf(Name);
        }

        replay.Keep(_window, message, _owner);
    }

    /// <summary>Queues the kept messages after <paramref name="after"/>, within the per-request bound, saying so when some did not fit.</summary>
    private void ReplayLocked(TopicSubscriber subscriber, long after)
    {
        if (_window is null)
        {
            return;
        }

        var (messages, skipped) = replay.Select(_window, after, subscriber.Metadata);
        if (skipped > 0)
        {
            subscriber.TryEnqueue(BusMessage.Comment(
                $"replay cut: {skipped} older kept messages were not sent, only the newest {messages.Count} (AiWebEngine:Streams:MaxReplayBytesPerRequest is {replay.RequestBytes} bytes)"));
        }

        foreach (var message in messages)
        {
            subscriber.TryEnqueue(message);
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
        KeepLocked(message);

        var queued = 0;
        List<TopicSubscriber>? overflowed = null;
        foreach (var subscriber in _subscribers)
        {
            if (!message.IsFor(subscriber.Metadata))
            {
                continue;
            }

            if (!subscriber.Direct && subscriber.Gate.IsOpen)
            {
                // Its writer has sent the headers and waits for frames: from this message on, the
                // fan-out delivers to it (the earlier ones are in its queue, ahead of anything the
                // fan-out sends or queues).
                subscriber.FirstDirectId = message.Id;
                subscriber.Direct = true;
                _direct.Add(subscriber);
                _directSnapshot = null;
            }

            if (subscriber.Direct)
            {
                // The fan-out delivers it, after this lock.
                queued += subscriber.Clients;
            }
            else if (subscriber.TryEnqueue(message))
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

        if (_direct.Count > 0 && !_completed)
        {
            FanOut().Post(message);
        }

        return queued;
    }

    private FanOutQueue<BusMessage> FanOut() => _fanOut ??= new FanOutQueue<BusMessage>(Dispatch, logger is null ? null : e => FanOutFailed(logger, Name, e));

    /// <summary>
    /// The fan-out: delivers what was published since its last pass to every direct subscriber, a
    /// chunk of frames at a time, each chunk encoded once. Runs on the thread pool, one pass at a time,
    /// so every subscriber sees the messages in id order.
    /// </summary>
    private void Dispatch(List<BusMessage> batch)
    {
        TopicSubscriber[] targets;
        lock (_sync)
        {
            targets = _directSnapshot ??= [.. _direct];
        }

        var completes = ReferenceEquals(batch[^1], CompletionMarker);
        for (var start = 0; start < batch.Count - (completes ? 1 : 0);)
        {
            var count = DirectSendGate.Take(batch, start, static m => m.SseFrame, static m => ReferenceEquals(m, CompletionMarker));
            var pass = new Pass(batch, start, count, DirectSendGate.Chunk(batch, start, count, static m => m.SseFrame), (time ?? TimeProvider.System).GetTimestamp());
            var sent = FanOutPass.Run(targets, pass, static (subscriber, pass) =>
            {
                if (subscriber.Overflowed)
                {
                    return false; // dropped already
                }

                var sent = subscriber.Offer(pass.Batch, pass.Start, pass.Count, pass.Chunk, pass.Now);
                if (!sent && subscriber.Overflowed)
                {
                    pass.Overflowed(subscriber);
                }

                return sent;
            });
            metrics?.FramesDelivered(sent * count);

            if (pass.Dropped is { } overflowed)
            {
                lock (_sync)
                {
                    _disconnected += overflowed.Count;
                    metrics?.FramesDropped(overflowed.Count);
                    _subscribers.ExceptWith(overflowed);
                    _direct.ExceptWith(overflowed);
                    _directSnapshot = null;
                }
            }

            start += count;
        }

        if (completes)
        {
            CompleteDirect();
        }
    }

    public TopicSubscriber Subscribe(IReadOnlyDictionary<string, string> metadata, long? lastEventId)
    {
        // Room for the whole window and the note that replay was cut, ahead of the live frames.
        var subscriber = new TopicSubscriber(metadata, queueCapacity + (_window is null ? 0 : _window.Capacity + 1), Unsubscribe, time) { Ready = Ready };
        lock (_sync)
        {
            if (_completed)
            {
                subscriber.Complete();
                return subscriber;
            }

            if (!_seeded && (lastEventId ?? startAt?.Invoke()) is { } after)
            {
                (_awaitingReplay ??= []).Add((subscriber, after));
            }
            else if (_seeded && lastEventId is { } last)
            {
                ReplayLocked(subscriber, last);
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
            if (_direct.Remove(subscriber))
            {
                _directSnapshot = null;
            }
        }
    }

    /// <summary>Ends every subscriber; the topic takes no new ones.</summary>
    /// <remarks>
    /// Subscribers the fan-out delivers to end after it has delivered what was published before: the
    /// fan-out ends them on its next pass.
    /// </remarks>
    public void Complete()
    {
        TopicSubscriber[] ended;
        lock (_sync)
        {
            _completed = true;
            _awaitingReplay = null;
            if (_window is not null)
            {
                replay.Release(_window);
            }

            ended = [.. _subscribers.Where(s => !s.Direct)];
            _subscribers.ExceptWith(ended);
            if (_direct.Count > 0)
            {
                // After everything published before: nothing is posted after it.
                FanOut().Post(CompletionMarker);
            }
        }

        _ready.TrySetResult();
        foreach (var subscriber in ended)
        {
            subscriber.Complete();
        }
    }

    /// <summary>One chunk of a fan-out pass, and the subscribers it overflowed (from either thread of the pass).</summary>
    private sealed class Pass(List<BusMessage> batch, int start, int count, byte[] chunk, long now)
    {
        private readonly Lock _sync = new();

        public List<BusMessage> Batch { get; } = batch;

        public int Start { get; } = start;

        public int Count { get; } = count;

        public byte[] Chunk { get; } = chunk;

        public long Now { get; } = now;

        public List<TopicSubscriber>? Dropped { get; private set; }

        public void Overflowed(TopicSubscriber subscriber)
        {
            lock (_sync)
            {
                (Dropped ??= []).Add(subscriber);
            }
        }
    }

    private void CompleteDirect()
    {
        TopicSubscriber[] ended;
        lock (_sync)
        {
            ended = [.. _direct];
            _direct.Clear();
            _subscribers.Clear();
            _directSnapshot = null;
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
            return new TopicStats(_subscribers.Sum(s => s.Clients), _published, _disconnected, _lastId, replay.BytesOf(_window));
        }
    }

    [LoggerMessage(EventId = 1730, Level = LogLevel.Error, Message = "A fan-out pass of topic {Topic} failed; the deliveries of that pass that could be made were made, and the next passes go on")]
    private static partial void FanOutFailed(ILogger logger, string topic, Exception exception);
}
