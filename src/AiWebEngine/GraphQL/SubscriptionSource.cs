using AiWebEngine.Streaming;
using GraphQL;

namespace AiWebEngine.GraphQL;

/// <summary>
/// The event stream of one GraphQL subscription: a bus subscriber whose messages are pushed to the
/// GraphQL.NET observer, those that <c>accept</c> lets through. Disposing the subscription unsubscribes from the bus at once.
/// </summary>
/// <remarks>
/// GraphQL.NET has no backpressure of its own; the bus subscriber's bounded queue is it. A
/// subscription that falls too far behind ends with an error instead of growing memory.
/// </remarks>
internal sealed class SubscriptionSource(
    ITopicBus bus,
    string topic,
    IReadOnlyDictionary<string, string> metadata,
    object? first,
    Func<BusMessage, object?> convert,
    Action<TopicSubscriber>? subscribed = null,
    Func<BusMessage, ValueTask<bool>>? accept = null) : IObservable<object?>
{
    public IDisposable Subscribe(IObserver<object?> observer)
    {
        var subscriber = bus.Subscribe(topic, metadata, null);
        subscribed?.Invoke(subscriber);
        _ = PumpAsync(subscriber, observer);
        return subscriber;
    }

    private async Task PumpAsync(TopicSubscriber subscriber, IObserver<object?> observer)
    {
        try
        {
            if (first is not null)
            {
                observer.OnNext(first);
            }

            await foreach (var message in subscriber.Messages.ReadAllAsync())
            {
                // The filter runs here, in order, once per event of this source (a shared execution's one source per group).
                if (!message.IsComment && (accept is null || await accept(message)))
                {
                    observer.OnNext(convert(message));
                }
            }

            if (subscriber.Overflowed)
            {
                observer.OnError(new ExecutionError("The subscription fell too far behind its events and was ended; subscribe again.") { Code = "SUBSCRIPTION_OVERFLOW" });
            }
            else
            {
                observer.OnCompleted();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            observer.OnError(e);
        }
    }
}

/// <summary>A script subscription's first event alone (the resolver's return value, if any), then the end.</summary>
internal sealed class FirstEventSource(object? first) : IObservable<object?>
{
    public IDisposable Subscribe(IObserver<object?> observer)
    {
        if (first is not null)
        {
            observer.OnNext(first);
        }

        observer.OnCompleted();
        return Disposable.Instance;
    }

    private sealed class Disposable : IDisposable
    {
        public static readonly Disposable Instance = new();

        public void Dispose()
        {
        }
    }
}
