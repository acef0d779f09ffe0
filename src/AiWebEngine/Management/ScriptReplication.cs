using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming.Redis;
using StackExchange.Redis;

namespace AiWebEngine.Management;

/// <summary>
/// Carries the script changes made through the management API to every instance of a cluster (when
/// <c>AiWebEngine:Bus:Redis</c> is set; otherwise it does nothing).
/// </summary>
/// <remarks>
/// <para>
/// A change that served on the instance that took it (an upload that loaded, a delete) is appended to
/// the Redis stream <c>{prefix}scripts</c> (uri, source or deletion, instance) and written to the hash
/// <c>{prefix}scripts:state</c> (the latest change per URI), in one Lua script that also publishes a
/// notification. Uploads that fail to load are answered 422 where they were made and never replicated.
/// </para>
/// <para>
/// Every instance reads the stream in order and applies the other instances' changes through the same
/// path as an upload (<see cref="ScriptStore"/>: load first, write the file only if it serves), so a
/// version that fails on one instance leaves that instance's working version in place and logs why.
/// An instance skips a foreign change to a URI while a change of its own to that URI is still on its
/// way: its own comes later in the stream and wins everywhere, so all instances end on the same version.
/// A starting instance applies the state hash (the changes made while it was away), then follows the
/// stream. Changing files by hand in one instance's directory is not replicated (a shared directory is
/// seen by every instance's watcher instead).
/// </para>
/// </remarks>
internal sealed partial class ScriptReplication : IDisposable
{
    private const int StreamLength = 1000;

    private const string AppendScript = """
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'u', ARGV[2], 'o', ARGV[3], 's', ARGV[4], 'x', ARGV[5])
        redis.call('HSET', KEYS[2], ARGV[2], ARGV[6])
        redis.call('PUBLISH', ARGV[7], '1')
        return 1
        """;

    private readonly RedisBackplane _redis;
    private readonly ILogger<ScriptReplication> _logger;
    private readonly Channel<Change> _outbox = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, int> _pendingOwn = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _running;
    private int _disposed;

    public ScriptReplication(RedisBackplane redis, ILogger<ScriptReplication> logger)
    {
        _redis = redis;
        _logger = logger;
        Enabled = redis.Options.UsesRedis;
        if (!Enabled)
        {
            _caughtUp.SetResult();
        }
    }

    /// <summary>Whether changes are replicated (a Redis connection string is set).</summary>
    public bool Enabled { get; }

    /// <summary>Completes once a starting instance has applied the cluster's script changes.</summary>
    public Task CaughtUp => _caughtUp.Task;

    private RedisKey StreamKey => _redis.Prefix + "scripts";

    private RedisKey StateKey => _redis.Prefix + "scripts:state";

    private RedisChannel NotifyChannel => RedisChannel.Literal(_redis.Prefix + "scripts:notify");

    /// <summary>Records a change made on this instance: <paramref name="source"/> is <see langword="null"/> for a deletion.</summary>
    public void Record(string uri, string? source)
    {
        if (!Enabled)
        {
            return;
        }

        _pendingOwn.AddOrUpdate(uri, 1, static (_, n) => n + 1);
        _outbox.Writer.TryWrite(new Change(uri, source));
    }

    /// <summary>Starts sending this instance's changes and applying the others'.</summary>
    public void Start(ScriptStore store, Task initialLoad)
    {
        if (!Enabled)
        {
            return;
        }

        _redis.Restored += () =>
        {
            // Own changes sent before a Redis restart may never come back: stop waiting for them.
            _pendingOwn.Clear();
            _wake.Release();
        };
        _running = Task.WhenAll(
            Task.Run(() => SendAsync(_stopping.Token)),
            Task.Run(() => FollowAsync(store, initialLoad, _stopping.Token)));
    }

