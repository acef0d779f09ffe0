using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AiWebEngine.GraphQL.Ide;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>The Banana Cake Pop IDE at GET /graphql: the page, its files, its config, and what stays GraphQL.</summary>
public sealed partial class GraphQLIdeTests : IAsyncLifetime
{
    // What Chromium sends when the address bar opens a page.
    internal const string BrowserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

    private static readonly Dictionary<string, string> Scripts = new()
    {
        ["hello.js"] = """registerGraphQLQuery("hello", "type Query { hello: String }", () => "world");""",
    };

    private EngineHost _host = null!;

    public async Task InitializeAsync() => _host = await EngineHost.StartAsync(Scripts);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static HttpRequestMessage Get(string path, string? accept = BrowserAccept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return request;
    }

    [Fact]
    public async Task Get_FromABrowser_AnswersTheIdePage_WithItsBaseUnderGraphQL()
    {
        var response = await _host.Client.SendAsync(Get("/graphql"));

        var html = await HttpAssert.TextAsync(response);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("<!doctype html><html lang=\"en\"><head><base href=\"/graphql/\"/><meta charset=\"utf-8\"/>", html, StringComparison.Ordinal);
        Assert.Contains("<title>Banana Cake Pop</title>", html, StringComparison.Ordinal);
        Assert.Contains("<div id=\"root\"></div>", html, StringComparison.Ordinal);
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.Contains("Accept", response.Headers.Vary);
    }

    [Fact]
    public async Task Get_FromABrowser_LoadsEveryFileThePageReferences_WithItsContentType()
    {
        var html = await HttpAssert.TextAsync(await _host.Client.SendAsync(Get("/graphql")));
        // Every src and href but the base itself.
        var references = PageReference().Matches(html).Select(m => m.Groups["url"].Value).Where(url => url != "/graphql/").ToList();
        Assert.Contains("static/js/main.0349187e.js", references);

        foreach (var reference in references)
        {
            // Resolved against <base href="/graphql/">, as the browser does.
            var response = await _host.Client.SendAsync(Get(new Uri(new Uri("http://host/graphql/"), reference).AbsolutePath, "*/*"));

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{reference}: {(int)response.StatusCode}");
            var expected = Path.GetExtension(reference) switch
            {
                ".js" => "text/javascript",
                ".css" => "text/css",
                ".ico" => "image/x-icon",
                ".svg" => "image/svg+xml",
                ".png" => "image/png",
                ".webmanifest" => "application/manifest+json",
                var other => throw new InvalidOperationException($"no expected type for {other}"),
            };
            Assert.Equal(expected, response.Content.Headers.ContentType!.MediaType);
        }
    }

