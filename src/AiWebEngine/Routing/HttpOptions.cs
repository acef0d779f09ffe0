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
}
