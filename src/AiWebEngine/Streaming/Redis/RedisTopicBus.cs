using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using AiWebEngine.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// The topic bus of a cluster: every topic is a Redis stream (<c>{prefix}topic:{name}</c>) that all
/// instances append to and read from, so that every instance delivers the same messages, in the same
/// order, with the same ids.
/// </summary>
/// <remarks>
/// <para>
/// Publishing queues the message in a local outbox and returns at once; one writer sends the outbox
/// to Redis in batches, each batch one Lua script (<c>XADD … MAXLEN ~ 16 × StreamLength</c> per
/// message, one <c>PUBLISH</c> per topic on <c>{prefix}notify</c>). A batch carries a unique marker key set with
/// <c>NX</c>, so a batch resent after a lost reply is not added twice. While Redis is unreachable the
/// outbox keeps the messages, in order, up to <see cref="BusOptions.OutboxCapacity"/>.
/// </para>
/// <para>
/// An instance follows a topic from its first local subscriber on: it seeds a local <see cref="Topic"/>
/// with the newest entries within the replay bounds (<see cref="StreamOptions.ReplayDepth"/>,
/// <see cref="StreamOptions.ReplayMaxBytes"/>), then reads the entries after the last one it has
/// (<c>XREAD</c>) whenever a notification names the topic, every <see cref="BusOptions.PollInterval"/>,
/// and when the connection comes back. Each entry therefore crosses Redis once per instance, becomes
/// one <see cref="BusMessage"/> (its SSE frame encoded once) and is queued to the local subscribers in
/// stream order; a message at or below the last id is never delivered twice.
/// </para>
/// <para>
/// Trimming: every instance delivers a topic's messages, its own included, only as it reads them back,
/// so the writer must not trim entries no reader has read yet. The writer's <c>XADD</c> therefore only
/// caps a topic at <see cref="HardCapFactor"/> × <see cref="BusOptions.StreamLength"/> (a stream never
/// grows without bound), and each reader that has caught up with a topic (a read returned fewer entries
/// than it asked for) trims it to <c>XTRIM MAXLEN ~ StreamLength</c>, in one script with the check that
/// the last entry it read is still the newest (else it skips: the next caught-up read trims). An instance
/// thus never loses an entry to its own trim, nor to the cap while it reads within 16 × StreamLength;
/// a peer more than <c>StreamLength</c> entries behind the instance that trims loses the oldest of them.
/// </para>
/// <para>
/// No request thread waits for Redis: following a topic only starts the seed on the thread pool. Ids
/// come from Redis alone: until the seed has answered (retried at every poll while Redis is away),
/// the topic delivers nothing and its subscribers wait for their replay (<see cref="Topic.Ready"/>).
/// A subscriber without <c>Last-Event-ID</c> that came before the seed gets the entries added since it
/// subscribed, "since" said in Redis's clock (<see cref="RedisClock"/>, measured, not assumed equal to ours).
/// Every entry read is validated as input from outside (id, fields, UTF-8, size, filter JSON); one
/// that fails is logged and skipped, and reading goes on after it.
/// </para>
/// <para>Started and stopped by <see cref="ClusterServices"/> (only when Redis is configured).</para>
/// </remarks>
internal sealed partial class RedisTopicBus : ITopicBus, IDisposable
{
    private const int MaxBatchMessages = 256;
    private const int MaxBatchBytes = 1024 * 1024;
    private const int ReadCount = 1000;

    /// <summary>
    /// The writer keeps at most this many times <see cref="BusOptions.StreamLength"/> entries per topic
    /// (approximately); the readers trim to <see cref="BusOptions.StreamLength"/> once caught up.
    /// </summary>
    internal const int HardCapFactor = 16;

    // Entries per XREVRANGE of a seed: a page of large entries costs memory until it is filtered.
    private const int SeedPage = 32;

    // KEYS[1] batch marker, KEYS[2..] stream keys; ARGV[1] MAXLEN (the hard cap, HardCapFactor ×
    // StreamLength: never StreamLength itself, which would drop entries before any reader got them), ARGV[2] notify channel,
    // ARGV[3] marker TTL (s), then per message: data, filter ('' for none), topic.
    private const string AppendScript = """
        if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return 0 end
        local notified = {}
        for i = 2, #KEYS do
          local a = 4 + (i - 2) * 3
          redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[a], 'f', ARGV[a + 1])
          local topic = ARGV[a + 2]
          if not notified[topic] then
            notified[topic] = true
            redis.call('PUBLISH', ARGV[2], topic)
          end
        end
        return #KEYS - 1
        """;

    // KEYS[1] stream key; ARGV[1] MAXLEN (StreamLength), ARGV[2] the id of the last entry this reader
    // has read. Trims only while that is still the newest entry: atomically, so an XADD batch that lands
    // between the reader's XREAD and this script is never trimmed before the reader has read it.
    private const string TrimScript = """
        local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
        if not newest or newest[1] ~= ARGV[2] then return -1 end
        return redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
        """;

