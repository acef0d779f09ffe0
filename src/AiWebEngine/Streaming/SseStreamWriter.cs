using System.Buffers;
using System.IO.Pipelines;

namespace AiWebEngine.Streaming;

/// <summary>
/// The SSE protocol core: writes a subscriber's frames to a <see cref="PipeWriter"/> until the
/// subscription ends or the client goes away. Knows nothing of HTTP.
/// </summary>
/// <remarks>
/// Frames that are already queued when the writer wakes are written together and flushed once,
/// so a burst costs one write to the socket, not one per message.
/// </remarks>
internal static class SseStreamWriter
{
    private const int MaxFramesPerFlush = 64;

    /// <summary>Writes <paramref name="prelude"/>, then every queued frame.</summary>
    /// <returns>Whether the stream ended because the subscription ended (rather than the client leaving).</returns>
    public static async Task<bool> RunAsync(PipeWriter output, TopicSubscriber subscriber, ReadOnlyMemory<byte> prelude, TimeProvider time)
    {
        output.Write(prelude.Span);
        if (!await FlushAsync(output, subscriber, time))
        {
            return false;
        }

        var messages = subscriber.Messages;
        while (await messages.WaitToReadAsync())
        {
            for (var written = 0; written < MaxFramesPerFlush && messages.TryRead(out var message); written++)
            {
                output.Write(message.SseFrame.Span);
            }

            if (!await FlushAsync(output, subscriber, time))
            {
                return false;
            }
        }

        return true;
    }

    private static async ValueTask<bool> FlushAsync(PipeWriter output, TopicSubscriber subscriber, TimeProvider time)
    {
        var result = await output.FlushAsync();
        Volatile.Write(ref subscriber.LastActivity, time.GetTimestamp());
        return !result.IsCompleted && !result.IsCanceled;
    }
}
