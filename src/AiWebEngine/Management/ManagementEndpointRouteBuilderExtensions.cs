using Microsoft.AspNetCore.Routing;

namespace AiWebEngine.Management;

/// <summary>Maps the management API under <c>/engine</c>, every endpoint behind <see cref="AdminAccess"/>.</summary>
internal static class ManagementEndpointRouteBuilderExtensions
{
    public const string Prefix = "/engine";

    public static IEndpointConventionBuilder MapEngineManagement(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var access = services.GetRequiredService<AdminAccess>();
        var scripts = services.GetRequiredService<ScriptEndpoints>();
        var feeds = services.GetRequiredService<FeedEndpoints>();
        var storage = services.GetRequiredService<StorageEndpoints>();

        var group = endpoints.MapGroup(Prefix);
        // Wrapping the request delegate (rather than a middleware) guards exactly these endpoints,
        // wherever the application puts its own middleware.
        ((IEndpointConventionBuilder)group).Add(endpoint => endpoint.RequestDelegate = access.Guard(endpoint.RequestDelegate!));

        var uri = "/scripts/{**" + ScriptEndpoints.UriParameter + "}";
        group.MapGet("/scripts", scripts.ListAsync).WithDisplayName("Management: list scripts");
        group.MapGet(uri, scripts.GetAsync).WithDisplayName("Management: script source");
        group.MapPut(uri, scripts.PutAsync).WithDisplayName("Management: upload script");
        group.MapDelete(uri, scripts.DeleteAsync).WithDisplayName("Management: delete script");
        group.MapGet("/logs", feeds.LogsAsync).WithDisplayName("Management: recent logs");
        group.MapGet("/schedules", feeds.SchedulesAsync).WithDisplayName("Management: scheduled jobs");
        group.MapGet("/types/aiwebengine.d.ts", ScriptTypings.WriteAsync).WithDisplayName("Management: script API typings");
        group.MapGet("/storage", storage.ExportAsync).WithDisplayName("Management: export a script's storage");
        group.MapDelete("/storage", storage.DeleteAsync).WithDisplayName("Management: delete a script's storage");
        group.MapGet("/logs/stream", feeds.LogStreamAsync).WithDisplayName("Management: live logs");
        group.MapGet("/script-updates", feeds.ScriptUpdatesAsync).WithDisplayName("Management: script updates");
        group.MapGet("/streams", feeds.StreamsAsync).WithDisplayName("Management: streams");
        return group;
    }
}
