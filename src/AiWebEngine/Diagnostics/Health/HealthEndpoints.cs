using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AiWebEngine.Diagnostics.Health;

/// <summary>
/// <c>GET /health/live</c> and <c>GET /health/ready</c>: ASP.NET Core health checks for orchestrator
/// probes, next to the detailed <c>GET /health</c> report.
/// </summary>
/// <remarks>
/// Liveness runs no checks: a process that answers is alive (restarting it would not fix a script).
/// Readiness runs the checks tagged <see cref="ReadyTag"/>. Both answer
/// <c>{ "status": "Healthy" | "Unhealthy", "checks": { name: { status, description } } }</c>, with 503
/// when unhealthy.
/// </remarks>
internal static class HealthEndpoints
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    public const string ReadyTag = "ready";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = WriteAsync })
            .WithDisplayName("AiWebEngine liveness");
        endpoints.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = static check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .WithDisplayName("AiWebEngine readiness");
    }

    private static async Task WriteAsync(HttpContext context, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteString("description", entry.Description);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
