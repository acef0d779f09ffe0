using AiWebEngine.Scripting;

namespace AiWebEngine.GraphQL;

/// <summary>A root field a script registered: its fragment, its resolver and the script version that owns it.</summary>
/// <param name="Fragment">The parsed SDL fragment.</param>
/// <param name="ResolverRef">The resolver (a global function's name or <c>#n</c>), or <see langword="null"/> for a subscription without one.</param>
/// <param name="Instance">The script version that serves the resolver.</param>
internal sealed record GraphQLField(GraphQLFragment Fragment, string? ResolverRef, ScriptInstance Instance, RegistrationOptions Options)
{
    public GraphQLFieldKind Kind => Fragment.Kind;

    public string Name => Fragment.Name;

    public string Owner => Instance.Uri;

    /// <summary>The rate limit policy the field names (<c>{ rateLimit: "name" }</c>), or <see langword="null"/>.</summary>
    public string? RateLimit => Options.RateLimit;

    /// <summary>The bus topic that carries this subscription field's events.</summary>
    public static string TopicOf(string subscription) => TopicPrefix + subscription;

    /// <summary>The subscription whose topic <paramref name="topic"/> is, or <see langword="null"/>.</summary>
    public static string? SubscriptionOf(string topic) =>
        topic.StartsWith(TopicPrefix, StringComparison.Ordinal) ? topic[TopicPrefix.Length..] : null;

    private const string TopicPrefix = "graphql:";
}
