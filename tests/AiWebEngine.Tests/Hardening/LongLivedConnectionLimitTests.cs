using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Issue 16, point 7: every long-lived connection (a stream, <c>/graphql/subscription/&lt;name&gt;</c>,
/// a GraphQL event stream on <c>/graphql/sse</c> or <c>/graphql</c>, a GraphQL WebSocket) counts against
/// <c>Streams:MaxConnections</c>, and one WebSocket runs at most <c>GraphQL:MaxOperationsPerSocket</c>
/// operations at once. On a real Kestrel socket.
/// </summary>
public sealed class LongLivedConnectionLimitTests
{
    private const string Script = """
        let subscribed = 0;
        registerWebStream("/feed");
        registerGraphQLQuery("subscribed", "type Query { subscribed: Int }", () => subscribed);
        registerGraphQLSubscription("ticks", "type Subscription { ticks: String }", () => { subscribed++; });
        register("/tick", (req) => ({ body: String(sendSubscriptionMessage("ticks", req.query.text || "t")) }), "POST");
        """;

    private static Task<EngineHost> StartAsync(Dictionary<string, string?> settings) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["limits.js"] = Script }, settings, kestrel: true);

    private static HttpRequestMessage GraphQLSse(string path, string accept = "text/event-stream") =>
        new(HttpMethod.Post, path)
        {
            Content = new StringContent("""{"query":"subscription { ticks }"}""", Encoding.UTF8, "application/json"),
            Headers = { { "Accept", accept } },
        };

    private static Uri WebSocketUri(EngineHost host) => new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri;

    private static async Task<ClientWebSocket> ConnectAsync(EngineHost host, bool collectDetails = false)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        socket.Options.CollectHttpResponseDetails = collectDetails;
        await socket.ConnectAsync(WebSocketUri(host), CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(WebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    private static async Task<ClientWebSocket> InitAsync(EngineHost host)
    {
        var socket = await ConnectAsync(host);
        await SendAsync(socket, """{"type":"connection_init"}""");
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        return socket;
    }

    /// <summary>A WebSocket upgrade as raw HTTP, so the refusal's status and JSON body can be read.</summary>
    private static HttpRequestMessage Upgrade() => new(HttpMethod.Get, "/graphql")
    {
        Headers =
        {
            { "Connection", "Upgrade" },
            { "Upgrade", "websocket" },
            { "Sec-WebSocket-Version", "13" },
            { "Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()) },
            { "Sec-WebSocket-Protocol", "graphql-transport-ws" },
        },
    };

    private static async Task WaitForOpenAsync(EngineHost host, int expected)
    {
        var limiter = host.Services.GetRequiredService<StreamConnectionLimiter>();
        for (var i = 0; i < 400 && limiter.Open != expected; i++)
        {
            await Task.Delay(25);
        }

        Assert.Equal(expected, limiter.Open);
    }

    private static async Task AssertEveryKindRefusedAsync(EngineHost host)
    {
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/feed"), HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/graphql/subscription/ticks"), HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(GraphQLSse("/graphql/sse")), HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(GraphQLSse("/graphql")), HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        await HttpAssert.ErrorAsync(await host.Client.SendAsync(GraphQLSse("/graphql", SampleAccept)), HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        var upgrade = await HttpAssert.ErrorAsync(await host.Client.SendAsync(Upgrade()), HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        Assert.Contains("AiWebEngine:Streams:MaxConnections", upgrade.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri(host), CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, socket.HttpStatusCode);
    }

    // urql's Accept: JSON first, yet a subscription goes to the event stream and so needs a slot.
    private const string SampleAccept = "application/graphql-response+json, application/json, text/event-stream";

    private static async Task<int> SubscribedAsync(EngineHost host)
    {
        var root = await HttpAssert.JsonAsync(await host.Client.PostAsync("/graphql",
            new StringContent("""{"query":"{ subscribed }"}""", Encoding.UTF8, "application/json")));
        return root.GetProperty("data").GetProperty("subscribed").GetInt32();
    }

    [Fact]
    public async Task MaxConnections_CountsStreamsGraphQLEventStreamsAndWebSockets_AndRefusesAThirdOfEveryKind()
    {
        await using var host = await StartAsync(new() { ["AiWebEngine:Streams:MaxConnections"] = "2" });

        // Two plain streams take both slots.
        var feed = await SseReader.OpenAsync(host.Client, "/feed");
        await using var subscriptionStream = await SseReader.OpenAsync(host.Client, "/graphql/subscription/ticks");
        await feed.ReadUntilAsync(f => f.Count > 0);
        await subscriptionStream.ReadUntilAsync(f => f.Count > 0);
        await AssertEveryKindRefusedAsync(host);

        // A graphql-sse subscription and a WebSocket take them: the plain kinds are refused too.
        await feed.DisposeAsync();
        await subscriptionStream.DisposeAsync();
        await WaitForOpenAsync(host, 0);
        await using var sse = await SseReader.OpenAsync(host.Client, GraphQLSse("/graphql/sse"));
        using var socket = await InitAsync(host);
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        await WaitForOpenAsync(host, 2);
        await AssertEveryKindRefusedAsync(host);

        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));
        var subscribedWhileFull = await SubscribedAsync(host);

        Assert.Equal(2, health.GetProperty("streams").GetProperty("connections").GetInt32());
        // Only the subscriptions that got a slot called the resolver: the EventSource one (every transport runs
        // the resolver since issue 18) and the graphql-sse one; none of the refused ones.
        Assert.Equal(2, subscribedWhileFull);

        // Leaving frees the slots.
        await sse.DisposeAsync();
        socket.Abort();
        await WaitForOpenAsync(host, 0);
        await using var again = await SseReader.OpenAsync(host.Client, GraphQLSse("/graphql"));
        Assert.Equal(HttpStatusCode.OK, again.Response.StatusCode);
        Assert.Equal("text/event-stream", again.Response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task OneSocket_RunsOneHundredOperations_AndThe101stGetsAnErrorForItsId_WhileTheSocketAndTheOthersLive()
    {
        await using var host = await StartAsync(new());
        using var socket = await InitAsync(host);

        for (var i = 0; i <= 100; i++)
        {
            await SendAsync(socket, $$$"""{"id":"s{{{i}}}","type":"subscribe","payload":{"query":"subscription { ticks }"}}""");
        }

        var refused = await WebSocketPair.ReceiveAsync(socket);
        Assert.StartsWith("""{"id":"s100","type":"error","payload":[{"message":"This socket runs its maximum of 100 operations at once (AiWebEngine:GraphQL:MaxOperationsPerSocket)""", refused, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"MAX_OPERATIONS_EXCEEDED\"", refused, StringComparison.Ordinal);

        // Every one of the first 100 receives events (published until each has seen one: their
        // subscriptions are made asynchronously after the subscribe messages were read).
        var live = await ReceiveNextFromEachAsync(host, socket, Enumerable.Range(0, 100).Select(i => "s" + i));
        Assert.Equal(100, live.Count);
        Assert.Equal(100, await SubscribedAsync(host));

        // Completing one frees a slot on the same socket.
        await SendAsync(socket, """{"id":"s0","type":"complete"}""");
        await SendAsync(socket, """{"id":"s100","type":"subscribe","payload":{"query":"subscription { ticks }"}}""");
        var more = await ReceiveNextFromEachAsync(host, socket, ["s100"]);
        Assert.Equal(["s100"], more);
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    /// <summary>Publishes until every id in <paramref name="ids"/> has had a <c>next</c>; fails on any message other than <c>next</c>.</summary>
    /// <remarks>
    /// A receive is never cancelled to wait less: cancelling a WebSocket receive aborts the socket. One
    /// receive stays pending across rounds instead, raced against a quiet period after each publish.
    /// </remarks>
    private static async Task<HashSet<string>> ReceiveNextFromEachAsync(EngineHost host, WebSocket socket, IEnumerable<string> ids)
    {
        var waiting = ids.ToHashSet();
        var seen = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        Task<string?>? pending = null;
        while (!waiting.IsSubsetOf(seen))
        {
            Assert.True(DateTime.UtcNow < deadline, $"still waiting for {string.Join(", ", waiting.Except(seen).Take(10))}");
            (await host.Client.PostAsync("/tick?text=x", null)).EnsureSuccessStatusCode();
            var quiet = Task.Delay(TimeSpan.FromMilliseconds(500));
            while (!waiting.IsSubsetOf(seen))
            {
                pending ??= WebSocketPair.ReceiveAsync(socket, TimeSpan.FromSeconds(90));
                if (await Task.WhenAny(pending, quiet) == quiet)
                {
                    // Nothing more for now: publish again, still waiting on the same receive.
                    break;
                }

                var message = await pending;
                pending = null;
                Assert.NotNull(message);
                var root = JsonDocument.Parse(message).RootElement;
                Assert.Equal("next", root.GetProperty("type").GetString());
                seen.Add(root.GetProperty("id").GetString()!);
            }
        }

        return seen.Intersect(waiting).ToHashSet();
    }
}
