using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AiWebEngine.GraphQL;
using AiWebEngine.Tests.GraphQL;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Streaming;

/// <summary>
/// Streams and graphql-sse over every transport Kestrel serves (HTTP/1.1 and HTTP/2 over TLS, h2c, plain
/// HTTP/1.1), and behind middleware that changes the bytes (response compression) or the request's
/// scheme (forwarded headers): every frame arrives intact, once, in order, and a burst that plain
/// HTTP/1.1 clients survive is survived on the others.
/// </summary>
public sealed class TransportStreamTests
{
    private const string Script = """
        registerWebStream("/events");
        register("/burst", (req) => {
          let queued = 0;
          const padding = "x".repeat(Number(req.query.pad || 0));
          for (let i = 1; i <= Number(req.query.count); i++) queued += sendStreamMessage(req.query.tag + ":" + i + padding);
          return { body: String(queued) };
        }, "POST");
        registerGraphQLSubscription("burst", "type Subscription { burst: String }", null);
        register("/gql-burst", (req) => {
          const padding = "x".repeat(Number(req.query.pad || 0));
          for (let i = 1; i <= Number(req.query.count); i++) sendSubscriptionMessage("burst", String(i) + padding);
          return { body: "ok" };
        }, "POST");
        """;

    private const string Subscription = """{"query":"subscription { burst }"}""";

