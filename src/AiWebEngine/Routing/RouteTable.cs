using AiWebEngine.Scripting;

namespace AiWebEngine.Routing;

/// <summary>A route that serves: its path, method, handler and the script version that owns it.</summary>
internal sealed record ScriptRoute(RoutePath Path, string Method, string HandlerRef, ScriptInstance Instance, RegistrationOptions Options)
{
    public string Owner => Instance.Uri;

    /// <summary>The rate limit policy the route names (<c>{ rateLimit: "name" }</c>), or <see langword="null"/>.</summary>
    public string? RateLimit => Options.RateLimit;

    public string Key => KeyOf(Method, Path);

    public static string KeyOf(string method, RoutePath path) => method + " " + path.Shape;
}

/// <summary>
/// Every script route, keyed by method and path shape. Changes are applied under one lock and
/// published as a new immutable snapshot, which <see cref="ScriptEndpointDataSource"/> turns into endpoints.
/// </summary>
internal sealed class RouteTable
{
    private readonly Lock _sync = new();
    private Dictionary<string, ScriptRoute> _routes = new(StringComparer.Ordinal);

    /// <summary>Raised after every change, with the lock released.</summary>
    public event Action? Changed;

    /// <summary>The routes now; an immutable snapshot.</summary>
    public IReadOnlyDictionary<string, ScriptRoute> Snapshot => Volatile.Read(ref _routes);

    /// <summary>The owner of a route with this key, if it is another script than <paramref name="uri"/>.</summary>
    public string? OtherOwner(string key, string uri) =>
        Snapshot.TryGetValue(key, out var route) && route.Owner != uri ? route.Owner : null;

    /// <summary>Adds or replaces one route of a script that is already serving.</summary>
    public string? Set(ScriptRoute route)
    {
        lock (_sync)
        {
            if (OtherOwner(route.Key, route.Owner) is { } owner)
            {
                return owner;
            }

            var next = new Dictionary<string, ScriptRoute>(_routes, StringComparer.Ordinal) { [route.Key] = route };
            Volatile.Write(ref _routes, next);
        }

        Changed?.Invoke();
        return null;
    }

    /// <summary>Replaces every route of <paramref name="uri"/> with <paramref name="routes"/> in one step.</summary>
    /// <returns>A conflict message, or <see langword="null"/> when the swap happened.</returns>
    public string? ReplaceOwner(string uri, IReadOnlyCollection<ScriptRoute> routes)
    {
        lock (_sync)
        {
            foreach (var route in routes)
            {
                if (OtherOwner(route.Key, uri) is { } owner)
                {
                    return $"register(\"{route.Path.Path}\", …, \"{route.Method}\"): {route.Method} {route.Path.Path} is already registered by {owner}";
                }
            }

            var next = new Dictionary<string, ScriptRoute>(StringComparer.Ordinal);
            foreach (var (key, route) in _routes)
            {
                if (route.Owner != uri)
                {
                    next[key] = route;
                }
            }

            foreach (var route in routes)
            {
                next[route.Key] = route;
            }

            Volatile.Write(ref _routes, next);
        }

        Changed?.Invoke();
        return null;
    }
}
