using AiWebEngine.Streaming;

namespace AiWebEngine.GraphQL.Subscriptions;

/// <summary>
/// Which part of a script subscription an execution produces, passed to the field's source stream
/// resolver in the user context. A shared subscription runs each client's operation for its first event
/// (the resolver's return value) and one execution for the bus events of all of them.
/// </summary>
internal sealed class SubscriptionRole
{
    /// <summary>The key of the role in <c>ExecutionOptions.UserContext</c>.</summary>
    public const string Key = "aiwebengine.subscription-role";

    private SubscriptionRole(bool firstEvent, Action<TopicSubscriber>? subscribed)
    {
        IsFirstEvent = firstEvent;
        Subscribed = subscribed;
    }

    /// <summary>
    /// True: call the script's resolver and stream only its return value (no bus subscription).
    /// False: skip the resolver and stream the bus events.
    /// </summary>
    public bool IsFirstEvent { get; }

    /// <summary>Told the bus subscriber of an events execution, so the group can count its clients on it.</summary>
    public Action<TopicSubscriber>? Subscribed { get; }

    /// <summary>Set by the source stream resolver when it produced the part asked for; otherwise the field is not a script subscription and is not shared.</summary>
    public bool Honored { get; set; }

    public static SubscriptionRole FirstEvent() => new(firstEvent: true, subscribed: null);

    public static SubscriptionRole Events(Action<TopicSubscriber> subscribed) => new(firstEvent: false, subscribed);
}
