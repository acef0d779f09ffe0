using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.Channels;
using AiWebEngine.Diagnostics.Metrics;

namespace AiWebEngine.Streaming;

/// <summary>
/// The SSE protocol core: writes a subscriber's frames to a <see cref="PipeWriter"/> until the
/// subscription ends or the client goes away. Knows nothing of HTTP.
/// </summary>
/// <remarks>
/// Frames that are already queued when the writer wakes are written together and flushed once,
/// so a burst costs one write to the socket, not one per message. A batch stops at
/// <see cref="MaxBytesPerFlush"/>: the frames are shared, but writing copies them into the
/// connection's own buffers, so without a byte bound a burst of large messages would cost every
/// connection up to a batch of whole messages of memory (1 GiB for 1 024 messages at the 1 MiB limit).
/// With a <see cref="DirectSendGate"/> the writer is woken only for what the fan-out could not send
/// straight to the socket: while it waits with nothing queued, the fan-out writes for it.
/// </remarks>
internal static class SseStreamWriter
{
    internal const int MaxFramesPerFlush = 1024;
    internal const int MaxBytesPerFlush = 64 * 1024;

    /// <summary>How long a client dropped for falling behind has to take its last frames before its connection is aborted.</summary>
    internal static readonly TimeSpan DropGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a writer may wait for its transport (a flush not completed) before its client counts as
    /// not reading (see <see cref="QueueAllowance"/>); as Kestrel's grace for a minimum response data rate.
    /// </summary>
    internal static readonly TimeSpan TransportGrace = TimeSpan.FromSeconds(5);

    // A connection's own buffer for framing small batches (larger ones borrow from the shared pool).
    private const int SmallChunkBytes = 256;

    /// <summary>Writes <paramref name="prelude"/>, then every frame the subscriber has queued.</summary>
    /// <returns>Whether the stream ended because the subscription ended (rather than the client leaving).</returns>
    public static Task<bool> RunAsync(PipeWriter output, TopicSubscriber subscriber, ReadOnlyMemory<byte> prelude, TimeProvider time, EngineMetrics? metrics = null, Func<IDirectSocketWrites?>? direct = null) =>
        RunAsync(output, subscriber.Messages, static message => message.SseFrame, subscriber, prelude, time, metrics, direct, subscriber.Gate);

    /// <summary>Writes <paramref name="prelude"/>, then the frame of every item of <paramref name="items"/> until it completes.</summary>
    /// <returns>Whether the stream ended because <paramref name="items"/> completed (rather than the client leaving).</returns>
    public static Task<bool> RunAsync<T>(
        PipeWriter output,
        ChannelReader<T> items,
        Func<T, ReadOnlyMemory<byte>> frameOf,
        IKeepAliveTarget connection,
        ReadOnlyMemory<byte> prelude,
        TimeProvider time,
        EngineMetrics? metrics = null,
        Func<IDirectSocketWrites?>? direct = null,
        DirectSendGate? gate = null)
    {
        // The writer wakes once per message per connection and needs nothing of the request's
        // execution context (activity, logging scopes): not capturing it saves restoring it each time.
        using (ExecutionContext.SuppressFlow())
        {
            return WriteAsync(output, items, frameOf, connection, prelude, time, metrics, direct, gate);
        }
    }

    private static async Task<bool> WriteAsync<T>(
        PipeWriter output,
        ChannelReader<T> items,
        Func<T, ReadOnlyMemory<byte>> frameOf,
        IKeepAliveTarget connection,
        ReadOnlyMemory<byte> prelude,
        TimeProvider time,
        EngineMetrics? metrics,
        Func<IDirectSocketWrites?>? direct,
        DirectSendGate? gate)
    {
        try
        {
            output.Write(prelude.Span);
            if (!await FlushAsync(output, connection, time))
            {
                return false;
            }

            // Asked after the headers are out: whether the response is chunked is known only then.
            var socket = direct?.Invoke();
            socket?.SendInline();
            // From here on the fan-out may write to the socket (or, without one, to the response)
            // itself while this writer is idle.
            gate?.Open(socket ?? (IDirectWrites)new ResponseWrites(output));

            // Allocated with the first message, so that an idle connection costs nothing more.
            List<ReadOnlyMemory<byte>>? batch = null;
            byte[]? scratch = null;
            while (true)
            {
                gate?.Park(items);
                if (!await items.WaitToReadAsync())
                {
                    break;
                }

                if (gate?.Wake() is { } sending && !await CompletedAsync(new ValueTask<FlushResult>(sending), gate, time))
                {
                    return false;
                }

                batch ??= [];
                batch.Clear();
                long bytes = 0;
                while (batch.Count < MaxFramesPerFlush && bytes < MaxBytesPerFlush && items.TryRead(out var item))
                {
                    var frame = frameOf(item);
                    batch.Add(frame);
                    bytes += frame.Length;
                }

                metrics?.FramesDelivered(batch.Count);

                if (socket is not null && TryWriteDirect(socket, batch, (int)bytes, scratch ??= new byte[SmallChunkBytes], out var queued))
                {
                    if (!queued.IsCompletedSuccessfully && !await CompletedAsync(queued, gate, time))
                    {
                        return false;
                    }

                    Volatile.Write(ref connection.LastActivity, time.GetTimestamp());
                    continue;
                }

                foreach (var frame in batch)
                {
                    output.Write(frame.Span);
                }

                if (!await FlushAsync(output, connection, time, gate))
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            // A direct send in progress ends first, and one still waiting for the socket is awaited:
            // after this the response is the writer's caller's again (Kestrel writes its end to it).
            if (gate?.Close() is { } sending)
            {
                await Task.WhenAny(sending);
            }
        }
    }

    /// <summary>The batch as one HTTP/1.1 chunk, straight to the socket (see <see cref="IDirectSocketWrites"/>).</summary>
    private static bool TryWriteDirect(IDirectSocketWrites socket, List<ReadOnlyMemory<byte>> batch, int bytes, byte[] scratch, out ValueTask<FlushResult> queued)
    {
        var length = DirectSendGate.ChunkLength(bytes);
        var rented = length <= scratch.Length ? null : ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = (rented ?? scratch).AsSpan();
            var written = DirectSendGate.WriteChunk(span, batch, 0, batch.Count, bytes, static frame => frame);
            return socket.TryWrite(span[..written], out queued);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static async ValueTask<bool> CompletedAsync(ValueTask<FlushResult> flush, DirectSendGate? gate, TimeProvider time)
    {
        var result = await WaitAsync(flush, gate, time);
        return !result.IsCompleted && !result.IsCanceled;
    }

    private static async ValueTask<bool> FlushAsync(PipeWriter output, IKeepAliveTarget connection, TimeProvider time, DirectSendGate? gate = null)
    {
        var result = await WaitAsync(output.FlushAsync(), gate, time);
        Volatile.Write(ref connection.LastActivity, time.GetTimestamp());
        return !result.IsCompleted && !result.IsCanceled;
    }

    /// <summary>Awaits a flush; one that does not complete at once is the transport holding the writer back (see <see cref="QueueAllowance"/>).</summary>
    private static async ValueTask<FlushResult> WaitAsync(ValueTask<FlushResult> flush, DirectSendGate? gate, TimeProvider time)
    {
        if (flush.IsCompleted || gate is null)
        {
            gate?.Waited();
            return await flush;
        }

        gate.Waiting(time.GetTimestamp());
        try
        {
            return await flush;
        }
        finally
        {
            gate.Waited();
        }
    }
}