    private static Task<EngineHost> StartAsync(TestTransport transport, Action<IServiceCollection>? services = null, IReadOnlyDictionary<string, string?>? settings = null) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["events.js"] = Script }, settings, transport: transport, services: services);

    private static async Task PublishAsync(EngineHost host, string path, string query)
    {
        using var response = await host.Client.PostAsync($"{path}?{query}", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The data of each stream message, asserting consecutive ids.</summary>
    private static List<string> Data(SseReader reader)
    {
        var messages = reader.Messages;
        var ids = messages.Select(m => long.Parse(m.Id!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => ids[0] + i), ids);
        return [.. messages.Select(m => m.Data!)];
    }

    private static List<string> Expected(string tag, int count) => [.. Enumerable.Range(1, count).Select(i => $"{tag}:{i}")];

    private static List<string> ExpectedEvents(int count) => [.. Enumerable.Range(1, count).Select(i => $$$"""{"data":{"burst":"{{{i}}}"}}""")];

    private static List<string> Events(SseReader reader) => [.. reader.Messages.Where(m => m.Event == "next").Select(m => m.Data!)];

    private static async Task<SseReader[]> OpenStreamsAsync(EngineHost host, int count)
    {
        var readers = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => SseReader.OpenAsync(host.Client, "/events")));
        await Task.WhenAll(readers.Select(r => r.ReadUntilAsync(f => f.Count > 0, TimeSpan.FromSeconds(30)))); // retry:
        await StreamEndpointTests.WaitForConnectionsAsync(host, count);
        return readers;
    }

    private static async Task<SseReader[]> OpenSubscriptionsAsync(EngineHost host, int count)
    {
        var readers = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => SseReader.OpenAsync(host.Client, GraphQLHttpTests.Post("/graphql/sse", Subscription))));
        var bus = host.Services.GetRequiredService<global::AiWebEngine.Streaming.ITopicBus>();
        await FaultHelpersWait(() => bus.GetStats(GraphQLField.TopicOf("burst"))?.Subscribers == count, "every subscription to join its shared execution");
        return readers;
    }

    private static Task FaultHelpersWait(Func<bool> condition, string what) => Hardening.FaultHelpers.WaitUntilAsync(condition, what);

    [Theory]
    [InlineData(TestTransport.Http11)]
    [InlineData(TestTransport.Http11Tls)]
    [InlineData(TestTransport.Http2Tls)]
    [InlineData(TestTransport.H2c)]
    public async Task AStreamAndAGraphQLSseSubscription_OverEachTransport_DeliverEveryFrameIntact(TestTransport transport)
    {
        await using var host = await StartAsync(transport);
        await using var stream = (await OpenStreamsAsync(host, 1))[0];
        await using var subscription = (await OpenSubscriptionsAsync(host, 1))[0];
        Assert.Equal(IsHttp2(transport) ? new Version(2, 0) : new Version(1, 1), stream.Response.Version);

        // Paced: one publish request at a time, each message read before the next is sent.
        for (var i = 1; i <= 20; i++)
        {
            await PublishAsync(host, "/burst", $"tag=p{i}&count=1");
            await stream.ReadMessagesAsync(i, TimeSpan.FromSeconds(30));
            await PublishAsync(host, "/gql-burst", "count=1");
            await subscription.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= i, TimeSpan.FromSeconds(30));
        }

        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"p{i}:1"), Data(stream));
        Assert.Equal(Enumerable.Repeat("""{"data":{"burst":"1"}}""", 20), Events(subscription));
    }

    [Theory]
    [InlineData(TestTransport.Http11)]
    [InlineData(TestTransport.Http11Tls)]
    [InlineData(TestTransport.Http2Tls)]
    [InlineData(TestTransport.H2c)]
    public async Task ABurstOf10000Messages_InOneRequest_ReachesEachOf8StreamClients_AllInOrder(TestTransport transport)
    {
        const int count = 10_000;
        await using var host = await StartAsync(transport);
        var readers = await OpenStreamsAsync(host, 8);

        await PublishAsync(host, "/burst", $"tag=b&count={count}");

        await Task.WhenAll(readers.Select(r => r.ReadMessagesAsync(count, TimeSpan.FromSeconds(120))));
        foreach (var reader in readers)
        {
            Assert.Equal(Expected("b", count), Data(reader));
            Assert.False(reader.Ended);
            await reader.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(TestTransport.Http11)]
    [InlineData(TestTransport.Http11Tls)]
    [InlineData(TestTransport.Http2Tls)]
    public async Task ABurstOf10000Events_InOneRequest_ReachesEachOf8GraphQLSseClients_AllInOrder(TestTransport transport)
    {
        const int count = 10_000;
        await using var host = await StartAsync(transport);
        var readers = await OpenSubscriptionsAsync(host, 8);

        await PublishAsync(host, "/gql-burst", $"count={count}");

        await Task.WhenAll(readers.Select(r => r.ReadUntilAsync(f => f.Count(m => m.Event is "next" or "complete") >= count, TimeSpan.FromSeconds(120))));
        foreach (var reader in readers)
        {
            Assert.Equal(ExpectedEvents(count), Events(reader));
            await reader.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(TestTransport.Http11)]
    [InlineData(TestTransport.Http11Tls)]
    [InlineData(TestTransport.Http2Tls)]
    public async Task AGraphQLSseClientDroppedForFallingBehind_OverEachTransport_GetsAnOverflowErrorAndComplete(TestTransport transport)
    {
        await using var host = await StartAsync(transport, settings: new Dictionary<string, string?> { ["AiWebEngine:GraphQL:QueueCapacity"] = "16" });
        await using var subscription = (await OpenSubscriptionsAsync(host, 1))[0];

        // The client reads nothing while events of 64 KiB pile up past its transport and its queue.
        for (var i = 0; i < 60 && !host.Logs.Contains("fell 16 frames behind"); i++)
        {
            await PublishAsync(host, "/gql-burst", "count=10&pad=65536");
        }

        Assert.True(host.Logs.Contains("fell 16 frames behind"), "the client is dropped");
        // Read again at once: what was queued, then why the stream ends, then its end.
        Assert.True(await subscription.WaitForEndAsync(TimeSpan.FromSeconds(30)));
        Assert.False(subscription.EndedWithError, "a clean end of the response");
        var frames = subscription.Frames.Where(f => !f.IsComment).ToList();
        Assert.Equal("complete", frames[^1].Event);
        Assert.Equal("next", frames[^2].Event);
        Assert.Contains("SUBSCRIPTION_OVERFLOW", frames[^2].Data, StringComparison.Ordinal);
        Assert.All(frames.SkipLast(2), f => Assert.StartsWith("""{"data":{"burst":""", f.Data, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForwardedHeadersThatSayHttp_OnATlsConnection_LeaveTheStreamIntact()
    {
        // The proxy's header says the client spoke plain HTTP; the connection is TLS all the same.
        await using var host = await StartAsync(TestTransport.Http11Tls, services => services.AddTransient<IStartupFilter>(_ => new Before(app =>
        {
            var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedProto };
            options.KnownIPNetworks.Clear();
            options.KnownProxies.Clear();
            app.UseForwardedHeaders(options);
        })));
        host.Client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "http");
        var readers = await OpenStreamsAsync(host, 2);

        for (var i = 1; i <= 5; i++)
        {
            await PublishAsync(host, "/burst", $"tag=f{i}&count=200");
        }

        foreach (var reader in readers)
        {
            await reader.ReadMessagesAsync(1000, TimeSpan.FromSeconds(60));
            Assert.Equal(Enumerable.Range(1, 5).SelectMany(i => Expected($"f{i}", 200)), Data(reader));
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    public async Task ResponseCompressionOfEventStreams_ByTheHost_DecodesIntact(string encoding)
    {
        await using var host = await StartAsync(TestTransport.Http11, services =>
        {
            services.AddResponseCompression(options =>
            {
                options.MimeTypes = ["text/event-stream"];
                options.Providers.Add<GzipCompressionProvider>();
                options.Providers.Add<BrotliCompressionProvider>();
            });
            services.AddTransient<IStartupFilter>(_ => new Before(app => app.UseResponseCompression()));
        });
        using var client = TestTransports.Client(host.BaseAddress, TestTransport.Http11, handler => handler.AutomaticDecompression = DecompressionMethods.All);
        client.DefaultRequestHeaders.AcceptEncoding.ParseAdd(encoding);
        using (var raw = TestTransports.Client(host.BaseAddress, TestTransport.Http11))
        {
            // The stream is compressed (the decompressing client below drops the header).
            raw.DefaultRequestHeaders.AcceptEncoding.ParseAdd(encoding);
            await using var probe = await SseReader.OpenAsync(raw, "/events");
            Assert.Equal([encoding], probe.Response.Content.Headers.ContentEncoding);
        }

        var readers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => SseReader.OpenAsync(client, "/events")));
        await Task.WhenAll(readers.Select(r => r.ReadUntilAsync(f => f.Count > 0, TimeSpan.FromSeconds(30))));
        await StreamEndpointTests.WaitForConnectionsAsync(host, 2);

        for (var i = 1; i <= 5; i++)
        {
            await PublishAsync(host, "/burst", $"tag=c{i}&count=100");
            foreach (var reader in readers)
            {
                await reader.ReadMessagesAsync(i * 100, TimeSpan.FromSeconds(60));
            }
        }

        foreach (var reader in readers)
        {
            Assert.Equal(Enumerable.Range(1, 5).SelectMany(i => Expected($"c{i}", 100)), Data(reader));
            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task ATlsStreamClient_ThatStopsReadingAndIsDropped_OrResetsMidStream_LogsNoUnhandledException()
    {
        await using var host = await StartAsync(TestTransport.Http11Tls, settings: new Dictionary<string, string?>
        {
            ["AiWebEngine:Streams:QueueCapacity"] = "16",
            ["AiWebEngine:Streams:ReplayDepth"] = "4",
        });
        var limiter = host.Services.GetRequiredService<global::AiWebEngine.Streaming.StreamConnectionLimiter>();

        // A client with a tiny receive buffer that reads the headers and then nothing: the server drops it.
        using var stalled = await TlsRawClient.ConnectAsync(host.BaseAddress, "/events");
        // A client that reads for a while, then resets the connection while the server sends.
        using var resetting = await TlsRawClient.ConnectAsync(host.BaseAddress, "/events");
        await FaultHelpersWait(() => limiter.Open == 2, "both streams to open");
        for (var i = 0; i < 40; i++)
        {
            await PublishAsync(host, "/burst", "tag=big&count=5&pad=32768");
            if (i == 5)
            {
                await resetting.ReadSomeAsync();
                resetting.Reset();
            }
        }

        await FaultHelpersWait(() => limiter.Open == 0, "both streams to end");
        // The stalled one was dropped with every byte it had not read; the server stays healthy.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health")).StatusCode);
        await Task.Delay(500); // a late failure of a connection being torn down would be logged by now
        var errors = host.Logs.Lines.Where(l => l.Level >= LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Category}: {e.Message}")));
    }

    private static bool IsHttp2(TestTransport transport) => TestTransports.IsHttp2(transport);

    /// <summary>Runs <paramref name="configure"/> on the app before the engine's pipeline (as a host's <c>Program</c> would).</summary>
    private sealed class Before(Action<IApplicationBuilder> configure) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            configure(app);
            next(app);
        };
    }

    /// <summary>An HTTP/1.1 stream client over TLS on a raw socket with a small receive buffer.</summary>
    private sealed class TlsRawClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly System.Net.Security.SslStream _tls;

        private TlsRawClient(Socket socket, System.Net.Security.SslStream tls)
        {
            _socket = socket;
            _tls = tls;
        }

        public static async Task<TlsRawClient> ConnectAsync(Uri server, string path)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            await socket.ConnectAsync(server.Host, server.Port);
            var tls = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false, (_, certificate, _, _) => TestTransports.IsTestCertificate(certificate));
            await tls.AuthenticateAsClientAsync("localhost");
            await tls.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAccept: text/event-stream\r\n\r\n"));
            await tls.ReadExactlyAsync(new byte[64]);
            return new TlsRawClient(socket, tls);
        }

        public async Task ReadSomeAsync()
        {
            var buffer = new byte[64 * 1024];
            for (var i = 0; i < 4; i++)
            {
                _ = await _tls.ReadAsync(buffer);
            }
        }

        /// <summary>Closes with a reset (RST), as a client that crashes or loses its network.</summary>
        public void Reset()
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Close();
        }

        public void Dispose()
        {
            _tls.Dispose();
            _socket.Dispose();
        }
    }
}
