using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.Streaming.Redis;

/// <summary>Options of the topic bus, bound from <c>AiWebEngine:Bus</c>.</summary>
public sealed class BusOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Bus";

    /// <summary>
    /// A StackExchange.Redis connection string (<c>localhost:6379</c>, <c>redis:6379,password=…</c>).
    /// Set, the instances that share it form a cluster: one topic bus and one set of managed scripts.
    /// Unset (the default), the bus is in memory and the instance is on its own.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>
    /// Prefix of every Redis key and channel the engine uses, so that several clusters can share one
    /// Redis. Default: <c>aiwebengine:</c>.
    /// </summary>
    [Required]
    [MinLength(1)]
    public string KeyPrefix { get; set; } = "aiwebengine:";

    /// <summary>
    /// Messages each topic keeps in Redis (<c>XADD … MAXLEN ~</c>): what an instance that lost Redis
    /// for a while can still catch up on. Default: 10 000.
    /// </summary>
    [Range(16, 10_000_000)]
    public int StreamLength { get; set; } = 10_000;

    /// <summary>
    /// Messages an instance holds while Redis is unreachable; past it, sending a message throws.
    /// Default: 100 000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int OutboxCapacity { get; set; } = 100_000;

    /// <summary>
    /// How often every followed topic is read even without a notification, to pick up anything a
    /// lost notification hid. Default: 1 second.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether a Redis connection string is set.</summary>
    public bool UsesRedis => !string.IsNullOrWhiteSpace(Redis);
}
