using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Streaming;

/// <summary>The delivery guarantees of SPEC §4.2 and the filters of §4.3, on the bus itself.</summary>
public sealed class TopicBusTests
{
    private static readonly Dictionary<string, string> NoMetadata = new();

    // With the clock at 1970, ids start at 1 (a topic's ids start above the microseconds since 1970).
    private static InMemoryTopicBus Bus(int queue = 1024, int replay = 256, TimeProvider? time = null) =>
        new(Options.Create(new StreamOptions { QueueCapacity = queue, ReplayDepth = replay }), time: time ?? new FakeTimeProvider(DateTimeOffset.UnixEpoch));

    private static List<long> Drain(TopicSubscriber subscriber)
    {
        var ids = new List<long>();
        while (subscriber.Messages.TryRead(out var message))
        {
            ids.Add(message.Id);
        }

        return ids;
    }

    [Fact]
    public void Replay_GivesEveryKeptMessageAfterTheLastId_InOrder_ThenLive()
    {
        var bus = Bus(replay: 5);
        for (var i = 0; i < 8; i++)
        {
            bus.Publish("t", $"m{i}");
        }

        var resumed = bus.Subscribe("t", NoMetadata, lastEventId: 5);
        var tooOld = bus.Subscribe("t", NoMetadata, lastEventId: 1);
        bus.Publish("t", "live");

        Assert.Equal([6, 7, 8, 9], Drain(resumed));
        Assert.Equal([4, 5, 6, 7, 8, 9], Drain(tooOld));
    }

    [Fact]
    public void Ids_StartAboveTheClockInMicroseconds_SoARestartedServerNeverReusesThem()
    {
        var now = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
        var bus = Bus(time: new FakeTimeProvider(now));

        bus.Publish("t", "a");
        var subscriber = bus.Subscribe("t", NoMetadata, lastEventId: 0);
        bus.Publish("t", "b");

        var microseconds = (now - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        Assert.Equal([microseconds + 1, microseconds + 2], Drain(subscriber));
    }

    [Fact]
    public void Ids_OfATopicCompletedAndCreatedAgain_ContinueAboveTheOldOnes_EvenAtTheSameInstant()
    {
        var bus = Bus(time: new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero)));
        for (var i = 0; i < 10; i++)
        {
            bus.Publish("t", "old");
        }

        var oldLast = bus.GetStats("t")!.LastId;
        bus.Complete("t");
        var resumed = bus.Subscribe("t", NoMetadata, lastEventId: oldLast);
        bus.Publish("t", "new");

