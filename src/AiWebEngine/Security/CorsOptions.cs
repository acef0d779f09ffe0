using Microsoft.Extensions.Options;

namespace AiWebEngine.Security;

/// <summary>
/// Which other origins' pages may call the engine's routes, streams and <c>/graphql</c> from a browser,
/// with credentials (cookies, <c>Authorization</c>), bound from <c>AiWebEngine:Cors</c>.
/// </summary>
/// <remarks>
/// Empty (the default) is same-origin only: no <c>Access-Control-Allow-Origin</c> is ever sent. There is
/// no wildcard: credentials are allowed for every listed origin, and a browser never sends them to <c>*</c>.
/// </remarks>
public sealed class CorsOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Cors";

    /// <summary>Exact origins, <c>scheme://host[:port]</c> (for example <c>https://app.example.com</c>).</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>The listed origins as browsers send them (lower case, no default port).</summary>
    internal IReadOnlySet<string> Normalized() =>
        AllowedOrigins.Select(o => BrowserRequests.NormalizeOrigin(o?.Trim())).OfType<string>().ToHashSet(StringComparer.Ordinal);
}

/// <summary>Refuses at start an entry that is not an http(s) origin, <c>*</c> included (it cannot go with credentials).</summary>
internal sealed class CorsOptionsValidator : IValidateOptions<CorsOptions>
{
    public ValidateOptionsResult Validate(string? name, CorsOptions options)
    {
        var failures = new List<string>();
        foreach (var origin in options.AllowedOrigins)
        {
            if (origin?.Trim() == "*")
            {
                failures.Add($"{CorsOptions.SectionName}:AllowedOrigins: '*' is not allowed: cross-origin callers are allowed with credentials (cookies, tokens), which a wildcard must never get; list each origin (https://app.example).");
            }
            else if (BrowserRequests.NormalizeOrigin(origin?.Trim()) is null)
            {
                failures.Add($"{CorsOptions.SectionName}:AllowedOrigins: '{origin}' is not an origin; give scheme://host[:port] (for example https://app.example, no path).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
