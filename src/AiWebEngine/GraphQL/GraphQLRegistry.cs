using AiWebEngine.Streaming;
using GraphQL.Types;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Every GraphQL root field scripts registered, and the schema built from them (SPEC §5.1). A change
/// builds a new schema first and swaps it in one step; operations that are running finish on the
/// schema they started with.
/// </summary>
internal sealed class GraphQLRegistry : IGraphQLSchemaProvider
{
    private readonly ITopicBus _bus;
    private readonly TopicOwners? _topicOwners;
    private readonly ScriptSchemaBuilder _builder;
    private Dictionary<(GraphQLFieldKind, string), GraphQLField> _fields = [];
    private ISchema _current;

    public GraphQLRegistry(ITopicBus bus, TopicOwners? topicOwners = null, RateLimiting.ClientRateLimiter? limits = null, FieldAccess? access = null, ILogger<GraphQLRegistry>? logger = null)
    {
        _bus = bus;
        _topicOwners = topicOwners;
        topicOwners?.Add(topic => GraphQLField.SubscriptionOf(topic) is { } name ? Find(GraphQLFieldKind.Subscription, name)?.Owner : null);
        _builder = new ScriptSchemaBuilder(new ScriptFieldResolvers(bus, Find, limits, access, logger));
        _current = _builder.Build([]);
    }

    public ISchema Current => Volatile.Read(ref _current);

    /// <summary>Raised after the schema was swapped.</summary>
    public event Action<ISchema>? SchemaChanged;

    public IReadOnlyCollection<GraphQLField> Fields => Volatile.Read(ref _fields).Values;

    public GraphQLField? Find(GraphQLFieldKind kind, string name) => Volatile.Read(ref _fields).GetValueOrDefault((kind, name));

    /// <summary>Why <paramref name="field"/> cannot join the other scripts' fields, or <see langword="null"/>.</summary>
    public string? FindConflict(GraphQLFragment field, string owner, IEnumerable<GraphQLFragment>? alsoStaged = null)
    {
        foreach (var other in Volatile.Read(ref _fields).Values)
        {
            if (other.Owner == owner)
            {
                continue;
            }

            if (other.Kind == field.Kind && other.Name == field.Name)
            {
                return $"{field.Kind}.{field.Name} is already registered by {other.Owner}";
            }

            if (TypeConflict(field, other.Fragment) is { } type)
            {
                return $"type {type} is already defined differently by {other.Owner}";
            }
        }

        foreach (var staged in alsoStaged ?? [])
        {
            if (TypeConflict(field, staged) is { } type)
            {
                return $"type {type} is declared differently by another field of this script";
            }
        }

        return null;
    }

    private static string? TypeConflict(GraphQLFragment a, GraphQLFragment b)
    {
        foreach (var (name, definition) in a.Types)
        {
            if (b.Types.TryGetValue(name, out var theirs) && theirs != definition)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>Checks that one fragment makes a valid schema on its own (every type it uses is declared).</summary>
    public string? Check(GraphQLField field)
    {
        try
        {
            _builder.Build([field]);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or GraphQLParser.Exceptions.GraphQLSyntaxErrorException)
        {
            return e.Message;
        }
    }

    /// <summary>Builds the schema in which <paramref name="owner"/>'s fields are <paramref name="fields"/>; nothing changes yet.</summary>
    public (Dictionary<(GraphQLFieldKind, string), GraphQLField> Fields, ISchema Schema) Prepare(string owner, IReadOnlyCollection<GraphQLField> fields)
    {
        var next = new Dictionary<(GraphQLFieldKind, string), GraphQLField>();
        foreach (var (key, field) in Volatile.Read(ref _fields))
        {
            if (field.Owner != owner)
            {
                next[key] = field;
            }
        }

        foreach (var field in fields)
        {
            next[(field.Kind, field.Name)] = field;
        }

        return (next, _builder.Build(next.Values));
    }

    /// <summary>Swaps in a prepared schema; subscriptions to fields that are gone complete.</summary>
    public void Commit((Dictionary<(GraphQLFieldKind, string), GraphQLField> Fields, ISchema Schema) prepared)
    {
        var previous = Volatile.Read(ref _fields);
        Volatile.Write(ref _fields, prepared.Fields);
        Volatile.Write(ref _current, prepared.Schema);
        _topicOwners?.Changed();
        foreach (var (key, field) in previous)
        {
            if (field.Kind == GraphQLFieldKind.Subscription && !prepared.Fields.ContainsKey(key))
            {
                _bus.Complete(GraphQLField.TopicOf(field.Name));
            }
        }

        SchemaChanged?.Invoke(prepared.Schema);
    }
}
