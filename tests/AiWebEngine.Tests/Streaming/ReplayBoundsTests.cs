using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Streaming;

/// <summary>
/// The replay bounds on the bus itself: bytes per stream, per script and per process, and per
/// <c>Last-Event-ID</c> request; what goes at a bound and what never does.
/// </summary>
public sealed class ReplayBoundsTests
{
    private static readonly Dictionary<string, string> NoMetadata = new();

    /// <summary>Topics <c>a…</c> belong to script <c>a.js</c>, <c>b…</c> to <c>b.js</c>, others to none.</summary>
    private static (InMemoryTopicBus Bus, TopicOwners Owners) Bus(StreamOptions options)
    {
        var owners = new TopicOwners();
        owners.Add(topic => topic[0] switch { 'a' => "a.js", 'b' => "b.js", _ => null });
        return (new InMemoryTopicBus(Options.Create(options), time: new FakeTimeProvider(DateTimeOffset.UnixEpoch), owners: owners), owners);
    }

    private static StreamOptions Bounds(long stream = long.MaxValue, long script = long.MaxValue, long total = long.MaxValue, long request = long.MaxValue, int depth = 256) =>
        new() { ReplayDepth = depth, ReplayMaxBytes = stream, ReplayMaxScriptBytes = script, ReplayMaxTotalBytes = total, MaxReplayBytesPerRequest = request };

    private static List<BusMessage> Drain(TopicSubscriber subscriber)
    {
        var messages = new List<BusMessage>();
        while (subscriber.Messages.TryRead(out var message))
        {
            messages.Add(message);
        }

        return messages;
    }

    private static long Kept(InMemoryTopicBus bus, string topic) => bus.GetStats(topic)!.ReplayBytes;

    [Fact]
    public void ManyStreamsFilledToTheirDepth_StayUnderTheStreamScriptAndProcessBounds_AndEachKeepsItsNewest()
    {
        var (bus, _) = Bus(Bounds(stream: 10_000, script: 30_000, total: 50_000));
        var payload = new string('x', 1000);
        var topics = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? "a" : "b") + i).ToList();
        for (var round = 0; round < 256; round++)
        {
            foreach (var topic in topics)
            {
                bus.Publish(topic, payload);
            }
        }

        Assert.InRange(bus.ReplayBytes, 1, 50_000);
        Assert.All(topics, t => Assert.InRange(Kept(bus, t), 1000, 10_000));
        Assert.InRange(topics.Where(t => t[0] == 'a').Sum(t => Kept(bus, t)), 1, 30_000);
        Assert.Equal(bus.ReplayBytes, topics.Sum(t => Kept(bus, t)));

        // What is kept is each stream's newest messages, with their ids as they were.
        foreach (var topic in topics)
        {
            var replayed = Drain(bus.Subscribe(topic, NoMetadata, lastEventId: 0));
            Assert.Equal(bus.GetStats(topic)!.LastId, replayed[^1].Id);
            Assert.Equal(Enumerable.Range(0, replayed.Count).Select(i => replayed[0].Id + i), replayed.Select(m => m.Id));
        }
    }

    [Fact]
    public void ABusyStream_PaysForTheProcessBoundWithItsOwnOldest_AndAQuietOneKeepsItsWindow()
    {
        var (bus, _) = Bus(Bounds(total: 20_000));
        for (var i = 0; i < 5; i++)
        {
            bus.Publish("quiet", new string('q', 1000));
        }

        for (var i = 0; i < 1000; i++)
        {
            bus.Publish("busy", new string('b', 1000));
        }

        Assert.Equal(5000, Kept(bus, "quiet"));
        Assert.Equal(15_000, Kept(bus, "busy"));
        Assert.Equal(5, Drain(bus.Subscribe("quiet", NoMetadata, lastEventId: 0)).Count);
    }

    [Fact]
    public void AScriptOverItsBound_LosesItsOwnOldest_AndAnotherScriptKeepsEverything()
    {
        var (bus, _) = Bus(Bounds(script: 8000));
        for (var i = 0; i < 4; i++)
        {
            bus.Publish("b-calm", new string('c', 1000));
        }

        for (var i = 0; i < 100; i++)
        {
            bus.Publish("a-one", new string('1', 1000));
            bus.Publish("a-two", new string('2', 1000));
        }

        Assert.Equal(8000, Kept(bus, "a-one") + Kept(bus, "a-two"));
        Assert.Equal(4000, Kept(bus, "b-calm"));
    }

    [Fact]
    public void AMessageOverEveryBound_IsStillDeliveredLive_AndTheOthersStayConsecutive()
    {
        var (bus, _) = Bus(Bounds(stream: 100, total: 100));
        var live = bus.Subscribe("t", NoMetadata, null);
        Assert.Equal(1, bus.Publish("t", "small"));
        Assert.Equal(1, bus.Publish("t", new string('x', 1000)));
        Assert.Equal(1, bus.Publish("t", "after"));

        Assert.Equal(["small", new string('x', 1000), "after"], Drain(live).Select(m => m.Data));
        // The big one was never kept; the newest that fit were.
        Assert.Equal(["after"], Drain(bus.Subscribe("t", NoMetadata, lastEventId: 2)).Select(m => m.Data));
        Assert.Equal(5, bus.ReplayBytes);
    }

    [Fact]
    public void LastEventIdZero_GetsTheNewestMessagesThatFitTheRequestBound_AfterACommentSayingHowManyWereCut()
    {
        var (bus, _) = Bus(Bounds(request: 3500));
        for (var i = 0; i < 10; i++)
        {
            bus.Publish("t", new string('x', 1000));
        }

        var replayed = Drain(bus.Subscribe("t", NoMetadata, lastEventId: 0));

        Assert.True(replayed[0].IsComment);
        Assert.Equal(": replay cut: 7 older kept messages were not sent, only the newest 3 (AiWebEngine:Streams:MaxReplayBytesPerRequest is 3500 bytes)\n\n", System.Text.Encoding.UTF8.GetString(replayed[0].SseFrame.Span));
        Assert.Equal([8L, 9, 10], replayed.Skip(1).Select(m => m.Id));

        // A client whose gap fits gets it all, with no comment.
        Assert.Equal([9L, 10], Drain(bus.Subscribe("t", NoMetadata, lastEventId: 8)).Select(m => m.Id));
    }

    [Fact]
    public void ACompletedTopic_GivesBackItsReplayBytes()
    {
        var (bus, _) = Bus(Bounds());
        bus.Publish("a1", "12345");
        bus.Publish("b1", "123");
        Assert.Equal(8, bus.ReplayBytes);

        bus.Complete("a1");
        Assert.Equal(3, bus.ReplayBytes);
        bus.CompleteAll();
        Assert.Equal(0, bus.ReplayBytes);
    }

    [Fact]
    public void ATopicWhoseOwnerChanges_CountsAgainstItsNewOwner()
    {
        var owner = "a.js";
        var owners = new TopicOwners();
        owners.Add(_ => owner);
        var bus = new InMemoryTopicBus(Options.Create(Bounds(script: 3000)), time: new FakeTimeProvider(DateTimeOffset.UnixEpoch), owners: owners);
        bus.Publish("moving", new string('m', 2000));
        bus.Publish("stays", new string('s', 1000));

        owner = "b.js";
        owners.Changed();
        bus.Publish("moving", new string('m', 1000));

        // Under b.js "moving" keeps both of its messages (3000); "stays" is still a.js's and untouched.
        Assert.Equal(3000, Kept(bus, "moving"));
        Assert.Equal(1000, Kept(bus, "stays"));
    }
}
