using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// <c>context.headers</c> (SPEC §5.3): every transport hands the request's headers (for WebSocket, the
/// upgrade request's), with lower-case names, to query, mutation and subscription resolvers.
/// </summary>
public sealed class GraphQLHeaderTests : IAsyncLifetime
{
    private const string Script = """
        registerGraphQLQuery("headers", "type Query { headers: String }", (args, context) => JSON.stringify(context.headers));
        registerGraphQLMutation("mutateHeaders", "type Mutation { mutateHeaders: String }", (args, context) => JSON.stringify(context.headers));
        registerGraphQLSubscription("watchHeaders", "type Subscription { watchHeaders: String }", (args, context) => JSON.stringify(context.headers));
        """;

    private EngineHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await EngineHost.StartAsync(new Dictionary<string, string> { ["headers.js"] = Script }, kestrel: true);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("POST /graphql", "{ headers }")]
    [InlineData("POST /graphql", "mutation { mutateHeaders }")]
    [InlineData("GET /graphql", "{ headers }")]
    [InlineData("POST /graphql/sse", "{ headers }")]
    [InlineData("POST /graphql/sse", "mutation { mutateHeaders }")]
    [InlineData("POST /graphql/sse", "subscription { watchHeaders }")]
    [InlineData("GET /graphql/sse", "subscription { watchHeaders }")]
    [InlineData("POST /graphql text/event-stream", "subscription { watchHeaders }")]
    [InlineData("WebSocket /graphql", "{ headers }")]
    [InlineData("WebSocket /graphql", "mutation { mutateHeaders }")]
    [InlineData("WebSocket /graphql", "subscription { watchHeaders }")]
    public async Task Resolver_SeesTheRequestHeaders_LowerCased(string transport, string query)
    {
        var result = await ExecuteAsync(transport, query);

        var data = JsonDocument.Parse(result).RootElement.GetProperty("data");
        var headers = JsonDocument.Parse(data.EnumerateObject().Single().Value.GetString()!).RootElement;
        var names = headers.EnumerateObject().Select(h => h.Name).ToList();
        Assert.Equal("acme", headers.GetProperty("x-tenant").GetString());
        Assert.Equal("a, b", headers.GetProperty("x-multi").GetString());
        Assert.Contains("host", names);
        Assert.All(names, n => Assert.Equal(n.ToLowerInvariant(), n));
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    // Runs the operation over the transport with X-Tenant: acme and X-Multi: a, b; returns the first result.
    private async Task<string> ExecuteAsync(string transport, string query)
    {
        var json = JsonSerializer.Serialize(new { query });
        switch (transport)
        {
            case "POST /graphql":
                return await HttpAssert.TextAsync(await _host.Client.SendAsync(WithHeaders(Post("/graphql", json))));
            case "GET /graphql":
                return await HttpAssert.TextAsync(await _host.Client.SendAsync(WithHeaders(new HttpRequestMessage(HttpMethod.Get, "/graphql?query=" + Uri.EscapeDataString(query)))));
            case "POST /graphql/sse":
                return await FirstNextAsync(Post("/graphql/sse", json));
            case "GET /graphql/sse":
                return await FirstNextAsync(new HttpRequestMessage(HttpMethod.Get, "/graphql/sse?query=" + Uri.EscapeDataString(query)));
            case "POST /graphql text/event-stream":
                var request = Post("/graphql", json);
                request.Headers.Accept.ParseAdd("text/event-stream");
                return await FirstNextAsync(request);
            case "WebSocket /graphql":
                return await OverWebSocketAsync(json);
            default:
                throw new ArgumentOutOfRangeException(nameof(transport), transport, null);
        }
    }

    private static HttpRequestMessage Post(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    private static HttpRequestMessage WithHeaders(HttpRequestMessage request)
    {
        request.Headers.Add("X-Tenant", "acme");
        request.Headers.Add("X-Multi", ["a", "b"]);
        return request;
    }

    private async Task<string> FirstNextAsync(HttpRequestMessage request)
    {
        await using var reader = await SseReader.OpenAsync(_host.Client, WithHeaders(request));
        var frame = (await reader.ReadMessagesAsync(1)).First(f => f.Data is not null);
        Assert.Equal("next", frame.Event);
        return frame.Data!;
    }

    private async Task<string> OverWebSocketAsync(string json)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        socket.Options.SetRequestHeader("X-Tenant", "acme");
        socket.Options.SetRequestHeader("X-Multi", "a, b");
        var url = new UriBuilder(new Uri(_host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(url, cancel.Token);

        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, cancel.Token);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync(Encoding.UTF8.GetBytes($$"""{"id":"1","type":"subscribe","payload":{{json}}}"""), WebSocketMessageType.Text, true, cancel.Token);
        var next = JsonDocument.Parse((await WebSocketPair.ReceiveAsync(socket))!).RootElement;
        Assert.Equal("next", next.GetProperty("type").GetString());
        Assert.Equal("1", next.GetProperty("id").GetString());
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancel.Token);
        return next.GetProperty("payload").GetRawText();
    }
}
