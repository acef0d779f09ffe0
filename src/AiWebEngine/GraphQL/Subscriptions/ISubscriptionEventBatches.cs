namespace AiWebEngine.GraphQL.Subscriptions;

/// <summary>
/// An observer of a shared subscription that takes the group's events a batch at a time, with their
/// <c>next</c> frames already encoded as one HTTP/1.1 chunk for every client (see <c>DirectSendGate</c>).
/// </summary>
internal interface ISubscriptionEventBatches
{
    void OnNextBatch(ReadOnlySpan<SubscriptionEvent> events, ReadOnlySpan<byte> chunk);
}
