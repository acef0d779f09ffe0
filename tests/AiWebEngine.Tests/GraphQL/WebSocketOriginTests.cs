using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// Cross-site WebSocket hijacking: a page of another origin must not open a GraphQL WebSocket with the
/// user's cookies. Over a real Kestrel socket, with the Origin header a browser would send.
/// </summary>
public sealed class WebSocketOriginTests
{
    private const string Script = """registerGraphQLQuery("whoami", "type Query { whoami: String }", (args, context) => context.headers.cookie ?? "anonymous");""";

    private static Task<EngineHost> StartAsync(params string[] allowedOrigins)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < allowedOrigins.Length; i++)
        {
            settings[$"AiWebEngine:GraphQL:AllowedOrigins:{i}"] = allowedOrigins[i];
        }

        return EngineHost.StartAsync(new Dictionary<string, string> { ["whoami.js"] = Script }, settings, kestrel: true);
    }

    private static Uri SocketUrl(EngineHost host) => new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri;

    /// <summary>Opens a graphql-transport-ws socket (with a cookie, as a browser would) and runs <c>{ whoami }</c>; the handshake's status when refused.</summary>
    private static async Task<(HttpStatusCode Status, string? Result)> ConnectAsync(EngineHost host, string? origin)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Cookie", "session=victim");
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await socket.ConnectAsync(SocketUrl(host), cancel.Token);
        }
        catch (WebSocketException)
        {
            return (socket.HttpStatusCode, null);
        }

        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, cancel.Token);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket, TimeSpan.FromSeconds(30)));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"{ whoami }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, cancel.Token);
        var next = await WebSocketPair.ReceiveAsync(socket, TimeSpan.FromSeconds(30));
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancel.Token);
        return (socket.HttpStatusCode, next);
    }

    [Fact]
    public async Task UpgradeFromAnotherSitesPage_Gets403_AndNoResolverSeesTheCookie()
    {
        await using var host = await StartAsync();

        var (status, result) = await ConnectAsync(host, "http://evil.example");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Null(result);
        Assert.True(host.Logs.Contains("refused: its Origin is not allowed"));
    }

    [Fact]
    public async Task UpgradeFromAnotherSitesPage_IsAnsweredWithTheJsonError_BeforeTheHandshake()
    {
        await using var host = await StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{host.BaseAddress.Port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n" +
            "Origin: http://evil.example\r\nCookie: session=victim\r\nConnection: close\r\n\r\n"));

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("HTTP/1.1 403", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Sec-WebSocket-Accept", response, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("application/json", response, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"FORBIDDEN\"", response, StringComparison.Ordinal);
        Assert.Contains("AiWebEngine:GraphQL:AllowedOrigins", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null")] // a sandboxed iframe or a file:// page
    [InlineData("http://127.0.0.1:1")] // the same host on another port is another origin
    [InlineData("http://localhost.evil.example")]
    public async Task UpgradeFromOtherOrigins_Gets403(string origin)
    {
        await using var host = await StartAsync();

        Assert.Equal(HttpStatusCode.Forbidden, (await ConnectAsync(host, origin)).Status);
    }

    [Fact]
    public async Task UpgradeFromTheServersOwnOrigin_IsAccepted()
    {
        await using var host = await StartAsync();

        var (status, result) = await ConnectAsync(host, $"http://127.0.0.1:{host.BaseAddress.Port}");

        Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
        Assert.Contains("\"type\":\"next\"", result, StringComparison.Ordinal);
        // The resolver ran, and saw the upgrade's headers without its credential (ExposeCredentials is off).
        Assert.DoesNotContain("session=victim", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpgradeWithoutOrigin_FromANonBrowserClient_IsAccepted()
    {
        await using var host = await StartAsync();

        var (status, result) = await ConnectAsync(host, origin: null);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
        Assert.Contains("\"next\"", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowedOrigins_LetsTheListedOriginsIn_AndNoOther()
    {
        await using var host = await StartAsync("https://app.example", "HTTP://Localhost:5173");

        Assert.Equal(HttpStatusCode.SwitchingProtocols, (await ConnectAsync(host, "https://app.example")).Status);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, (await ConnectAsync(host, "http://localhost:5173")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await ConnectAsync(host, "http://app.example")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await ConnectAsync(host, "http://evil.example")).Status);
    }

    [Fact]
    public async Task AllowedOrigins_Star_LetsEveryOriginIn()
    {
        await using var host = await StartAsync("*");

        Assert.Equal(HttpStatusCode.SwitchingProtocols, (await ConnectAsync(host, "http://evil.example")).Status);
    }

    [Theory]
    [InlineData("app.example")]
    [InlineData("https://app.example/path")]
    [InlineData("ftp://app.example")]
    [InlineData("https://user@app.example")]
    public async Task AllowedOrigins_ThatIsNotAnOrigin_StopsTheServerAtStart_NamingTheKey(string origin)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(origin));

        Assert.Contains("AiWebEngine:GraphQL:AllowedOrigins", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GraphQLWsClient_FromNpm_WithAnotherSitesOrigin_IsRefused_AndWithoutOrigin_IsServed()
    {
        var (host, schema) = await TestSchema.StartAsync(kestrel: true);
        await using var _ = host;
        var url = SocketUrl(host).ToString();

        await using (var refused = NodeClient.Start("graphql-ws-client.mjs", "--origin=http://evil.example", url, "1"))
        {
            Assert.Equal(1, await refused.WaitForExitAsync());
            Assert.DoesNotContain("connected", refused.Lines);
            Assert.Contains(refused.Lines, l => l.Contains("403", StringComparison.Ordinal));
        }

        await using var served = NodeClient.Start("graphql-ws-client.mjs", $"--origin=http://127.0.0.1:{host.BaseAddress.Port}", url, "1", "leave");
        await served.WaitForLineAsync(l => l.StartsWith("{\"query\"", StringComparison.Ordinal));
        await schema.Events.WaitForSubscribersAsync(1);
        schema.Events.Publish("e1");
        Assert.True(await served.WaitForExitAsync() == 0, served.Output + served.Errors);
        Assert.Contains("left", served.Lines);
    }
}
