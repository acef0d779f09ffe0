using AiWebEngine.Errors;
using AiWebEngine.Streaming;

namespace AiWebEngine.GraphQL;

/// <summary>
/// <c>GET /graphql/subscription/{name}</c>: the events of subscription <c>name</c> as a plain
/// EventSource stream, each <c>sendSubscriptionMessage</c> payload exactly as sent, with the framing,
/// replay and limits of every stream (SPEC §5.2). The query string is the connection's metadata.
/// </summary>
internal sealed class SubscriptionStreamEndpoint(GraphQLRegistry registry, SseEndpoint sse)
{
    public const string Pattern = "/graphql/subscription/{name}";

    public Task ServeAsync(HttpContext context, string name)
    {
        if (registry.Find(GraphQLFieldKind.Subscription, name) is null)
        {
            return ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound,
                $"No subscription '{name}' is registered.");
        }

        return sse.ServeAsync(context, GraphQLField.TopicOf(name), SseEndpoint.Metadata(context.Request.Query));
    }
}
