using System.IO.Pipelines;
using System.Text;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Streaming;

/// <summary>
/// README's limit "SSE write batch": the frames queued for a client are written and flushed in
/// batches of at most <see cref="SseStreamWriter.MaxFramesPerFlush"/> (1 024) frames, and a batch stops
/// once it holds 64 KiB, so a burst of large messages costs a connection about 64 KiB of buffers, not
/// a copy of every message.
/// </summary>
public sealed class SseWriteBatchTests
{
    [Fact]
    public async Task ABurstOfSmallMessages_IsFlushedIn1024FrameBatches()
    {
        // About 40 bytes a frame: 1 024 of them stay under 64 KiB, so the frame count ends each batch.
        var flushes = await WriteBurstAsync(count: 2 * 1024 + 8, size: 10);

        Assert.Equal(1024, SseStreamWriter.MaxFramesPerFlush);
        Assert.Equal([1024, 1024, 8], flushes.Select(f => f.Frames));
    }

    [Fact]
    public async Task ABurstOfLargeMessages_IsFlushedOnceABatchHolds64KiB()
    {
        var flushes = await WriteBurstAsync(count: 10, size: 40_000);

        // 40 000 bytes: under 64 KiB after one frame, over it after two.
        Assert.Equal([2, 2, 2, 2, 2], flushes.Select(f => f.Frames));
        Assert.All(flushes, f => Assert.InRange(f.Bytes, 80_000, 80_200));
    }

    [Fact]
    public async Task ABurstOfMessagesOver64KiB_IsFlushedOneMessageAtATime()
    {
        var flushes = await WriteBurstAsync(count: 8, size: 300_000);

        Assert.Equal(Enumerable.Repeat(1, 8), flushes.Select(f => f.Frames));
    }

    // Queues the burst before the writer starts (so it finds every frame waiting), runs it to the end
    // and returns each flush after the prelude's: how many frames and bytes it carried.
    private static async Task<List<(int Frames, int Bytes)>> WriteBurstAsync(int count, int size)
    {
        var bus = new InMemoryTopicBus(Options.Create(new StreamOptions { QueueCapacity = 4096 }), time: new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        var subscriber = bus.Subscribe("t", new Dictionary<string, string>(), null);
        for (var i = 0; i < count; i++)
        {
            bus.Publish("t", new string((char)('a' + (i % 26)), size));
        }

        bus.Complete("t");
        var output = new RecordingWriter();

        Assert.True(await SseStreamWriter.RunAsync(output, subscriber, SseFrames.Retry(10), TimeProvider.System));

        Assert.Equal("retry: 10\n\n", output.Flushes[0]);
        var flushes = output.Flushes.Skip(1).Select(text => (Frames: CountFrames(text), Bytes: Encoding.UTF8.GetByteCount(text))).ToList();
        Assert.Equal(count, flushes.Sum(f => f.Frames));
        return flushes;
    }

    private static int CountFrames(string text) => text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>A <see cref="PipeWriter"/> that keeps what was written between two flushes.</summary>
    private sealed class RecordingWriter : PipeWriter
    {
        private readonly MemoryStream _pending = new();
        private byte[] _buffer = new byte[4096];

        public List<string> Flushes { get; } = [];

        public override void Advance(int bytes) => _pending.Write(_buffer, 0, bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (_buffer.Length < Math.Max(sizeHint, 1))
            {
                _buffer = new byte[Math.Max(sizeHint, _buffer.Length * 2)];
            }

            return _buffer;
        }

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes.Add(Encoding.UTF8.GetString(_pending.GetBuffer(), 0, (int)_pending.Length));
            _pending.SetLength(0);
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
        }

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }
}
