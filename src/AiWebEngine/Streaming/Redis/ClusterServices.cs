using AiWebEngine.Management;
using AiWebEngine.Scripting;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// Starts and stops what a cluster on Redis runs in the background (the topic bus's writer and
/// readers, the script replication); does nothing when <c>AiWebEngine:Bus:Redis</c> is not set.
/// </summary>
internal sealed class ClusterServices(IOptions<BusOptions> options, IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.UsesRedis)
        {
            return;
        }

        await services.GetRequiredService<RedisTopicBus>().StartAsync(cancellationToken);
        services.GetRequiredService<ScriptReplication>().Start(
            services.GetRequiredService<ScriptStore>(),
            services.GetRequiredService<ScriptDirectory>().InitialLoad);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.UsesRedis)
        {
            return;
        }

        await services.GetRequiredService<ScriptReplication>().StopAsync();
        await services.GetRequiredService<RedisTopicBus>().StopAsync(cancellationToken);
    }
}
