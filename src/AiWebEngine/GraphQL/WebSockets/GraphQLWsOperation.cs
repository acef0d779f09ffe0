using AiWebEngine.GraphQL.Subscriptions;
using GraphQL;
using GraphQL.Transport;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>
/// One operation of a <c>graphql-transport-ws</c> socket: runs it, and for a subscription observes its
/// results until it ends, the client sends <c>complete</c>, or the socket closes.
/// </summary>
/// <remarks>
/// The operation leaves the connection's table before its last message is queued, so a client that
/// reuses the id as soon as it sees <c>complete</c> or <c>error</c> is not told the id is taken.
/// </remarks>
internal sealed class GraphQLWsOperation(string id, GraphQLRequest request, GraphQLWsConnection connection) : IObserver<SubscriptionEvent>, IDisposable
{
    private IDisposable? _subscription;
    private int _disposed;

    public string Id { get; } = id;

    private bool Disposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Runs the operation; a subscription goes on through the observer methods.</summary>
    public async Task RunAsync()
    {
        var operation = await connection.ExecuteAsync(request);
        var result = operation.Result;
        if (Disposed)
        {
            // The client completed the operation (or left) while it ran: nothing more to say.
            return;
        }

        if (!result.Executed || IsRefusedSubscription(result))
        {
            Finish(GraphQLWsMessages.Error(Id, result, connection.Json));
        }
        else if (operation.Events is { } events)
        {
            var subscription = events.Subscribe(this);
            if (Interlocked.CompareExchange(ref _subscription, subscription, null) is not null)
            {
                subscription.Dispose();
            }
        }
        else
        {
            connection.Send(GraphQLWsMessages.Next(Id, result, connection.Json));
            Finish(GraphQLWsMessages.Complete(Id));
        }
    }

    /// <summary>A subscription its field's <c>auth</c> refused: the protocol's <c>error</c> for the operation, no event stream.</summary>
    private static bool IsRefusedSubscription(ExecutionResult result) =>
        result.Operation?.Operation == global::GraphQLParser.AST.OperationType.Subscription
        && result.Streams is not { Count: > 0 }
        && result.Errors is { Count: > 0 } errors
        && errors.Any(e => e.Code is FieldAccess.UnauthenticatedCode or FieldAccess.ForbiddenCode);

    /// <summary>Sends the event, whose result JSON is encoded once for every client of a shared subscription.</summary>
    public void OnNext(SubscriptionEvent value)
    {
        if (!Disposed)
        {
            connection.Send(GraphQLWsMessages.Next(Id, value.Payload));
        }
    }

    /// <summary>An error of the event source: a <c>next</c> with <c>errors</c>, then <c>complete</c>.</summary>
    public void OnError(Exception error)
    {
        OnNext(new SubscriptionEvent(new ExecutionResult(error as ExecutionError ?? new ExecutionError("The subscription's event stream failed.", error)), connection.Json));
        OnCompleted();
    }

    public void OnCompleted() => Finish(GraphQLWsMessages.Complete(Id));

    private void Finish(byte[] lastMessage)
    {
        if (connection.Remove(this))
        {
            Dispose();
            connection.Send(lastMessage);
        }
    }

    /// <summary>Stops the operation (disposing its subscription) without telling the client.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // A placeholder marks the subscription slot taken, so a subscription made later is disposed at once.
            Interlocked.Exchange(ref _subscription, NoSubscription.Instance)?.Dispose();
        }
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }
}
