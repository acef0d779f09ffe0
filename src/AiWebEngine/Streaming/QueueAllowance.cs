namespace AiWebEngine.Streaming;

/// <summary>
/// When a client's bounded queue counts as too far behind: <c>capacity</c> frames wait for it and its
/// writer has been waiting for the client's transport for longer than <see cref="SseStreamWriter.TransportGrace"/>;
/// or, whatever the writer does, <see cref="MaxExtraBytes"/> more than <c>capacity</c> frames wait, or
/// <see cref="MaxRounds"/> × <c>capacity</c> frames.
/// </summary>
/// <remarks>
/// A burst published faster than any writer drains it (one request that sends 10 000 messages) fills every
/// queue for a moment, also that of a client that reads as fast as its transport lets it: its writer is
/// merely busy, or waiting for a flush the transport is completing (TLS, an HTTP/2 stream window). That is
/// not the client being slow, and such a client keeps its connection. A client that does not read leaves
/// its writer waiting for good and is dropped once the grace is over (or the bounds are reached first).
/// The bounds keep what a client pins small: the queue holds frames shared by every client, at most
/// <c>capacity</c> of them plus 1 MiB. Not thread-safe: each queue's producers are serialized (the topic's
/// lock, or the gate's).
/// </remarks>
internal struct QueueAllowance
{
    /// <summary>How many times <c>capacity</c> frames a client may have queued at most.</summary>
    public const int MaxRounds = 16;

    /// <summary>How many bytes of frames beyond <c>capacity</c> frames a client may have queued.</summary>
    public const int MaxExtraBytes = 1024 * 1024;

    private long _extraBytes;

    /// <summary>Whether one more frame of <paramref name="frameBytes"/> may be queued behind <paramref name="queued"/> frames.</summary>
    /// <param name="waitingSince">Since when the client's writer waits for its transport (a <paramref name="time"/> timestamp), or 0.</param>
    public bool Allows(int queued, int capacity, int frameBytes, long waitingSince, TimeProvider time)
    {
        if (queued < capacity)
        {
            _extraBytes = 0;
            return true;
        }

        if (queued >= capacity * MaxRounds || _extraBytes + frameBytes > MaxExtraBytes
            || (waitingSince != 0 && time.GetElapsedTime(waitingSince) > SseStreamWriter.TransportGrace))
        {
            return false;
        }

        _extraBytes += frameBytes;
        return true;
    }
}
