using AiWebEngine.GraphQL.Http;
using AiWebEngine.GraphQL.Ide;
using AiWebEngine.GraphQL.Sse;
using AiWebEngine.GraphQL.WebSockets;
using GraphQL.Transport;
using Microsoft.AspNetCore.Routing;

namespace AiWebEngine.GraphQL;

/// <summary>Maps the GraphQL transports; called by <c>MapAiWebEngine()</c>.</summary>
internal static class GraphQLEndpointRouteBuilderExtensions
{
    public const string Path = "/graphql";

    /// <summary>
    /// Maps <c>/graphql</c> (GraphQL over HTTP; a WebSocket upgrade speaks <c>graphql-transport-ws</c>;
    /// an Accept that prefers <c>text/event-stream</c> to JSON is served as <c>/graphql/sse</c>, and so is a
    /// subscription whose Accept lists it at all; a browser opening it gets the IDE),
    /// <c>/graphql/sse</c> (graphql-sse), <c>/graphql/schema.graphql</c> (the SDL) and the IDE's files.
    /// </summary>
    /// <remarks>Each operation runs on the schema <see cref="IGraphQLSchemaProvider"/> holds when it starts.</remarks>
    public static void MapAiWebEngineGraphQL(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var http = services.GetRequiredService<GraphQLHttpEndpoint>();
        var sse = services.GetRequiredService<GraphQLSseEndpoint>();
        var ws = services.GetRequiredService<GraphQLWsEndpoint>();
        var executor = services.GetRequiredService<GraphQLExecutor>();
        var ide = services.GetRequiredService<GraphQLIdeEndpoint>();
        string[] methods = [HttpMethods.Get, HttpMethods.Post];

        Func<HttpContext, GraphQLRequest, Task> subscriptionStream = sse.HandleAsync;
        endpoints.MapMethods(Path, methods, context =>
                context.WebSockets.IsWebSocketRequest ? ws.HandleAsync(context)
                : ResponseMediaTypes.PrefersEventStream(context.Request.Headers.Accept) ? sse.HandleAsync(context)
                : ide.IsBrowserNavigation(context.Request) ? ide.ServePageAsync(context)
                : http.HandleAsync(context, ResponseMediaTypes.AcceptsEventStream(context.Request.Headers.Accept) ? subscriptionStream : null))
            .WithDisplayName("AiWebEngine GraphQL");
        endpoints.MapMethods(Path + "/sse", methods, sse.HandleAsync).WithDisplayName("AiWebEngine GraphQL over SSE");
        endpoints.MapGet(Path + "/schema.graphql", context => GraphQLSchemaDocument.WriteAsync(context, executor.CurrentSchema)).WithDisplayName("AiWebEngine GraphQL schema");
        endpoints.MapGraphQLIde(ide);
    }
}
