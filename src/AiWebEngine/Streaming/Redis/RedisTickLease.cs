using StackExchange.Redis;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// Once per tick across the cluster: the instance whose <c>SET {prefix}tick:{job}:{tick} NX</c> succeeds runs the
/// tick. The key outlives any clock skew between instances (10 minutes), then expires.
/// </summary>
/// <remarks>
/// Invariant: at most once. When Redis cannot be asked, no instance runs that tick (each one logs it), rather
/// than every instance running it.
/// </remarks>
internal sealed partial class RedisTickLease(RedisBackplane redis, ILogger<RedisTickLease> logger) : ITickLease
{
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromMinutes(10);

    public async Task<bool> TryTakeAsync(string job, DateTimeOffset tick, CancellationToken cancellationToken)
    {
        var key = $"{redis.Prefix}tick:{job}:{tick.ToUnixTimeMilliseconds()}";
        try
        {
            return await redis.Database.StringSetAsync(key, redis.InstanceId, KeyLifetime, When.NotExists);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            TickNotTaken(logger, job, tick, e.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 1740, Level = LogLevel.Warning, Message = "Job {Job}: its tick at {Tick:o} did not run anywhere: Redis could not be asked which instance runs it ({Error})")]
    private static partial void TickNotTaken(ILogger logger, string job, DateTimeOffset tick, string error);
}
