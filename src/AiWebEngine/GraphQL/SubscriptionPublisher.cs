using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL;

/// <summary><c>sendSubscriptionMessage(name, data, filter?)</c>: one publish on the subscription's bus topic.</summary>
internal sealed class SubscriptionPublisher(ITopicBus bus, GraphQLRegistry registry, IOptions<StreamOptions> options)
{
    private readonly int _maxBytes = options.Value.MaxMessageBytes;

    /// <returns>The number of subscribers the event was queued for, or an error message.</returns>
    public object Send(string name, string data, IReadOnlyDictionary<string, string>? filter)
    {
        if (registry.Find(GraphQLFieldKind.Subscription, name) is null)
        {
            return $"no subscription '{name}' is registered; call registerGraphQLSubscription(\"{name}\", …) first";
        }

        if (data.Length * 3L > _maxBytes && System.Text.Encoding.UTF8.GetByteCount(data) is var bytes && bytes > _maxBytes)
        {
            return $"the message is {bytes} bytes; the limit is {_maxBytes} bytes (AiWebEngine:Streams:MaxMessageBytes)";
        }

        try
        {
            return bus.Publish(GraphQLField.TopicOf(name), data, filter);
        }
        catch (Streaming.Redis.BusUnavailableException e)
        {
            return e.Message;
        }
    }
}
