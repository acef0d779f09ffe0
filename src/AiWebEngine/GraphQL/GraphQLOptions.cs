using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.GraphQL;

/// <summary>Options of the GraphQL transports (<c>/graphql</c>, <c>/graphql/sse</c>, WebSocket), bound from <c>AiWebEngine:GraphQL</c>.</summary>
public sealed class GraphQLOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:GraphQL";

    /// <summary>
    /// Idle time after which an event stream gets a keep-alive comment (<c>:</c>), and the interval of
    /// WebSocket ping frames. Default: 12 seconds (the graphql-sse reference server's).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>
    /// How long a <c>graphql-transport-ws</c> socket may stay open without <c>connection_init</c>
    /// before it is closed with 4408. Default: 3 seconds (the graphql-ws server's).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ConnectionInitWaitTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Frames one event stream or WebSocket may have queued. A client that falls this far behind is
    /// disconnected (its client re-subscribes). Default: 1024.
    /// </summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Parsed and validated documents kept per schema; 0 turns the cache off. Default: 1000.</summary>
    [Range(0, 1_000_000)]
    public int DocumentCacheSize { get; set; } = 1000;
}
