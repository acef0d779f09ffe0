using AiWebEngine.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Primitives;

namespace AiWebEngine.Routing;

/// <summary>
/// Projects the <see cref="RouteTable"/> into real ASP.NET Core endpoints, so that matching,
/// parameters, precedence and 405 with <c>Allow</c> come from the framework's router.
/// </summary>
/// <remarks>
/// On every change a new endpoint list is built and the change token fires; the router builds its
/// new matcher before it drops the old one, so a route that exists before and after a reload never
/// answers 404 in between.
/// </remarks>
internal sealed class ScriptEndpointDataSource : EndpointDataSource, IDisposable
{
    private readonly RouteTable _table;
    private readonly ScriptRouteHandler _handler;
    private readonly Lock _sync = new();
    private IReadOnlyList<Endpoint> _endpoints = [];
    private CancellationTokenSource _changed = new();
    private bool _stale = true;

    public ScriptEndpointDataSource(RouteTable table, ScriptRouteHandler handler)
    {
        _table = table;
        _handler = handler;
        _table.Changed += OnChanged;
    }

    public override IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            lock (_sync)
            {
                if (_stale)
                {
                    _endpoints = Build();
                    _stale = false;
                }

                return _endpoints;
            }
        }
    }

    public override IChangeToken GetChangeToken()
    {
        lock (_sync)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    private void OnChanged()
    {
        CancellationTokenSource previous;
        lock (_sync)
        {
            _stale = true;
            previous = _changed;
            _changed = new CancellationTokenSource();
        }

        previous.Cancel();
        previous.Dispose();
    }

    private List<Endpoint> Build()
    {
        var endpoints = new List<Endpoint>();
        foreach (var route in _table.Snapshot.Values)
        {
            var builder = new RouteEndpointBuilder(
                context => _handler.HandleAsync(context, route),
                RoutePatternFactory.Parse(route.Path.Template),
                order: 0)
            {
                DisplayName = $"{route.Method} {route.Path.Path} ({route.Owner})",
            };
            builder.Metadata.Add(new HttpMethodMetadata([route.Method]));
            builder.Metadata.Add(route);
            AddAccess(builder, route.Options.Auth);
            endpoints.Add(builder.Build());
        }

        return endpoints;
    }

    /// <summary>
    /// Puts a registration's <c>auth</c> rule on its endpoint, where ASP.NET Core's authorization middleware
    /// enforces it before the script runs (and <see cref="AccessRefusals"/> words the refusal).
    /// </summary>
    public static void AddAccess(EndpointBuilder builder, AccessRule? rule)
    {
        foreach (var metadata in AccessMetadata(rule))
        {
            builder.Metadata.Add(metadata);
        }
    }

    /// <summary>The endpoint metadata of a registration's <c>auth</c> rule: the rule and its policy (none without a rule). Stream endpoints carry the same.</summary>
    public static IEnumerable<object> AccessMetadata(AccessRule? rule) =>
        rule is null ? [] : [rule, rule.Policy is { } policy ? policy : new AuthorizeAttribute(rule.PolicyName!)];

    public void Dispose()
    {
        _table.Changed -= OnChanged;
        _changed.Dispose();
    }
}
