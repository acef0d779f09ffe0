using Microsoft.AspNetCore.Http.Extensions;

namespace AiWebEngine.Security;

/// <summary>
/// The <c>access_token</c> query parameter of an EventSource stream, read only when
/// <see cref="SignInOptions.AllowQueryToken"/> is on, only on a GET to an endpoint marked
/// <see cref="AcceptsQueryToken"/>, and only without an <c>Authorization</c> header.
/// </summary>
/// <remarks>
/// Invariant: once read, the parameter is removed from the request, so no script (<c>req.query</c>),
/// no untrusted query-string metadata and nothing the engine logs after authentication ever holds it.
/// </remarks>
internal static class QueryToken
{
    /// <summary>The token, taken out of the request's query string; <see langword="null"/> when this request may not carry one or has none.</summary>
    public static string? Take(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) || request.Headers.Authorization.Count > 0
            || context.GetEndpoint()?.Metadata.GetMetadata<AcceptsQueryToken>() is null
            || !request.Query.TryGetValue(EngineAuthentication.QueryTokenParameter, out var values))
        {
            return null;
        }

        var rest = new QueryBuilder();
        foreach (var (key, value) in request.Query)
        {
            if (!key.Equals(EngineAuthentication.QueryTokenParameter, StringComparison.OrdinalIgnoreCase))
            {
                rest.Add(key, [.. value.OfType<string>()]);
            }
        }

        request.QueryString = rest.ToQueryString();
        // Two tokens are no token: which one speaks for the caller would be a guess.
        return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
    }
}
