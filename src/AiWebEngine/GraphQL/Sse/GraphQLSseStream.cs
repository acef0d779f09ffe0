using System.Threading.Channels;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.Streaming;
using GraphQL;

namespace AiWebEngine.GraphQL.Sse;

/// <summary>
/// One subscription's event stream: observes the subscription's results and queues their frames for
/// the connection's writer, ending with <c>complete</c> when the subscription ends.
/// </summary>
/// <remarks>
/// The queue is bounded and never blocks the event source: a client that falls
/// <see cref="GraphQLOptions.QueueCapacity"/> frames behind (see <see cref="QueueAllowance"/>) is marked
/// <see cref="Overflowed"/>, gets a <c>next</c> with a <c>SUBSCRIPTION_OVERFLOW</c> error and
/// <c>complete</c> after what is queued, and <see cref="Overflow"/> fires, so the transport ends the
/// connection (the client re-subscribes).
/// </remarks>
internal sealed class GraphQLSseStream : IObserver<SubscriptionEvent>, ISubscriptionEventBatches, IKeepAliveTarget
{
    private static readonly ReadOnlyMemory<byte> KeepAliveFrame = SseFrames.KeepAlive.ToArray();

    private readonly Channel<ReadOnlyMemory<byte>> _frames;
    private readonly GraphQLJson _json;
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private QueueAllowance _allowance;
    private long _lastActivity;
    private int _ended;

    public GraphQLSseStream(int capacity, GraphQLJson json, TimeProvider? time = null)
    {
        _json = json;
        _time = time ?? TimeProvider.System;
        _capacity = capacity;
        // The channel's bound is the hard one; the allowance decides before it (see QueueAllowance).
        // Two frames of headroom: the last event of a stream is followed by complete (and maybe an error).
        _frames = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions((capacity * QueueAllowance.MaxRounds) + 2)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>The frames to write; completes after <c>complete</c>, or when the stream is stopped.</summary>
    public ChannelReader<ReadOnlyMemory<byte>> Frames => _frames.Reader;

    /// <summary>Lets a shared subscription's fan-out write to the connection's socket while the writer is idle.</summary>
    public DirectSendGate Gate { get; } = new();

    /// <summary>Whether the client was dropped because its queue was full.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Fires once when the queue overflows; the transport aborts the connection.</summary>
    public event Action? Overflow;

    ref long IKeepAliveTarget.LastActivity => ref _lastActivity;

    void IKeepAliveTarget.EnqueueKeepAlive() => _frames.Writer.TryWrite(KeepAliveFrame);

    /// <summary>Queues the event's frame, encoded once for every client of a shared subscription.</summary>
    public void OnNext(SubscriptionEvent value) => Enqueue(value.SseFrame);

    /// <summary>Events of a shared fan-out: their chunk straight to the socket while the writer is idle, otherwise their frames queued.</summary>
    public bool OnNextBatch(ReadOnlySpan<SubscriptionEvent> events, ReadOnlySpan<byte> chunk, long now)
    {
        using (Gate.Enter())
        {
            if (Volatile.Read(ref _ended) == 0 && Gate.TrySendLocked(chunk, now))
            {
                Volatile.Write(ref _lastActivity, now);
                return true;
            }

            foreach (var value in events)
            {
                EnqueueLocked(value.SseFrame);
            }
        }

        return false;
    }

    /// <summary>An error of the event source: sent as a <c>next</c> with <c>errors</c>, then <c>complete</c>.</summary>
    public void OnError(Exception error)
    {
        Enqueue(GraphQLSseFrames.NextError(error, _json));
        OnCompleted();
    }

    public void OnCompleted()
    {
        Enqueue(GraphQLSseFrames.Complete);
        Stop();
    }

    /// <summary>Ends the stream; without <c>complete</c> when the client left or the server stops (then graphql-sse clients retry).</summary>
    public void Stop()
    {
        Volatile.Write(ref _ended, 1);
        _frames.Writer.TryComplete();
    }

    // Every frame but keep-alives is queued under the gate: a frame sent directly never overtakes it.
    private void Enqueue(ReadOnlyMemory<byte> frame)
    {
        using (Gate.Enter())
        {
            EnqueueLocked(frame);
        }
    }

    private void EnqueueLocked(ReadOnlyMemory<byte> frame)
    {
        Gate.QueuingLocked();
        if (Overflowed || Volatile.Read(ref _ended) != 0)
        {
            // Stopped (the writer ends with what is queued); complete and errors still fit the headroom.
            _frames.Writer.TryWrite(frame);
            return;
        }

        if (_allowance.Allows(_frames.Reader.Count, _capacity, frame.Length, Gate.WaitingSince, _time) && _frames.Writer.TryWrite(frame))
        {
            return;
        }

        // Too far behind: the client gets what is queued, then why it ends (in the headroom of two
        // frames), on every transport; the transport aborts it if it does not take them in time.
        Overflowed = true;
        _frames.Writer.TryWrite(GraphQLSseFrames.NextError(new ExecutionError(
            $"The client fell {_capacity} results behind its subscription and was disconnected (AiWebEngine:GraphQL:QueueCapacity); subscribe again.") { Code = "SUBSCRIPTION_OVERFLOW" }, _json));
        _frames.Writer.TryWrite(GraphQLSseFrames.Complete);
        _frames.Writer.TryComplete();
        Overflow?.Invoke();
    }
}
