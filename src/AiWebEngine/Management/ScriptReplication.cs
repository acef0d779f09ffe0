using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming.Redis;
using Microsoft.Extensions.Options;
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
/// <para>
/// Whoever can write to Redis is not the operator: every entry and state field is validated
/// (<see cref="ReplicatedChange"/>: a URI under the scripts directory, fields present, UTF-8, sizes)
/// and one that fails, or whose apply throws anything, is logged, counted in <see cref="Health"/> and
/// skipped. Any other failure of the follower is logged and retried with backoff; only stopping ends it.
/// </para>
/// </remarks>
internal sealed partial class ScriptReplication : IDisposable
{
    private const int StreamLength = 1000;
    private const int ReadCount = 100;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private const string AppendScript = """
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'u', ARGV[2], 'o', ARGV[3], 's', ARGV[4], 'x', ARGV[5])
        redis.call('HSET', KEYS[2], ARGV[2], ARGV[6])
        redis.call('PUBLISH', ARGV[7], '1')
        return 1
        """;

    private readonly RedisBackplane _redis;
    private readonly ILogger<ScriptReplication> _logger;
    private readonly TimeProvider _time;
    private readonly int _maxSourceBytes;
    private readonly Channel<Change> _outbox = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, int> _pendingOwn = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _running;
    private int _disposed;
    private volatile bool _following = true;
    private long _skipped;
    private ErrorBox? _lastErrorBox;

