using GraphQL;

namespace AiWebEngine.GraphQL.Subscriptions;

/// <summary>An operation a transport ran: its result, and for a subscription the events to observe.</summary>
/// <param name="Result">The execution result; for a subscription it carries no data of its own.</param>
/// <param name="Events">A subscription's results, or <see langword="null"/> for a query, a mutation or an operation that did not run.</param>
internal sealed record GraphQLOperation(ExecutionResult Result, IObservable<SubscriptionEvent>? Events)
{
    /// <summary>An operation whose subscription results (if any) are this client's alone.</summary>
    public static GraphQLOperation Unshared(ExecutionResult result, GraphQLJson json) =>
        new(result, result.Streams is { Count: > 0 } streams ? new OwnEvents(streams.Values.First(), json) : null);

    private sealed class OwnEvents(IObservable<ExecutionResult> results, GraphQLJson json) : IObservable<SubscriptionEvent>
    {
        public IDisposable Subscribe(IObserver<SubscriptionEvent> observer) => results.Subscribe(new Encoder(observer, json));

        private sealed class Encoder(IObserver<SubscriptionEvent> observer, GraphQLJson json) : IObserver<ExecutionResult>
        {
            public void OnNext(ExecutionResult value) => observer.OnNext(new SubscriptionEvent(value, json));

            public void OnError(Exception error) => observer.OnError(error);

            public void OnCompleted() => observer.OnCompleted();
        }
    }
}
