using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// The one Redis connection of an instance (a StackExchange.Redis multiplexer), shared by the topic
/// bus and the script replication, and what the readiness check reports.
/// </summary>
/// <remarks>
/// The connection is opened without aborting on failure, so an instance starts (and serves its local
/// clients) while Redis is down, and reconnects by itself when Redis is back. <see cref="Restored"/>
/// fires on every reconnection so that readers catch up on what they missed.
/// </remarks>
internal sealed partial class RedisBackplane : IDisposable
{
    private readonly ILogger<RedisBackplane> _logger;
    private readonly Lazy<ConnectionMultiplexer> _connection;
    private string? _lastError;

    public RedisBackplane(IOptions<BusOptions> options, ILogger<RedisBackplane> logger)
    {
        _logger = logger;
        Options = options.Value;
        Prefix = Options.KeyPrefix;
        _connection = new Lazy<ConnectionMultiplexer>(Connect, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public BusOptions Options { get; }

    /// <summary>Prefix of every key and channel.</summary>
    public string Prefix { get; }

    /// <summary>A unique name of this instance, to recognize its own entries.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public ConnectionMultiplexer Connection => _connection.Value;

    public IDatabase Database => Connection.GetDatabase();

    public bool IsConnected => _connection.IsValueCreated && _connection.Value.IsConnected;

    /// <summary>Why the connection last failed, for the readiness check.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Fires when the connection comes back after a failure.</summary>
    public event Action? Restored;

    private ConnectionMultiplexer Connect()
    {
        var configuration = ConfigurationOptions.Parse(Options.Redis!);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "aiwebengine-" + InstanceId[..8];
        if (!Options.Redis!.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase))
        {
            configuration.ConnectTimeout = 2000;
        }

        if (!Options.Redis.Contains("syncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            configuration.SyncTimeout = 2000;
        }

        if (!Options.Redis.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            configuration.AsyncTimeout = 2000;
        }

        var connection = ConnectionMultiplexer.Connect(configuration);
        connection.ConnectionFailed += (_, e) =>
        {
            Volatile.Write(ref _lastError, $"{e.FailureType}: {e.Exception?.Message}");
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionLost(_logger, e.EndPoint, e.FailureType);
            }
        };
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionBack(_logger, e.EndPoint);
            }

            Restored?.Invoke();
        };
        if (!connection.IsConnected && _logger.IsEnabled(LogLevel.Warning))
        {
            NotConnectedAtStart(_logger, configuration.ToString(includePassword: false));
        }

        return connection;
    }

    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value.Dispose();
        }
    }

    [LoggerMessage(EventId = 1700, Level = LogLevel.Warning, Message = "Redis connection to {EndPoint} lost ({FailureType}); local clients keep being served, messages wait in the outbox")]
    private static partial void ConnectionLost(ILogger logger, System.Net.EndPoint? endPoint, ConnectionFailureType failureType);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Redis connection to {EndPoint} restored; catching up")]
    private static partial void ConnectionBack(ILogger logger, System.Net.EndPoint? endPoint);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Redis at '{Configuration}' is not reachable at start; retrying in the background")]
    private static partial void NotConnectedAtStart(ILogger logger, string configuration);
}
