namespace AiWebEngine.Streaming;

/// <summary>
/// The messages one topic keeps for <c>Last-Event-ID</c> replay, oldest first, at most
/// <see cref="ReplayBudget.Depth"/> of them.
/// </summary>
/// <remarks>
/// Every member is guarded by its <see cref="ReplayBudget"/>'s lock (the budget may take the oldest
/// message of any window to honour a bound); only the budget touches it. Ids in a window increase,
/// so taking from the front never leaves a hole: what a window holds is always its topic's newest
/// messages, consecutive in the topic's order.
/// </remarks>
internal sealed class ReplayWindow(ReplayBudget budget, int depth, long serial)
{
    private readonly BusMessage[] _ring = new BusMessage[depth];
    private int _head;

    public ReplayBudget Budget { get; } = budget;

    /// <summary>Orders windows of the same size, so that a sorted set can hold them.</summary>
    public long Serial { get; } = serial;

    public int Count { get; private set; }

    /// <summary>The UTF-8 bytes of the payloads kept.</summary>
    public long Bytes { get; private set; }

    /// <summary>The script whose bound this window counts against (<c>""</c>: none).</summary>
    public ReplayBudget.Group? Group { get; set; }

    /// <summary>Set when the topic is gone: nothing is kept any more.</summary>
    public bool Released { get; set; }

    public int Capacity => _ring.Length;

    /// <summary>The <paramref name="index"/>-th kept message, 0 being the oldest.</summary>
    public BusMessage this[int index] => _ring[(_head + index) % _ring.Length];

    public void Push(BusMessage message)
    {
        if (Count == _ring.Length)
        {
            // The budget makes room first; this is only a guard for the invariant.
            throw new InvalidOperationException("The replay window is full.");
        }

        _ring[(_head + Count) % _ring.Length] = message;
        Count++;
        Bytes += message.Bytes;
    }

    /// <summary>Forgets the oldest message and returns its size.</summary>
    public int PopOldest()
    {
        var oldest = _ring[_head];
        _ring[_head] = null!;
        _head = (_head + 1) % _ring.Length;
        Count--;
        Bytes -= oldest.Bytes;
        return oldest.Bytes;
    }
}
