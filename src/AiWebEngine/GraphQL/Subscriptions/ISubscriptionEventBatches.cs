namespace AiWebEngine.GraphQL.Subscriptions;

/// <summary>
/// An observer of a shared subscription that takes the group's events a batch at a time, with their
/// <c>next</c> frames already encoded as one HTTP/1.1 chunk for every client (see <c>DirectSendGate</c>).
/// </summary>
internal interface ISubscriptionEventBatches
{
    /// <param name="now">The pass's <see cref="TimeProvider"/> timestamp: the connection's last activity if sent.</param>
    /// <returns>Whether the chunk went straight to the socket.</returns>
    bool OnNextBatch(ReadOnlySpan<SubscriptionEvent> events, ReadOnlySpan<byte> chunk, long now);
}
