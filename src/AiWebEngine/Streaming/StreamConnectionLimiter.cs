using AiWebEngine.Diagnostics.Metrics;
using AiWebEngine.Errors;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>
/// Counts the server's long-lived connections against <see cref="StreamOptions.MaxConnections"/>: stream
/// and <c>/graphql/subscription/&lt;name&gt;</c> connections, GraphQL event streams (<c>/graphql/sse</c>,
/// and <c>/graphql</c> answered as one) and <c>graphql-transport-ws</c> WebSockets, all in one count.
/// </summary>
/// <remarks>
/// A slot is taken before anything of the connection runs (no subscription made, no resolver called,
/// no WebSocket accepted) and given back when it ends, so a refusal is a plain 503 JSON response.
/// The management streams (<c>/engine/logs</c>, <c>/engine/script-updates</c>) are not counted: they are
/// reachable only by an operator, who must still be able to watch a server that public clients filled.
/// </remarks>
internal sealed class StreamConnectionLimiter(IOptions<StreamOptions> options, EngineMetrics? metrics = null)
{
    // Always set by the time options are read (the host derives the default from the connection cap).
    private readonly int _max = options.Value.MaxConnections ?? 20_000;
    private readonly TimeSpan _retryAfter = TimeSpan.FromMilliseconds(options.Value.RetryMilliseconds);
    private int _open;

    /// <summary>Connections open now.</summary>
    public int Open => Volatile.Read(ref _open);

    public int Max => _max;

    /// <summary>Takes a slot; false when all <see cref="Max"/> are taken (answer with <see cref="RefuseAsync"/>).</summary>
    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _open) <= _max)
        {
            metrics?.ConnectionOpened();
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back a slot <see cref="TryAcquire"/> took.</summary>
    public void Release()
    {
        Interlocked.Decrement(ref _open);
        metrics?.ConnectionClosed();
    }

    /// <summary>The answer to a connection <see cref="TryAcquire"/> refused: 503 <c>OVERLOADED</c>, before the response starts.</summary>
    public Task RefuseAsync(HttpContext context) =>
        ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Overloaded,
            $"The server holds its maximum of {_max} stream connections (event streams and WebSockets together; AiWebEngine:Streams:MaxConnections); retry later.",
            retryAfter: _retryAfter);
}
