using System.Globalization;
using StackExchange.Redis;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// Redis's clock as seen from this instance: the offset between the two, measured with <c>TIME</c>
/// whenever the bus polls, so that "now" can be said in Redis entry ids even while Redis is away.
/// </summary>
/// <remarks>
/// Entry ids come from Redis's clock, and this instance's clock may be ahead or behind it: an id
/// derived from the local clock alone can hide messages. A measured offset cannot (its error is half a
/// round trip). Until one measurement has worked, <see cref="NowId"/> is <see langword="null"/>.
/// </remarks>
internal sealed class RedisClock(RedisBackplane redis, TimeProvider time)
{
    private long _offsetTicks;
    private int _known;
    private int _measuring;

    /// <summary>The id Redis would give an entry added now, or <see langword="null"/> when the offset was never measured.</summary>
    public long? NowId() =>
        Volatile.Read(ref _known) == 0 ? null : RedisIds.At(time.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks)));

    /// <summary>Measures the offset again, unless a measurement is running; failures keep the last offset.</summary>
    public async Task MeasureAsync()
    {
        if (!redis.IsConnected || Interlocked.Exchange(ref _measuring, 1) == 1)
        {
            return;
        }

        try
        {
            var sent = time.GetUtcNow();
            var reply = (RedisResult[]?)await redis.Database.ExecuteAsync("TIME");
            var received = time.GetUtcNow();
            if (reply is [var seconds, var microseconds]
                && long.TryParse((string?)seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var s)
                && long.TryParse((string?)microseconds, NumberStyles.None, CultureInfo.InvariantCulture, out var us)
                && s < 100_000_000_000L && us < 1_000_000)
            {
                var redisNow = DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(s) + TimeSpan.FromMicroseconds(us);
                var local = sent + (received - sent) / 2;
                Interlocked.Exchange(ref _offsetTicks, (redisNow - local).Ticks);
                Volatile.Write(ref _known, 1);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidCastException)
        {
            // Redis is away or answered oddly: the last offset stays (a clock does not jump often).
        }
        finally
        {
            Volatile.Write(ref _measuring, 0);
        }
    }
}
