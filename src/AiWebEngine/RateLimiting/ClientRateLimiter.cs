using System.Threading.RateLimiting;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.RateLimiting;

/// <summary>
/// The per-client limits of <see cref="RateLimitOptions"/> and the named policies, each a
/// <see cref="PartitionedRateLimiter{TResource}"/> keyed by <see cref="ClientPartition"/>.
/// </summary>
/// <remarks>
/// One partitioned limiter per limit: it replenishes all its partitions from one timer and drops a
/// client's partition once it has been idle a while, so memory follows the clients seen lately, not all
/// clients ever seen. A permit is taken per request or connect, never per delivered message.
/// </remarks>
internal sealed class ClientRateLimiter : IDisposable
{
    private readonly Dictionary<string, ClientLimit> _policies = new(StringComparer.Ordinal);

    public ClientRateLimiter(IOptions<RateLimitOptions> options, IOptions<StreamOptions> streams)
    {
        var o = options.Value;
        Enabled = o.Enabled;
        WebSocketMessages = o.WebSocketMessages;
        WebSocketSubscriptions = o.WebSocketSubscriptions;
        Requests = Fixed("script route requests", nameof(o.Requests), o.Requests);
        StreamConnects = Fixed("stream connects", nameof(o.StreamConnects), o.StreamConnects);
        GraphQLOperations = Fixed("GraphQL operations", nameof(o.GraphQLOperations), o.GraphQLOperations);
        var connections = o.ConnectionsPerClient;
        Connections = new ClientLimit("open stream connections", Key(nameof(o.ConnectionsPerClient)), $"{connections} at once",
            PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetConcurrencyLimiter(client,
                _ => new ConcurrencyLimiterOptions { PermitLimit = connections, QueueLimit = 0 })),
            TimeSpan.FromMilliseconds(Math.Max(1000, streams.Value.RetryMilliseconds)));
        foreach (var (name, policy) in o.Policies)
        {
            _policies[name] = Policy(name, policy);
        }

        PolicyNames = [.. _policies.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary><c>AiWebEngine:RateLimits:Enabled</c>: when false, nothing is counted.</summary>
    public bool Enabled { get; }

    public ClientLimit Requests { get; }

    public ClientLimit StreamConnects { get; }

    public ClientLimit GraphQLOperations { get; }

    /// <summary>Long-lived connections a client holds at once (a concurrency limit: the lease is held while the connection is open).</summary>
    public ClientLimit Connections { get; }

    /// <summary>Per socket, so counted by each socket itself (<see cref="SocketWindow"/>).</summary>
    public RateLimitWindow WebSocketMessages { get; }

    /// <summary>Per socket, so counted by each socket itself (<see cref="SocketWindow"/>).</summary>
    public RateLimitWindow WebSocketSubscriptions { get; }

    /// <summary>The configured policy names, sorted.</summary>
    public IReadOnlyList<string> PolicyNames { get; }

    /// <summary>The named policy, or <see langword="null"/> when none has that name.</summary>
    public ClientLimit? Policy(string name) => _policies.GetValueOrDefault(name);

    /// <summary>
    /// The registration error for a <c>rateLimit</c> option naming <paramref name="name"/>, or
    /// <see langword="null"/> when it is configured. Checked whether or not limits are enabled, so a
    /// script that loads with limits off loads with them on.
    /// </summary>
    public string? CheckPolicyName(string name) =>
        _policies.ContainsKey(name)
            ? null
            : PolicyNames.Count == 0
                ? $"rateLimit '{name}' is not a configured policy; none is configured (add one under {RateLimitOptions.SectionName}:Policies:{name})"
                : $"rateLimit '{name}' is not a configured policy; the configured ones are {string.Join(", ", PolicyNames)} ({RateLimitOptions.SectionName}:Policies)";

    private static string Key(string name) => RateLimitOptions.SectionName + ":" + name;

    private static ClientLimit Fixed(string what, string name, RateLimitWindow window) =>
        new(what, Key(name), window.Describe(),
            PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(client,
                _ => new FixedWindowRateLimiterOptions { PermitLimit = window.PermitLimit, Window = window.Window, QueueLimit = 0, AutoReplenishment = true })),
            window.Window);

    private static ClientLimit Policy(string name, RateLimitPolicyOptions policy)
    {
        var limiter = policy.Kind == RateLimitWindowKind.SlidingWindow
            ? PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetSlidingWindowLimiter(client, _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = policy.PermitLimit,
                Window = policy.Window,
                SegmentsPerWindow = policy.SegmentsPerWindow,
                QueueLimit = policy.QueueLimit,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            }))
            : PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = policy.PermitLimit,
                Window = policy.Window,
                QueueLimit = policy.QueueLimit,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            }));
        var retry = policy.Kind == RateLimitWindowKind.SlidingWindow ? policy.Window / policy.SegmentsPerWindow : policy.Window;
        return new ClientLimit($"requests under rate limit policy '{name}'", Key("Policies:" + name), policy.Describe(), limiter, retry);
    }

    public void Dispose()
    {
        Requests.Dispose();
        StreamConnects.Dispose();
        GraphQLOperations.Dispose();
        Connections.Dispose();
        foreach (var policy in _policies.Values)
        {
            policy.Dispose();
        }
    }
}
