using System.Net;
using AiWebEngine.Diagnostics.Health;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AiWebEngine.Tests.Diagnostics;

public sealed class HealthEndpointTests
{
    [Fact]
    public async Task LiveAndReady_Answer200Healthy_OnceTheScriptsAreLoaded_EvenWithAFailedScript()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["bad.js"] = "this is not javascript" });

        var live = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health/live"));
        var ready = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health/ready"));
        var detailed = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));

        Assert.Equal("Healthy", live.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("scripts").GetProperty("status").GetString());
        Assert.Equal("degraded", detailed.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ScriptsReadyCheck_IsUnhealthy_UntilTheFirstLoadCompletes()
    {
        var firstLoad = new TaskCompletionSource();
        var check = new ScriptsReadyHealthCheck(firstLoad.Task);

        var whileLoading = await check.CheckHealthAsync(new HealthCheckContext());
        firstLoad.SetResult();
        var loaded = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, whileLoading.Status);
        Assert.Equal("The scripts directory is still loading.", whileLoading.Description);
        Assert.Equal(HealthStatus.Healthy, loaded.Status);
    }

    [Fact]
    public async Task Ready_Answers503Unhealthy_WhileTheFirstLoadIsRunning()
    {
        var firstLoad = new TaskCompletionSource();
        await using var host = await EngineHost.StartAsync(services: services => services.Configure<HealthCheckServiceOptions>(options =>
        {
            // The real directory has loaded before the server listens; a check on a load that never ends stands in for it.
            var scripts = options.Registrations.Single(r => r.Name == ScriptsReadyHealthCheck.Name);
            scripts.Factory = _ => new ScriptsReadyHealthCheck(firstLoad.Task);
        }));

        var ready = await host.Client.GetAsync("/health/ready");
        var live = await host.Client.GetAsync("/health/live");

        var body = await HttpAssert.JsonAsync(ready, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unhealthy", body.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