    private readonly RedisBackplane _redis;
    private readonly StreamOptions _streams;
    private readonly BusOptions _options;
    private readonly EngineMetrics? _metrics;
    private readonly ReplayBudget _replay;
    private readonly TopicOwners? _owners;
    private readonly TimeProvider _time;
    private readonly RedisClock _clock;
    private readonly ILogger<RedisTopicBus> _logger;
    private readonly ConcurrentDictionary<string, Lazy<FollowedTopic>> _topics = new(StringComparer.Ordinal);
    private readonly Channel<Outgoing> _outbox;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RedisChannel _notify;
    private Task? _writer;
    private ITimer? _poll;
    private long _outboxCount;
    private int _disposed;
    private bool _stopped;

    public RedisTopicBus(RedisBackplane redis, IOptions<StreamOptions> streams, TimeProvider time, ILogger<RedisTopicBus> logger, EngineMetrics? metrics = null, TopicOwners? owners = null)
    {
        _redis = redis;
        _options = redis.Options;
        _streams = streams.Value;
        _replay = new ReplayBudget(_streams);
        _owners = owners;
        _clock = new RedisClock(redis, time);
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _notify = RedisChannel.Literal(redis.Prefix + "notify");
        _outbox = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(_options.OutboxCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Messages waiting to be sent to Redis.</summary>
    public long OutboxCount => Interlocked.Read(ref _outboxCount);

    private string KeyOf(string topic) => _redis.Prefix + "topic:" + topic;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var connection = _redis.Connection;
        _redis.Restored += ReadAll;
        await _clock.MeasureAsync();
        await connection.GetSubscriber().SubscribeAsync(_notify, (_, topic) =>
        {
            if (_topics.TryGetValue(topic.ToString(), out var followed) && followed.IsValueCreated)
            {
                RequestRead(followed.Value);
            }
        });
        _writer = Task.Run(() => WriteAsync(_stopping.Token), CancellationToken.None);
        _poll = _time.CreateTimer(static state => ((RedisTopicBus)state!).ReadAll(), this, _options.PollInterval, _options.PollInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _poll?.Dispose();
        Volatile.Write(ref _stopped, true);
        _outbox.Writer.TryComplete();
        if (_writer is not null)
        {
            // Sends what is queued, unless Redis is away or the host stops waiting.
            await Task.WhenAny(_writer, Task.Delay(TimeSpan.FromSeconds(5), cancellationToken));
        }

        if (Volatile.Read(ref _disposed) == 0)
        {
            await _stopping.CancelAsync();
        }

        CompleteAll();
    }

    public int Publish(string topic, string data, IReadOnlyDictionary<string, string>? filter = null)
    {
        var filterText = filter is null ? "" : JsonSerializer.Serialize(filter, BusJsonContext.Default.IReadOnlyDictionaryStringString);
        Interlocked.Increment(ref _outboxCount);
        if (!_outbox.Writer.TryWrite(new Outgoing(topic, data, filterText)))
        {
            var waiting = Interlocked.Decrement(ref _outboxCount);
            throw new BusUnavailableException(_outbox.Reader.Completion.IsCompleted || Volatile.Read(ref _stopped)
                ? "the instance is stopping; this message was not sent"
                : $"the Redis backplane has been unreachable for a while and {waiting} messages are waiting (AiWebEngine:Bus:OutboxCapacity); this message was not sent");
        }

        // The clients of this instance it will reach; other instances' clients are not counted.
        return _topics.TryGetValue(topic, out var followed) && followed.IsValueCreated ? followed.Value.Topic.CountFor(filter) : 0;
    }

    public TopicSubscriber Subscribe(string topic, IReadOnlyDictionary<string, string> metadata, long? lastEventId)
    {
        while (true)
        {
            var lazy = _topics.GetOrAdd(topic, name => new Lazy<FollowedTopic>(() => Follow(name), LazyThreadSafetyMode.ExecutionAndPublication));
            var followed = lazy.Value;
            if (!followed.Topic.IsCompleted)
            {
                return followed.Topic.Subscribe(metadata, lastEventId);
            }

            // Completed between the lookup and the subscription: follow the topic anew.
            _topics.TryRemove(new KeyValuePair<string, Lazy<FollowedTopic>>(topic, lazy));
        }
    }

    public void Complete(string topic)
    {
        if (_topics.TryRemove(topic, out var removed) && removed.IsValueCreated)
        {
            removed.Value.Topic.Complete();
        }

        // Its messages are forgotten cluster-wide, as on one node.
        try
        {
            _redis.Database.KeyDelete(KeyOf(topic), CommandFlags.FireAndForget);
        }
        catch (RedisException e)
        {
            DeleteFailed(_logger, topic, e.Message);
        }
    }

    public long ReplayBytes => _replay.Bytes;

    public TopicStats? GetStats(string topic) =>
        _topics.TryGetValue(topic, out var found) && found.IsValueCreated ? found.Value.Topic.Stats() : null;

    public void CompleteAll()
    {
        foreach (var topic in _topics.Values)
        {
            if (topic.IsValueCreated)
            {
                topic.Value.Topic.Complete();
            }
        }

        _topics.Clear();
    }

    /// <summary>Starts following a topic: its seed (and then its reads) start on the thread pool.</summary>
    private FollowedTopic Follow(string name)
    {
        var topic = new Topic(name, _replay, _streams.QueueCapacity, _metrics, time: _time, owners: _owners, seeded: false, logger: _logger, startAt: _clock.NowId);
        var followed = new FollowedTopic(name, KeyOf(name), topic);
        RequestRead(followed);
        return followed;
    }

    private void ReadAll()
    {
        _ = _clock.MeasureAsync();
        foreach (var topic in _topics.Values)
        {
            if (topic.IsValueCreated)
            {
                RequestRead(topic.Value);
            }
        }
    }

    /// <summary>Reads the topic's new entries; requests made while a read runs make it read again, once.</summary>
    private void RequestRead(FollowedTopic followed)
    {
        if (Interlocked.Increment(ref followed.Requests) == 1)
        {
            _ = Task.Run(() => ReadLoopAsync(followed));
        }
    }

    private async Task ReadLoopAsync(FollowedTopic followed)
    {
        while (true)
        {
            var seen = Volatile.Read(ref followed.Requests);
            if (!followed.Topic.IsCompleted && _redis.IsConnected)
            {
                try
                {
                    if (!followed.Topic.IsSeeded)
                    {
                        await SeedAsync(followed);
                    }

                    await ReadNewAsync(followed);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    // The next poll or the reconnection reads (or seeds) again from the same place.
                    if (followed.Topic.IsSeeded)
                    {
                        ReadFailed(_logger, followed.Name, e.Message);
                    }
                    else
                    {
                        SeedFailed(_logger, followed.Name, e.Message);
                    }
                }
                catch (Exception e)
                {
                    ReadFailed(_logger, followed.Name, e.ToString());
                }
            }

            if (Interlocked.Add(ref followed.Requests, -seen) == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Reads the newest entries back to the replay bounds (newest first, a page at a time) and gives
    /// them to the topic with its last id; the reads continue after the newest entry.
    /// </summary>
    private async Task SeedAsync(FollowedTopic followed)
    {
        var depth = _streams.ReplayDepth;
        var kept = new List<BusMessage>();
        long bytes = 0;
        RedisValue? newest = null;
        RedisValue before = "+";
        var page = Math.Clamp(depth, 1, SeedPage) + 1; // +1: a page after the first starts with the last one read
        var full = false;
        while (!full)
        {
            var entries = await _redis.Database.StreamRangeAsync(followed.Key, "-", before, page, Order.Descending);
            var fresh = 0;
            foreach (var entry in entries)
            {
                if (newest is not null && entry.Id == before)
                {
                    continue;
                }

                newest ??= entry.Id;
                fresh++;
                if (kept.Count >= depth)
                {
                    full = true;
                    break;
                }

                if (ToMessage(followed, entry) is { } message)
                {
                    if (bytes + message.Bytes > _streams.ReplayMaxBytes)
                    {
                        // Older ones would be dropped again by the stream's own bound.
                        full = true;
                        break;
                    }

                    kept.Add(message);
                    bytes += message.Bytes;
                }
            }

            if (fresh == 0 || entries.Length < page)
            {
                break;
            }

            before = entries[^1].Id;
        }

        kept.Reverse();
        followed.Cursor = newest ?? "0-0";
        var lastId = newest is { } id && RedisIds.TryParse(id.ToString(), out var parsed) ? parsed : 0;
        followed.Topic.Seed(kept, Math.Max(lastId, kept.Count > 0 ? kept[^1].Id : 0));
    }

    private async Task ReadNewAsync(FollowedTopic followed)
    {
        while (true)
        {
            // After the last entry read, valid or not: a bad entry is skipped once, never read again.
            var entries = await _redis.Database.StreamReadAsync(followed.Key, followed.Cursor, ReadCount);

            // Caught up: every entry up to the end of the stream is in hand. Trimmed only if nothing was
            // added since (TrimScript), so this instance loses nothing to its own trim. Sent before
            // delivering (the entries are already read), awaited after.
            var caughtUp = entries.Length < ReadCount;
            var trim = caughtUp && entries.Length > 0 ? TrimAsync(followed, entries[^1].Id) : Task.CompletedTask;
            foreach (var entry in entries)
            {
                followed.Cursor = entry.Id;
                if (ToMessage(followed, entry) is { } message)
                {
                    followed.Topic.Deliver(message);
                }
            }

            await trim;
            if (caughtUp)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Trims a topic to about <see cref="BusOptions.StreamLength"/> entries if <paramref name="last"/> is
    /// still its newest entry (never throws: a trim skipped or failed now happens at a later caught-up
    /// read, and the writer's hard cap holds meanwhile).
    /// </summary>
    private async Task TrimAsync(FollowedTopic followed, RedisValue last)
    {
        try
        {
            await _redis.Database.ScriptEvaluateAsync(TrimScript, [followed.Key], [_options.StreamLength, last]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            TrimFailed(_logger, followed.Name, e.Message);
        }
    }

    /// <summary>An entry as a message, or <see langword="null"/> (logged) when it cannot be one.</summary>
    private BusMessage? ToMessage(FollowedTopic followed, StreamEntry entry)
    {
        if (TopicEntry.Parse(entry, _streams.MaxMessageBytes, out var problem) is { } message)
        {
            return message;
        }

        BadEntry(_logger, entry.Id.ToString(), followed.Name, problem!);
        return null;
    }

    /// <summary>The one writer: sends the outbox to Redis in order, batch by batch, retrying a batch until it is in.</summary>
    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        var batch = new List<Outgoing>(MaxBatchMessages);
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                batch.Clear();
                var bytes = 0;
                while (batch.Count < MaxBatchMessages && bytes < MaxBatchBytes && reader.TryRead(out var next))
                {
                    batch.Add(next);
                    bytes += next.Data.Length + next.Filter.Length;
                }

                var marker = (RedisKey)(_redis.Prefix + "batch:" + Guid.NewGuid().ToString("N"));
                var keys = new RedisKey[batch.Count + 1];
                var values = new RedisValue[3 + batch.Count * 3];
                keys[0] = marker;
                values[0] = (long)_options.StreamLength * HardCapFactor;
                values[1] = _redis.Prefix + "notify";
                values[2] = 120;
                for (var i = 0; i < batch.Count; i++)
                {
                    keys[i + 1] = KeyOf(batch[i].Topic);
                    values[3 + i * 3] = batch[i].Data;
                    values[4 + i * 3] = batch[i].Filter;
                    values[5 + i * 3] = batch[i].Topic;
                }

                var delay = TimeSpan.FromMilliseconds(100);
                while (true)
                {
                    try
                    {
                        await _redis.Database.ScriptEvaluateAsync(AppendScript, keys, values);
                        break;
                    }
                    catch (Exception e) when (e is RedisException or TimeoutException)
                    {
                        // Kept in order: the batch is resent as it is (its marker makes a resend harmless).
                        SendFailed(_logger, batch.Count, e.Message);
                        await Task.Delay(delay, _time, cancellationToken);
                        delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
                    }
                }

                Interlocked.Add(ref _outboxCount, -batch.Count);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public void Dispose()
    {
        // Registered as itself and as ITopicBus: the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _poll?.Dispose();
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }

    private sealed record Outgoing(string Topic, string Data, string Filter);

    private sealed class FollowedTopic(string name, string key, Topic topic)
    {
        public string Name { get; } = name;

        public RedisKey Key { get; } = key;

        public Topic Topic { get; } = topic;

        /// <summary>The raw id of the last entry read (only the topic's one read loop touches it).</summary>
        public RedisValue Cursor { get; set; } = "0-0";

        public int Requests;
    }

    [LoggerMessage(EventId = 1710, Level = LogLevel.Warning, Message = "Sending {Count} messages to Redis failed ({Error}); retrying")]
    private static partial void SendFailed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 1711, Level = LogLevel.Warning, Message = "Reading topic {Topic} from Redis failed: {Error}")]
    private static partial void ReadFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1712, Level = LogLevel.Warning, Message = "Reading the kept messages of topic {Topic} from Redis failed ({Error}); retrying at the next poll, and until then the topic delivers nothing (its ids come from Redis)")]
    private static partial void SeedFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1714, Level = LogLevel.Warning, Message = "Deleting the Redis stream of completed topic {Topic} failed: {Error}; its kept messages stay until trimmed")]
    private static partial void DeleteFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1715, Level = LogLevel.Debug, Message = "Trimming the Redis stream of topic {Topic} failed: {Error}; trimmed at its next caught-up read")]
    private static partial void TrimFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1713, Level = LogLevel.Error, Message = "The Redis stream entry {Id} of topic {Topic} cannot be a bus message: {Problem}; skipped")]
    private static partial void BadEntry(ILogger logger, string id, string topic, string problem);
}

/// <summary>The bus cannot take a message now (its backplane is away and its outbox full).</summary>
public sealed class BusUnavailableException(string message) : Exception(message);

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class BusJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
