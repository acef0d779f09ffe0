using System.Collections.Concurrent;

namespace AiWebEngine.Streaming;

/// <summary>A connection that gets a keep-alive when idle: it records when it last wrote, and can queue a keep-alive.</summary>
internal interface IKeepAliveTarget
{
    /// <summary>When the transport last wrote to the client (a <see cref="TimeProvider"/> timestamp; 0 before the first write).</summary>
    ref long LastActivity { get; }

    /// <summary>Queues a keep-alive, unless the connection's queue is full (then the client is behind anyway).</summary>
    void EnqueueKeepAlive();
}

/// <summary>
/// One timer for many long-lived connections: a connection idle for the interval gets a keep-alive
/// queued, like any other frame.
/// </summary>
/// <remarks>
/// A single sweep instead of a timer per connection keeps an idle connection free of timers and
/// allocations; the sweep runs at a tenth of the interval (at most once a second), so a keep-alive is
/// written at most that much later than the interval.
/// </remarks>
internal abstract class KeepAliveSweep : IDisposable
{
    private readonly ConcurrentDictionary<IKeepAliveTarget, byte> _connections = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;

    protected KeepAliveSweep(TimeSpan interval, TimeProvider time)
    {
        _time = time;
        Interval = interval;
        var period = TimeSpan.FromTicks(Math.Min(interval.Ticks / 10, TimeSpan.TicksPerSecond));
        _timer = time.CreateTimer(static state => ((KeepAliveSweep)state!).Sweep(), this, period, period);
    }

    /// <summary>The idle time after which a connection gets a keep-alive.</summary>
    public TimeSpan Interval { get; }

    /// <summary>How many connections are tracked.</summary>
    public int Count => _connections.Count;

    public void Track(IKeepAliveTarget connection) => _connections.TryAdd(connection, 0);

    public void Untrack(IKeepAliveTarget connection) => _connections.TryRemove(connection, out _);

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var connection in _connections.Keys)
        {
            ref var lastActivity = ref connection.LastActivity;
            var last = Volatile.Read(ref lastActivity);
            if (last != 0 && _time.GetElapsedTime(last, now) >= Interval)
            {
                Volatile.Write(ref lastActivity, now);
                connection.EnqueueKeepAlive();
            }
        }
    }

    public void Dispose() => _timer.Dispose();
}
