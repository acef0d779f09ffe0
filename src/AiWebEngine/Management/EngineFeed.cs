using System.Threading.Channels;
using AiWebEngine.Streaming;

namespace AiWebEngine.Management;

/// <summary>One entry of an <see cref="EngineFeed{T}"/>: its id, its value, and its JSON and SSE frame, encoded once.</summary>
internal sealed record FeedItem<T>(long Id, T Value, string Json, byte[] Frame);

/// <summary>
/// An engine-internal feed (log lines, script changes): a bounded ring of the latest entries, and live
/// subscribers that each get the entries their filter accepts.
/// </summary>
/// <remarks>
/// Kept off the topic bus on purpose: these feeds are per instance, must not show up in the stream
/// counters, and filter by rules the bus does not have (a minimum log level). Appending and
/// subscribing take one lock, so a subscriber that resumes after <c>Last-Event-ID</c> gets every kept
/// entry it missed exactly once. Each entry is encoded once; its frame is shared by every subscriber.
/// </remarks>
internal sealed class EngineFeed<T>(int capacity, int queueCapacity)
{
    private readonly Lock _sync = new();
    private readonly FeedItem<T>[] _ring = new FeedItem<T>[capacity];
    private readonly HashSet<FeedSubscriber<T>> _subscribers = [];
    private int _next;
    private int _count;
    private long _lastId;

    /// <summary>Adds an entry; <paramref name="encode"/> turns it and its id into JSON.</summary>
    public void Append(T value, Func<long, T, string> encode)
    {
        lock (_sync)
        {
            var id = ++_lastId;
            var json = encode(id, value);
            var item = new FeedItem<T>(id, value, json, SseFrames.Message(id, json));
            _ring[_next] = item;
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
            foreach (var subscriber in _subscribers)
            {
                subscriber.Offer(item);
            }
        }
    }

    /// <summary>The kept entries, oldest first.</summary>
    public List<FeedItem<T>> Snapshot()
    {
        lock (_sync)
        {
            var items = new List<FeedItem<T>>(_count);
            var start = (_next - _count + _ring.Length) % _ring.Length;
            for (var i = 0; i < _count; i++)
            {
                items.Add(_ring[(start + i) % _ring.Length]);
            }

            return items;
        }
    }

    /// <summary>Subscribes; with <paramref name="lastEventId"/>, the kept entries after it come first.</summary>
    public FeedSubscriber<T> Subscribe(Func<T, bool> filter, long? lastEventId)
    {
        lock (_sync)
        {
            var subscriber = new FeedSubscriber<T>(filter, queueCapacity + _count, Unsubscribe);
            if (lastEventId is { } last)
            {
                foreach (var item in Snapshot())
                {
                    if (item.Id > last)
                    {
                        subscriber.Offer(item);
                    }
                }
            }

            _subscribers.Add(subscriber);
            return subscriber;
        }
    }

    private void Unsubscribe(FeedSubscriber<T> subscriber)
    {
        lock (_sync)
        {
            _subscribers.Remove(subscriber);
        }
    }
}

/// <summary>
/// One live client of a feed: a bounded queue of frames. A client that falls <c>capacity</c> frames
/// behind has its queue completed, which ends its stream; it reconnects and resumes with <c>Last-Event-ID</c>.
/// </summary>
internal sealed class FeedSubscriber<T> : IKeepAliveTarget, IDisposable
{
    private static readonly byte[] KeepAliveFrame = SseFrames.KeepAlive.ToArray();

    private readonly Channel<byte[]> _queue;
    private readonly Func<T, bool> _filter;
    private readonly Action<FeedSubscriber<T>> _unsubscribe;
    private long _lastActivity;

    public FeedSubscriber(Func<T, bool> filter, int capacity, Action<FeedSubscriber<T>> unsubscribe)
    {
        _filter = filter;
        _unsubscribe = unsubscribe;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The frames to write; completes when the client falls too far behind or the subscriber is ended.</summary>
    public ChannelReader<byte[]> Frames => _queue.Reader;

    ref long IKeepAliveTarget.LastActivity => ref _lastActivity;

    public void Offer(FeedItem<T> item)
    {
        if (_filter(item.Value) && !_queue.Writer.TryWrite(item.Frame))
        {
            _queue.Writer.TryComplete();
        }
    }

    public void EnqueueKeepAlive() => _queue.Writer.TryWrite(KeepAliveFrame);

    /// <summary>Ends the stream (the client left, or the server stops).</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public void Dispose()
    {
        Complete();
        _unsubscribe(this);
    }
}
