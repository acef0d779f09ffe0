using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Routing;

public sealed class ScriptRouteTests : IAsyncLifetime
{
    private const string Script = """
        let calls = 0;
        function hello(req) { calls++; return { body: "Hello, " + (req.query.name || "world") + "!" }; }
        register("/hello", "hello");
        register("/count", function () { return { body: String(++calls) }; });
        register("/users/{id}/files/*", (req) => ({ body: { params: req.params } }));
        register("/echo", (req) => ({ body: req }), "post");
        register("/echo", (req) => ({ body: req }), "PUT");
        register("/echo", (req) => ({ body: req }), null);
        register("/custom", () => ({ status: 201, body: "<b>hi</b>", contentType: "text/html", headers: { "X-Custom": "yes", "X-Number": 7 } }));
        register("/empty", () => ({}));
        register("/missing", () => ({ status: 404 }));
        register("/async", async () => ({ status: 202, body: await Promise.resolve({ done: true }) }));
        register("/array", () => ({ body: [1, 2.5, "x"] }));
        """;

    private EngineHost _host = null!;

    public async Task InitializeAsync() => _host = await EngineHost.StartAsync(new Dictionary<string, string> { ["routes.js"] = Script });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Get_AnswersWithTheHandlersBody_AsPlainTextByDefault()
    {
        var response = await _host.Client.GetAsync("/hello?name=Ada");

        Assert.Equal("Hello, Ada!", await HttpAssert.TextAsync(response));
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.True(response.Headers.Contains("X-Request-Id"));
    }

    [Fact]
    public async Task Handler_KeepsItsGlobals_BetweenCalls()
    {
        var first = int.Parse(await HttpAssert.TextAsync(await _host.Client.GetAsync("/count")));
        var second = int.Parse(await HttpAssert.TextAsync(await _host.Client.GetAsync("/count")));

        Assert.Equal(first + 1, second);
    }

    [Fact]
    public async Task Params_BindNamedSegments_AndTheRestOfAWildcard()
    {
        var json = await HttpAssert.JsonAsync(await _host.Client.GetAsync("/users/42/files/a/b.txt"));

        Assert.Equal("42", json.GetProperty("params").GetProperty("id").GetString());
        Assert.Equal("a/b.txt", json.GetProperty("params").GetProperty("*").GetString());
    }

    [Fact]
    public async Task Request_CarriesMethodPathQueryHeadersAndRawBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/echo?a=1&a=2&b=x")
        {
            Content = new StringContent("{\"raw\":true}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Mixed-Case", "Value");

        var req = await HttpAssert.JsonAsync(await _host.Client.SendAsync(request));

        Assert.Equal("PUT", req.GetProperty("method").GetString());
        Assert.Equal("/echo", req.GetProperty("path").GetString());
        Assert.Equal("2", req.GetProperty("query").GetProperty("a").GetString());
        Assert.Equal("x", req.GetProperty("query").GetProperty("b").GetString());
        Assert.Equal("Value", req.GetProperty("headers").GetProperty("x-mixed-case").GetString());
        Assert.Equal("{\"raw\":true}", req.GetProperty("body").GetString());
        Assert.Empty(req.GetProperty("form").EnumerateObject());
        Assert.Empty(req.GetProperty("params").EnumerateObject());
    }

    [Fact]
    public async Task Form_HoldsUrlEncodedFields_LastValueWinning()
    {
        var content = new StringContent("user=ada&room=general&room=random&msg=hi%20there", Encoding.UTF8, "application/x-www-form-urlencoded");

        var req = await HttpAssert.JsonAsync(await _host.Client.PostAsync("/echo", content));

        var form = req.GetProperty("form");
        Assert.Equal("ada", form.GetProperty("user").GetString());
        Assert.Equal("random", form.GetProperty("room").GetString());
        Assert.Equal("hi there", form.GetProperty("msg").GetString());
    }

    [Fact]
    public async Task Form_HoldsMultipartFields_ButNotFiles()
    {
        using var content = new MultipartFormDataContent
        {
            { new StringContent("ada"), "user" },
            { new ByteArrayContent([1, 2, 3]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } }, "upload", "data.bin" },
        };

        var req = await HttpAssert.JsonAsync(await _host.Client.PostAsync("/echo", content));

        var form = req.GetProperty("form");
        Assert.Equal("ada", form.GetProperty("user").GetString());
        Assert.False(form.TryGetProperty("upload", out _));
        Assert.Contains("filename=data.bin", req.GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Method_NullMeansGet()
    {
        var req = await HttpAssert.JsonAsync(await _host.Client.GetAsync("/echo"));

        Assert.Equal("GET", req.GetProperty("method").GetString());
        Assert.Equal("", req.GetProperty("body").GetString());
    }

    [Fact]
    public async Task Response_UsesStatusContentTypeAndHeaders_FromTheHandler()
    {
        var response = await _host.Client.GetAsync("/custom");

        Assert.Equal("<b>hi</b>", await HttpAssert.TextAsync(response, HttpStatusCode.Created));
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("yes", response.Headers.GetValues("X-Custom").Single());
        Assert.Equal("7", response.Headers.GetValues("X-Number").Single());
    }

    [Fact]
    public async Task Response_DefaultsTo200WithEmptyBody()
    {
        var response = await _host.Client.GetAsync("/empty");

        Assert.Equal("", await HttpAssert.TextAsync(response));
    }

    [Fact]
    public async Task Response_404FromAHandler_IsSentAsIs()
    {
        var response = await _host.Client.GetAsync("/missing");

        Assert.Equal("", await HttpAssert.TextAsync(response, HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task Response_FromAPromise_IsAwaited_AndObjectBodiesAreJson()
    {
        var response = await _host.Client.GetAsync("/async");

        var json = await HttpAssert.JsonAsync(response, HttpStatusCode.Accepted);
        Assert.True(json.GetProperty("done").GetBoolean());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Response_ArrayBody_IsJson()
    {
        Assert.Equal("[1,2.5,\"x\"]", await HttpAssert.TextAsync(await _host.Client.GetAsync("/array")));
    }

    [Fact]
    public async Task UnknownPath_Gets404Json()
    {
        var error = await HttpAssert.ErrorAsync(await _host.Client.GetAsync("/nothing/here"), HttpStatusCode.NotFound, "NOT_FOUND");

        Assert.Equal("/nothing/here", error.GetProperty("path").GetString());
    }

    [Fact]
    public async Task WrongMethod_Gets405Json_WithAllow()
    {
        var response = await _host.Client.DeleteAsync("/echo");

        await HttpAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
        var allowed = response.Content.Headers.Allow;
        Assert.Equal(["GET", "POST", "PUT"], allowed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RequestId_FromTheClient_IsKept()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nothing");
        request.Headers.Add("X-Request-Id", "client-id-123");

        var response = await _host.Client.SendAsync(request);

        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal("client-id-123", error.GetProperty("requestId").GetString());
    }
}
