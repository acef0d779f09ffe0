using AiWebEngine.Management;
using AiWebEngine.Streaming.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AiWebEngine.Diagnostics.Health;

/// <summary>
/// Readiness of a cluster instance: degraded (still 200, the instance serves its local clients) while
/// Redis is unreachable or the cluster's script changes are not applied yet, healthy otherwise.
/// </summary>
internal sealed class RedisHealthCheck(RedisBackplane redis, RedisTopicBus bus, ScriptReplication replication) : IHealthCheck
{
    public const string Name = "redis";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!redis.IsConnected)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"Redis is unreachable ({redis.LastError ?? "connecting"}); local clients are served, {bus.OutboxCount} messages wait to be sent."));
        }

        return Task.FromResult(replication.CaughtUp.IsCompleted
            ? HealthCheckResult.Healthy($"Connected to Redis; {bus.OutboxCount} messages wait to be sent.")
            : HealthCheckResult.Degraded("Connected to Redis; the cluster's script changes are still being applied."));
    }
}
