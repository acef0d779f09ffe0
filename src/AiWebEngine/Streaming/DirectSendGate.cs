using System.Numerics;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace AiWebEngine.Streaming;

/// <summary>
/// Between a connection's SSE writer and the fan-out that feeds it: while the writer waits with nothing
/// queued and its socket has nothing pending, the fan-out sends frames straight to the socket on its own
/// thread (one HTTP/1.1 chunk, encoded once for every connection); otherwise it queues them for the
/// writer, as without a gate.
/// </summary>
/// <remarks>
/// <para>
/// Without it, a message to N connections wakes N writers, one thread-pool work item each, and each
/// frames its own copy; with it, one fan-out pass writes the same bytes to every idle socket.
/// </para>
/// <para>
/// Order: the writer parks only when its queue is empty, and the fan-out queues (and so unparks it)
/// under the same lock as it sends, so a frame sent directly never overtakes one still queued. Keep-alive
/// comments are queued outside the lock; their place among the frames does not matter.
/// </para>
/// </remarks>
internal sealed class DirectSendGate
{
    // Kept small: every stream connection has one. Its own monitor is the lock (no lock object).
    private IDirectWrites? _socket;
    private Task<FlushResult>? _sending;
    private volatile bool _open;
    private bool _parked;
    private bool _closed;
    private long _waitingSince;

    /// <summary>
    /// Since when (a <see cref="TimeProvider"/> timestamp) a write to this connection waits for its
    /// transport, or 0: the writer's flush, or a direct send the writer has still to await.
    /// </summary>
    public long WaitingSince => Volatile.Read(ref _waitingSince);

    /// <summary>A write waits for the transport from <paramref name="now"/> (unless one already did).</summary>
    public void Waiting(long now) => Interlocked.CompareExchange(ref _waitingSince, now, 0);

    /// <summary>The write the connection waited for completed.</summary>
    public void Waited() => Volatile.Write(ref _waitingSince, 0);

    /// <summary>Whether the writer has opened the gate and not yet closed it (a hint, read without the lock).</summary>
    public bool IsOpen => _open;

    /// <summary>The writer: from now on the fan-out may send to <paramref name="socket"/> while the writer is parked.</summary>
    public void Open(IDirectWrites socket)
    {
        lock (this)
        {
            if (!_closed && _socket is null)
            {
                _socket = socket;
                _open = true;
            }
        }
    }

    /// <summary>The writer, before it waits: parks when nothing is queued.</summary>
    public void Park<T>(ChannelReader<T> queue)
    {
        lock (this)
        {
            _parked = _socket is not null && !_closed && !queue.TryPeek(out _);
        }
    }

    /// <summary>The writer, woken: unparks, and returns a direct send that is still waiting for the socket (to await first).</summary>
    public Task<FlushResult>? Wake()
    {
        lock (this)
        {
            _parked = false;
            var sending = _sending;
            _sending = null;
            return sending;
        }
    }

    /// <summary>The writer is done: nothing more is sent directly (after a direct send in progress ends).</summary>
    /// <returns>A direct send still waiting for the socket, which the writer awaits before it hands the response back.</returns>
    public Task<FlushResult>? Close()
    {
        lock (this)
        {
            _closed = true;
            _open = false;
            _parked = false;
            var sending = _sending;
            _sending = null;
            return sending;
        }
    }

    /// <summary>The fan-out, for one connection: holds the gate while it sends or queues.</summary>
    public Scope Enter()
    {
        Monitor.Enter(this);
        return new Scope(this);
    }

    /// <summary>
    /// Under <see cref="Enter"/>: sends <paramref name="chunk"/> to the socket if the writer is parked
    /// (the caller then records the connection's activity). False: queue the frames instead (see
    /// <see cref="QueuingLocked"/>).
    /// </summary>
    public bool TrySendLocked(ReadOnlySpan<byte> chunk, long now)
    {
        if (!_parked || chunk.IsEmpty || !_socket!.TryWrite(chunk, out var queued))
        {
            _parked = false;
            return false;
        }

        if (!queued.IsCompletedSuccessfully || queued.Result.IsCompleted || queued.Result.IsCanceled)
        {
            // Part of it waits for the socket (a slow client), or the connection is gone: the writer
            // awaits that before anything else, and frames are queued for it until then.
            _sending = queued.AsTask();
            _parked = false;
            Waiting(now);
        }

        return true;
    }

    /// <summary>
    /// Under <see cref="Enter"/>, before queuing frames for the writer: it will wake for them, and until
    /// it parks again (with its queue empty) nothing is sent directly, so nothing overtakes them.
    /// </summary>
    public void QueuingLocked() => _parked = false;

    /// <summary>Leaves the gate's lock.</summary>
    public readonly ref struct Scope(DirectSendGate gate)
    {
        public void Dispose() => Monitor.Exit(gate);
    }

    /// <summary>Frames as one HTTP/1.1 chunk: <c>&lt;size in hex&gt;\r\n</c>, the frames, <c>\r\n</c>.</summary>
    public static byte[] Chunk<T>(List<T> items, int start, int count, Func<T, ReadOnlyMemory<byte>> frameOf)
    {
        var bytes = 0;
        for (var i = start; i < start + count; i++)
        {
            bytes += frameOf(items[i]).Length;
        }

        var chunk = new byte[ChunkLength(bytes)];
        WriteChunk(chunk, items, start, count, bytes, frameOf);
        return chunk;
    }

    /// <summary>The frames of a chunk made by <see cref="WriteChunk"/>: without its size line and final CRLF.</summary>
    public static ReadOnlySpan<byte> FramesOf(ReadOnlySpan<byte> chunk) => chunk[(chunk.IndexOf((byte)'\n') + 1)..^2];

    /// <summary>The length of an HTTP/1.1 chunk of <paramref name="bytes"/> bytes: hex size, CRLF, data, CRLF.</summary>
    public static int ChunkLength(int bytes) => (bytes == 0 ? 1 : (BitOperations.Log2((uint)bytes) / 4) + 1) + 2 + bytes + 2;

    /// <summary>Writes the frames (<paramref name="bytes"/> in all) as one HTTP/1.1 chunk; returns its length (<see cref="ChunkLength"/>).</summary>
    public static int WriteChunk<T>(Span<byte> into, List<T> items, int start, int count, int bytes, Func<T, ReadOnlyMemory<byte>> frameOf)
    {
        bytes.TryFormat(into, out var at, "x", CultureInfo.InvariantCulture);
        into[at++] = (byte)'\r';
        into[at++] = (byte)'\n';
        for (var i = start; i < start + count; i++)
        {
            var frame = frameOf(items[i]).Span;
            frame.CopyTo(into[at..]);
            at += frame.Length;
        }

        into[at++] = (byte)'\r';
        into[at++] = (byte)'\n';
        return at;
    }

    /// <summary>How many of <paramref name="items"/> from <paramref name="start"/> go in one chunk (the writer's batch bounds).</summary>
    public static int Take<T>(List<T> items, int start, Func<T, ReadOnlyMemory<byte>> frameOf, Func<T, bool> isBreak)
    {
        var bytes = 0;
        var count = 0;
        while (start + count < items.Count
            && count < SseStreamWriter.MaxFramesPerFlush
            && bytes < SseStreamWriter.MaxBytesPerFlush
            && !isBreak(items[start + count]))
        {
            bytes += frameOf(items[start + count]).Length;
            count++;
        }

        return count;
    }
}
