using System.Buffers;
using System.IO.Pipelines;

namespace AiWebEngine.Streaming;

/// <summary>
/// A connection feature (of <c>Hosting/InlineSocketSends.cs</c>): sends bytes that are already in the
/// connection's wire format straight to the socket, skipping the response writer, when nothing else is
/// waiting to be sent.
/// </summary>
/// <remarks>
/// Only for a writer that owns the response (an event stream after its headers are out) and knows
/// its framing: Kestrel's own HTTP/1.1 chunked body, nothing encoding it (compression), and
/// <see cref="CarriesResponseBytes"/> (no TLS or other connection middleware between it and the socket).
/// </remarks>
internal interface IDirectSocketWrites : IDirectWrites
{
    /// <summary>
    /// Whether what the HTTP layer writes reaches this socket unchanged: the connection has no TLS and
    /// no connection middleware replaced its transport after the inline sends took it. Decided from the
    /// connection itself, never from the request (forwarded headers rewrite its scheme).
    /// </summary>
    bool CarriesResponseBytes { get; }

    /// <summary>
    /// From now on, what the connection flushes is sent on the flushing thread. For an event stream,
    /// which flushes once per batch of frames; a request/response connection keeps the send loop on
    /// the thread pool, where the several flushes of one response leave in one <c>send</c>.
    /// </summary>
    void SendInline();

}

/// <summary>
/// Where a <see cref="DirectSendGate"/>'s fan-out writes a shared chunk of frames while the writer is
/// parked: the socket itself (<see cref="IDirectSocketWrites"/>), or the response (<see cref="ResponseWrites"/>).
/// </summary>
internal interface IDirectWrites
{
    /// <summary>
    /// Sends <paramref name="chunk"/> (frames framed as one HTTP/1.1 chunk), or what the transport does
    /// not take now, in order after it.
    /// </summary>
    /// <param name="chunk">The frames as one HTTP/1.1 chunk (see <see cref="DirectSendGate.WriteChunk"/>).</param>
    /// <param name="queued">When part of the bytes had to wait: the flush to await (back-pressure).</param>
    /// <returns>False when other bytes are still waiting to be sent (nothing was taken: write through the response instead).</returns>
    bool TryWrite(ReadOnlySpan<byte> chunk, out ValueTask<FlushResult> queued);
}

/// <summary>
/// The fan-out's writes for a connection with no direct socket (TLS, HTTP/2, a body another middleware
/// encodes, in-process): the chunk's frames written to the response and flushed, on the fan-out's thread.
/// </summary>
/// <remarks>
/// So a burst lands in the transport's buffers (TLS, HTTP/2 stream, compression) at the fan-out's pace,
/// as it lands in the socket's on the direct path, and the per-client queue holds only what waits while
/// the transport is full. The gate makes it the response's only writer meanwhile: the writer is parked.
/// </remarks>
internal sealed class ResponseWrites(PipeWriter response) : IDirectWrites
{
    private static readonly ValueTask<FlushResult> Gone = new(new FlushResult(isCanceled: false, isCompleted: true));

    public bool TryWrite(ReadOnlySpan<byte> chunk, out ValueTask<FlushResult> queued)
    {
        try
        {
            response.Write(DirectSendGate.FramesOf(chunk));
            queued = response.FlushAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or IOException)
        {
            // The response is gone (aborted, or the connection broke): the writer ends when it wakes.
            queued = Gone;
        }

        return true;
    }
}
