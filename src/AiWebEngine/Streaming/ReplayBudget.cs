namespace AiWebEngine.Streaming;

/// <summary>
/// The replay windows of every topic of one bus and the bounds they share: messages and bytes per
/// topic (<see cref="StreamOptions.ReplayDepth"/>, <see cref="StreamOptions.ReplayMaxBytes"/>), bytes per
/// owning script (<see cref="StreamOptions.ReplayMaxScriptBytes"/>) and bytes in the process
/// (<see cref="StreamOptions.ReplayMaxTotalBytes"/>).
/// </summary>
/// <remarks>
/// <para>
/// At a bound the oldest kept messages go, never a live one: a topic over its own bound loses its own
/// oldest; a script over its bound loses the oldest of its window that keeps the most bytes; the
/// process over its bound loses the oldest of the largest window of the script that keeps the most.
/// So the window over its share always pays first, and a busy topic cannot empty a quiet one's window
/// (max-min fairness). Eviction changes only what replay can still give: ids, delivery and the
/// order of what stays are untouched.
/// </para>
/// <para>
/// Every window is guarded by this one lock, so that a bound can take from a window other than the one
/// being added to. A topic takes it inside its own lock and this class never takes a topic's lock, so
/// the two cannot deadlock. The work under it is a few sorted-set updates per message.
/// </para>
/// </remarks>
internal sealed class ReplayBudget
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly SortedSet<Group> _largestGroups = new(LargestFirst.Instance);
    private long _serial;
    private long _total;

    public ReplayBudget(StreamOptions options)
    {
        Depth = options.ReplayDepth;
        StreamBytes = options.ReplayMaxBytes;
        ScriptBytes = options.ReplayMaxScriptBytes;
        TotalBytes = options.ReplayMaxTotalBytes;
        RequestBytes = options.MaxReplayBytesPerRequest;
    }

    public int Depth { get; }

    public long StreamBytes { get; }

    public long ScriptBytes { get; }

    public long TotalBytes { get; }

    public long RequestBytes { get; }

    /// <summary>The bytes every window keeps now.</summary>
    public long Bytes
    {
        get
        {
            lock (_sync)
            {
                return _total;
            }
        }
    }

    /// <summary>The bytes <paramref name="window"/> keeps now.</summary>
    public long BytesOf(ReplayWindow? window)
    {
        if (window is null)
        {
            return 0;
        }

        lock (_sync)
        {
            return window.Bytes;
        }
    }

    /// <summary>A new, empty window for one topic; <see langword="null"/> when replay is off.</summary>
    public ReplayWindow? CreateWindow() => Depth > 0 ? new ReplayWindow(this, Depth, Interlocked.Increment(ref _serial)) : null;

    /// <summary>Keeps <paramref name="message"/> in <paramref name="window"/>, counted against <paramref name="owner"/>, then honours every bound.</summary>
    public void Keep(ReplayWindow window, BusMessage message, string owner)
    {
        _ = message.Bytes; // counted outside the lock
        lock (_sync)
        {
            if (window.Released)
            {
                return;
            }

            if (window.Group is null || !ReferenceEquals(_groups.GetValueOrDefault(owner), window.Group))
            {
                MoveLocked(window, GroupLocked(owner));
            }

            var group = window.Group!;
            if (window.Count == window.Capacity)
            {
                EvictOldestLocked(window);
            }

            DetachLocked(window);
            window.Push(message);
            group.Bytes += message.Bytes;
            _total += message.Bytes;
            AttachLocked(window);

            while (window.Bytes > StreamBytes)
            {
                EvictOldestLocked(window);
            }

            while (group.Bytes > ScriptBytes && group.Windows.Min is { } largest)
            {
                EvictOldestLocked(largest);
            }

            while (_total > TotalBytes && _largestGroups.Min is { } largestGroup && largestGroup.Windows.Min is { } largest)
            {
                EvictOldestLocked(largest);
                if (largestGroup != group)
                {
                    ForgetIfEmptyLocked(largestGroup);
                }
            }

            // A message larger than a bound is not kept at all: the group can be empty now.
            ForgetIfEmptyLocked(group);
        }
    }

    /// <summary>
    /// The kept messages after <paramref name="lastId"/> for a connection with <paramref name="metadata"/>,
    /// oldest first: the newest of them whose payloads fit in <see cref="RequestBytes"/>, and how many
    /// older ones did not fit.
    /// </summary>
    public (List<BusMessage> Messages, int Skipped) Select(ReplayWindow window, long lastId, IReadOnlyDictionary<string, string> metadata)
    {
        var selected = new List<BusMessage>();
        var skipped = 0;
        lock (_sync)
        {
            long bytes = 0;
            for (var i = window.Count - 1; i >= 0; i--)
            {
                var message = window[i];
                if (message.Id <= lastId)
                {
                    break; // ids increase through the window
                }

                if (!message.IsFor(metadata))
                {
                    continue;
                }

                if (skipped == 0 && bytes + message.Bytes <= RequestBytes)
                {
                    bytes += message.Bytes;
                    selected.Add(message);
                }
                else
                {
                    skipped++;
                }
            }
        }

        selected.Reverse();
        return (selected, skipped);
    }

    /// <summary>Forgets everything <paramref name="window"/> keeps (its topic is gone); it keeps nothing after.</summary>
    public void Release(ReplayWindow window)
    {
        lock (_sync)
        {
            while (window.Count > 0)
            {
                EvictOldestLocked(window);
            }

            window.Released = true;
            if (window.Group is { } group)
            {
                ForgetIfEmptyLocked(group);
            }
        }
    }

    private Group GroupLocked(string owner)
    {
        if (!_groups.TryGetValue(owner, out var group))
        {
            group = new Group(owner, Interlocked.Increment(ref _serial));
            _groups[owner] = group;
        }

        return group;
    }

    /// <summary>Counts the window against another script (the topic's owner changed).</summary>
    private void MoveLocked(ReplayWindow window, Group to)
    {
        if (window.Group is { } from)
        {
            DetachLocked(window);
            from.Bytes -= window.Bytes;
            AttachGroupLocked(from);
            ForgetIfEmptyLocked(from);
        }

        window.Group = to;
        DetachGroupLocked(to);
        to.Bytes += window.Bytes;
        AttachGroupLocked(to);
        AttachLocked(window);
    }

    private void EvictOldestLocked(ReplayWindow window)
    {
        var group = window.Group!;
        DetachLocked(window);
        var bytes = window.PopOldest();
        group.Bytes -= bytes;
        _total -= bytes;
        AttachLocked(window);
    }

    // A sorted set must not see its key change: out before a size changes, in again after.
    private void DetachLocked(ReplayWindow window)
    {
        var group = window.Group!;
        group.Windows.Remove(window);
        _largestGroups.Remove(group);
    }

    private void AttachLocked(ReplayWindow window)
    {
        var group = window.Group!;
        if (window.Count > 0)
        {
            group.Windows.Add(window);
        }

        AttachGroupLocked(group);
    }

    private void DetachGroupLocked(Group group) => _largestGroups.Remove(group);

    private void AttachGroupLocked(Group group)
    {
        if (group.Windows.Count > 0)
        {
            _largestGroups.Add(group);
        }
    }

    /// <summary>
    /// Forgets a script that keeps nothing, so unloaded scripts leave nothing behind. A window that keeps
    /// something always counts against a group that is not forgotten; an empty one may point at a
    /// forgotten group, and is moved to the current one with its next message.
    /// </summary>
    private void ForgetIfEmptyLocked(Group group)
    {
        if (group.Windows.Count == 0 && ReferenceEquals(_groups.GetValueOrDefault(group.Owner), group))
        {
            _groups.Remove(group.Owner);
        }
    }

    /// <summary>The windows of one script and what they keep together.</summary>
    internal sealed class Group(string owner, long serial)
    {
        public string Owner { get; } = owner;

        public long Serial { get; } = serial;

        public long Bytes { get; set; }

        public SortedSet<ReplayWindow> Windows { get; } = new(LargestFirst.Instance);
    }

    /// <summary>Most bytes first; the older of two equal ones first.</summary>
    private sealed class LargestFirst : IComparer<ReplayWindow>, IComparer<Group>
    {
        public static readonly LargestFirst Instance = new();

        public int Compare(ReplayWindow? x, ReplayWindow? y) => Compare(x!.Bytes, x.Serial, y!.Bytes, y.Serial);

        public int Compare(Group? x, Group? y) => Compare(x!.Bytes, x.Serial, y!.Bytes, y.Serial);

        private static int Compare(long xBytes, long xSerial, long yBytes, long ySerial) =>
            xBytes != yBytes ? yBytes.CompareTo(xBytes) : xSerial.CompareTo(ySerial);
    }
}
