using AiWebEngine.Routing;

namespace AiWebEngine.Scripting;

/// <summary>
/// Owns the rules of registration: who owns which path, what a loading version stages, and the
/// single step in which a loaded version's registrations replace its predecessor's.
/// </summary>
internal sealed class RegistrationCoordinator(RouteTable routes) : IScriptRegistrar
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];

    private readonly Lock _sync = new();

    public string? Register(ScriptInstance instance, string path, string handlerRef, string method)
    {
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

            switch (instance.State)
            {
                case ScriptInstanceState.Loading:
                    instance.Staged.AddRoute(key, new RouteRegistration(path, verb, handlerRef));
                    return null;
                case ScriptInstanceState.Active:
                    return routes.Set(new ScriptRoute(routePath, verb, handlerRef, instance)) is { } other
                        ? $"{verb} {path} is already registered by {other}"
                        : null;
                default:
                    return "this version of the script has been replaced or unloaded; its registrations are ignored";
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
            .Select(r => new ScriptRoute(RoutePath.TryParse(r.Value.Path, out _)!, r.Value.Method, r.Value.HandlerRef, instance))
            .ToList();
        lock (_sync)
        {
            if (routes.ReplaceOwner(instance.Uri, staged) is { } conflict)
            {
                throw new ScriptFailedException(instance.Uri, conflict);
            }

            instance.State = ScriptInstanceState.Active;
        }
    }

    /// <summary>Removes every registration of <paramref name="uri"/>.</summary>
    public void Remove(string uri)
    {
        lock (_sync)
        {
            routes.ReplaceOwner(uri, []);
        }
    }
}
