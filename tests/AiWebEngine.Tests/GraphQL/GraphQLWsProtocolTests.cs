using System.Net.WebSockets;
using AiWebEngine.GraphQL;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.GraphQL.WebSockets;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>The graphql-transport-ws protocol core on an in-memory WebSocket: messages byte for byte, close codes, timeouts.</summary>
public sealed class GraphQLWsProtocolTests : IAsyncLifetime
{
    private const string Init = """{"type":"connection_init"}""";
    private const string Ack = """{"type":"connection_ack"}""";

    private readonly TestSchema _schema = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly CancellationTokenSource _stopping = new();
    private readonly WebSocketPair _pair = WebSocketPair.Create(GraphQLWsMessages.SubProtocol);
    private GraphQLWsConnection _connection = null!;
    private Task _run = null!;

    public Task InitializeAsync()
    {
        var json = new GraphQLJson();
        var executor = new GraphQLExecutor(_schema, new DocumentCache(Options.Create(new GraphQLOptions())), new DocumentLimits(Options.Create(new GraphQLOptions())), json, NullLogger<GraphQLExecutor>.Instance);
        var services = new ServiceCollection().BuildServiceProvider();
        var settings = new GraphQLWsSettings(
            async (request, ct) => GraphQLOperation.Unshared(await executor.ExecuteAsync(_schema.Current, request, OperationKinds.All, services, null, null, null, ct), json),
            json, TimeSpan.FromSeconds(3), QueueCapacity: 64, MaxOperations: 100, MaxMessageBytes: 4096, _time, NullLogger.Instance);
        _connection = new GraphQLWsConnection(_pair.Server, settings);
        _run = _connection.RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _pair.Client.Abort();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        _connection.Dispose();
        _pair.Dispose();
        _stopping.Dispose();
    }

    private async Task InitAsync()
    {
        await _pair.SendAsync(Init);
        Assert.Equal(Ack, await _pair.ReceiveAsync());
    }

