using Microsoft.AspNetCore.Routing;

namespace AiWebEngine.GraphQL.Ide;

/// <summary>Maps the IDE's files under <c>/graphql/</c>; the page itself is served by the <c>/graphql</c> endpoint.</summary>
internal static class GraphQLIdeEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET /graphql/bcp-config.json</c>, <c>/graphql/service-worker.js</c>, <c>/graphql/static/…</c>
    /// and <c>/graphql/&lt;file&gt;.&lt;ext&gt;</c> (favicon, manifest, …) when the IDE is enabled.
    /// </summary>
    /// <remarks>
    /// Top-level files must have an extension, so that no other one-segment path under <c>/graphql/</c>
    /// is claimed; the literal routes (<c>/graphql/sse</c>, <c>/graphql/schema.graphql</c>) and
    /// <c>/graphql/subscription/{name}</c> take precedence over these patterns in routing.
    /// </remarks>
    public static void MapGraphQLIde(this IEndpointRouteBuilder endpoints, GraphQLIdeEndpoint ide)
    {
        if (!ide.Enabled)
        {
            return;
        }

        const string path = GraphQLEndpointRouteBuilderExtensions.Path;
        endpoints.MapGet(path + "/bcp-config.json", GraphQLIdeEndpoint.ServeConfigAsync).WithDisplayName("AiWebEngine GraphQL IDE config");
        endpoints.MapGet(path + "/service-worker.js", GraphQLIdeEndpoint.ServeServiceWorkerAsync).WithDisplayName("AiWebEngine GraphQL IDE service worker");
        endpoints.MapGet(path + "/static/{**file}", (HttpContext context, string file) => ide.ServeFileAsync(context, "static/" + file))
            .WithDisplayName("AiWebEngine GraphQL IDE assets");
        endpoints.MapGet(path + "/{file:regex(\\.)}", (HttpContext context, string file) => ide.ServeFileAsync(context, file))
            .WithDisplayName("AiWebEngine GraphQL IDE files");
    }
}
