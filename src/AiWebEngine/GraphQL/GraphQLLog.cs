namespace AiWebEngine.GraphQL;

/// <summary>Log messages of the GraphQL layer that belong to no one class with a logger of its own.</summary>
internal static partial class GraphQLLog
{
    [LoggerMessage(EventId = 1460, Level = LogLevel.Error, Message = "Script {ScriptUri}: the filter of subscription {Subscription} failed, so the event was not delivered to that subscriber group: {Error}")]
    public static partial void FilterFailed(ILogger logger, string scriptUri, string subscription, string error);

    [LoggerMessage(EventId = 1461, Level = LogLevel.Warning, Message = "Script {ScriptUri}: the resolver of subscription {Subscription} refused an EventSource connection (request {RequestId}): {Error}")]
    public static partial void EventSourceRefused(ILogger logger, string scriptUri, string subscription, string requestId, string error);

    [LoggerMessage(EventId = 1462, Level = LogLevel.Error, Message = "Script {ScriptUri}: the resolver of {Field} failed: {Error}")]
    public static partial void ResolverFailed(ILogger logger, string scriptUri, string field, string error);
}