    private async Task AssertClosedAsync(int code)
    {
        Assert.Null(await _pair.ReceiveAsync());
        Assert.Equal((WebSocketCloseStatus)code, _pair.Client.CloseStatus);
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ConnectionInit_IsAcknowledged_AndPingGetsPong()
    {
        await _pair.SendAsync("""{"type":"connection_init","payload":{"token":"x"}}""");
        Assert.Equal(Ack, await _pair.ReceiveAsync());

        await _pair.SendAsync("""{"type":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await _pair.ReceiveAsync());
    }

    [Fact]
    public async Task Query_IsNextThenComplete()
    {
        await InitAsync();

        await _pair.SendAsync("""{"id":"q1","type":"subscribe","payload":{"query":"{ hello(name: \"ws\") }"}}""");

        Assert.Equal("""{"id":"q1","type":"next","payload":{"data":{"hello":"Hello, ws!"}}}""", await _pair.ReceiveAsync());
        Assert.Equal("""{"id":"q1","type":"complete"}""", await _pair.ReceiveAsync());
        Assert.Equal(0, _connection.OperationCount);
    }

    [Fact]
    public async Task ValidationError_IsAnErrorMessage_WithTheErrorsAsPayload()
    {
        await InitAsync();

        await _pair.SendAsync("""{"id":"bad","type":"subscribe","payload":{"query":"{ nope }"}}""");

        var message = await _pair.ReceiveAsync();
        Assert.StartsWith("""{"id":"bad","type":"error","payload":[{"message":"Cannot query field 'nope' on type 'Query'.""", message, StringComparison.Ordinal);
        Assert.Equal(0, _connection.OperationCount);
    }

    [Fact]
    public async Task Subscription_StreamsNexts_ThenCompleteWhenTheSourceCompletes()
    {
        await InitAsync();
        await _pair.SendAsync("""{"id":"s1","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _schema.Events.WaitForSubscribersAsync(1);

        _schema.Events.Publish("a");
        _schema.Events.Publish("b");
        _schema.Events.Complete();

        Assert.Equal("""{"id":"s1","type":"next","payload":{"data":{"liveEvents":"a"}}}""", await _pair.ReceiveAsync());
        Assert.Equal("""{"id":"s1","type":"next","payload":{"data":{"liveEvents":"b"}}}""", await _pair.ReceiveAsync());
        Assert.Equal("""{"id":"s1","type":"complete"}""", await _pair.ReceiveAsync());
        await _schema.Events.WaitForSubscribersAsync(0);
    }

    [Fact]
    public async Task ClientComplete_DisposesTheSubscription_AndTheIdCanBeUsedAgain()
    {
        await InitAsync();
        await _pair.SendAsync("""{"id":"s","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _schema.Events.WaitForSubscribersAsync(1);

        await _pair.SendAsync("""{"id":"s","type":"complete"}""");
        await _schema.Events.WaitForSubscribersAsync(0);

        await _pair.SendAsync("""{"id":"s","type":"subscribe","payload":{"query":"{ hello }"}}""");
        Assert.Equal("""{"id":"s","type":"next","payload":{"data":{"hello":"Hello, world!"}}}""", await _pair.ReceiveAsync());
    }

    [Fact]
    public async Task OneSocket_CarriesManyOperationsAtOnce()
    {
        await InitAsync();
        await _pair.SendAsync("""{"id":"s1","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _pair.SendAsync("""{"id":"s2","type":"subscribe","payload":{"query":"subscription Named { liveEvents }","operationName":"Named"}}""");
        await _schema.Events.WaitForSubscribersAsync(2);

        _schema.Events.Publish("x");
        var received = new[] { await _pair.ReceiveAsync(), await _pair.ReceiveAsync() };

        Assert.Equal(
            ["""{"id":"s1","type":"next","payload":{"data":{"liveEvents":"x"}}}""", """{"id":"s2","type":"next","payload":{"data":{"liveEvents":"x"}}}"""],
            received.Order());
        Assert.Equal(2, _connection.OperationCount);
    }

    [Fact]
    public async Task SocketThatCloses_DisposesEverySubscription()
    {
        await InitAsync();
        await _pair.SendAsync("""{"id":"s1","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _pair.SendAsync("""{"id":"s2","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _schema.Events.WaitForSubscribersAsync(2);

        await _pair.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);

        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, _schema.Events.SubscriberCount);
    }

    [Fact]
    public async Task Subscribe_BeforeTheAck_Closes4401()
    {
        await _pair.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"{ hello }"}}""");

        await AssertClosedAsync(4401);
    }

    [Fact]
    public async Task SecondConnectionInit_Closes4429()
    {
        await InitAsync();

        await _pair.SendAsync(Init);

        await AssertClosedAsync(4429);
    }

    [Fact]
    public async Task Subscribe_WithTheIdOfARunningOperation_Closes4409()
    {
        await InitAsync();
        await _pair.SendAsync("""{"id":"dup","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _schema.Events.WaitForSubscribersAsync(1);

        await _pair.SendAsync("""{"id":"dup","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");

        await AssertClosedAsync(4409);
        Assert.Equal(0, _schema.Events.SubscriberCount);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"type":"nope"}""")]
    [InlineData("""{"type":"next","id":"1","payload":{}}""")]
    [InlineData("""{"type":"subscribe","id":"1"}""")]
    [InlineData("""{"type":"subscribe","id":"","payload":{"query":"{ hello }"}}""")]
    [InlineData("""{"type":"subscribe","id":"1","payload":{"query":7}}""")]
    [InlineData("""{"type":"complete"}""")]
    public async Task InvalidMessage_Closes4400(string message)
    {
        await InitAsync();

        await _pair.SendAsync(message);

        await AssertClosedAsync(4400);
    }

    [Fact]
    public async Task ConnectionInit_WithAPayloadThatIsNotAnObject_Closes4400()
    {
        await _pair.SendAsync("""{"type":"connection_init","payload":"token"}""");

        await AssertClosedAsync(4400);
    }

    [Fact]
    public async Task NoConnectionInit_WithinTheTimeout_Closes4408()
    {
        _time.Advance(TimeSpan.FromSeconds(2.9));
        await _pair.SendAsync("""{"type":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await _pair.ReceiveAsync());

        _time.Advance(TimeSpan.FromSeconds(0.2));

        await AssertClosedAsync(4408);
    }

    [Fact]
    public async Task ConnectionInit_InTime_IsNotTimedOut()
    {
        await InitAsync();

        _time.Advance(TimeSpan.FromSeconds(10));
        await _pair.SendAsync("""{"type":"ping"}""");

        Assert.Equal("""{"type":"pong"}""", await _pair.ReceiveAsync());
    }

    [Fact]
    public async Task MessageOverTheSizeLimit_Closes1009()
    {
        await InitAsync();

        await _pair.SendAsync("{\"type\":\"ping\",\"payload\":{\"pad\":\"" + new string('x', 5000) + "\"}}");

        await AssertClosedAsync((int)WebSocketCloseStatus.MessageTooBig);
    }

    [Fact]
    public async Task ServerStopping_Closes1001_AndDisposesSubscriptions()
    {
        await InitAsync();
        await _pair.SendAsync("""{"id":"s","type":"subscribe","payload":{"query":"subscription { liveEvents }"}}""");
        await _schema.Events.WaitForSubscribersAsync(1);

        await _stopping.CancelAsync();

        await AssertClosedAsync((int)WebSocketCloseStatus.EndpointUnavailable);
        Assert.Equal(0, _schema.Events.SubscriberCount);
    }
}
