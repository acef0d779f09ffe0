using Microsoft.AspNetCore.Routing.Matching;

namespace AiWebEngine.Routing;

/// <summary>
/// Keeps a script route whose first segment is a parameter (<c>/{page}</c>, <c>/{a}/{b}</c>, <c>/*</c>)
/// off the engine's paths (<see cref="RoutePath.ReservedPrefixes"/>): a request whose first segment is
/// <c>engine</c>, <c>graphql</c>, <c>health</c> or <c>metrics</c> (any case) sees only the engine's
/// endpoints.
/// </summary>
/// <remarks>
/// Registering under a reserved prefix is refused (<see cref="RoutePath.Validate"/>), but a parameter
/// matches any segment, and the router prefers a script's route to none: without this, a script's
/// <c>POST /{a}/{b}</c> would answer <c>POST /engine/scripts</c>, and its <c>PUT /{a}</c> would take
/// <c>PUT /graphql</c> from the engine's 405. It partitions the router's tree before the HTTP method
/// does (a lower <see cref="Order"/>), so that on a reserved path the engine's endpoints alone decide:
/// their methods, their 405 with <c>Allow</c>, or 404.
/// </remarks>
internal sealed class ReservedPathMatcherPolicy : MatcherPolicy, INodeBuilderPolicy
{
    // HttpMethodMatcherPolicy's order is -1000.
    public override int Order => -1100;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => endpoints.Any(MatchesAnyFirstSegment);

    public IReadOnlyList<PolicyNodeEdge> GetEdges(IReadOnlyList<Endpoint> endpoints) =>
    [
        new PolicyNodeEdge(false, endpoints),
        new PolicyNodeEdge(true, [.. endpoints.Where(e => !MatchesAnyFirstSegment(e))]),
    ];

    public PolicyJumpTable BuildJumpTable(int exitDestination, IReadOnlyList<PolicyJumpTableEdge> edges)
    {
        int open = exitDestination, reserved = exitDestination;
        foreach (var edge in edges)
        {
            if ((bool)edge.State)
            {
                reserved = edge.Destination;
            }
            else
            {
                open = edge.Destination;
            }
        }

        return new JumpTable(open, reserved);
    }

    /// <summary>Whether <paramref name="path"/>'s first segment is one of the engine's (the path is decoded, so <c>/%65ngine</c> is <c>/engine</c>).</summary>
    public static bool IsReserved(PathString path)
    {
        var value = path.Value.AsSpan();
        if (value.Length < 2)
        {
            return false;
        }

        var rest = value[1..];
        var slash = rest.IndexOf('/');
        var first = slash < 0 ? rest : rest[..slash];
        foreach (var prefix in RoutePath.ReservedPrefixes)
        {
            if (first.Equals(prefix.AsSpan(1), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // A script's route whose first segment is a parameter or the catch-all: the only kind that can match a reserved path.
    private static bool MatchesAnyFirstSegment(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<ScriptRoute>() is { } route && route.Path.Template.StartsWith("/{", StringComparison.Ordinal);

    private sealed class JumpTable(int open, int reserved) : PolicyJumpTable
    {
        public override int GetDestination(HttpContext httpContext) => IsReserved(httpContext.Request.Path) ? reserved : open;
    }
}
