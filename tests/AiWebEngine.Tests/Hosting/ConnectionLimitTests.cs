using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using AiWebEngine.Hosting;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Hardening;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Tests.Hosting;

/// <summary>
/// Connections an attacker opens and never finishes (issue 16, point 2): the server caps its
/// connections below the file descriptor limit and closes a connection whose request header does not
/// arrive in time, so that it keeps serving and never runs out of descriptors.
/// </summary>
public sealed class ConnectionLimitTests
{
    private const string Hello = """register("/hello", () => ({ body: "hello" }));""";

    [Fact]
    public async Task SixtyHalfRequests_OverACapOfFifty_TheExtraConnectionsAreClosed_AndTheServerServesWhenTheyGo()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["hello.js"] = Hello },
            new Dictionary<string, string?>
            {
                ["AiWebEngine:Http:MaxConnections"] = "50",
                // Long enough that only the cap closes connections in this test.
                ["AiWebEngine:Http:RequestHeadersTimeout"] = "00:10:00",
            },
            kestrel: true);

        var attackers = await OpenHalfRequestsAsync(host.BaseAddress, 60);
        try
        {
            // The ten over the cap are closed as soon as they are accepted; the fifty under it are held.
            await FaultHelpers.WaitUntilAsync(() => attackers.Count(a => a.Closed.IsCompleted) >= 10, "the connections over the cap to be closed");
            await Task.Delay(500);
            Assert.Equal(10, attackers.Count(a => a.Closed.IsCompleted));

            // A new connection is over the cap too: refused, and the server lives.
            using (var client = new HttpClient { BaseAddress = host.BaseAddress })
            {
                await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/health"));
            }
        }
        finally
        {
            foreach (var attacker in attackers)
            {
                attacker.Dispose();
            }
        }

        // The attacker goes away: the slots free up and the server answers again.
        await FaultHelpers.WaitUntilAsync(async () => await TryGetAsync(host.BaseAddress, "/hello") == "hello", "the server to answer after the idle connections closed");
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task SixtyHalfRequests_OverACapOfFifty_AreClosedByTheHeaderTimeout_AndTheServerServesWhileTheAttackerStays()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["hello.js"] = Hello },
            new Dictionary<string, string?>
            {
                ["AiWebEngine:Http:MaxConnections"] = "50",
                ["AiWebEngine:Http:RequestHeadersTimeout"] = "00:00:01",
            },
            kestrel: true);

        var attackers = await OpenHalfRequestsAsync(host.BaseAddress, 60);
        try
        {
            // Every one of them is closed by the server: over the cap at once, the others when their
            // header has not arrived in time. The attacker closes nothing.
            await Task.WhenAll(attackers.Select(a => a.Closed)).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal("hello", await TryGetAsync(host.BaseAddress, "/hello"));
            Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/health")).StatusCode);
        }
        finally
        {
            foreach (var attacker in attackers)
            {
                attacker.Dispose();
            }
        }
    }

    [Fact]
    public async Task WebSocketsOverTheUpgradedCap_AreRefused_AndTheSlotFreesWhenOneCloses()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["q.js"] = """registerGraphQLQuery("hello", "type Query { hello: String }", () => "hi");""" },
            new Dictionary<string, string?> { ["AiWebEngine:Http:MaxUpgradedConnections"] = "1" },
            kestrel: true);

        using var first = await ConnectWebSocketAsync(host.BaseAddress);
        using (var refused = new ClientWebSocket())
        {
            refused.Options.AddSubProtocol("graphql-transport-ws");
            refused.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri, CancellationToken.None));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.HttpStatusCode);
            Assert.Equal("5", Assert.Single(refused.HttpResponseHeaders!["Retry-After"]));
        }

        // Plain requests do not count against the WebSocket cap.
        var query = await HttpAssert.JsonAsync(await host.Client.PostAsJsonAsync("/graphql", new { query = "{ hello }" }));
        Assert.Equal("hi", query.GetProperty("data").GetProperty("hello").GetString());

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        await FaultHelpers.WaitUntilAsync(async () =>
        {
            try
            {
                using var again = await ConnectWebSocketAsync(host.BaseAddress);
                return true;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, "a WebSocket to be accepted again");
    }

    private static async Task<ClientWebSocket> ConnectWebSocketAsync(Uri address)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(new UriBuilder(new Uri(address, "/graphql")) { Scheme = "ws" }.Uri, cancel.Token);
            await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, cancel.Token);
            Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    [Fact]
    public async Task StreamCap_DefaultsBelowTheConnectionCap()
    {
        await using var host = await EngineHost.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:Http:MaxConnections"] = "50" });

        Assert.Equal(45, host.Services.GetRequiredService<IOptions<StreamOptions>>().Value.MaxConnections);
        Assert.Equal(45, host.Services.GetRequiredService<StreamConnectionLimiter>().Max);
    }

    [Fact]
    public async Task Start_Fails_WhenTheStreamCapLeavesNoConnectionsForRequests_NamingBothSettings()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["AiWebEngine:Http:MaxConnections"] = "50",
            ["AiWebEngine:Streams:MaxConnections"] = "50",
        }));

        Assert.Contains("AiWebEngine:Streams:MaxConnections (50) must be below AiWebEngine:Http:MaxConnections (50)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AiWebEngine:Http:MaxConnections", "1")]
    [InlineData("AiWebEngine:Http:MaxUpgradedConnections", "0")]
    [InlineData("AiWebEngine:Http:RequestHeadersTimeout", "00:00:00")]
    [InlineData("AiWebEngine:Http:KeepAliveTimeout", "00:00:00")]
    public async Task Start_Fails_OnAnOutOfRangeConnectionSetting_NamingIt(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(settings: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(key.Split(':')[^1], error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20_000L, 13_500, 4_500, 12_150)]
    [InlineData(1_024L, 576, 192, 519)]
    [InlineData(1_048_576L, 707_790, 235_929, 637_011)]
    public void Defaults_AreDerivedFromTheDescriptorLimit_LeavingAReserve(long limit, int connections, int upgraded, int streams)
    {
        var limits = new ConnectionLimits(new HttpOptions(), limit);

        Assert.Equal(connections, limits.MaxConnections);
        Assert.Equal(upgraded, limits.MaxUpgradedConnections);
        Assert.Equal(streams, limits.DefaultStreamConnections);
        Assert.True(connections + upgraded <= limit - 256);
    }

    [Fact]
    public void NoDescriptorLimit_NoCap_AndStreamsKeepTheirOldDefault()
    {
        var limits = new ConnectionLimits(new HttpOptions(), descriptorLimit: null);

        Assert.Null(limits.MaxConnections);
        Assert.Null(limits.MaxUpgradedConnections);
        Assert.Equal(20_000, limits.DefaultStreamConnections);
    }

    [Fact]
    public void DescriptorLimit_IsRaisedToTheHardLimit_OnLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // RLIMIT_NOFILE is read on Linux only.
        }

        var hard = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];

        Assert.NotNull(FileDescriptorLimit.Current);
        Assert.True(FileDescriptorLimit.Current >= FileDescriptorLimit.AtStart);
        if (hard != "unlimited")
        {
            Assert.Equal(long.Parse(hard, System.Globalization.CultureInfo.InvariantCulture), FileDescriptorLimit.Current);
        }
    }

    private static async Task<string?> TryGetAsync(Uri address, string path)
    {
        // A fresh client each time: a connection the server closed at the cap is not reused.
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            var response = await client.GetAsync(path);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task<List<HalfRequest>> OpenHalfRequestsAsync(Uri address, int count)
    {
        var opened = new List<HalfRequest>();
        for (var i = 0; i < count; i++)
        {
            opened.Add(await HalfRequest.OpenAsync(address));
        }

        return opened;
    }

    /// <summary>A raw connection that sends half a request line, then nothing; <see cref="Closed"/> completes when the server closes it.</summary>
    private sealed class HalfRequest : IDisposable
    {
        private readonly Socket _socket;

        private HalfRequest(Socket socket)
        {
            _socket = socket;
            Closed = WaitForCloseAsync();
        }

        public Task Closed { get; }

        public static async Task<HalfRequest> OpenAsync(Uri address)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, address.Port);
            try
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes("GET /hel"), SocketFlags.None);
            }
            catch (SocketException)
            {
                // Already closed by the server (over the cap): Closed says so.
            }

            return new HalfRequest(socket);
        }

        private async Task WaitForCloseAsync()
        {
            var buffer = new byte[1024];
            try
            {
                // The server may answer 408 before it closes; read to the end.
                while (await _socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Reset by the server, or disposed by the test.
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
