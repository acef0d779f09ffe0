using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.Streaming;

/// <summary>Options of the Server-Sent-Events streams, bound from <c>AiWebEngine:Streams</c>.</summary>
public sealed class StreamOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Streams";

    /// <summary>
    /// Frames one client may have queued. A client that falls this far behind is disconnected (it
    /// reconnects and resumes from its <c>Last-Event-ID</c>). Default: 1024.
    /// </summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Messages each stream keeps for <c>Last-Event-ID</c> replay. Default: 256.</summary>
    [Range(0, 100_000)]
    public int ReplayDepth { get; set; } = 256;

    /// <summary>
    /// Bytes (UTF-8 payloads, as <see cref="MaxMessageBytes"/> counts them) one stream keeps for replay;
    /// past it the stream's oldest kept messages go. Default: 1 MiB.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long ReplayMaxBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes the streams and subscriptions of one script keep for replay together; past it the oldest
    /// messages of that script's largest window go. Default: 16 MiB.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long ReplayMaxScriptBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Bytes every stream and subscription of the process keeps for replay together; past it the
    /// oldest messages of the largest window of the script that keeps the most go. Default: 128 MiB.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long ReplayMaxTotalBytes { get; set; } = 128 * 1024 * 1024;

    /// <summary>
    /// Bytes of kept messages one <c>Last-Event-ID</c> request is given; a client whose gap is larger
    /// gets the newest messages that fit, after an SSE comment saying how many it missed. Default: 1 MiB.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxReplayBytesPerRequest { get; set; } = 1024 * 1024;

    /// <summary>Idle time after which a keep-alive comment (<c>:</c>) is written. Default: 15 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Concurrent stream connections (all stream paths and subscription streams together); over it,
    /// 503. Must be below <c>AiWebEngine:Http:MaxConnections</c>, so that requests keep connections.
    /// Default: nine tenths of that cap (20 000 when there is none), set at start.
    /// </summary>
    [Range(1, 10_000_000)]
    public int? MaxConnections { get; set; }

    /// <summary>Largest message, in UTF-8 bytes; a larger one makes the send function throw. Default: 1 MiB.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>The reconnection delay sent to clients as <c>retry:</c>, in milliseconds. Default: 3000.</summary>
    [Range(0, 3_600_000)]
    public int RetryMilliseconds { get; set; } = 3000;
}
