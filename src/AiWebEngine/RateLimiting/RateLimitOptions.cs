using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace AiWebEngine.RateLimiting;

/// <summary>
/// Rate limits per client (the signed-in user's id, else the client's address), bound from
/// <c>AiWebEngine:RateLimits</c>. The defaults are far above what one real user does (a page, its
/// streams and their reconnects) and far below what one client needs to take the whole server.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:RateLimits";

    /// <summary>Whether any of these limits (and the named <see cref="Policies"/>) apply. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests to script routes, per client. Default: 1000 per second.</summary>
    [ValidateObjectMembers]
    public RateLimitWindow Requests { get; set; } = new() { PermitLimit = 1000, Window = TimeSpan.FromSeconds(1) };

    /// <summary>
    /// Stream connects per client: stream paths, <c>/graphql/subscription/&lt;name&gt;</c>,
    /// <c>/graphql/sse</c> and WebSocket upgrades on <c>/graphql</c>. Default: 100 per 10 seconds.
    /// </summary>
    [ValidateObjectMembers]
    public RateLimitWindow StreamConnects { get; set; } = new() { PermitLimit = 100, Window = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// GraphQL operations per client: each request to <c>/graphql</c> and <c>/graphql/sse</c>, and each
    /// <c>subscribe</c> on a WebSocket. Default: 1000 per second.
    /// </summary>
    [ValidateObjectMembers]
    public RateLimitWindow GraphQLOperations { get; set; } = new() { PermitLimit = 1000, Window = TimeSpan.FromSeconds(1) };

    /// <summary>Messages one WebSocket may send; over it the socket is closed with 4429. Default: 200 per second.</summary>
    [ValidateObjectMembers]
    public RateLimitWindow WebSocketMessages { get; set; } = new() { PermitLimit = 200, Window = TimeSpan.FromSeconds(1) };

    /// <summary>
    /// Subscriptions one WebSocket may start; a <c>subscribe</c> over it gets an <c>error</c> for its id
    /// and the socket goes on. Default: 100 per 10 seconds.
    /// </summary>
    [ValidateObjectMembers]
    public RateLimitWindow WebSocketSubscriptions { get; set; } = new() { PermitLimit = 100, Window = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// Long-lived connections (event streams and WebSockets) one client holds at once; a connect over it
    /// gets 429 and the client's open ones go on. Default: 50.
    /// </summary>
    [Range(1, 10_000_000)]
    public int ConnectionsPerClient { get; set; } = 50;

    /// <summary>
    /// Named policies a script can give a route, stream or GraphQL field at registration
    /// (<c>{ rateLimit: "name" }</c>), applied per client on top of the limits above. Default: none.
    /// </summary>
    public Dictionary<string, RateLimitPolicyOptions> Policies { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A number of permits per window of time; a fixed window unless a policy says otherwise.</summary>
public class RateLimitWindow
{
    /// <summary>Permits in each window.</summary>
    [Range(1, 100_000_000)]
    public int PermitLimit { get; set; }

    /// <summary>The window's length.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan Window { get; set; }

    /// <summary>The limit in words, for refusals: "1000 per 1 s".</summary>
    public string Describe() =>
        $"{PermitLimit} per {Window.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";
}

/// <summary>The kinds of window a named policy can use.</summary>
public enum RateLimitWindowKind
{
    /// <summary>All permits come back at the end of each window.</summary>
    FixedWindow,

    /// <summary>Permits come back segment by segment (<see cref="RateLimitPolicyOptions.SegmentsPerWindow"/>), so no burst at a window edge.</summary>
    SlidingWindow,
}

/// <summary>A named policy: <c>AiWebEngine:RateLimits:Policies:&lt;name&gt;</c>.</summary>
public sealed class RateLimitPolicyOptions : RateLimitWindow
{
    /// <summary>Requests that wait for a permit instead of being refused at once. Default: 0.</summary>
    [Range(0, 10_000)]
    public int QueueLimit { get; set; }

    /// <summary><c>FixedWindow</c> or <c>SlidingWindow</c>. Default: FixedWindow.</summary>
    [EnumDataType(typeof(RateLimitWindowKind))]
    public RateLimitWindowKind Kind { get; set; } = RateLimitWindowKind.FixedWindow;

    /// <summary>Segments of a sliding window. Default: 4.</summary>
    [Range(1, 1000)]
    public int SegmentsPerWindow { get; set; } = 4;
}