    [Theory]
    [InlineData("/graphql/static/css/styles.15b5693c.css", "text/css", "public, max-age=31536000, immutable")]
    [InlineData("/graphql/static/js/graphql.worker.2c56696a.js", "text/javascript", "public, max-age=31536000, immutable")]
    [InlineData("/graphql/static/media/FiraCode-Medium.1bc138a84f63b384c3f2.woff2", "font/woff2", "public, max-age=31536000, immutable")]
    [InlineData("/graphql/favicon.ico", "image/x-icon", "no-cache")]
    [InlineData("/graphql/manifest.webmanifest", "application/manifest+json", "no-cache")]
    public async Task IdeFile_IsServed_WithItsContentTypeAndCaching(string path, string contentType, string cacheControl)
    {
        var response = await _host.Client.SendAsync(Get(path, "*/*"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(cacheControl, response.Headers.CacheControl!.ToString());
        Assert.NotNull(response.Headers.ETag);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task IdeFile_AnswersNotModified_WhenItsETagMatches()
    {
        var first = await _host.Client.SendAsync(Get("/graphql/favicon.svg", "*/*"));
        var again = Get("/graphql/favicon.svg", "*/*");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        var response = await _host.Client.SendAsync(again);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Theory]
    [InlineData("/graphql/nothing-here.js")]
    [InlineData("/graphql/static/js/nothing-here.js")]
    [InlineData("/graphql/index.html")]
    [InlineData("/graphql/package.json")]
    public async Task IdeFile_ThatIsNotServed_Is404(string path)
    {
        var response = await _host.Client.SendAsync(Get(path, "*/*"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public void IdeFiles_RefusePathsThatLeaveTheirDirectory()
    {
        var files = _host.Services.GetRequiredService<GraphQLIdeFiles>();

        Assert.NotNull(files.Find("favicon.ico"));
        Assert.Null(files.Find("../AiWebEngine.dll"));
        Assert.Null(files.Find("static/../../appsettings.json"));
        Assert.Null(files.Find("/etc/passwd"));
    }

    [Fact]
    public async Task Config_PointsTheIdeAtThisEndpoint_WithTelemetryOff()
    {
        var response = await _host.Client.SendAsync(Get("/graphql/bcp-config.json", "*/*"));

        var config = await HttpAssert.JsonAsync(response);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.Equal("/graphql", config.GetProperty("endpoint").GetString());
        Assert.True(config.GetProperty("useBrowserUrlAsEndpoint").GetBoolean());
        Assert.True(config.GetProperty("disableTelemetry").GetBoolean());
        Assert.True(config.GetProperty("includeCookies").GetBoolean()); // a signed-in browser's session cookie
        Assert.False(config.TryGetProperty("gaTrackingId", out _));
    }

    [Fact]
    public async Task ServiceWorker_IsAStandInThatUnregistersItself()
    {
        var response = await _host.Client.SendAsync(Get("/graphql/service-worker.js", "*/*"));

        var script = await HttpAssert.TextAsync(response);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("self.registration.unregister()", script, StringComparison.Ordinal);
        Assert.DoesNotContain("workbox", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_FromABrowser_WithAQuery_AnswersTheGraphQLResult()
    {
        var response = await _host.Client.SendAsync(Get("/graphql?query=%7Bhello%7D"));

        Assert.Equal("""{"data":{"hello":"world"}}""", await HttpAssert.TextAsync(response));
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Get_FromABrowser_WithSdl_AnswersTheSdl()
    {
        var response = await _host.Client.SendAsync(Get("/graphql?sdl"));

        Assert.Contains("hello: String", await HttpAssert.TextAsync(response), StringComparison.Ordinal);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/graphql-response+json")]
    [InlineData(null)]
    public async Task Get_FromAGraphQLClient_IsNotTheIde(string? accept)
    {
        var response = await _host.Client.SendAsync(Get("/graphql", accept));

        Assert.NotEqual("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Post_WithABrowserAccept_IsGraphQL()
    {
        var request = GraphQLHttpTests.Post("/graphql", """{"query":"{ hello }"}""", BrowserAccept);

        var response = await _host.Client.SendAsync(request);

        Assert.Equal("""{"data":{"hello":"world"}}""", await HttpAssert.TextAsync(response));
    }

    [Fact]
    public async Task IdeRoutes_LeaveTheOtherGraphQLPathsAlone()
    {
        var schema = await _host.Client.SendAsync(Get("/graphql/schema.graphql"));
        var subscription = await _host.Client.SendAsync(Get("/graphql/subscription/nothing"));
        var sse = await _host.Client.SendAsync(Get("/graphql/sse?query=%7Bhello%7D"), HttpCompletionOption.ResponseHeadersRead);

        Assert.Contains("hello: String", await HttpAssert.TextAsync(schema), StringComparison.Ordinal);
        var error = await HttpAssert.ErrorAsync(subscription, HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Contains("No subscription 'nothing'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("text/event-stream", sse.Content.Headers.ContentType!.MediaType);
        Assert.Contains("\"hello\":\"world\"", await sse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_FromABrowser_WhenTheIdeFilesAreMissing_Is503_AndGraphQLStillWorks()
    {
        var missing = Path.Combine(Path.GetTempPath(), "aiwebengine-no-ide-" + Guid.NewGuid().ToString("N"));
        await using var host = await EngineHost.StartAsync(Scripts, new Dictionary<string, string?> { ["AiWebEngine:GraphQL:Ide:FilesPath"] = missing });

        var page = await host.Client.SendAsync(Get("/graphql"));
        var query = await host.Client.SendAsync(Get("/graphql?query=%7Bhello%7D"));

        var error = await HttpAssert.ErrorAsync(page, HttpStatusCode.ServiceUnavailable, "IDE_NOT_INSTALLED");
        Assert.Contains(missing, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("npm ci", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("""{"data":{"hello":"world"}}""", await HttpAssert.TextAsync(query));
        Assert.Contains(host.Logs.Lines, l => l.EventId == 1450);
    }

    [Fact]
    public async Task Get_FromABrowser_WhenTheIdeIsDisabled_IsAnsweredAsGraphQL()
    {
        await using var host = await EngineHost.StartAsync(Scripts, new Dictionary<string, string?> { ["AiWebEngine:GraphQL:Ide:Enabled"] = "false" });

        var page = await host.Client.SendAsync(Get("/graphql"));
        var config = await host.Client.SendAsync(Get("/graphql/bcp-config.json", "*/*"));

        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
        Assert.Equal("application/json", page.Content.Headers.ContentType!.MediaType);
        await HttpAssert.ErrorAsync(config, HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [GeneratedRegex("(?:src|href)=\"(?<url>[^\"]+)\"")]
    private static partial Regex PageReference();
}
