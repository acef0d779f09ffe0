using AiWebEngine.GraphQL.Http;
using AiWebEngine.GraphQL.Ide;
using AiWebEngine.GraphQL.Sse;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.GraphQL.WebSockets;
using AiWebEngine.Hosting;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL;

/// <summary>Registers the GraphQL transports; called by <c>AddAiWebEngine()</c>.</summary>
internal static class GraphQLServiceCollectionExtensions
{
    /// <summary>
    /// Adds the executor, the document cache and limits, the three transports and the IDE, with <see cref="GraphQLOptions"/>
    /// bound from <c>AiWebEngine:GraphQL</c> and <see cref="GraphQLIdeOptions"/> from <c>AiWebEngine:GraphQL:Ide</c>,
    /// both validated at start. The <see cref="IGraphQLSchemaProvider"/> is not registered here: the script
    /// registry is the provider.
    /// </summary>
    public static IServiceCollection AddAiWebEngineGraphQL(this IServiceCollection services)
    {
        services.AddOptions<GraphQLOptions>().BindConfiguration(GraphQLOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GraphQLOptions>, GraphQLOptionsValidator>();
        services.AddSingleton<IValidateOptions<GraphQLOptions>, WebSocketOrigins.Validator>();
        services.AddSingleton<GraphQLJson>();
        services.AddSingleton<DocumentCache>();
        services.AddSingleton<DocumentLimits>();
        services.AddSingleton<FieldAccess>();
        services.AddSingleton<GraphQLExecutor>();
        services.AddSingleton<GraphQLOperations>();
        services.AddSingleton<GraphQLKeepAlive>();
        services.AddSingleton<GraphQLHttpEndpoint>();
        services.AddSingleton<GraphQLSseEndpoint>();
        services.AddSingleton<WebSocketOrigins>();
        services.AddSingleton<GraphQLWsEndpoint>();
        services.AddOptions<GraphQLIdeOptions>().BindConfiguration(GraphQLIdeOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GraphQLIdeOptions>, GraphQLIdeOptionsValidator>();
        services.AddSingleton<GraphQLIdeFiles>();
        services.AddSingleton<GraphQLIdeEndpoint>();
        return services;
    }
}
