using System.Buffers;
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
/// connection up to 64 whole messages of memory (64 MiB at the 1 MiB message limit).
/// </remarks>
internal static class SseStreamWriter
{
    private const int MaxFramesPerFlush = 64;
    private const int MaxBytesPerFlush = 64 * 1024;

    /// <summary>Writes <paramref name="prelude"/>, then every frame the subscriber has queued.</summary>
    /// <returns>Whether the stream ended because the subscription ended (rather than the client leaving).</returns>
    public static Task<bool> RunAsync(PipeWriter output, TopicSubscriber subscriber, ReadOnlyMemory<byte> prelude, TimeProvider time, EngineMetrics? metrics = null) =>
        RunAsync(output, subscriber.Messages, static message => message.SseFrame, subscriber, prelude, time, metrics);

    /// <summary>Writes <paramref name="prelude"/>, then the frame of every item of <paramref name="items"/> until it completes.</summary>
    /// <returns>Whether the stream ended because <paramref name="items"/> completed (rather than the client leaving).</returns>
    public static async Task<bool> RunAsync<T>(
        PipeWriter output,
        ChannelReader<T> items,
        Func<T, ReadOnlyMemory<byte>> frameOf,
        IKeepAliveTarget connection,
        ReadOnlyMemory<byte> prelude,
        TimeProvider time,
        EngineMetrics? metrics = null)
    {
        output.Write(prelude.Span);
        if (!await FlushAsync(output, connection, time))
        {
            return false;
        }

        while (await items.WaitToReadAsync())
        {
            var written = 0;
            long bytes = 0;
            for (; written < MaxFramesPerFlush && bytes < MaxBytesPerFlush && items.TryRead(out var item); written++)
            {
                var frame = frameOf(item);
                output.Write(frame.Span);
                bytes += frame.Length;
            }

            metrics?.FramesDelivered(written);

            if (!await FlushAsync(output, connection, time))
            {
                return false;
            }
        }

        return true;
    }

    private static async ValueTask<bool> FlushAsync(PipeWriter output, IKeepAliveTarget connection, TimeProvider time)
    {
        var result = await output.FlushAsync();
        Volatile.Write(ref connection.LastActivity, time.GetTimestamp());
        return !result.IsCompleted && !result.IsCanceled;
    }
}
