using AiWebEngine.Management;
using OpenTelemetry.Metrics;

namespace AiWebEngine.Diagnostics.Metrics;

/// <summary>
/// The engine's metrics through OpenTelemetry, and <c>GET /metrics</c>: the Prometheus scrape endpoint,
/// behind <see cref="AdminAccess"/>.
/// </summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>The engine's meter plus ASP.NET Core's own (requests, Kestrel connections).</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<EngineMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(EngineMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            // Scrapes are rare and must see the counters as they are now, not as of a cached response.
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
    }

    public static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.ServiceProvider.GetRequiredService<AdminAccess>();
        return endpoints.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(admin.Guard), optionsName: null)
            .WithDisplayName("AiWebEngine metrics (Prometheus)");
    }
}
