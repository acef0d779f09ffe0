using System.Net;
using System.Net.Sockets;
using System.Text;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Hardening;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Hosting;

/// <summary>
/// Responses sent on the flushing thread (<c>InlineSocketSends</c>) and event-stream frames written
/// straight to the socket, over real sockets: whatever the client's pace, every byte arrives once, in
/// order and correctly framed, and a connection that goes away mid-send frees everything.
/// </summary>
public sealed class InlineSocketSendsTests
{
    private const string Script = """
        registerWebStream("/feed");
        register("/publish-many", (req) => {
          const padding = "x".repeat(Number(req.query.size));
          let queued = 0;
          for (let i = 1; i <= Number(req.query.count); i++) queued += sendStreamMessage(i + ":" + padding);
          return { body: String(queued) };
        }, "POST");
        register("/big", (req) => ({ body: "y".repeat(Number(req.query.size)) }));
        register("/hello", () => ({ body: "hello" }));
        """;

    private static Task<EngineHost> StartAsync(bool inline) =>
        EngineHost.StartAsync(
            new Dictionary<string, string> { ["feed.js"] = Script },
            new Dictionary<string, string?>
            {
                ["AiWebEngine:Http:InlineSocketSends"] = inline ? "true" : "false",
                ["AiWebEngine:Streams:QueueCapacity"] = "4096",
            },
            kestrel: true);

    /// <summary>A client whose socket takes little at a time, so the server's sends fill up and wait.</summary>
    private static HttpClient SlowReadingClient(Uri baseAddress) =>
        new(new SocketsHttpHandler
        {
            MaxResponseDrainSize = 0,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = baseAddress };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStreamClientThatStopsReading_GetsEveryFrameOnceInOrder_WhenItReadsAgain(bool inline)
    {
        await using var host = await StartAsync(inline);
        using var slow = SlowReadingClient(host.BaseAddress);
        await using var reader = await SseReader.OpenAsync(slow, "/feed");
        await reader.ReadUntilAsync(f => f.Count >= 1, TimeSpan.FromSeconds(30)); // retry:

        // 1 500 frames of 8 KiB: 12 MiB, far more than the client's and the server's socket buffers
        // hold, so most of it waits in the server while the client does not read.
        const int count = 1500;
        using var publish = await host.Client.PostAsync("/publish-many?count=1500&size=8192", null);
        Assert.Equal("1500", await publish.Content.ReadAsStringAsync()); // one client, every frame

        var frames = await reader.ReadMessagesAsync(count, TimeSpan.FromSeconds(120));
        var data = frames.Where(f => f.Data is not null).Select(f => f.Data!).ToList();
        Assert.Equal(count, data.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.StartsWith($"{i + 1}:", data[i], StringComparison.Ordinal);
            Assert.Equal(8192 + $"{i + 1}:".Length, data[i].Length);
        }

        var ids = frames.Where(f => f.Id is not null).Select(f => long.Parse(f.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(count, ids.Distinct().Count());
        Assert.False(reader.Ended);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ALargeResponseToASlowClient_ArrivesWhole_AndTheConnectionServesTheNextRequest(bool inline)
    {
        await using var host = await StartAsync(inline);
        using var slow = SlowReadingClient(host.BaseAddress);
        const int size = 6 * 1024 * 1024;

        for (var round = 0; round < 2; round++)
        {
            using var response = await slow.GetAsync($"/big?size={size}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                Assert.True(buffer.AsSpan(0, read).IndexOfAnyExcept((byte)'y') < 0, "only the body's bytes");
                total += read;
                if (total < size / 2)
                {
                    await Task.Delay(1); // slower than the server writes: its sends must wait
                }
            }

            Assert.Equal(size, total);
        }

        // The same (kept-alive) connection answers a small request after the big ones.
        Assert.Equal("hello", await slow.GetStringAsync("/hello"));
    }

    [Fact]
    public async Task AStreamClientThatLeavesWhileTheServerWaitsToSend_FreesItsConnection_AndOthersGoOn()
    {
        await using var host = await StartAsync(inline: true);
        var limiter = host.Services.GetRequiredService<StreamConnectionLimiter>();

        // A raw client with a tiny receive buffer that never reads.
        using (var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 })
        {
            await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
            await stalled.SendAsync(Encoding.ASCII.GetBytes($"GET /feed HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\nAccept: text/event-stream\r\n\r\n"));
            await FaultHelpers.WaitUntilAsync(() => limiter.Open == 1, "the stalled client's stream");

            using var publish = await host.Client.PostAsync("/publish-many?count=600&size=8192", null);
            publish.EnsureSuccessStatusCode();

            // While that client's bytes wait, another client connects, reads and gets its frames.
            await using var other = await SseReader.OpenAsync(host.Client, "/feed");
            await other.ReadUntilAsync(f => f.Count >= 1, TimeSpan.FromSeconds(30));
            using var more = await host.Client.PostAsync("/publish-many?count=3&size=10", null);
            var frames = await other.ReadMessagesAsync(3, TimeSpan.FromSeconds(30));
            Assert.Equal(["1:xxxxxxxxxx", "2:xxxxxxxxxx", "3:xxxxxxxxxx"], frames.Where(f => f.Data is not null).Select(f => f.Data));

            stalled.LingerState = new LingerOption(true, 0); // a reset, mid-send
        }

        await FaultHelpers.WaitUntilAsync(() => limiter.Open == 0, "both streams to close");
        Assert.Equal("hello", await host.Client.GetStringAsync("/hello"));
    }
}
