using System.Net;
using System.Net.Sockets;
using System.Text;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Hardening;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AHostsOwnEndpointDefaults_SetBeforeOrAfterAddAiWebEngine_AreKept_AndConnectionsStillGetInlineSends(bool before)
    {
        var scripts = Directory.CreateTempSubdirectory("aiwebengine-test-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(scripts.FullName, "feed.js"), Script);
            var builder = WebApplication.CreateBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["AiWebEngine:Scripts:Path"] = scripts.FullName });
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            void Http2Only() => builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
            if (before)
            {
                Http2Only();
            }

            builder.Services.AddAiWebEngine();
            if (!before)
            {
                Http2Only();
            }

            await using var app = builder.Build();
            app.Use(async (context, next) =>
            {
                if (context.Request.Path == "/probe")
                {
                    var direct = context.Features.Get<IDirectSocketWrites>();
                    await context.Response.WriteAsync($"{context.Request.Protocol} inline={direct is { CarriesResponseBytes: true }}");
                    return;
                }

                await next(context);
            });
            app.UseAiWebEngine();
            app.MapAiWebEngine();
            await app.StartAsync();

            // Prior-knowledge HTTP/2 (h2c) works only if the host's HTTP/2-only default was kept.
            using var client = TestTransports.Client(new Uri(app.Urls.First()), TestTransport.H2c);
            Assert.Equal("HTTP/2 inline=True", await client.GetStringAsync("/probe"));
            await app.StopAsync();
        }
        finally
        {
            scripts.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SlowAndPausingReaders_UnderManyPublishesAndKeepAlives_GetEveryFrameWholeInOrderOnce()
    {
        // Keep-alives every few milliseconds: the writer's own sends (through the pipe) keep
        // alternating with the fan-out's direct writes, on sockets that are often full.
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["feed.js"] = Script },
            new Dictionary<string, string?>
            {
                ["AiWebEngine:Streams:QueueCapacity"] = "100000",
                ["AiWebEngine:Streams:KeepAliveInterval"] = "00:00:00.010",
            },
            kestrel: true);
        const int clients = 6;
        var slow = Enumerable.Range(0, clients).Select(_ => SlowReadingClient(host.BaseAddress)).ToList();
        var readers = await Task.WhenAll(slow.Select(c => SseReader.OpenAsync(c, "/feed")));
        await Task.WhenAll(readers.Select(r => r.ReadUntilAsync(f => f.Count >= 1, TimeSpan.FromSeconds(30))));
        await FaultHelpers.WaitUntilAsync(() => host.Services.GetRequiredService<StreamConnectionLimiter>().Open == clients, "every stream");

        // Two publishers race: small and large frames, one to eight per request.
        var sizes = new List<int>();
        async Task PublishAsync(int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < 60; i++)
            {
                var count = random.Next(1, 9);
                var size = random.Next(3) == 0 ? random.Next(2000, 9000) : random.Next(0, 40);
                using var response = await host.Client.PostAsync($"/publish-many?count={count}&size={size}", null);
                response.EnsureSuccessStatusCode();
                lock (sizes)
                {
                    sizes.AddRange(Enumerable.Repeat(size, count));
                }
            }
        }

        // Each reader reads a little, pauses, reads again: its socket fills and drains all the time.
        async Task ReadSlowlyAsync(SseReader reader, int seed, Task publishing)
        {
            var random = new Random(seed);
            while (!publishing.IsCompleted)
            {
                var have = reader.Messages.Count;
                await reader.ReadUntilAsync(f => f.Count(m => m.Data is not null) > have || publishing.IsCompleted, TimeSpan.FromSeconds(60));
                await Task.Delay(random.Next(0, 15));
            }

            await reader.ReadMessagesAsync(sizes.Count, TimeSpan.FromSeconds(60));
        }

        var publishing = Task.WhenAll(PublishAsync(1), PublishAsync(2));
        await Task.WhenAll(readers.Select((r, i) => ReadSlowlyAsync(r, 10 + i, publishing)).Append(publishing));

        foreach (var reader in readers)
        {
            var messages = reader.Messages;
            Assert.Equal(sizes.Count, messages.Count);
            var ids = messages.Select(m => long.Parse(m.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => ids[0] + i), ids); // once each, in order
            foreach (var data in messages.Select(m => m.Data!))
            {
                // "<i>:" and then only padding: a frame cut or spliced by another one shows here.
                var colon = data.IndexOf(':', StringComparison.Ordinal);
                Assert.True(colon > 0 && int.TryParse(data.AsSpan(0, colon), out _), data.Length > 80 ? data[..80] : data);
                Assert.True(data.AsSpan(colon + 1).IndexOfAnyExcept('x') < 0, "only padding after the number");
            }

            // Every size published arrived (as a multiset: the two publishers interleave).
            Assert.Equal(sizes.Order(), messages.Select(m => m.Data!.Length - m.Data!.IndexOf(':', StringComparison.Ordinal) - 1).Order());
            await reader.DisposeAsync();
        }

        slow.ForEach(c => c.Dispose());
    }
}
