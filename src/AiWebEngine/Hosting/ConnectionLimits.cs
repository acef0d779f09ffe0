using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Hosting;

/// <summary>
/// The connection caps in effect: the configured ones, or defaults derived from the file descriptor
/// limit so that the connections never take the descriptors the rest of the process needs.
/// </summary>
/// <remarks>
/// With a descriptor limit <c>L</c> (the soft limit, raised to the hard limit at start), a reserve
/// <c>R = min(L / 2, max(256, L / 10))</c> is kept for script files, the watcher, Redis, V8, logs and
/// the runtime, and the rest <c>B = L − R</c> is shared: WebSockets (Kestrel's upgraded connections,
/// counted apart from the others) get <c>B / 4</c>, every other connection (requests, keep-alive
/// connections, event streams) <c>B − B / 4</c>. Event streams default to nine tenths of the
/// connection cap, so that requests keep connections while every stream slot is taken. Where the
/// descriptor limit is unknown (not Linux) nothing is capped by default and streams keep 20 000.
/// </remarks>
internal sealed partial class ConnectionLimits
{
    /// <summary>The stream cap when there is no connection cap to derive it from.</summary>
    public const int UncappedStreamConnections = 20_000;

    public ConnectionLimits(IOptions<HttpOptions> http, ILogger<ConnectionLimits> logger)
        : this(http.Value, FileDescriptorLimit.Current)
    {
        LimitsInEffect(logger, DescriptorLimit, FileDescriptorLimit.AtStart, MaxConnections, MaxUpgradedConnections, DefaultStreamConnections);
        if (DescriptorLimit is { } limit && (long)(MaxConnections ?? 0) + (MaxUpgradedConnections ?? 0) > limit)
        {
            OverDescriptorLimit(logger, MaxConnections ?? 0, MaxUpgradedConnections ?? 0, limit);
        }
    }

    internal ConnectionLimits(HttpOptions http, long? descriptorLimit)
    {
        DescriptorLimit = descriptorLimit;
        var budget = descriptorLimit is { } limit ? limit - Math.Min(limit / 2, Math.Max(256, limit / 10)) : (long?)null;
        MaxUpgradedConnections = http.MaxUpgradedConnections ?? (budget is { } b ? ToInt(Math.Max(1, b / 4)) : null);
        MaxConnections = http.MaxConnections ?? (budget is { } c ? ToInt(Math.Max(2, c - c / 4)) : null);
        DefaultStreamConnections = MaxConnections is { } cap ? cap - Math.Max(1, cap / 10) : UncappedStreamConnections;
    }

    /// <summary>The soft descriptor limit after raising it, or <see langword="null"/> when unknown.</summary>
    public long? DescriptorLimit { get; }

    /// <summary>Kestrel's <c>MaxConcurrentConnections</c>: connections that are not WebSockets; <see langword="null"/>: no cap.</summary>
    public int? MaxConnections { get; }

    /// <summary>Kestrel's <c>MaxConcurrentUpgradedConnections</c>: WebSocket connections; <see langword="null"/>: no cap.</summary>
    public int? MaxUpgradedConnections { get; }

    /// <summary>The default of <see cref="StreamOptions.MaxConnections"/>: below <see cref="MaxConnections"/>.</summary>
    public int DefaultStreamConnections { get; }

    private static int ToInt(long value) => (int)Math.Min(value, int.MaxValue);

    [LoggerMessage(EventId = 1900, Level = LogLevel.Information, Message = "File descriptor limit {Limit} (at start: {AtStart}); connection caps (null: none): {MaxConnections} connections, {MaxUpgradedConnections} WebSockets, {StreamConnections} stream connections by default")]
    private static partial void LimitsInEffect(ILogger logger, long? limit, long? atStart, int? maxConnections, int? maxUpgradedConnections, int streamConnections);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "AiWebEngine:Http:MaxConnections ({MaxConnections}) and MaxUpgradedConnections ({MaxUpgradedConnections}) together exceed the file descriptor limit ({Limit}): when they are reached, opening files and connections fails (Too many open files). Lower them or raise the limit (ulimit -n).")]
    private static partial void OverDescriptorLimit(ILogger logger, int maxConnections, int maxUpgradedConnections, long limit);
}

/// <summary>Checks that the stream cap leaves connections for requests.</summary>
internal sealed class StreamConnectionsValidator(ConnectionLimits limits) : IValidateOptions<StreamOptions>
{
    public ValidateOptionsResult Validate(string? name, StreamOptions options) =>
        limits.MaxConnections is { } cap && options.MaxConnections >= cap
            ? ValidateOptionsResult.Fail($"{StreamOptions.SectionName}:MaxConnections ({options.MaxConnections}) must be below {HttpOptions.SectionName}:MaxConnections ({cap}): a stream holds its connection, and requests need connections left when every stream slot is taken. Lower the first or raise the second.")
            : ValidateOptionsResult.Success;
}
