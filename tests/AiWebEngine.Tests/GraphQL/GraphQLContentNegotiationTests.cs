using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// Issue 16, point 14: which answer <c>/graphql</c> gives by the Accept header's quality values. A query
/// or mutation is JSON unless <c>text/event-stream</c> is preferred (a higher quality than every JSON
/// type, or the only one accepted); a subscription goes to the event stream whenever it is named.
/// </summary>
public sealed class GraphQLContentNegotiationTests : IAsyncLifetime
{
    /// <summary>What urql's fetch exchange sends with every operation.</summary>
    public const string UrqlAccept = "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed";

    private const string Query = """{"query":"{ hello(name: \"n\") }"}""";
    private const string Mutation = """{"query":"mutation { send(message: \"m\") }"}""";
    private const string Subscription = """{"query":"subscription { liveEvents }"}""";

    private EngineHost _host = null!;
    private TestSchema _schema = null!;

    public async Task InitializeAsync() => (_host, _schema) = await TestSchema.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpResponseMessage Response, string Body)> PostAsync(string body, string accept)
    {
        var response = await _host.Client.SendAsync(GraphQLHttpTests.Post("/graphql", body, accept));
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(UrqlAccept, "application/graphql-response+json")]
    [InlineData("application/json, text/event-stream", "application/json")]
    [InlineData("application/json, text/event-stream;q=0.1", "application/json")]
    [InlineData("text/event-stream;q=0.9, application/json", "application/json")]
    [InlineData("text/event-stream;q=0.5, */*;q=0.5", "application/json")]
    [InlineData("text/event-stream;q=0, application/json;q=0.1", "application/json")]
    public async Task Query_WhenTheEventStreamIsNotPreferred_IsAnsweredWithJson(string accept, string mediaType)
    {
        var (response, body) = await PostAsync(Query, accept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"data":{"hello":"Hello, n!"}}""", body);
    }

    [Fact]
    public async Task Mutation_WithUrqlsAccept_IsAnsweredWithJson_AndRunsOnce()
    {
        var (response, body) = await PostAsync(Mutation, UrqlAccept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/graphql-response+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"data":{"send":"sent:m"}}""", body);
    }

    [Theory]
    [InlineData("text/event-stream")]
    [InlineData("text/event-stream, text/html;q=0.9")]
    [InlineData("application/json;q=0.5, text/event-stream")]
    [InlineData("application/graphql-response+json;q=0.2, application/json;q=0.3, text/event-stream;q=0.4")]
    public async Task Query_WhenTheEventStreamIsPreferredOrTheOnlyTypeAccepted_IsAnEventStream(string accept)
    {
        await using var reader = await SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post("/graphql", Query, accept));

        Assert.True(await reader.WaitForEndAsync());
        Assert.Equal("text/event-stream", reader.Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("event: next\ndata: {\"data\":{\"hello\":\"Hello, n!\"}}\n\nevent: complete\ndata: \n\n", reader.Raw);
    }

    [Theory]
    [InlineData(UrqlAccept)]
    [InlineData("application/json, text/event-stream;q=0.1")]
    [InlineData("text/event-stream")]
    public async Task Subscription_WhenTheEventStreamIsAcceptableAtAll_IsAnEventStream(string accept)
    {
        await using var reader = await SseReader.OpenAsync(_host.Client, GraphQLHttpTests.Post("/graphql", Subscription, accept));
        await _schema.Events.WaitForSubscribersAsync(1);
        _schema.Events.Publish("e1");

        var frames = await reader.ReadUntilAsync(f => f.Any(x => x.Event == "next"));

        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        Assert.Equal("text/event-stream", reader.Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"data":{"liveEvents":"e1"}}""", frames.First(f => f.Event == "next").Data);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json, text/event-stream;q=0")]
    [InlineData("*/*")]
    public async Task Subscription_WhenTheEventStreamIsNotNamed_IsRefusedWithJson(string accept)
    {
        var (response, body) = await PostAsync(Subscription, accept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("\"code\":\"OPERATION_NOT_ALLOWED\"", body, StringComparison.Ordinal);
        Assert.Equal(0, _schema.Events.SubscriberCount);
    }

    [Fact]
    public async Task SubscriptionOverGet_WithUrqlsAccept_IsAnEventStream_AndAMutationOverGetIsStill405()
    {
        static HttpRequestMessage Get(string query) => new(HttpMethod.Get, "/graphql?query=" + Uri.EscapeDataString(query))
        {
            Headers = { { "Accept", UrqlAccept } },
        };

        await using var reader = await SseReader.OpenAsync(_host.Client, Get("subscription { liveEvents }"));
        await _schema.Events.WaitForSubscribersAsync(1);
        _schema.Events.Publish("g1");
        var frames = await reader.ReadUntilAsync(f => f.Any(x => x.Event == "next"));
        var mutation = await _host.Client.SendAsync(Get("mutation { send(message: \"x\") }"));

        Assert.Equal("""{"data":{"liveEvents":"g1"}}""", frames.First(f => f.Event == "next").Data);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, mutation.StatusCode);
        Assert.Equal("POST", mutation.Content.Headers.Allow.Single());
    }
}
