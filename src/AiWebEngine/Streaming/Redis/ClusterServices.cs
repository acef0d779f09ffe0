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
    private RedisTopicBus? _bus;
    private ScriptReplication? _replication;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.UsesRedis)
        {
            return;
        }

        _bus = services.GetRequiredService<RedisTopicBus>();
        _replication = services.GetRequiredService<ScriptReplication>();
        await _bus.StartAsync(cancellationToken);
        _replication.Start(services.GetRequiredService<ScriptStore>(), services.GetRequiredService<ScriptDirectory>().InitialLoad);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Resolved at start: a host may be stopped after its container was disposed.
        if (_replication is not null)
        {
            await _replication.StopAsync();
        }

        if (_bus is not null)
        {
            await _bus.StopAsync(cancellationToken);
        }
    }
}
