using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.GraphQL;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using GraphQL;
using GraphQL.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>Clients of the same script subscription operation share one execution per event and one encoded frame.</summary>
public sealed class SharedSubscriptionTests : IAsyncLifetime
{
    private const string Script = """
        let subscribed = 0;
        registerGraphQLSubscription("ticks", `
          type Subscription { ticks(room: String): Tick }
          type Tick { n: Int room: String }`,
          (args) => ({ n: -(++subscribed), room: args.room || "first" }));
        register("/tick", (req) => {
          const filter = req.query.room ? { room: req.query.room } : undefined;
          return { body: String(sendSubscriptionMessage("ticks", { n: Number(req.query.n), room: req.query.room || "all" }, filter)) };
        }, "POST");
        """;

    private const string Topic = "graphql:ticks";

    private EngineHost _host = null!;

    public async Task InitializeAsync() => _host = await EngineHost.StartAsync(new Dictionary<string, string> { ["ticks.js"] = Script });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private GraphQLOperations Operations => _host.Services.GetRequiredService<GraphQLOperations>();

    private Task<SseReader> SubscribeAsync(string query) =>
        SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post("/graphql/sse", JsonSerializer.Serialize(new { query })));

    private async Task<int> TickAsync(int n, string? room = null)
    {
        var response = await _host.Client.PostAsync($"/tick?n={n}" + (room is null ? "" : $"&room={room}"), null);
        response.EnsureSuccessStatusCode();
        return int.Parse(await response.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task WaitForClientsAsync(int clients)
    {
        var bus = _host.Services.GetRequiredService<ITopicBus>();
        for (var i = 0; i < 500 && (bus.GetStats(Topic)?.Subscribers ?? 0) != clients; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(clients, bus.GetStats(Topic)?.Subscribers ?? 0);
    }

    private static List<string> Data(SseReader reader) =>
        [.. reader.Messages.Where(m => m.Event == "next").Select(m => m.Data!)];

    [Fact]
    public async Task IdenticalOperations_ShareOneExecutionPerEvent_EachClientGetsItsOwnFirstEvent()
    {
        const string Query = "subscription { ticks { n room } }";
        await using var a = await SubscribeAsync(Query);
        await using var b = await SubscribeAsync(Query);
        await using var c = await SubscribeAsync(Query);
        await using var other = await SubscribeAsync("subscription { ticks { n } }");
        await WaitForClientsAsync(4);
        var executedBefore = Operations.EventsExecuted;

        Assert.Equal(2, Operations.SharedExecutions);
        Assert.Equal(4, await TickAsync(1));
        Assert.Equal(4, await TickAsync(2));
        foreach (var reader in new[] { a, b, c, other })
        {
            await reader.ReadMessagesAsync(3);
        }

        Assert.Equal(4, Operations.EventsExecuted - executedBefore);
        var firsts = new[] { a, b, c }.Select(r => Data(r)[0]).Order().ToList();
        Assert.Equal(["{\"data\":{\"ticks\":{\"n\":-1,\"room\":\"first\"}}}", "{\"data\":{\"ticks\":{\"n\":-2,\"room\":\"first\"}}}", "{\"data\":{\"ticks\":{\"n\":-3,\"room\":\"first\"}}}"], firsts);
        foreach (var reader in new[] { a, b, c })
        {
            Assert.Equal(["{\"data\":{\"ticks\":{\"n\":1,\"room\":\"all\"}}}", "{\"data\":{\"ticks\":{\"n\":2,\"room\":\"all\"}}}"], Data(reader).Skip(1));
        }

        Assert.Equal(["{\"data\":{\"ticks\":{\"n\":-4}}}", "{\"data\":{\"ticks\":{\"n\":1}}}", "{\"data\":{\"ticks\":{\"n\":2}}}"], Data(other));
    }

    [Fact]
    public async Task DifferentVariables_AreDifferentExecutions_AndFiltersStillApply()
    {
        const string Query = "subscription Room($room: String) { ticks(room: $room) { n room } }";
        await using var roomA = await SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post("/graphql/sse",
            JsonSerializer.Serialize(new { query = Query, variables = new { room = "a" } })));
        await using var roomA2 = await SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post("/graphql/sse",
            JsonSerializer.Serialize(new { query = Query, variables = new { room = "a" } })));
        await using var roomB = await SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post("/graphql/sse",
            JsonSerializer.Serialize(new { query = Query, variables = new { room = "b" } })));
        await WaitForClientsAsync(3);

        Assert.Equal(2, Operations.SharedExecutions);
        Assert.Equal(2, await TickAsync(7, "a"));
        Assert.Equal(1, await TickAsync(8, "b"));
        await roomA.ReadMessagesAsync(2);
        await roomA2.ReadMessagesAsync(2);
        await roomB.ReadMessagesAsync(2);

        Assert.Equal("{\"data\":{\"ticks\":{\"n\":7,\"room\":\"a\"}}}", Data(roomA)[1]);
        Assert.Equal("{\"data\":{\"ticks\":{\"n\":7,\"room\":\"a\"}}}", Data(roomA2)[1]);
        Assert.Equal("{\"data\":{\"ticks\":{\"n\":8,\"room\":\"b\"}}}", Data(roomB)[1]);
        Assert.Equal(2, Data(roomA).Count);
    }

    [Fact]
    public async Task WebSocketAndSseClients_OfTheSameOperation_ShareTheExecution()
    {
        await using var sse = await SubscribeAsync("subscription { ticks { n } }");
        var client = _host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        using var socket = await client.ConnectAsync(new Uri(_host.BaseAddress, "/graphql"), CancellationToken.None);
        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"s1","type":"subscribe","payload":{"query":"subscription { ticks { n } }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"id":"s1","type":"next","payload":{"data":{"ticks":{"n":-2}}}}""", await WebSocketPair.ReceiveAsync(socket));
        await WaitForClientsAsync(2);

        Assert.Equal(1, Operations.SharedExecutions);
        Assert.Equal(2, await TickAsync(5));

        Assert.Equal("""{"id":"s1","type":"next","payload":{"data":{"ticks":{"n":5}}}}""", await WebSocketPair.ReceiveAsync(socket));
        await sse.ReadMessagesAsync(2);
        Assert.Equal("{\"data\":{\"ticks\":{\"n\":5}}}", Data(sse)[1]);
    }

    [Fact]
    public async Task TheEncodedEvent_IsOneObject_ForEveryClient()
    {
        var schema = _host.Services.GetRequiredService<IGraphQLSchemaProvider>().Current;
        var request = new GraphQLRequest { Query = "subscription { ticks { n } }" };
        var first = new Recorder();
        var second = new Recorder();
        var one = await Operations.RunAsync(schema, request, OperationKinds.All, _host.Services, null, new HeaderDictionary(), CancellationToken.None);
        var two = await Operations.RunAsync(schema, request, OperationKinds.All, _host.Services, null, new HeaderDictionary(), CancellationToken.None);
        using var subscriptionOne = one.Events!.Subscribe(first);
        using var subscriptionTwo = two.Events!.Subscribe(second);
        await WaitForClientsAsync(2);

        await TickAsync(9);
        await first.WaitForAsync(2);
        await second.WaitForAsync(2);

        Assert.Same(first.Events[1], second.Events[1]);
        Assert.NotSame(first.Events[0], second.Events[0]); // each client's own first event
        Assert.True(first.Events[1].SseFrame.Equals(second.Events[1].SseFrame), "the graphql-sse frame is encoded once");
        Assert.Equal("event: next\ndata: {\"data\":{\"ticks\":{\"n\":9}}}\n\n", System.Text.Encoding.UTF8.GetString(first.Events[1].SseFrame.Span));
    }

    [Fact]
    public async Task ClientsLeaving_ReleaseTheSharedExecution_WhenTheLastOneGoes()
    {
        const string Query = "subscription { ticks { n } }";
        var a = await SubscribeAsync(Query);
        await using var b = await SubscribeAsync(Query);
        await WaitForClientsAsync(2);

        await a.DisposeAsync();
        await WaitForClientsAsync(1);
        Assert.Equal(1, await TickAsync(3));
        await b.ReadMessagesAsync(2);
        Assert.Equal(1, Operations.SharedExecutions);

        await b.DisposeAsync();
        await WaitForClientsAsync(0);
        Assert.Equal(0, Operations.SharedExecutions);
        Assert.Equal(0, await TickAsync(4));
    }

    [Fact]
    public async Task DeletingTheScript_CompletesEverySharedClient()
    {
        const string Query = "subscription { ticks { n } }";
        await using var a = await SubscribeAsync(Query);
        await using var b = await SubscribeAsync(Query);
        await WaitForClientsAsync(2);

        await _host.DeleteScriptAsync("ticks.js");

        Assert.True(await a.WaitForEndAsync());
        Assert.True(await b.WaitForEndAsync());
        Assert.EndsWith("event: complete\ndata: \n\n", a.Raw, StringComparison.Ordinal);
        Assert.EndsWith("event: complete\ndata: \n\n", b.Raw, StringComparison.Ordinal);
        Assert.Equal(0, Operations.SharedExecutions);
    }

    [Fact]
    public async Task ASharedClientThatStopsReading_IsDisconnected_AndDoesNotDelayTheOthers()
    {
        const string BigScript = """
            registerGraphQLSubscription("big", "type Subscription { big: String }", null);
            const chunk = "x".repeat(64 * 1024);
            register("/big", (req) => {
              for (let i = 0; i < Number(req.query.count); i++) sendSubscriptionMessage("big", chunk);
              return { body: "ok" };
            }, "POST");
            """;
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["big.js"] = BigScript },
            new Dictionary<string, string?> { ["AiWebEngine:GraphQL:QueueCapacity"] = "16" },
            kestrel: true);
        const string Body = """{"query":"subscription { big }"}""";
        using var stalled = new TcpClient();
        stalled.ReceiveBufferSize = 4096;
        await stalled.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        var stalledStream = stalled.GetStream();
        await stalledStream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /graphql/sse HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {Body.Length}\r\n\r\n{Body}"));
        _ = await stalledStream.ReadAsync(new byte[256]);
        await using var reader = await SseReader.OpenAsync(host.Client, GraphQLHttpTests.Post("/graphql/sse", Body));
        var bus = host.Services.GetRequiredService<ITopicBus>();
        for (var i = 0; i < 500 && bus.GetStats("graphql:big")?.Subscribers != 2; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, host.Services.GetRequiredService<GraphQLOperations>().SharedExecutions);

        // 400 events of 64 KiB: far more than the stalled socket's buffers and queue hold.
        for (var i = 1; i <= 40; i++)
        {
            await host.Client.PostAsync("/big?count=10", null);
            await reader.ReadMessagesAsync(i * 10, TimeSpan.FromSeconds(30));
        }

        Assert.Equal(400, reader.Messages.Count(m => m.Event == "next" && m.Data!.Length > 64 * 1024));
        for (var i = 0; i < 500 && bus.GetStats("graphql:big")?.Subscribers != 1; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, bus.GetStats("graphql:big")!.Subscribers);
        Assert.True(host.Logs.Contains("fell 16 frames behind"), "the slow client is logged");
    }

    private sealed class Recorder : IObserver<SubscriptionEvent>
    {
        private readonly List<SubscriptionEvent> _events = [];

        public IReadOnlyList<SubscriptionEvent> Events
        {
            get
            {
                lock (_events)
                {
                    return [.. _events];
                }
            }
        }

        public void OnNext(SubscriptionEvent value)
        {
            lock (_events)
            {
                _events.Add(value);
            }
        }

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }

        public async Task WaitForAsync(int count)
        {
            for (var i = 0; i < 500 && Events.Count < count; i++)
            {
                await Task.Delay(10);
            }

            Assert.True(Events.Count >= count, $"{Events.Count} of {count} events");
        }
    }
}