    public ScriptReplication(RedisBackplane redis, ILogger<ScriptReplication> logger, IOptions<ScriptOptions> scripts, TimeProvider? time = null)
    {
        _redis = redis;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _maxSourceBytes = scripts.Value.MaxSourceBytes;
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

    /// <summary>The follower's state for <c>GET /health</c>.</summary>
    public ReplicationHealth Health
    {
        get
        {
            var last = Volatile.Read(ref _lastErrorBox);
            return new ReplicationHealth(_following, _caughtUp.Task.IsCompleted, Interlocked.Read(ref _skipped), last?.Message, last?.At);
        }
    }

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
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    // Kept and resent: a change that served here must reach the others.
                    SendFailed(_logger, change.Uri, e is RedisException or TimeoutException ? e.Message : e.ToString());
                    await Task.Delay(delay, _time, cancellationToken);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
                }
            }
        }
    }

    /// <summary>Applies the state hash once, then the stream's entries as they come, until stopped; any failure is logged and retried.</summary>
    private async Task FollowAsync(ScriptStore store, Task initialLoad, CancellationToken cancellationToken)
    {
        await initialLoad.WaitAsync(cancellationToken);
        var subscribed = false;
        RedisValue? position = null;
        var delay = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!subscribed)
                {
                    await _redis.Connection.GetSubscriber().SubscribeAsync(NotifyChannel, (_, _) => _wake.Release());
                    subscribed = true;
                }

                position ??= await CatchUpAsync(store, cancellationToken);
                _caughtUp.TrySetResult();
                position = await ReadNewAsync(store, position.Value, cancellationToken);
                _following = true;
                delay = TimeSpan.FromMilliseconds(100);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Redis away is expected (the readiness check says so); anything else is a bug or hostile
                // data, logged in full. Either way the follower lives on and tries again.
                _following = false;
                Failed(e is RedisException or TimeoutException ? e.Message : e.ToString());
                if (e is RedisException or TimeoutException)
                {
                    ReadFailed(_logger, e.Message);
                }
                else
                {
                    FollowFailed(_logger, e);
                }

                await Task.Delay(delay, _time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                continue;
            }

            // A notification, the reconnection, or a poll every second (a notification can be lost).
            await _wake.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    /// <summary>Applies the state hash, from a stream position taken before it (changes after it are read again, harmlessly); returns that position.</summary>
    private async Task<RedisValue> CatchUpAsync(ScriptStore store, CancellationToken cancellationToken)
    {
        var last = await _redis.Database.StreamRangeAsync(StreamKey, "-", "+", 1, Order.Descending);
        var position = last.Length > 0 ? last[0].Id : (RedisValue)"0-0";
        foreach (var entry in await _redis.Database.HashGetAllAsync(StateKey))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ReplicatedChange.FromState(entry, store.Root, _maxSourceBytes, out var problem) is { } change)
            {
                await ApplyAsync(store, change);
            }
            else
            {
                Skipped(Printable(entry.Name), problem!);
            }
        }

        return position;
    }

    /// <summary>Applies the entries after <paramref name="position"/>, in order; returns the last one read (a skipped one included).</summary>
    private async Task<RedisValue> ReadNewAsync(ScriptStore store, RedisValue position, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entries = await _redis.Database.StreamReadAsync(StreamKey, position, ReadCount);
            foreach (var entry in entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                position = entry.Id;
                if (ReplicatedChange.FromEntry(entry, store.Root, _maxSourceBytes, out var problem) is not { } change)
                {
                    Skipped(Printable(entry["u"]), problem!);
                    continue;
                }

                if (change.Origin == _redis.InstanceId)
                {
                    // This instance's own change, back from the stream. With no later one of its own
                    // still to come, it is the latest for the URI so far, and must be what serves: a
                    // remote change that passed the pending check just before this upload recorded
                    // itself may have been applied over it (the upload held the file lock).
                    if (_pendingOwn.AddOrUpdate(change.Uri, 0, static (_, n) => Math.Max(0, n - 1)) == 0)
                    {
                        await ApplyAsync(store, change);
                    }

                    continue;
                }

                await ApplyAsync(store, change);
            }

            if (entries.Length < ReadCount)
            {
                return position;
            }
        }
    }

    private async Task ApplyAsync(ScriptStore store, ReplicatedChange change)
    {
        if (_pendingOwn.TryGetValue(change.Uri, out var pending) && pending > 0)
        {
            return;
        }

        var origin = change.Origin[..Math.Min(8, change.Origin.Length)];
        try
        {
            if (await store.ApplyRemoteAsync(change.Uri, change.Source) is { } error)
            {
                ApplyFailed(_logger, change.Uri, origin, error.Describe());
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ApplyFailed(_logger, change.Uri, origin, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not the version's fault nor the disk's: counted and shown, and the next change is applied.
            Interlocked.Increment(ref _skipped);
            Failed($"the change of {change.Uri} from instance {origin} threw: {e.Message}");
            ApplyThrew(_logger, change.Uri, origin, e);
        }
    }

    private void Skipped(string what, string problem)
    {
        Interlocked.Increment(ref _skipped);
        Failed($"a script change for '{what}' read from Redis was skipped: {problem}");
        BadChange(_logger, what, problem);
    }

    private void Failed(string message) =>
        Volatile.Write(ref _lastErrorBox, new ErrorBox(message.Length > 1000 ? message[..1000] + "…" : message, _time.GetUtcNow()));

    /// <summary>A value from Redis fit for a log line: at most 100 characters, control characters escaped.</summary>
    private static string Printable(RedisValue value)
    {
        var text = value.IsNull ? "(none)" : value.ToString();
        if (text.Length > 100)
        {
            text = text[..100] + "…";
        }

        return string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
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

    private sealed record ErrorBox(string Message, DateTimeOffset At);

    [LoggerMessage(EventId = 1720, Level = LogLevel.Warning, Message = "Sending the change of script {ScriptUri} to Redis failed ({Error}); retrying")]
    private static partial void SendFailed(ILogger logger, string scriptUri, string error);

    [LoggerMessage(EventId = 1721, Level = LogLevel.Warning, Message = "Reading the cluster's script changes from Redis failed: {Error}; retrying")]
    private static partial void ReadFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1723, Level = LogLevel.Error, Message = "Following the cluster's script changes failed; retrying")]
    private static partial void FollowFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1724, Level = LogLevel.Error, Message = "A script change for '{ScriptUri}' read from Redis was skipped: {Problem}")]
    private static partial void BadChange(ILogger logger, string scriptUri, string problem);

    [LoggerMessage(EventId = 1725, Level = LogLevel.Error, Message = "Applying the change of script {ScriptUri} made on instance {Instance} threw; skipped, the next changes are applied")]
    private static partial void ApplyThrew(ILogger logger, string scriptUri, string instance, Exception exception);

    [LoggerMessage(EventId = 1722, Level = LogLevel.Error, Message = "The change of script {ScriptUri} made on instance {Instance} failed to apply here: {Error}; the previous version, if any, keeps serving")]
    private static partial void ApplyFailed(ILogger logger, string scriptUri, string instance, string error);
}

/// <summary>The latest change of one script URI, as kept in the state hash.</summary>
internal sealed record ScriptState(string? Source, string Instance);

[System.Text.Json.Serialization.JsonSerializable(typeof(ScriptState))]
internal sealed partial class ReplicationJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
