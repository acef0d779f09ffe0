using System.Net;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Streaming;

/// <summary>
/// Stream paths are ASP.NET Core endpoints (issue 18, point 0): each carries its registration as
/// metadata, is matched exactly and case-sensitively, and takes precedence over script routes whose
/// parameters match the same path, for every method.
/// </summary>
public sealed class StreamRoutingTests
{
    private const string App = """
        registerWebStream("/live");
        registerWebStream("/Rooms/Main");
        register("/{page}", (req) => ({ body: "page " + req.params.page }));
        register("/{page}", (req) => ({ body: "posted " + req.params.page }), "POST");
        register("/{a}/{b}", (req) => ({ body: "pair " + req.params.a + "/" + req.params.b }));
        register("/*", (req) => ({ body: "rest " + req.params["*"] }), "PUT");
        """;

    [Fact]
    public async Task EveryStreamPath_IsAnEndpoint_WithItsRegistrationAsMetadata()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = App });

        var streams = host.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => (Pattern: e.RoutePattern.RawText, Stream: e.Metadata.GetMetadata<StreamRegistration>()))
            .Where(e => e.Stream is not null)
            .OrderBy(e => e.Pattern, StringComparer.Ordinal)
            .ToList();

        Assert.Equal([("/Rooms/Main", "/Rooms/Main", "app.js"), ("/live", "/live", "app.js")],
            streams.Select(s => (s.Pattern, s.Stream!.Path, s.Stream.Owner)));
    }

    [Fact]
    public async Task StreamPath_TakesPrecedenceOverRoutesThatMatchIt_ForEveryMethod()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = App });

        await using var live = await SseReader.OpenAsync(host.Client, "/live");
        Assert.Equal("text/event-stream", live.Response.Content.Headers.ContentType?.MediaType);
        await using var room = await SseReader.OpenAsync(host.Client, "/Rooms/Main");
        Assert.Equal("text/event-stream", room.Response.Content.Headers.ContentType?.MediaType);

        // POST /{page} and PUT /* would match; the stream path answers, with its own 405.
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Head })
        {
            var response = await host.Client.SendAsync(new HttpRequestMessage(method, "/live"));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Equal(["GET"], response.Content.Headers.Allow);
        }

        var error = await HttpAssert.ErrorAsync(await host.Client.PostAsync("/live", null), HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
        Assert.Equal("/live is a stream: open it with GET (for example new EventSource(\"/live\")).", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AnotherSpellingOfAStreamPath_IsServedByTheRoutesThatMatchIt_NotTheStream()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = App });

        Assert.Equal("page LIVE", await HttpAssert.TextAsync(await host.Client.GetAsync("/LIVE")));
        Assert.Equal("posted Live", await HttpAssert.TextAsync(await host.Client.PostAsync("/Live", null)));
        Assert.Equal("pair rooms/main", await HttpAssert.TextAsync(await host.Client.GetAsync("/rooms/main")));
        Assert.Equal("rest rooms/MAIN", await HttpAssert.TextAsync(await host.Client.PutAsync("/rooms/MAIN", null)));
        // A trailing slash is another path too.
        Assert.Equal("page live", await HttpAssert.TextAsync(await host.Client.GetAsync("/live/")));
    }

    [Fact]
    public async Task AnotherSpellingOfAStreamPath_WithoutARoute_Is404_AndAMethodOnlyARouteTakes_Is405()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["app.js"] = """registerWebStream("/live"); register("/{page}", () => ({ body: "page" }), "PATCH");""",
        });

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/LIVE"), HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/live/more"), HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal("page", await HttpAssert.TextAsync(await host.Client.PatchAsync("/LIVE", null)));
    }
}
