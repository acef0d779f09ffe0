using AiWebEngine.Security;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>
/// Which browser pages may open a GraphQL WebSocket: the server's own origin, every origin in
/// <see cref="GraphQLOptions.AllowedOrigins"/> or <c>AiWebEngine:Cors:AllowedOrigins</c>, or any with <c>*</c>. An upgrade without <c>Origin</c>
/// does not come from a browser page and is allowed.
/// </summary>
/// <remarks>
/// ASP.NET Core's <c>WebSocketOptions.AllowedOrigins</c> is not used: it cannot say "the server's own
/// origin" (that depends on each request's <c>Host</c>) and it refuses with an empty 403, not the
/// engine's JSON error.
/// </remarks>
internal sealed class WebSocketOrigins
{
    private const string Any = "*";

    private readonly bool _any;
    private readonly HashSet<string> _allowed = new(StringComparer.Ordinal);

    public WebSocketOrigins(IOptions<GraphQLOptions> options, IOptions<Security.CorsOptions>? cors = null)
    {
        _allowed.UnionWith(cors?.Value.Normalized() ?? new HashSet<string>());
        foreach (var origin in options.Value.AllowedOrigins)
        {
            if (origin.Trim() == Any)
            {
                _any = true;
            }
            else if (BrowserRequests.NormalizeOrigin(origin.Trim()) is { } normalized)
            {
                _allowed.Add(normalized);
            }
        }
    }

    public bool IsAllowed(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count == 0 || _any)
        {
            return true;
        }

        return origin.Count == 1
            && (BrowserRequests.IsSameOrigin(origin[0], request.Host)
                || (BrowserRequests.NormalizeOrigin(origin[0]) is { } normalized && _allowed.Contains(normalized)));
    }

    /// <summary>Refuses at start an entry that is neither <c>*</c> nor an http(s) origin.</summary>
    internal sealed class Validator : IValidateOptions<GraphQLOptions>
    {
        public ValidateOptionsResult Validate(string? name, GraphQLOptions options)
        {
            var bad = options.AllowedOrigins.Where(o => o?.Trim() != Any && BrowserRequests.NormalizeOrigin(o?.Trim()) is null).ToList();
            return bad.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"{GraphQLOptions.SectionName}:AllowedOrigins: '{string.Join("', '", bad)}' is not an origin; give scheme://host[:port] (for example https://app.example, no path) or * for any origin.");
        }
    }
}
