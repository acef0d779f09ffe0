using System.Net;

namespace AiWebEngine.Security;

/// <summary>
/// What a request's <c>Host</c>, <c>Origin</c> and <c>Sec-Fetch-Site</c> headers say about where it
/// comes from. Every value is client-controlled: these checks matter because a browser sets the
/// headers itself (a page's script cannot forge <c>Origin</c> or <c>Sec-Fetch-*</c>), not because the
/// values are true.
/// </summary>
internal static class BrowserRequests
{
    /// <summary>The origin as a browser serializes it: <c>scheme://host[:port]</c>, lower case, default port left out.</summary>
    /// <returns><see langword="null"/> for anything that is not an http(s) origin (<c>null</c>, a path, user info).</returns>
    public static string? NormalizeOrigin(string? origin)
    {
        if (string.IsNullOrEmpty(origin)
            || !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.AbsolutePath != "/"
            || origin.EndsWith('/'))
        {
            return null;
        }

        return uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant();
    }

    /// <summary>
    /// Whether <paramref name="origin"/> names the host and port the request was addressed to
    /// (<paramref name="host"/>, its <c>Host</c> header).
    /// </summary>
    /// <remarks>
    /// The scheme is not compared: behind a proxy that ends TLS, a page of <c>https://app.example</c>
    /// reaches the engine as <c>http</c> with <c>Host: app.example</c>. The host's port is read with the
    /// origin's scheme, so <c>https://app.example</c> and <c>Host: app.example:443</c> match.
    /// </remarks>
    public static bool IsSameOrigin(string? origin, HostString host)
    {
        var normalized = NormalizeOrigin(origin);
        if (normalized is null || !host.HasValue || !Uri.TryCreate(normalized, UriKind.Absolute, out var own)
            || !Uri.TryCreate($"{own.Scheme}://{host.Value}", UriKind.Absolute, out var addressed)
            || addressed.AbsolutePath != "/" || addressed.UserInfo.Length > 0)
        {
            return false;
        }

        return string.Equals(own.Authority, addressed.Authority, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Whether a browser sent this request on behalf of a page of another origin: <c>Sec-Fetch-Site</c>
    /// is anything but <c>same-origin</c> or <c>none</c> (an address typed or bookmarked), or an
    /// <c>Origin</c> is present that is not the request's own.
    /// </summary>
    /// <remarks>
    /// <c>same-site</c> counts as foreign: a site is a registrable domain, so every port of
    /// <c>localhost</c> (another development server, a tool's local web UI) is the same site.
    /// Non-browser clients (curl, the deploy command, HttpClient) send neither header and pass.
    /// </remarks>
    public static bool IsFromAnotherOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"];
        if (site.Count > 1 || (site.Count == 1 && site[0] is not ("same-origin" or "none")))
        {
            return true;
        }

        var origin = request.Headers.Origin;
        return origin.Count > 1 || (origin.Count == 1 && !IsSameOrigin(origin[0], request.Host));
    }

    /// <summary>
    /// Whether <paramref name="host"/> (a <c>Host</c> header) names this machine's loopback interface:
    /// <c>localhost</c>, a name under <c>.localhost</c> (RFC 6761: browsers resolve it to loopback
    /// themselves), an address in <c>127.0.0.0/8</c>, or <c>[::1]</c>.
    /// </summary>
    /// <remarks>
    /// A page on a DNS-rebinding domain reaches a loopback socket with its own name as <c>Host</c>
    /// (and as a same-origin <c>Origin</c>); only this check tells it from a local client.
    /// </remarks>
    public static bool IsLoopbackHost(HostString host)
    {
        if (!host.HasValue)
        {
            return false;
        }

        var name = host.Host;
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (name.Length > ".localhost".Length && name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        var literal = name.Length > 2 && name[0] == '[' && name[^1] == ']' ? name[1..^1] : name;
        // Only a dotted IPv4 or a bracketed IPv6 literal: IPAddress.TryParse also reads "2130706433"
        // and "0x7f.1", which no browser sends as a Host but which must not widen the rule.
        if (literal.Length == name.Length && !IsDottedQuad(literal))
        {
            return false;
        }

        return IPAddress.TryParse(literal, out var address)
            && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }

    private static bool IsDottedQuad(string text)
    {
        var parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit));
    }
}
