using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AiWebEngine.GraphQL;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>GraphQL over HTTP on /graphql: media types, status codes, GET rules, SDL.</summary>
public sealed class GraphQLHttpTests : IAsyncLifetime
{
    private EngineHost _host = null!;
    private TestSchema _schema = null!;

    public async Task InitializeAsync() => (_host, _schema) = await TestSchema.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    internal static HttpRequestMessage Post(string path, string body, string? accept = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return request;
    }

    private async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpRequestMessage request)
    {
        var response = await _host.Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Post_Query_AnswersApplicationJson_WhenNoAcceptIsGiven()
    {
        var (response, body) = await SendAsync(Post("/graphql", """{"query":"{ hello(name: \"it's me\") }"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("""{"data":{"hello":"Hello, it's me!"}}""", body);
        Assert.True(response.Headers.Contains("X-Request-Id"));
    }

    [Fact]
    public async Task Post_Query_AnswersGraphQLResponseJson_WhenAccepted()
    {
        var (response, body) = await SendAsync(Post("/graphql", """{"query":"{ hello }"}""", "application/graphql-response+json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/graphql-response+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"data":{"hello":"Hello, world!"}}""", body);
    }

    [Theory]
    [InlineData("application/graphql-response+json", HttpStatusCode.BadRequest)]
    [InlineData("application/json", HttpStatusCode.OK)]
    public async Task Post_ValidationError_HasNoData_AndItsStatusDependsOnTheMediaType(string accept, HttpStatusCode status)
    {
        var (response, body) = await SendAsync(Post("/graphql", """{"query":"{ nope }"}""", accept));

        Assert.Equal(status, response.StatusCode);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.False(root.TryGetProperty("data", out _));
        Assert.Contains("nope", root.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_FieldError_Is200_WithDataAndErrors()
    {
        var (response, body) = await SendAsync(Post("/graphql", """{"query":"{ hello fail }"}""", "application/graphql-response+json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("Hello, world!", root.GetProperty("data").GetProperty("hello").GetString());
        Assert.Equal("it failed", root.GetProperty("errors")[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task Post_Mutation_Runs()
    {
        var (response, body) = await SendAsync(Post("/graphql", """{"query":"mutation($m: String!) { send(message: $m) }","variables":{"m":"x"}}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"data":{"send":"sent:x"}}""", body);
    }

    [Fact]
    public async Task Get_Query_Runs_WithVariablesAsJsonText()
    {
        var query = Uri.EscapeDataString("query($n: String) { hello(name: $n) }");
        var variables = Uri.EscapeDataString("""{"n":"get"}""");

        var (response, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/graphql?query={query}&variables={variables}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"data":{"hello":"Hello, get!"}}""", body);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/graphql-response+json")]
    public async Task Get_Mutation_Is405_WithAllowPost_AndDoesNotRun(string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/graphql?query=" + Uri.EscapeDataString("mutation { send(message: \"no\") }"));
        request.Headers.TryAddWithoutValidation("Accept", accept);

        var (response, body) = await SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("POST", response.Content.Headers.Allow.Single());
        Assert.Contains("OPERATION_NOT_ALLOWED", body, StringComparison.Ordinal);
        Assert.False(JsonDocument.Parse(body).RootElement.TryGetProperty("data", out _));
    }

    [Fact]
    public async Task Post_Subscription_WithoutAStream_IsARequestError()
    {
        var (response, body) = await SendAsync(Post("/graphql", """{"query":"subscription { liveEvents }"}""", "application/graphql-response+json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("/graphql/sse", body, StringComparison.Ordinal);
        Assert.Equal(0, _schema.Events.SubscriberCount);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=utf-16")]
    public async Task Post_ThatIsNotUtf8Json_Is415(string contentType)
    {
        var response = await _host.Client.SendAsync(Post("/graphql", """{"query":"{ hello }"}""", contentType: contentType));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
    }

    [Theory]
    [InlineData("{ \"not json")]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("""{"notquery":"{ hello }"}""")]
    [InlineData("""{"query":0}""")]
    [InlineData("""{"query":"{ hello }","variables":"string"}""")]
    [InlineData("""{"query":"{ hello }","variables":[1]}""")]
    [InlineData("""{"query":"{ hello }","extensions":false}""")]
    [InlineData("""{"query":"{ hello }","operationName":{"a":1}}""")]
    public async Task Post_WithBadParameters_Is400_WithAGraphQLError(string body)
    {
        var (response, text) = await SendAsync(Post("/graphql", body, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("errors")[0];
        Assert.Equal("BAD_REQUEST", error.GetProperty("extensions").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Get_WithVariablesThatAreNotAnObject_Is400()
    {
        var (response, _) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "/graphql?query=%7Bhello%7D&variables=%5B1%5D"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Post_WithAnAcceptNoneOfWhoseTypesIsServed_Is406()
    {
        var response = await _host.Client.SendAsync(Post("/graphql", """{"query":"{ hello }"}""", "text/html"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.NotAcceptable, "NOT_ACCEPTABLE");
    }

    [Fact]
    public async Task Put_Is405()
    {
        var response = await _host.Client.PutAsync("/graphql", new StringContent("{}"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
    }

    [Theory]
    [InlineData("/graphql?sdl")]
    [InlineData("/graphql/schema.graphql")]
    public async Task Sdl_IsTheCurrentSchemaAsText(string path)
    {
        var response = await _host.Client.GetAsync(path);
        var sdl = await HttpAssert.TextAsync(response);

        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("hello(name: String): String", sdl, StringComparison.Ordinal);
        Assert.Contains("liveEvents: String", sdl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DocumentCache_KeepsOneDocumentPerQueryAndSchema_AndASwapStartsAfresh()
    {
        var cache = _host.Services.GetRequiredService<DocumentCache>();
        var first = _schema.Current;
        for (var i = 0; i < 3; i++)
        {
            await SendAsync(Post("/graphql", """{"query":"{ hello }"}"""));
        }

        await SendAsync(Post("/graphql", """{"query":"{ nope }"}"""));
        Assert.Equal(1, cache.CountFor(first));

        var second = _schema.Swap();
        var (_, body) = await SendAsync(Post("/graphql", """{"query":"{ hello }"}"""));

        Assert.Equal("""{"data":{"hello":"Hello, world!"}}""", body);
        Assert.Equal(1, cache.CountFor(second));
    }
}
