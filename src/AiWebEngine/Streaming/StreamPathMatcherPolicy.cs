using Microsoft.AspNetCore.Routing.Matching;

namespace AiWebEngine.Streaming;

/// <summary>
/// Keeps a stream endpoint to requests whose path is its stream path exactly, case included (SPEC §3):
/// the router matches literal segments in any case, so without this <c>GET /CHAT</c> would open
/// <c>/chat</c>. A request on another spelling sees only the other endpoints of its node (script routes
/// whose parameters match it, their 405, or 404).
/// </summary>
/// <remarks>
/// Decided when the router builds its tree: a node that holds stream endpoints branches by the exact
/// path, so the per-request cost is one dictionary lookup. It runs before the HTTP method policy (a
/// lower <see cref="Order"/>), so that a stream left out does not count as the path's endpoint for any
/// method, and after <c>ReservedPathMatcherPolicy</c>.
/// </remarks>
internal sealed class StreamPathMatcherPolicy : MatcherPolicy, INodeBuilderPolicy
{
    // The edge of requests that are no stream path of the node. A string state is a stream path.
    private static readonly object NoStream = new();

    // HttpMethodMatcherPolicy's order is -1000; ReservedPathMatcherPolicy's -1100.
    public override int Order => -1050;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => endpoints.Any(e => StreamOf(e) is not null);

    public IReadOnlyList<PolicyNodeEdge> GetEdges(IReadOnlyList<Endpoint> endpoints)
    {
        var edges = new List<PolicyNodeEdge> { new(NoStream, [.. endpoints.Where(e => StreamOf(e) is null)]) };
        foreach (var path in endpoints.Select(StreamOf).OfType<StreamRegistration>().Select(s => s.Path).Distinct(StringComparer.Ordinal))
        {
            // The endpoints keep their order: the router sorted them by order and precedence already.
            edges.Add(new PolicyNodeEdge(path, [.. endpoints.Where(e => StreamOf(e) is not { } stream || stream.Path == path)]));
        }

        return edges;
    }

    public PolicyJumpTable BuildJumpTable(int exitDestination, IReadOnlyList<PolicyJumpTableEdge> edges)
    {
        var other = exitDestination;
        var paths = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var edge in edges)
        {
            if (edge.State is string path)
            {
                paths[path] = edge.Destination;
            }
            else
            {
                other = edge.Destination;
            }
        }

        return new JumpTable(paths, other);
    }

    private static StreamRegistration? StreamOf(Endpoint endpoint) => endpoint.Metadata.GetMetadata<StreamRegistration>();

    private sealed class JumpTable(Dictionary<string, int> paths, int other) : PolicyJumpTable
    {
        public override int GetDestination(HttpContext httpContext) =>
            httpContext.Request.Path.Value is { } path && paths.TryGetValue(path, out var destination) ? destination : other;
    }
}
