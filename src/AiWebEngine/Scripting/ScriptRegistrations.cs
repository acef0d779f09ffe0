namespace AiWebEngine.Scripting;

/// <summary>A route a script asked for: <c>register(path, handler, method)</c>.</summary>
/// <param name="Path">The path as the script wrote it.</param>
/// <param name="Method">The HTTP method, upper case.</param>
/// <param name="HandlerRef">The handler: a global function's name, or <c>#n</c> for a function value.</param>
/// <param name="RateLimit">The configured rate limit policy the route names, or <see langword="null"/>.</param>
internal sealed record RouteRegistration(string Path, string Method, string HandlerRef, string? RateLimit = null);

/// <summary>What one script version registered while it was loading, applied in one step when it succeeds.</summary>
internal sealed class ScriptRegistrations
{
    private readonly Dictionary<string, RouteRegistration> _routes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _streamRateLimits = new(StringComparer.Ordinal);
    private readonly Dictionary<(AiWebEngine.GraphQL.GraphQLFieldKind, string), AiWebEngine.GraphQL.GraphQLField> _graphQL = [];

    /// <summary>Adds a route, replacing the script's own earlier one with the same key.</summary>
    public void AddRoute(string key, RouteRegistration route) => _routes[key] = route;

    public IReadOnlyCollection<KeyValuePair<string, RouteRegistration>> Routes => _routes;

    public bool HasRoute(string key) => _routes.ContainsKey(key);

    public bool HasStream(string path) => _streams.Contains(path);

    public bool HasGraphQL(AiWebEngine.GraphQL.GraphQLFieldKind kind, string name) => _graphQL.ContainsKey((kind, name));

    /// <summary>Adds a stream path (a second registration of the same path only sets its rate limit policy).</summary>
    public void AddStream(string path, string? rateLimit = null)
    {
        _streams.Add(path);
        if (rateLimit is null)
        {
            _streamRateLimits.Remove(path);
        }
        else
        {
            _streamRateLimits[path] = rateLimit;
        }
    }

    public IReadOnlyCollection<string> Streams => _streams;

    /// <summary>Stream path → the rate limit policy it names, for the streams that name one.</summary>
    public IReadOnlyDictionary<string, string> StreamRateLimits => _streamRateLimits;

    /// <summary>Adds a GraphQL field, replacing the script's own earlier one of the same kind and name.</summary>
    public void AddGraphQL(AiWebEngine.GraphQL.GraphQLField field) => _graphQL[(field.Kind, field.Name)] = field;

    public IReadOnlyCollection<AiWebEngine.GraphQL.GraphQLField> GraphQL => _graphQL.Values;

    /// <summary>Every handler the script named by a string; each must name a function once loading ends.</summary>
    public IEnumerable<(string What, string HandlerRef)> NamedHandlers() =>
        _routes.Values
            .Where(r => r.HandlerRef[0] != '#')
            .Select(r => ($"register(\"{r.Path}\", \"{r.HandlerRef}\", \"{r.Method}\")", r.HandlerRef))
            .Concat(_graphQL.Values
                .Where(f => f.ResolverRef is { } name && name[0] != '#')
                .Select(f => ($"registerGraphQL{f.Kind}(\"{f.Name}\", …, \"{f.ResolverRef}\")", f.ResolverRef!)));
}

/// <summary>Receives a script's registration calls; implemented by the registration coordinator.</summary>
internal interface IScriptRegistrar
{
    /// <summary>Registers a route for <paramref name="instance"/>; returns an error message, or <see langword="null"/>.</summary>
    string? Register(ScriptInstance instance, string path, string handlerRef, string method, string? rateLimit = null);

    /// <summary>Registers a GraphQL root field for <paramref name="instance"/>; returns an error message, or <see langword="null"/>.</summary>
    string? RegisterGraphQL(ScriptInstance instance, AiWebEngine.GraphQL.GraphQLFieldKind kind, string name, string sdl, string? resolverRef, string? rateLimit = null);

    /// <summary>Registers a stream path for <paramref name="instance"/>; returns an error message, or <see langword="null"/>.</summary>
    string? RegisterStream(ScriptInstance instance, string path, string? rateLimit = null);
}
