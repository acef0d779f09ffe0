using AiWebEngine.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>Counts open stream connections against <see cref="StreamOptions.MaxConnections"/>.</summary>
internal sealed class StreamConnectionLimiter(IOptions<StreamOptions> options, EngineMetrics? metrics = null)
{
    // Always set by the time options are read (the host derives the default from the connection cap).
    private readonly int _max = options.Value.MaxConnections ?? 20_000;
    private int _open;

    /// <summary>Connections open now.</summary>
    public int Open => Volatile.Read(ref _open);

    public int Max => _max;

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

    public void Release()
    {
        Interlocked.Decrement(ref _open);
        metrics?.ConnectionClosed();
    }
}
