using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>
/// One timer for every SSE connection: a connection idle for <see cref="StreamOptions.KeepAliveInterval"/>
/// gets a keep-alive comment queued, like any other frame.
/// </summary>
/// <remarks>
/// A single sweep instead of a timer per connection keeps an idle connection free of timers and
/// allocations; the sweep runs at a tenth of the interval (at most once a second), so a comment is
/// written at most that much later than the interval.
/// </remarks>
internal sealed class SseKeepAlive : IDisposable
{
    private readonly ConcurrentDictionary<TopicSubscriber, byte> _connections = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ITimer _timer;

    public SseKeepAlive(IOptions<StreamOptions> options, TimeProvider time)
    {
        _time = time;
        _interval = options.Value.KeepAliveInterval;
        var period = TimeSpan.FromTicks(Math.Min(_interval.Ticks / 10, TimeSpan.TicksPerSecond));
        _timer = time.CreateTimer(static state => ((SseKeepAlive)state!).Sweep(), this, period, period);
    }

    public void Track(TopicSubscriber subscriber) => _connections.TryAdd(subscriber, 0);

    public void Untrack(TopicSubscriber subscriber) => _connections.TryRemove(subscriber, out _);

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var subscriber in _connections.Keys)
        {
            var last = Volatile.Read(ref subscriber.LastActivity);
            if (last != 0 && _time.GetElapsedTime(last, now) >= _interval)
            {
                Volatile.Write(ref subscriber.LastActivity, now);
                subscriber.EnqueueKeepAlive();
            }
        }
    }

    public void Dispose() => _timer.Dispose();
}
