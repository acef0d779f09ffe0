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
internal interface IDirectSocketWrites
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

    /// <summary>
    /// Sends <paramref name="bytes"/>, or what the socket does not take now, in order after it.
    /// </summary>
    /// <param name="bytes">The bytes, framed for the wire.</param>
    /// <param name="queued">When part of the bytes had to wait: the flush to await (back-pressure).</param>
    /// <returns>False when other bytes are still waiting to be sent (nothing was taken: write through the response instead).</returns>
    bool TryWrite(ReadOnlySpan<byte> bytes, out ValueTask<FlushResult> queued);
}