    public async Task StopAsync()
    {
        _outbox.Writer.TryComplete();
        if (Volatile.Read(ref _disposed) == 0)
        {
            await _stopping.CancelAsync();
        }

        if (_running is not null)
        {
            try
            {
                await _running;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        await foreach (var change in _outbox.Reader.ReadAllAsync(cancellationToken))
        {
            var state = JsonSerializer.Serialize(new ScriptState(change.Source, _redis.InstanceId), ReplicationJsonContext.Default.ScriptState);
            var delay = TimeSpan.FromMilliseconds(100);
            while (true)
            {
                try
                {
                    await _redis.Database.ScriptEvaluateAsync(AppendScript, [StreamKey, StateKey],
                    [
                        StreamLength, change.Uri, _redis.InstanceId, change.Source ?? "", change.Source is null ? "1" : "0", state, _redis.Prefix + "scripts:notify",
                    ]);
                    break;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    SendFailed(_logger, change.Uri, e.Message);
                    await Task.Delay(delay, cancellationToken);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
                }
            }
        }
    }

    private async Task FollowAsync(ScriptStore store, Task initialLoad, CancellationToken cancellationToken)
    {
        await initialLoad.WaitAsync(cancellationToken);
        await _redis.Connection.GetSubscriber().SubscribeAsync(NotifyChannel, (_, _) => _wake.Release());

        // The state first, from a stream position taken before it: changes after it are read again (harmlessly).
        RedisValue position = "0-0";
        while (true)
        {
            try
            {
                var last = await _redis.Database.StreamRangeAsync(StreamKey, "-", "+", 1, Order.Descending);
                position = last.Length > 0 ? last[0].Id : "0-0";
                foreach (var entry in await _redis.Database.HashGetAllAsync(StateKey))
                {
                    var state = JsonSerializer.Deserialize(entry.Value.ToString(), ReplicationJsonContext.Default.ScriptState);
                    if (state is not null)
                    {
                        await ApplyAsync(store, entry.Name.ToString(), state.Source, state.Instance);
                    }
                }

                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or JsonException)
            {
                ReadFailed(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }

        _caughtUp.TrySetResult();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                while (true)
                {
                    var entries = await _redis.Database.StreamReadAsync(StreamKey, position, 100);
                    foreach (var entry in entries)
                    {
                        position = entry.Id;
                        var uri = entry["u"].ToString();
                        var origin = entry["o"].ToString();
                        var source = entry["x"] == "1" ? null : entry["s"].ToString();
                        if (origin == _redis.InstanceId)
                        {
                            // This instance's own change, back from the stream. With no later one of its own
                            // still to come, it is the latest for the URI so far, and must be what serves: a
                            // remote change that passed the pending check just before this upload recorded
                            // itself may have been applied over it (the upload held the file lock).
                            if (_pendingOwn.AddOrUpdate(uri, 0, static (_, n) => Math.Max(0, n - 1)) == 0)
                            {
                                await ApplyAsync(store, uri, source, origin);
                            }

                            continue;
                        }

                        await ApplyAsync(store, uri, source, origin);
                    }

                    if (entries.Length < 100)
                    {
                        break;
                    }
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                ReadFailed(_logger, e.Message);
            }

            // A notification, the reconnection, or a poll every second (a notification can be lost).
            await _wake.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    private async Task ApplyAsync(ScriptStore store, string uri, string? source, string origin)
    {
        if (_pendingOwn.TryGetValue(uri, out var pending) && pending > 0)
        {
            return;
        }

        try
        {
            if (await store.ApplyRemoteAsync(uri, source) is { } error)
            {
                ApplyFailed(_logger, uri, origin[..Math.Min(8, origin.Length)], error.Describe());
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ApplyFailed(_logger, uri, origin[..Math.Min(8, origin.Length)], e.Message);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }

    private sealed record Change(string Uri, string? Source);

    [LoggerMessage(EventId = 1720, Level = LogLevel.Warning, Message = "Sending the change of script {ScriptUri} to Redis failed ({Error}); retrying")]
    private static partial void SendFailed(ILogger logger, string scriptUri, string error);

    [LoggerMessage(EventId = 1721, Level = LogLevel.Warning, Message = "Reading the cluster's script changes from Redis failed: {Error}; retrying")]
    private static partial void ReadFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1722, Level = LogLevel.Error, Message = "The change of script {ScriptUri} made on instance {Instance} failed to apply here: {Error}; the previous version, if any, keeps serving")]
    private static partial void ApplyFailed(ILogger logger, string scriptUri, string instance, string error);
}

/// <summary>The latest change of one script URI, as kept in the state hash.</summary>
internal sealed record ScriptState(string? Source, string Instance);

[System.Text.Json.Serialization.JsonSerializable(typeof(ScriptState))]
internal sealed partial class ReplicationJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
