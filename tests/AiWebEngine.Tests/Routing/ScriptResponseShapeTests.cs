using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Routing;

/// <summary>
/// Every shape of a handler's answer, sync and async: a plain one (status 200, default type, no headers)
/// comes back from the script as the call's result, any other through the host; both must answer the same way.
/// </summary>
public sealed class ScriptResponseShapeTests
{
    private const string Script = """
        register("/plain", () => ({ body: "plain" }));
        register("/plain-async", async () => ({ body: "plain async" }));
        register("/plain-200", () => ({ status: 200, body: "explicit 200" }));
        register("/number", () => ({ body: 42 }));
        register("/empty", () => ({}));
        register("/object", () => ({ body: { a: 1 } }));
        register("/typed", () => ({ contentType: "text/html; charset=utf-8", body: "<p>hi</p>" }));
        register("/headed", async () => ({ headers: { "X-Test": "yes" }, body: "with header" }));
        register("/created", () => ({ status: 201, body: "created" }));
        register("/not-an-object", () => "just a string");
        register("/async-not-an-object", async () => "just a string");
        """;

    [Theory]
    [InlineData("/plain", HttpStatusCode.OK, "text/plain; charset=utf-8", "plain")]
    [InlineData("/plain-async", HttpStatusCode.OK, "text/plain; charset=utf-8", "plain async")]
    [InlineData("/plain-200", HttpStatusCode.OK, "text/plain; charset=utf-8", "explicit 200")]
    [InlineData("/number", HttpStatusCode.OK, "text/plain; charset=utf-8", "42")]
    [InlineData("/empty", HttpStatusCode.OK, "text/plain; charset=utf-8", "")]
    [InlineData("/object", HttpStatusCode.OK, "application/json; charset=utf-8", """{"a":1}""")]
    [InlineData("/typed", HttpStatusCode.OK, "text/html; charset=utf-8", "<p>hi</p>")]
    [InlineData("/headed", HttpStatusCode.OK, "text/plain; charset=utf-8", "with header")]
    [InlineData("/created", HttpStatusCode.Created, "text/plain; charset=utf-8", "created")]
    public async Task EveryShape_AnswersWithItsStatusTypeAndBody(string path, HttpStatusCode status, string contentType, string body)
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["shapes.js"] = Script });

        var response = await host.Client.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.ToString());
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        if (path == "/headed")
        {
            Assert.Equal("yes", Assert.Single(response.Headers.GetValues("X-Test")));
        }
    }

    [Theory]
    [InlineData("/not-an-object")]
    [InlineData("/async-not-an-object")]
    public async Task AStringInsteadOfAnObject_IsStillAScriptError(string path)
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["shapes.js"] = Script });

        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync(path), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        Assert.Contains("a handler must return an object", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
