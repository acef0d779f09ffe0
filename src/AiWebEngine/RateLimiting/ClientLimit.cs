using System.Threading.RateLimiting;

namespace AiWebEngine.RateLimiting;

/// <summary>One limit counted per client: what it limits, where it is configured, and its limiter.</summary>
internal sealed class ClientLimit(string what, string configurationKey, string limit, PartitionedRateLimiter<string> limiter, TimeSpan fallbackRetryAfter) : IDisposable
{
    /// <summary>What is counted, in words: "script route requests".</summary>
    public string What => what;

    /// <summary>Where the limit is configured: <c>AiWebEngine:RateLimits:Requests</c>.</summary>
    public string ConfigurationKey => configurationKey;

    /// <summary>The limit in words: "1000 per 1 s", "50 at once".</summary>
    public string Limit => limit;

    /// <summary>A permit for <paramref name="client"/>, waiting in the limit's queue if it has one.</summary>
    public ValueTask<RateLimitLease> AcquireAsync(string client, CancellationToken cancellationToken) =>
        limiter.AcquireAsync(client, 1, cancellationToken);

    /// <summary>A permit for <paramref name="client"/> now, or a failed lease.</summary>
    public RateLimitLease AttemptAcquire(string client) => limiter.AttemptAcquire(client);

    /// <summary>How long a refused client should wait: the limiter's own estimate, else the limit's.</summary>
    public TimeSpan RetryAfter(RateLimitLease refused) =>
        refused.TryGetMetadata(MetadataName.RetryAfter, out var wait) && wait > TimeSpan.Zero ? wait : fallbackRetryAfter;

    /// <summary>The refusal's message: what, the limit, and the key that sets it.</summary>
    public string Message => $"Too many {what} from this client: the limit is {limit} ({configurationKey}); retry later.";

    public void Dispose() => limiter.Dispose();
}
