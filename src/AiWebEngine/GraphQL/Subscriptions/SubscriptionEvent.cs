using AiWebEngine.GraphQL.Sse;
using GraphQL;

namespace AiWebEngine.GraphQL.Subscriptions;

/// <summary>
/// One result of a subscription, encoded at most once however many clients receive it: the result
/// JSON for WebSocket messages and the whole <c>next</c> frame for graphql-sse.
/// </summary>
internal sealed class SubscriptionEvent(ExecutionResult result, GraphQLJson json)
{
    private byte[]? _payload;
    private byte[]? _sseFrame;

    public ExecutionResult Result { get; } = result;

    /// <summary>The result as UTF-8 JSON.</summary>
    public ReadOnlyMemory<byte> Payload => _payload ?? Interlocked.CompareExchange(ref _payload, json.ToUtf8(Result), null) ?? _payload;

    /// <summary><c>event: next\ndata: &lt;result&gt;\n\n</c>.</summary>
    public ReadOnlyMemory<byte> SseFrame => _sseFrame ?? Interlocked.CompareExchange(ref _sseFrame, GraphQLSseFrames.Next(Payload.Span), null) ?? _sseFrame;
}