        Assert.True(resumed.Messages.TryRead(out var message));
        Assert.Equal(("new", oldLast + 1), (message.Data, message.Id));
    }

    [Fact]
    public async Task Replay_AndLive_NeverDuplicateOrSkip_UnderConcurrentPublishing()
    {
        const int Total = 20_000;
        // The replay window holds every message, so each subscriber must get exactly the ids after the
        // one it asked for: a first id above that is a skip, not a message too old to replay.
        var bus = Bus(queue: 100_000, replay: Total);
        var lastJoinedAt = -1L;
        var joining = true;
        var publisher = Task.Run(() =>
        {
            for (var i = 1; i <= Total; i++)
            {
                bus.Publish("t", "x");
                // Every 1 000 messages, wait (bounded) until a subscriber has joined since: the joins are
                // spread over the whole run, while those between the waits race the publishing.
                if (i % 1_000 == 0)
                {
                    SpinWait.SpinUntil(() => Volatile.Read(ref lastJoinedAt) >= i || !Volatile.Read(ref joining), TimeSpan.FromSeconds(10));
                }
            }
        });
        var subscribers = new List<(TopicSubscriber Subscriber, long From)>();
        // Bounded: on a starved machine an unbounded loop would outrun the publisher and pile up
        // subscribers; a join waits for the stream to have moved on since the last one.
        while (!publisher.IsCompleted && subscribers.Count < 500)
        {
            var last = bus.GetStats("t")?.LastId ?? 0;
            if (last > Volatile.Read(ref lastJoinedAt))
            {
                var from = Math.Max(0, last - 100);
                subscribers.Add((bus.Subscribe("t", NoMetadata, from), from));
                Volatile.Write(ref lastJoinedAt, last);
            }

            await Task.Yield();
        }

        Volatile.Write(ref joining, false);
        await publisher;

        Assert.True(subscribers.Count(s => s.From > 0 && s.From < Total - 1_000) >= 10, $"too few of {subscribers.Count} subscribers joined mid-stream");
        foreach (var (subscriber, from) in subscribers)
        {
            var ids = Drain(subscriber);
            Assert.Equal(Enumerable.Range((int)from + 1, Total - (int)from).Select(i => (long)i), ids);
        }
    }

    [Fact]
    public void FullQueue_DisconnectsThatSubscriber_WithoutTouchingTheOthers_OnceItsWriterHasWaitedForTheClientPastTheGrace()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var bus = Bus(queue: 3, replay: 0, time: time);
        var slow = bus.Subscribe("t", NoMetadata, null);
        var fast = bus.Subscribe("t", NoMetadata, null);
        var overflowed = 0;
        slow.Overflow += () => overflowed++;
        // Its writer's flush has not completed for longer than the grace: the client does not read.
        slow.Gate.Waiting(time.GetTimestamp());
        time.Advance(SseStreamWriter.TransportGrace + TimeSpan.FromMilliseconds(1));

        for (var i = 0; i < 10; i++)
        {
            bus.Publish("t", "m");
            Drain(fast);
        }

        Assert.True(slow.Overflowed);
        Assert.Equal(1, overflowed);
        Assert.False(fast.Overflowed);
        Assert.Equal(1, bus.GetStats("t")!.Disconnected);
        Assert.Equal(3, Drain(slow).Count);
        Assert.True(slow.Messages.Completion.IsCompleted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FullQueue_OfAClientWhoseWriterIsMerelyBusyOrWaitingWithinTheGrace_TakesABurst_UpToItsBounds(bool waiting)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var bus = Bus(queue: 3, replay: 0, time: time);
        var busy = bus.Subscribe("t", NoMetadata, null);
        if (waiting)
        {
            busy.Gate.Waiting(time.GetTimestamp());
            time.Advance(SseStreamWriter.TransportGrace / 2);
        }

        // A burst far past the capacity of 3: held, in order, up to 16 times the capacity.
        for (var i = 0; i < 3 * QueueAllowance.MaxRounds; i++)
        {
            bus.Publish("t", "m");
        }

        Assert.False(busy.Overflowed);
        bus.Publish("t", "m");
        Assert.True(busy.Overflowed);
        Assert.Equal(3 * QueueAllowance.MaxRounds, Drain(busy).Count);
    }

    [Fact]
    public void Dispose_UnsubscribesAtOnce()
    {
        var bus = Bus();
        var subscribers = Enumerable.Range(0, 1000).Select(_ => bus.Subscribe("t", NoMetadata, null)).ToList();
        Assert.Equal(1000, bus.GetStats("t")!.Subscribers);

        subscribers.ForEach(s => s.Dispose());

        Assert.Equal(0, bus.GetStats("t")!.Subscribers);
        Assert.Equal(0, bus.Publish("t", "nobody"));
    }

    // The filter is { room: general, user: ada }: a connection receives it only if its metadata holds both (filter ⊆ metadata).
    [Theory]
    [InlineData("{}", false)]
    [InlineData("{\"room\":\"general\"}", false)]
    [InlineData("{\"room\":\"random\"}", false)]
    [InlineData("{\"room\":\"general\",\"user\":\"ada\"}", true)]
    [InlineData("{\"room\":\"general\",\"user\":\"ada\",\"team\":\"x\"}", true)]
    [InlineData("{\"room\":\"general\",\"user\":\"bob\"}", false)]
    [InlineData("{\"room\":\"General\",\"user\":\"ada\"}", false)]
    [InlineData("{\"user\":\"ada\"}", false)]
    [InlineData("{\"team\":\"x\"}", false)]
    public void Filter_ReachesAConnection_OnlyIfEveryFilterKeyIsInItsMetadata(string metadataJson, bool receives)
    {
        var metadata = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(metadataJson)!;
        var bus = Bus();
        var subscriber = bus.Subscribe("t", metadata, null);

        bus.Publish("t", "m", new Dictionary<string, string> { ["room"] = "general", ["user"] = "ada" });

        Assert.Equal(receives ? 1 : 0, Drain(subscriber).Count);
    }

    [Fact]
    public void NoFilter_ReachesEveryConnection()
    {
        var bus = Bus();
        var subscriber = bus.Subscribe("t", new Dictionary<string, string> { ["room"] = "x" }, null);

        Assert.Equal(1, bus.Publish("t", "m"));
        Assert.Single(Drain(subscriber));
    }

    [Fact]
    public void Complete_EndsEverySubscriber()
    {
        var bus = Bus();
        var subscriber = bus.Subscribe("t", NoMetadata, null);

        bus.Complete("t");

        Assert.True(subscriber.Messages.Completion.IsCompleted);
        Assert.Null(bus.GetStats("t"));
    }
}
