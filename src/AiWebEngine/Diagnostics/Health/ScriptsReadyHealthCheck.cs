using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AiWebEngine.Diagnostics.Health;

/// <summary>
/// Readiness: unhealthy until the scripts directory has finished its first load, so that a load
/// balancer sends no traffic to an instance that would answer 404 for routes still loading.
/// </summary>
/// <remarks>
/// The server starts listening only after that first load (see <c>ScriptDirectory.StartAsync</c>), so
/// over HTTP this check normally passes; it still guards hosts that listen earlier, and says why a
/// probe failed if one ever does. Scripts that failed to load do not make the instance unready: the
/// others serve, and <c>/health</c> reports the failures.
/// </remarks>
internal sealed class ScriptsReadyHealthCheck(Task initialLoad) : IHealthCheck
{
    public const string Name = "scripts";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(initialLoad.IsCompleted
            ? HealthCheckResult.Healthy("The first load of the scripts directory is done.")
            : HealthCheckResult.Unhealthy("The scripts directory is still loading."));
}
