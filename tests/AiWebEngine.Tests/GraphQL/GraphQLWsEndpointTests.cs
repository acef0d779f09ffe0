using System.Net.WebSockets;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>WebSocket upgrades on /graphql, in-process.</summary>
public sealed class GraphQLWsEndpointTests
{
    [Fact]
    public async Task Upgrade_WithGraphQLTransportWs_ServesTheProtocol()
    {
        var (host, _) = await TestSchema.StartAsync();
        await using var _ = host;
        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        using var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);

        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"{ hello }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);

        Assert.Equal("""{"id":"1","type":"next","payload":{"data":{"hello":"Hello, world!"}}}""", await WebSocketPair.ReceiveAsync(socket));
        Assert.Equal("graphql-transport-ws", socket.SubProtocol);
    }

    [Theory]
    [InlineData("graphql-ws")]
    [InlineData(null)]
    public async Task Upgrade_WithAnotherSubprotocol_Closes4406(string? subProtocol)
    {
        var (host, _) = await TestSchema.StartAsync();
        await using var _ = host;
        var client = host.CreateWebSocketClient();
        if (subProtocol is not null)
        {
            client.SubProtocols.Add(subProtocol);
        }

        using var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);

        Assert.Null(await WebSocketPair.ReceiveAsync(socket));
        Assert.Equal((WebSocketCloseStatus)4406, socket.CloseStatus);
    }
}
