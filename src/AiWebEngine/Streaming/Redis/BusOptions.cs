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
    /// Messages each topic keeps in Redis (about, the trim is approximate) once read: what an instance
    /// that lost Redis for a while, or fell behind, can still catch up on. Default: 10 000.
    /// </summary>
    /// <remarks>
    /// Every instance, the sending one included, delivers a topic's messages only as it reads them back,
    /// so the writer's <c>XADD</c> does not trim to this: it caps a topic at about 16 × this value (the
    /// most a topic holds, also when no instance follows it). Each instance that has caught up with a
    /// topic (a read returned fewer entries than it asked for) trims it with
    /// <c>XTRIM MAXLEN ~ StreamLength</c>, only while the entry it read last is still the newest. So an
    /// instance never loses a message to its own trim, nor to the cap unless more than 16 × this arrive
    /// before its reader reads them; a peer more than this many entries behind an instance that trims
    /// loses the oldest it had not read.
    /// </remarks>
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
