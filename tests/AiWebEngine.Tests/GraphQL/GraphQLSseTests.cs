using System.Net;
using AiWebEngine.Tests.Infrastructure;
using GraphQL;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>graphql-sse (distinct connections mode) on /graphql/sse, byte for byte, in-process.</summary>
public sealed class GraphQLSseTests : IAsyncLifetime
{
    private const string Complete = "event: complete\ndata: \n\n";

    private EngineHost _host = null!;
    private TestSchema _schema = null!;

    public async Task InitializeAsync() => (_host, _schema) = await TestSchema.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<SseReader> PostAsync(string body, string path = "/graphql/sse", string? accept = null) =>
        SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post(path, body, accept));

    private static void AssertEventStreamHeaders(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
    }

    [Fact]
    public async Task Query_IsOneNextThenComplete_AndTheResponseEnds()
    {
        await using var reader = await PostAsync("""{"query":"{ hello(name: \"sse\") }"}""");

        Assert.True(await reader.WaitForEndAsync());
        AssertEventStreamHeaders(reader.Response);
        Assert.Equal("event: next\ndata: {\"data\":{\"hello\":\"Hello, sse!\"}}\n\n" + Complete, reader.Raw);
    }

    [Fact]
    public async Task Mutation_IsOneNextThenComplete()
    {
        await using var reader = await PostAsync("""{"query":"mutation { send(message: \"m\") }"}""");

        Assert.True(await reader.WaitForEndAsync());
        Assert.Equal("event: next\ndata: {\"data\":{\"send\":\"sent:m\"}}\n\n" + Complete, reader.Raw);
    }

    [Fact]
    public async Task ValidationError_IsStreamedAsANextWithErrors_WithStatus200()
    {
        await using var reader = await PostAsync("""{"query":"subscription { nope }"}""");

        Assert.True(await reader.WaitForEndAsync());
        AssertEventStreamHeaders(reader.Response);
        Assert.StartsWith("event: next\ndata: {\"errors\":[{\"message\":\"Cannot query field 'nope' on type 'Subscription'.\"", reader.Raw, StringComparison.Ordinal);
        Assert.EndsWith("}]}\n\n" + Complete, reader.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscription_StreamsOneNextPerEvent_ThenCompleteWhenTheSourceCompletes()
    {
        await using var reader = await PostAsync("""{"query":"subscription { liveEvents }"}""", accept: "application/json");
        AssertEventStreamHeaders(reader.Response);
        await _schema.Events.WaitForSubscribersAsync(1);

        _schema.Events.Publish("one");
        _schema.Events.Publish("it's \"two\"\nlines");
        await reader.ReadMessagesAsync(2);
        _schema.Events.Complete();

        Assert.True(await reader.WaitForEndAsync());
        Assert.Equal(
            "event: next\ndata: {\"data\":{\"liveEvents\":\"one\"}}\n\n" +
            "event: next\ndata: {\"data\":{\"liveEvents\":\"it's \\\"two\\\"\\nlines\"}}\n\n" +
            Complete,
            reader.Raw);
        await _schema.Events.WaitForSubscribersAsync(0);
    }

    [Fact]
    public async Task SourceError_IsANextWithTheError_ThenComplete()
    {
        await using var reader = await PostAsync("""{"query":"subscription { liveEvents }"}""");
        await _schema.Events.WaitForSubscribersAsync(1);

        _schema.Events.Fail(new ExecutionError("source broke"));

        Assert.True(await reader.WaitForEndAsync());
        Assert.StartsWith("event: next\ndata: {\"errors\":[{\"message\":\"source broke\"", reader.Raw, StringComparison.Ordinal);
        Assert.EndsWith(Complete, reader.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Subscription_WorksForEventSource()
    {
        await using var reader = await SseReader.OpenAsync(_host.Client, "/graphql/sse?query=" + Uri.EscapeDataString("subscription { liveEvents }"));
        AssertEventStreamHeaders(reader.Response);
        await _schema.Events.WaitForSubscribersAsync(1);

        _schema.Events.Publish("from-get");
        var frames = await reader.ReadMessagesAsync(1);

        Assert.Equal("next", frames[0].Event);
        Assert.Equal("{\"data\":{\"liveEvents\":\"from-get\"}}", frames[0].Data);
    }

    [Fact]
    public async Task Get_Mutation_Is405_WithAllowPost()
    {
        var response = await _host.Client.GetAsync("/graphql/sse?query=" + Uri.EscapeDataString("mutation { send(message: \"no\") }"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("POST", response.Content.Headers.Allow.Single());
    }

    [Fact]
    public async Task Post_ThatIsNotJson_Is415_AndBadJson_Is400()
    {
        var notJson = await _host.Client.SendAsync(GraphQLHttpTests.Post("/graphql/sse", "{}", contentType: "text/plain"));
        var badJson = await _host.Client.SendAsync(GraphQLHttpTests.Post("/graphql/sse", "{ nope"));

        await HttpAssert.ErrorAsync(notJson, HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
    }

    [Theory]
    [InlineData("text/event-stream")]
    [InlineData("application/json;q=0.5, text/event-stream")]
    public async Task GraphQLEndpoint_WithAcceptPreferringEventStream_IsServedAsGraphQLSse(string accept)
    {
        await using var reader = await PostAsync("""{"query":"{ hello }"}""", "/graphql", accept);

        Assert.True(await reader.WaitForEndAsync());
        AssertEventStreamHeaders(reader.Response);
        Assert.Equal("event: next\ndata: {\"data\":{\"hello\":\"Hello, world!\"}}\n\n" + Complete, reader.Raw);
    }

    [Fact]
    public async Task ClientThatLeaves_HasItsSubscriptionDisposedAtOnce()
    {
        var readers = new List<SseReader>();
        for (var i = 0; i < 3; i++)
        {
            readers.Add(await PostAsync("""{"query":"subscription { liveEvents }"}"""));
        }

        await _schema.Events.WaitForSubscribersAsync(3);
        await readers[0].DisposeAsync();
        await _schema.Events.WaitForSubscribersAsync(2);

        foreach (var reader in readers.Skip(1))
        {
            await reader.DisposeAsync();
        }

        await _schema.Events.WaitForSubscribersAsync(0);
    }

    [Fact]
    public async Task IdleStream_GetsAKeepAliveComment_AfterTheInterval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (host, schema) = await TestSchema.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:GraphQL:KeepAliveInterval"] = "00:00:05" }, time: time);
        await using var _ = host;
        await using var reader = await SseReader.OpenAsync(host.Client, GraphQLHttpTests.Post("/graphql/sse", """{"query":"subscription { liveEvents }"}"""));
        await schema.Events.WaitForSubscribersAsync(1);

        time.Advance(TimeSpan.FromSeconds(4));
        schema.Events.Publish("e");
        await reader.ReadMessagesAsync(1);
        // The event's write is the connection's last activity (recorded once its flush returns).
        await Task.Delay(200);
        // 8 s since the start, 4 s since the event: a keep-alive due then would be queued inside
        // Advance, before the event published after it.
        time.Advance(TimeSpan.FromSeconds(4));
        schema.Events.Publish("f");
        await reader.ReadMessagesAsync(2);
        const string Events = "event: next\ndata: {\"data\":{\"liveEvents\":\"e\"}}\n\nevent: next\ndata: {\"data\":{\"liveEvents\":\"f\"}}\n\n";
        Assert.Equal(Events, reader.Raw);
        await Task.Delay(200);

        time.Advance(TimeSpan.FromSeconds(6));
        await reader.ReadUntilAsync(frames => frames.Any(f => f.IsComment));

        Assert.Equal(Events + ":\n\n", reader.Raw);
    }
}
