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
/// to Redis in batches, each batch one Lua script (<c>XADD … MAXLEN ~</c> per message, one
/// <c>PUBLISH</c> per topic on <c>{prefix}notify</c>). A batch carries a unique marker key set with
/// <c>NX</c>, so a batch resent after a lost reply is not added twice. While Redis is unreachable the
/// outbox keeps the messages, in order, up to <see cref="BusOptions.OutboxCapacity"/>.
/// </para>
/// <para>
/// An instance follows a topic from its first local subscriber on: it seeds a local <see cref="Topic"/>
/// with the last <see cref="StreamOptions.ReplayDepth"/> entries (for <c>Last-Event-ID</c> replay),
/// then reads the entries after the last one it has (<c>XREAD</c>) whenever a notification names the
/// topic, every <see cref="BusOptions.PollInterval"/>, and when the connection comes back. Each entry
/// therefore crosses Redis once per instance, becomes one <see cref="BusMessage"/> (its SSE frame
/// encoded once) and is queued to the local subscribers in stream order; a message at or below the
/// last id is never delivered twice.
/// </para>
/// </remarks>
internal sealed partial class RedisTopicBus : ITopicBus, IHostedService, IDisposable
{
    private const int MaxBatchMessages = 256;
    private const int MaxBatchBytes = 1024 * 1024;
    private const int ReadCount = 1000;

    // KEYS[1] batch marker, KEYS[2..] stream keys; ARGV[1] MAXLEN, ARGV[2] notify channel,
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

    private readonly RedisBackplane _redis;
    private readonly StreamOptions _streams;
    private readonly BusOptions _options;
    private readonly EngineMetrics? _metrics;
    private readonly ReplayBudget _replay;
    private readonly TopicOwners? _owners;
    private readonly TimeProvider _time;
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

    /// <summary>Starts following a topic: seeds the replay ring with the last entries Redis keeps.</summary>
    private FollowedTopic Follow(string name)
    {
        var followed = new FollowedTopic(name, KeyOf(name), new Topic(name, _replay, _streams.QueueCapacity, _metrics, time: _time, owners: _owners, seeded: false, logger: _logger));
        var seeded = false;
        if (_redis.IsConnected)
        {
            try
            {
                var entries = _redis.Database.StreamRange(followed.Key, "-", "+", Math.Max(_streams.ReplayDepth, 1), Order.Descending);
                var messages = new List<BusMessage>(entries.Length);
                for (var i = entries.Length - 1; i >= 0; i--)
                {
                    if (ToMessage(entries[i]) is { } message)
                    {
                        messages.Add(message);
                    }
                }

                followed.Topic.Seed(_streams.ReplayDepth > 0 ? messages : [], messages.Count > 0 ? messages[^1].Id : 0);
                seeded = true;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                SeedFailed(_logger, name, e.Message);
            }
        }

        if (!seeded)
        {
            // Redis is away: follow from now on (entry ids come from the clock), nothing to replay.
            followed.Topic.Seed([], RedisIds.At(_time.GetUtcNow()));
        }

        // Anything added between the seed and now is read at once, not at the next poll.
        RequestRead(followed);
        return followed;
    }

    private void ReadAll()
    {
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
                    await ReadNewAsync(followed);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    // The next poll or the reconnection reads again from the same id.
                    ReadFailed(_logger, followed.Name, e.Message);
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

    private async Task ReadNewAsync(FollowedTopic followed)
    {
        while (true)
        {
            var after = followed.Topic.LastId;
            var entries = await _redis.Database.StreamReadAsync(followed.Key, RedisIds.Format(after), ReadCount);
            foreach (var entry in entries)
            {
                if (ToMessage(entry) is { } message)
                {
                    followed.Topic.Deliver(message);
                }
            }

            if (entries.Length < ReadCount)
            {
                return;
            }
        }
    }

    private BusMessage? ToMessage(StreamEntry entry)
    {
        if (!RedisIds.TryParse(entry.Id.ToString(), out var id))
        {
            BadEntry(_logger, entry.Id.ToString());
            return null;
        }

        var data = entry["d"];
        var filterText = entry["f"];
        IReadOnlyDictionary<string, string>? filter = null;
        if (filterText.HasValue && !filterText.IsNullOrEmpty)
        {
            filter = JsonSerializer.Deserialize(filterText.ToString(), BusJsonContext.Default.IReadOnlyDictionaryStringString);
        }

        return new BusMessage(id, data.ToString(), filter);
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
                values[0] = _options.StreamLength;
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

        public int Requests;
    }

    [LoggerMessage(EventId = 1710, Level = LogLevel.Warning, Message = "Sending {Count} messages to Redis failed ({Error}); retrying")]
    private static partial void SendFailed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 1711, Level = LogLevel.Warning, Message = "Reading topic {Topic} from Redis failed: {Error}")]
    private static partial void ReadFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1712, Level = LogLevel.Warning, Message = "Reading the kept messages of topic {Topic} from Redis failed ({Error}); following it from now on, with nothing to replay")]
    private static partial void SeedFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1714, Level = LogLevel.Warning, Message = "Deleting the Redis stream of completed topic {Topic} failed: {Error}; its kept messages stay until trimmed")]
    private static partial void DeleteFailed(ILogger logger, string topic, string error);

    [LoggerMessage(EventId = 1713, Level = LogLevel.Error, Message = "A Redis stream entry with id {Id} cannot be a bus message; skipped")]
    private static partial void BadEntry(ILogger logger, string id);
}

/// <summary>The bus cannot take a message now (its backplane is away and its outbox full).</summary>
public sealed class BusUnavailableException(string message) : Exception(message);

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class BusJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
