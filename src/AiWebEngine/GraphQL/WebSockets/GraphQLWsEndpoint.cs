using System.Net.WebSockets;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using GraphQL;
using GraphQL.Transport;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>
/// WebSocket upgrades on <c>/graphql</c>: accepts the <c>graphql-transport-ws</c> subprotocol and serves
/// the socket with a <see cref="GraphQLWsConnection"/>; any other subprotocol is closed with 4406.
/// </summary>
/// <remarks>
/// A socket holds one of the server's stream connection slots (<see cref="StreamConnectionLimiter"/>)
/// while it is open; without a free slot the upgrade is answered 503 <c>OVERLOADED</c> and not accepted.
/// </remarks>
internal sealed class GraphQLWsEndpoint(
    GraphQLExecutor executor,
    GraphQLOperations operations,
    StreamConnectionLimiter limiter,
    IHostApplicationLifetime lifetime,
    IOptions<GraphQLOptions> options,
    IOptions<HttpOptions> http,
    TimeProvider time,
    ILogger<GraphQLWsConnection> logger)
{
    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(GraphQLWsMessages.SubProtocol, StringComparer.Ordinal))
        {
            using var refused = await context.WebSockets.AcceptWebSocketAsync();
            await refused.CloseAsync((WebSocketCloseStatus)GraphQLWsCloseCodes.SubprotocolNotAcceptable, "Subprotocol not acceptable", context.RequestAborted);
            return;
        }

        if (!limiter.TryAcquire())
        {
            await limiter.RefuseAsync(context);
            return;
        }

        try
        {
            await ServeAsync(context);
        }
        finally
        {
            limiter.Release();
        }
    }

    private async Task ServeAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync(GraphQLWsMessages.SubProtocol);
        var settings = new GraphQLWsSettings(
            (request, cancellationToken) => ExecuteAsync(context, request, cancellationToken),
            executor.Json,
            options.Value.ConnectionInitWaitTimeout,
            options.Value.QueueCapacity,
            options.Value.MaxOperationsPerSocket,
            http.Value.MaxRequestBodyBytes,
            time,
            logger);
        using var connection = new GraphQLWsConnection(socket, settings);
        await connection.RunAsync(lifetime.ApplicationStopping);
    }

    /// <summary>Each operation runs on the schema current when it is subscribed.</summary>
    private Task<GraphQLOperation> ExecuteAsync(HttpContext context, GraphQLRequest request, CancellationToken cancellationToken) =>
        operations.RunAsync(executor.CurrentSchema, request, OperationKinds.All, context.RequestServices, context.User, context.Request.Headers, cancellationToken);
}
