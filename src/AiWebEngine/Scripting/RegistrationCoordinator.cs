using AiWebEngine.GraphQL;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;

namespace AiWebEngine.Scripting;

/// <summary>
/// Owns the rules of registration: who owns which route and stream path, what a loading version
/// stages, and the single step in which a loaded version's registrations replace its predecessor's.
/// </summary>
/// <remarks>
/// Routes and streams share one path space: a stream path answers every method (GET opens it, the
/// others get 405), so no route of any method may use the same path (<see cref="StreamPath.Collides"/>).
/// </remarks>
internal sealed class RegistrationCoordinator(
    RouteTable routes,
    StreamRegistry streams,
    ScriptStreams scriptStreams,
    GraphQLRegistry graphQL,
    Microsoft.AspNetCore.Authorization.IAuthorizationPolicyProvider policies,
    AiWebEngine.RateLimiting.ClientRateLimiter? limits = null) : IScriptRegistrar
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];

    private readonly Lock _sync = new();

    public string? Register(ScriptInstance instance, string path, string handlerRef, string method, RegistrationOptions options)
    {
        if (UnknownPolicy(options) is { } unknown)
        {
            return unknown;
        }

        var verb = Array.Find(Methods, m => m.Equals(method, StringComparison.OrdinalIgnoreCase));
        if (verb is null)
        {
            return $"method '{method}' is not supported; use GET, POST, PUT, DELETE or PATCH";
        }

        if (RoutePath.TryParse(path, out var error) is not { } routePath)
        {
            return error;
        }

        var key = ScriptRoute.KeyOf(verb, routePath);
        lock (_sync)
        {
            if (routes.OtherOwner(key, instance.Uri) is { } owner)
            {
                return $"{verb} {path} is already registered by {owner}";
            }

            var isNew = instance.State == ScriptInstanceState.Loading
                ? !instance.Staged.HasRoute(key)
                : !(routes.Snapshot.TryGetValue(key, out var existing) && existing.Owner == instance.Uri);
            if (OverBudget(instance, isNew) is { } full)
            {
                return full;
            }

            if (StreamOnPath(routePath, instance) is { } stream)
            {
                return $"{path} is a stream path (registered by {stream.Owner}); a stream answers GET only, so no route may use its path";
            }

            switch (instance.State)
            {
                case ScriptInstanceState.Loading:
                    instance.Staged.AddRoute(key, new RouteRegistration(path, verb, handlerRef, options));
                    return Counted(instance, isNew);
                case ScriptInstanceState.Active:
                    return routes.Set(new ScriptRoute(routePath, verb, handlerRef, instance, options)) is { } other
                        ? $"{verb} {path} is already registered by {other}"
                        : Counted(instance, isNew);
                default:
                    return Replaced;
            }
        }
    }

    public string? RegisterStream(ScriptInstance instance, string path, RegistrationOptions options)
    {
        if (UnknownPolicy(options) is { } unknown)
        {
            return unknown;
        }

        if (StreamPath.Validate(path) is { } error)
        {
            return error;
        }

        lock (_sync)
        {
            if (streams.OwnerOf(path) is { } owner && owner != instance.Uri)
            {
                return $"stream {path} is already registered by {owner}";
            }

            var isNew = instance.State == ScriptInstanceState.Loading ? !instance.Staged.HasStream(path) : streams.OwnerOf(path) != instance.Uri;
            if (OverBudget(instance, isNew) is { } full)
            {
                return full;
            }

            if (RouteOnPath(path, instance) is { } route)
            {
                return $"{path} is already a route ({route.Method} {route.Path.Path}, registered by {route.Owner}); a stream needs a path of its own";
            }

            switch (instance.State)
            {
                case ScriptInstanceState.Loading:
                    instance.Staged.AddStream(path, options);
                    return Counted(instance, isNew);
                case ScriptInstanceState.Active:
                    return streams.Add(scriptStreams.Registration(instance, path, options)) is { } other ? $"stream {path} is already registered by {other}" : Counted(instance, isNew);
                default:
                    return Replaced;
            }
        }
    }

    public string? RegisterGraphQL(ScriptInstance instance, GraphQLFieldKind kind, string name, string sdl, string? resolverRef, RegistrationOptions options)
    {
        if (UnknownPolicy(options) is { } unknown)
        {
            return unknown;
        }

        if (GraphQLFragment.TryParse(kind, name, sdl, out var error) is not { } fragment)
        {
            return error;
        }

        var field = new GraphQLField(fragment, resolverRef, instance, options);
        if (graphQL.Check(field) is { } invalid)
        {
            return $"the SDL does not make a valid schema: {invalid}";
        }

        lock (_sync)
        {
            var isNew = instance.State == ScriptInstanceState.Loading
                ? !instance.Staged.HasGraphQL(kind, name)
                : !graphQL.Fields.Any(f => f.Owner == instance.Uri && f.Kind == kind && f.Name == name);
            if (OverBudget(instance, isNew) is { } full)
            {
                return full;
            }

            var staged = instance.State == ScriptInstanceState.Loading
                ? instance.Staged.GraphQL.Where(f => (f.Kind, f.Name) != (kind, name)).Select(f => f.Fragment)
                : graphQL.Fields.Where(f => f.Owner == instance.Uri && (f.Kind, f.Name) != (kind, name)).Select(f => f.Fragment);
            if (graphQL.FindConflict(fragment, instance.Uri, staged.ToList()) is { } conflict)
            {
                return conflict;
            }

            switch (instance.State)
            {
                case ScriptInstanceState.Loading:
                    instance.Staged.AddGraphQL(field);
                    return Counted(instance, isNew);
                case ScriptInstanceState.Active:
                    var own = graphQL.Fields.Where(f => f.Owner == instance.Uri && (f.Kind, f.Name) != (kind, name)).Append(field).ToList();
                    try
                    {
                        graphQL.Commit(graphQL.Prepare(instance.Uri, own));
                        return Counted(instance, isNew);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                        return $"the schema with this field is not valid: {e.Message}";
                    }

                default:
                    return Replaced;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="instance"/>'s staged registrations the script's only ones, in one step.
    /// </summary>
    /// <exception cref="ScriptFailedException">A registration conflicts with another script's; nothing changed.</exception>
    public void Activate(ScriptInstance instance)
    {
        var staged = instance.Staged.Routes
            .Select(r => new ScriptRoute(RoutePath.TryParse(r.Value.Path, out _)!, r.Value.Method, r.Value.HandlerRef, instance, r.Value.Options))
            .ToList();
        lock (_sync)
        {
            if (streams.FindConflict(instance.Uri, instance.Staged.Streams) is { } conflict)
            {
                throw new ScriptFailedException(instance.Uri, $"registerWebStream: stream {conflict.Path} is already registered by {conflict.Owner}");
            }

            foreach (var field in instance.Staged.GraphQL)
            {
                if (graphQL.FindConflict(field.Fragment, instance.Uri) is { } graphQLConflict)
                {
                    throw new ScriptFailedException(instance.Uri, $"registerGraphQL{field.Kind}: {graphQLConflict}");
                }
            }

            (Dictionary<(GraphQLFieldKind, string), GraphQLField>, global::GraphQL.Types.ISchema) schema;
            try
            {
                schema = graphQL.Prepare(instance.Uri, instance.Staged.GraphQL);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new ScriptFailedException(instance.Uri, $"the GraphQL schema with this script's fields is not valid: {e.Message}");
            }

            if (routes.ReplaceOwner(instance.Uri, staged) is { } routeConflict)
            {
                throw new ScriptFailedException(instance.Uri, routeConflict);
            }

            streams.ReplaceOwner(instance.Uri, [.. instance.Staged.StreamOptions.Select(s => scriptStreams.Registration(instance, s.Key, s.Value))]);
            graphQL.Commit(schema);
            instance.State = ScriptInstanceState.Active;
        }
    }

    /// <summary>Removes every registration of <paramref name="uri"/>.</summary>
    public void Remove(string uri)
    {
        lock (_sync)
        {
            routes.ReplaceOwner(uri, []);
            streams.ReplaceOwner(uri, []);
            graphQL.Commit(graphQL.Prepare(uri, []));
        }
    }

    // A named policy must exist when the script registers, so that a typo fails the load instead of
    // refusing every request later. The framework's provider answers synchronously.
    private string? UnknownPolicy(RegistrationOptions options)
    {
        if (options.RateLimit is { } rateLimit)
        {
            var refused = limits is null ? $"rateLimit '{rateLimit}' is not a configured policy (no rate limits are configured)" : limits.CheckPolicyName(rateLimit);
            if (refused is not null)
            {
                return refused;
            }
        }

        if (options.Auth?.PolicyName is not { } name)
        {
            return null;
        }

        var found = policies.GetPolicyAsync(name);
        return (found.IsCompleted ? found.Result : found.GetAwaiter().GetResult()) is null
            ? $"auth.policy '{name}' is not configured (AiWebEngine:Authorization:Policies:{name})"
            : null;
    }

    // Called under _sync: a registration the script does not have yet must fit in its budget.
    private static string? OverBudget(ScriptInstance instance, bool isNew)
    {
        var max = instance.Host.Options.MaxRegistrations;
        return isNew && instance.Registrations >= max
            ? $"the script has {instance.Registrations} registrations (routes, streams and GraphQL fields together); the limit is {max} (AiWebEngine:Scripts:MaxRegistrations)"
            : null;
    }

    private static string? Counted(ScriptInstance instance, bool isNew)
    {
        if (isNew)
        {
            instance.Registrations++;
        }

        return null;
    }

    private const string Replaced = "this version of the script has been replaced or unloaded; its registrations are ignored";

    // A stream of another script, or of this script's serving version or staged one, that shares the route's path.
    private (string Path, string Owner)? StreamOnPath(RoutePath route, ScriptInstance instance)
    {
        foreach (var (path, stream) in streams.Snapshot)
        {
            if (StreamPath.Collides(route, path) && (stream.Owner != instance.Uri || instance.State == ScriptInstanceState.Active))
            {
                return (path, stream.Owner);
            }
        }

        foreach (var path in instance.Staged.Streams)
        {
            if (StreamPath.Collides(route, path))
            {
                return (path, instance.Uri);
            }
        }

        return null;
    }

    // A route of another script, or of this script's serving version or staged one, that shares the stream's path.
    private ScriptRoute? RouteOnPath(string streamPath, ScriptInstance instance)
    {
        foreach (var route in routes.Snapshot.Values)
        {
            if (StreamPath.Collides(route.Path, streamPath) && (route.Owner != instance.Uri || instance.State == ScriptInstanceState.Active))
            {
                return route;
            }
        }

        foreach (var (_, staged) in instance.Staged.Routes)
        {
            var route = new ScriptRoute(RoutePath.TryParse(staged.Path, out _)!, staged.Method, staged.HandlerRef, instance, staged.Options);
            if (StreamPath.Collides(route.Path, streamPath))
            {
                return route;
            }
        }

        return null;
    }
}
