using AiWebEngine.RateLimiting;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>
/// The rate limits of one <c>graphql-transport-ws</c> socket (<c>AiWebEngine:RateLimits</c>): its messages
/// and the subscriptions it starts, counted by the socket, and the GraphQL operations of its client,
/// counted with that client's HTTP and graphql-sse operations.
/// </summary>
/// <remarks>
/// Checked once per message the client sends and once per <c>subscribe</c>, never per message the server
/// delivers. Used by the socket's receive loop only (see <see cref="SocketWindow"/>).
/// </remarks>
internal sealed class GraphQLWsLimits(SocketWindow messages, SocketWindow subscriptions, ClientLimit operations, string client)
{
    /// <summary>The socket's limits, or <see langword="null"/> when rate limits are off.</summary>
    public static GraphQLWsLimits? Create(ClientRateLimiter limits, string client, TimeProvider time) =>
        limits.Enabled
            ? new GraphQLWsLimits(
                new SocketWindow(limits.WebSocketMessages.PermitLimit, limits.WebSocketMessages.Window, time),
                new SocketWindow(limits.WebSocketSubscriptions.PermitLimit, limits.WebSocketSubscriptions.Window, time),
                limits.GraphQLOperations,
                client)
            : null;

    /// <summary>The close reason (for 4429) when this message is over the socket's message rate, else null.</summary>
    /// <remarks>A close reason is at most 123 bytes, so this one is short.</remarks>
    public string? OnMessage() => messages.TryTake()
        ? null
        : $"Rate limited: over {Describe(messages)} messages ({RateLimitOptions.SectionName}:WebSocketMessages)";

    /// <summary>The error message when this <c>subscribe</c> is over a limit, else null (a permit is taken).</summary>
    public string? OnSubscribe()
    {
        if (!subscriptions.TryTake())
        {
            return $"Too many subscriptions on this socket: the limit is {Describe(subscriptions)} ({RateLimitOptions.SectionName}:WebSocketSubscriptions); retry later. The socket's other operations go on.";
        }

        using var lease = operations.AttemptAcquire(client);
        return lease.IsAcquired ? null : operations.Message;
    }

    private static string Describe(SocketWindow window) =>
        new RateLimitWindow { PermitLimit = window.PermitLimit, Window = window.Window }.Describe();
}
