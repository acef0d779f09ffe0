using System.IO.Pipelines;
using System.Text;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Streaming;

/// <summary>The SSE protocol core on memory pipes: exact bytes, no HTTP.</summary>
public sealed class SseWireFormatTests
{
    [Fact]
    public void Message_IsIdThenDataThenABlankLine()
    {
        Assert.Equal("id: 7\ndata: {\"a\":1}\n\n", Encoding.UTF8.GetString(SseFrames.Message(7, "{\"a\":1}")));
    }

    [Theory]
    [InlineData("one\ntwo", "data: one\ndata: two\n")]
    [InlineData("one\r\ntwo", "data: one\ndata: two\n")]
    [InlineData("one\rtwo\n", "data: one\ndata: two\ndata: \n")]
    [InlineData("", "data: \n")]
    [InlineData("é ✓ 😀", "data: é ✓ 😀\n")]
    public void Message_WithLineBreaks_BecomesSeveralDataLines(string data, string expected)
    {
        Assert.Equal("id: 1\n" + expected + "\n", Encoding.UTF8.GetString(SseFrames.Message(1, data)));
    }

    [Fact]
    public async Task Writer_WritesThePreludeThenEveryQueuedFrame_AndEndsWhenTheSubscriptionEnds()
    {
        var bus = new InMemoryTopicBus(Options.Create(new StreamOptions()), time: new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        var subscriber = bus.Subscribe("t", new Dictionary<string, string>(), null);
        var pipe = new Pipe();
        bus.Publish("t", "first");
        bus.Publish("t", "{\"second\":true}");

        var run = SseStreamWriter.RunAsync(pipe.Writer, subscriber, SseFrames.Retry(3000), TimeProvider.System);
        bus.Complete("t");
        var endedBySubscription = await run;
        await pipe.Writer.CompleteAsync();

        Assert.True(endedBySubscription);
        var written = await ReadAllAsync(pipe.Reader);
        Assert.Equal("retry: 3000\n\nid: 1\ndata: first\n\nid: 2\ndata: {\"second\":true}\n\n", written);
    }

    [Fact]
    public async Task Writer_WritesKeepAlivesAsComments()
    {
        var bus = new InMemoryTopicBus(Options.Create(new StreamOptions()), time: new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        var subscriber = bus.Subscribe("t", new Dictionary<string, string>(), null);
        var pipe = new Pipe();
        subscriber.EnqueueKeepAlive();
        subscriber.Complete();

        await SseStreamWriter.RunAsync(pipe.Writer, subscriber, SseFrames.Retry(10), TimeProvider.System);
        await pipe.Writer.CompleteAsync();

        Assert.Equal("retry: 10\n\n:\n\n", await ReadAllAsync(pipe.Reader));
    }

    [Fact]
    public void SameMessage_SharesOneEncodedFrame()
    {
        var bus = new InMemoryTopicBus(Options.Create(new StreamOptions()), time: new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        var a = bus.Subscribe("t", new Dictionary<string, string>(), null);
        var b = bus.Subscribe("t", new Dictionary<string, string>(), null);

        Assert.Equal(2, bus.Publish("t", "hello"));
        Assert.True(a.Messages.TryRead(out var first));
        Assert.True(b.Messages.TryRead(out var second));

        Assert.Same(first, second);
        Assert.True(first.SseFrame.Equals(second.SseFrame), "both clients write the very same bytes");
    }

    private static async Task<string> ReadAllAsync(PipeReader reader)
    {
        using var buffer = new MemoryStream();
        await reader.CopyToAsync(buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
