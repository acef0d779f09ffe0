using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.Routing;

/// <summary>Options of the HTTP surface, bound from <c>AiWebEngine:Http</c>.</summary>
public sealed class HttpOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Http";

    /// <summary>Largest request body accepted, in bytes; larger ones get 413 <c>PAYLOAD_TOO_LARGE</c>. Default: 1 MiB.</summary>
    [Range(1, int.MaxValue)]
    public int MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Whether responses are sent to the socket on the thread that flushes them, instead of through
    /// Kestrel's I/O queue (see <c>Hosting/InlineSocketSends.cs</c>). Default: true.
    /// </summary>
    public bool InlineSocketSends { get; set; } = true;

    /// <summary>
    /// Connections the server holds at once, WebSockets apart (requests, keep-alive connections and
    /// event streams); Kestrel closes a connection over it as soon as it is accepted. Default: derived
    /// from the file descriptor limit (see <c>Hosting/ConnectionLimits.cs</c>: three quarters of the
    /// limit less a reserve of a tenth); no cap where the limit is unknown.
    /// </summary>
    [Range(2, int.MaxValue)]
    public int? MaxConnections { get; set; }

    /// <summary>
    /// WebSocket connections the server holds at once; an upgrade over it is refused. Default:
    /// derived from the file descriptor limit (a quarter of it less the reserve); no cap where the limit is unknown.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int? MaxUpgradedConnections { get; set; }

    /// <summary>
    /// Time a client has to send a request's whole header, from the first byte or from the end of the
    /// previous request; then the connection is closed. Bounds how long a slow or silent client holds
    /// a connection (slowloris). Default: 10 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time an idle keep-alive connection is kept open between requests. Default: 60 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
