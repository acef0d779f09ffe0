using System.Threading.Channels;

namespace AiWebEngine.Streaming;

/// <summary>
/// One subscriber of a topic: a bounded queue of messages and the connection's metadata.
/// Disposing it unsubscribes at once.
/// </summary>
/// <remarks>
/// The queue never blocks the publisher: when the client is too far behind (see
/// <see cref="QueueAllowance"/>) the subscriber is marked <see cref="Overflowed"/>, its queue is completed
/// and <see cref="Overflow"/> fires, so that the transport drops the connection (the client reconnects
/// and resumes from its last id).
/// </remarks>
public sealed class TopicSubscriber : IDisposable, IKeepAliveTarget
{
    private readonly Channel<BusMessage> _queue;
    private readonly Action<TopicSubscriber> _unsubscribe;
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private QueueAllowance _allowance;
    private int _disposed;
    private int _clients = 1;

    internal TopicSubscriber(IReadOnlyDictionary<string, string> metadata, int capacity, Action<TopicSubscriber> unsubscribe, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Metadata = metadata;
        _unsubscribe = unsubscribe;
        _capacity = capacity;

        // The channel's bound is the hard one; the allowance decides before it (see QueueAllowance).
        _queue = Channel.CreateBounded<BusMessage>(new BoundedChannelOptions(capacity * QueueAllowance.MaxRounds)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>The connection's metadata, matched against message filters.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The messages to deliver; completes when the topic ends, the subscriber overflows or is ended.</summary>
    public ChannelReader<BusMessage> Messages => _queue.Reader;

    /// <summary>
    /// How many clients this subscriber delivers to: 1 for a connection; all of its clients for a
    /// shared GraphQL subscription. Publishers report the sum as their client count.
    /// </summary>
    public int Clients
    {
        get => Volatile.Read(ref _clients);
        set => Volatile.Write(ref _clients, value);
    }

    /// <summary>
    /// Completes once the topic knows where it stands (at once on one node; for a cluster topic being
    /// read from Redis, when its kept messages and last id are in): live messages start after it.
    /// </summary>
    internal Task Ready { get; init; } = Task.CompletedTask;

    /// <summary>Whether the subscriber was dropped because its queue was full.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Fires once when the queue overflows; the transport aborts the connection.</summary>
    public event Action? Overflow;

    /// <summary>When the transport last wrote to the client (a <see cref="TimeProvider"/> timestamp), for keep-alives.</summary>
    internal long LastActivity;

    ref long IKeepAliveTarget.LastActivity => ref LastActivity;

    /// <summary>Lets the topic's fan-out write to the connection's socket while its writer is idle.</summary>
    internal DirectSendGate Gate { get; } = new();

    /// <summary>Whether the topic delivers to this subscriber through its fan-out (set by the topic, under its lock, once the gate is open).</summary>
    internal bool Direct { get; set; }

    /// <summary>The first message id the fan-out delivers: earlier ones were queued when they were published.</summary>
    internal long FirstDirectId { get; set; }

    /// <summary>
    /// Delivers <paramref name="count"/> messages of the fan-out's batch from <paramref name="start"/>:
    /// <paramref name="chunk"/>, their shared bytes, straight to the socket while the writer is idle and
    /// every one of them is for this subscriber; otherwise the ones that are, queued.
    /// </summary>
    /// <param name="now">The pass's <see cref="TimeProvider"/> timestamp: the connection's last activity if sent.</param>
    /// <returns>Whether the chunk went straight to the socket.</returns>
    internal bool Offer(List<BusMessage> batch, int start, int count, ReadOnlySpan<byte> chunk, long now)
    {
        if (Overflowed)
        {
            return false; // dropped already, and counted then
        }

        var all = true;
        for (var i = start; i < start + count && all; i++)
        {
            all = batch[i].Id >= FirstDirectId && batch[i].IsFor(Metadata);
        }

        using (Gate.Enter())
        {
            if (all && Gate.TrySendLocked(chunk, now))
            {
                Volatile.Write(ref LastActivity, now);
                return true;
            }

            Gate.QueuingLocked();

            for (var i = start; i < start + count; i++)
            {
                var message = batch[i];
                if (message.Id >= FirstDirectId && message.IsFor(Metadata) && !TryEnqueue(message))
                {
                    break; // overflowed (the pass finds it marked), or disposed
                }
            }
        }

        return false;
    }

    internal bool TryEnqueue(BusMessage message)
    {
        if (_allowance.Allows(_queue.Reader.Count, _capacity, message.SseFrame.Length, Gate.WaitingSince, _time) && _queue.Writer.TryWrite(message))
        {
            return true;
        }

        if (!Overflowed && _disposed == 0 && !_queue.Reader.Completion.IsCompleted)
        {
            Overflowed = true;
            _queue.Writer.TryComplete();
            Overflow?.Invoke();
        }

        return false;
    }

    /// <summary>Queues a keep-alive comment, unless the queue is full (then the client is behind anyway).</summary>
    internal void EnqueueKeepAlive() => _queue.Writer.TryWrite(BusMessage.KeepAlive);

    void IKeepAliveTarget.EnqueueKeepAlive() => EnqueueKeepAlive();

    /// <summary>Ends the subscription: the transport writes what is queued and closes the stream.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _queue.Writer.TryComplete();
            _unsubscribe(this);
        }
    }
}
