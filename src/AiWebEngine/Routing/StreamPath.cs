namespace AiWebEngine.Routing;

/// <summary>
/// The stream side of the path space that routes and streams share: the rules of SPEC §3 for a
/// stream path, and the one rule that keeps a route and a stream apart.
/// </summary>
/// <remarks>
/// A stream path is a literal pattern, matched exactly and case-sensitively, with a higher precedence
/// than every route (see <c>Streaming/StreamEndpointDataSource.cs</c>). It answers every method (GET
/// opens the stream, the others get 405), so no route of any method may have its shape.
/// </remarks>
internal static class StreamPath
{
    /// <summary>The checks of SPEC §3 for a stream path; <see langword="null"/> when valid.</summary>
    public static string? Validate(string path)
    {
        if (RoutePath.Validate(path) is { } error)
        {
            return error;
        }

        if (path.Contains("..", StringComparison.Ordinal))
        {
            return $"path '{path}' contains '..'";
        }

        // A route pattern has no empty segment: "/a//b" or "/a/" could never be an endpoint of its own.
        return path.Length > 1 && (path.Contains("//", StringComparison.Ordinal) || path[^1] == '/')
            ? $"path '{path}' has an empty segment ('//' or a trailing '/')"
            : null;
    }

    /// <summary>The segments of a valid stream path, each a literal (none for <c>/</c>).</summary>
    public static string[] Segments(string path) => path.Length == 1 ? [] : path[1..].Split('/');

    /// <summary>
    /// Whether a route on <paramref name="route"/> and the stream <paramref name="streamPath"/> would share
    /// a path: the route's shape (literals in lower case, parameters erased) is the stream path's.
    /// </summary>
    public static bool Collides(RoutePath route, string streamPath) =>
        string.Equals(route.Shape, streamPath, StringComparison.OrdinalIgnoreCase);
}
