using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.RateLimiting;

/// <summary>
/// Issue 18, point 8, on <c>graphql-transport-ws</c> over a real Kestrel socket: a <c>subscribe</c> over a
/// limit gets an <c>error</c> for its id while the socket's other subscriptions deliver; a socket that
/// sends too fast is closed with 4429; an upgrade over the client's connect budget is a 429.
/// </summary>
public sealed class WebSocketRateLimitRealSocketTests
{
    private const string Script = """
        registerGraphQLSubscription("ticks", "type Subscription { ticks: String }");
        register("/tick", (req) => ({ body: String(sendSubscriptionMessage("ticks", req.query.text || "t")) }), "POST");
        """;

    private const string Attacker = "203.0.113.7";
    private const string Bystander = "198.51.100.9";

    private static Task<EngineHost> StartAsync(Dictionary<string, string?> settings) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["ws.js"] = Script }, settings, kestrel: true, services: TestCallers.Add);

    private static async Task<ClientWebSocket> ConnectAsync(EngineHost host, string address, bool init = true)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        socket.Options.SetRequestHeader(TestCallers.AddressHeader, address);
        socket.Options.CollectHttpResponseDetails = true;
        await socket.ConnectAsync(new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri, CancellationToken.None);
        if (init)
        {
            await SendAsync(socket, """{"type":"connection_init"}""");
            Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        }

        return socket;
    }

    private static Task SendAsync(WebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    private static Task SubscribeAsync(WebSocket socket, string id) =>
        SendAsync(socket, $$$"""{"id":"{{{id}}}","type":"subscribe","payload":{"query":"subscription { ticks }"}}""");

    private static async Task TickUntilAsync(EngineHost host, int subscribers, string text)
    {
        for (var i = 0; i < 200; i++)
        {
            var sent = await HttpAssert.TextAsync(await host.Client.SendAsync(TestCallers.From(HttpMethod.Post, "/tick?text=" + text, Bystander)));
            if (sent == subscribers.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                return;
            }

            await Task.Delay(25);
        }

        Assert.Fail($"never {subscribers} subscribers");
    }

    private static async Task<JsonElement> ReceiveJsonAsync(WebSocket socket)
    {
        var text = await WebSocketPair.ReceiveAsync(socket);
        Assert.NotNull(text);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task SubscribeOverTheSocketsLimit_GetsAnErrorForThatId_AndTheOtherSubscriptionsDeliver()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:WebSocketSubscriptions:PermitLimit"] = "2",
            ["AiWebEngine:RateLimits:WebSocketSubscriptions:Window"] = "00:01:00",
        });
        using var socket = await ConnectAsync(host, Attacker);

        await SubscribeAsync(socket, "1");
        await SubscribeAsync(socket, "2");
        await SubscribeAsync(socket, "3");
        var refused = await ReceiveJsonAsync(socket);
        Assert.Equal("error", refused.GetProperty("type").GetString());
        Assert.Equal("3", refused.GetProperty("id").GetString());
        var error = refused.GetProperty("payload")[0];
        Assert.Equal("RATE_LIMITED", error.GetProperty("extensions").GetProperty("code").GetString());
        Assert.Contains("AiWebEngine:RateLimits:WebSocketSubscriptions", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The socket and its two subscriptions go on.
        await TickUntilAsync(host, 2, "after");
        var ids = new HashSet<string>();
        for (var i = 0; i < 2; i++)
        {
            var next = await ReceiveJsonAsync(socket);
            Assert.Equal("next", next.GetProperty("type").GetString());
            Assert.Equal("after", next.GetProperty("payload").GetProperty("data").GetProperty("ticks").GetString());
            ids.Add(next.GetProperty("id").GetString()!);
        }

        Assert.Equal(["1", "2"], ids.Order());
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task SubscribeOverTheClientsGraphQLOperations_GetsAnError_AndAnotherClientSubscribes()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:GraphQLOperations:PermitLimit"] = "1",
            ["AiWebEngine:RateLimits:GraphQLOperations:Window"] = "00:01:00",
        });
        using var socket = await ConnectAsync(host, Attacker);
        await SubscribeAsync(socket, "1");
        await SubscribeAsync(socket, "2");
        var refused = await ReceiveJsonAsync(socket);
        Assert.Equal("2", refused.GetProperty("id").GetString());
        Assert.Contains("AiWebEngine:RateLimits:GraphQLOperations", refused.GetProperty("payload")[0].GetProperty("message").GetString(), StringComparison.Ordinal);

        using var other = await ConnectAsync(host, Bystander);
        await SubscribeAsync(other, "1");
        await TickUntilAsync(host, 2, "x");
        Assert.Equal("next", (await ReceiveJsonAsync(socket)).GetProperty("type").GetString());
        Assert.Equal("next", (await ReceiveJsonAsync(other)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task MessagesFasterThanTheLimit_CloseTheSocketWith4429_AndNoOtherSocket()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:WebSocketMessages:PermitLimit"] = "4",
            ["AiWebEngine:RateLimits:WebSocketMessages:Window"] = "00:01:00",
        });
        using var flooder = await ConnectAsync(host, Attacker);
        using var calm = await ConnectAsync(host, Attacker);

        // connection_init was the first of four; three pings are answered, the fifth message closes.
        for (var i = 0; i < 3; i++)
        {
            await SendAsync(flooder, """{"type":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await WebSocketPair.ReceiveAsync(flooder));
        }

        await SendAsync(flooder, """{"type":"ping"}""");
        Assert.Null(await WebSocketPair.ReceiveAsync(flooder));
        Assert.Equal(4429, (int)flooder.CloseStatus!);
        Assert.Contains("AiWebEngine:RateLimits:WebSocketMessages", flooder.CloseStatusDescription, StringComparison.Ordinal);

        await SendAsync(calm, """{"type":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await WebSocketPair.ReceiveAsync(calm));
    }

    [Fact]
    public async Task UpgradeOverTheConnectBudget_Is429_AndTheOpenSocketGoesOn()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:RateLimits:StreamConnects:PermitLimit"] = "1",
            ["AiWebEngine:RateLimits:StreamConnects:Window"] = "00:01:00",
        });
        using var open = await ConnectAsync(host, Attacker);

        using var refused = new ClientWebSocket();
        refused.Options.AddSubProtocol("graphql-transport-ws");
        refused.Options.SetRequestHeader(TestCallers.AddressHeader, Attacker);
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.HttpStatusCode);
        Assert.True(refused.HttpResponseHeaders!.ContainsKey("Retry-After"));

        await SendAsync(open, """{"type":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await WebSocketPair.ReceiveAsync(open));
        using var bystander = await ConnectAsync(host, Bystander);
        Assert.Equal(WebSocketState.Open, bystander.State);
    }
}
