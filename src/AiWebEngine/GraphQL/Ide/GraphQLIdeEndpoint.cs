using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AiWebEngine.Errors;
using AiWebEngine.GraphQL.Http;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AiWebEngine.GraphQL.Ide;

/// <summary>
/// Serves the Banana Cake Pop IDE: its page to a browser's <c>GET /graphql</c>, its files under
/// <c>/graphql/</c>, and <c>/graphql/bcp-config.json</c>, which points it at this server's <c>/graphql</c>.
/// </summary>
/// <remarks>
/// The page's asset URLs are relative (<c>static/js/…</c>), and the page lives at <c>/graphql</c>, not
/// <c>/graphql/</c>; a <c>&lt;base href="/graphql/"&gt;</c> written into its head at serve time makes them
/// resolve under <c>/graphql/</c>. Nothing is fetched from anywhere else: the files come from the npm
/// package the build installs, and the config turns the IDE's telemetry off.
/// </remarks>
internal sealed partial class GraphQLIdeEndpoint(GraphQLIdeFiles files, IOptions<GraphQLIdeOptions> options, ILogger<GraphQLIdeEndpoint> logger)
{
    // The package's files are content-hashed under static/; everything else is revalidated.
    private const string ImmutableCacheControl = "public, max-age=31536000, immutable";
    private const string RevalidateCacheControl = "no-cache";

    // The IDE's own service worker would claim every navigation under /graphql/ (such as
    // /graphql/subscription/<name> typed in the address bar) and answer it with the IDE page. This one
    // takes its place and removes itself, and any worker a previous visit installed.
    private static readonly byte[] ServiceWorker = """
        // AiWebEngine: the GraphQL IDE runs without a service worker; this one unregisters itself.
        self.addEventListener("install", () => self.skipWaiting());
        self.addEventListener("activate", (event) => event.waitUntil(self.registration.unregister()));

        """u8.ToArray();

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    private int _missingLogged;

    /// <summary>Whether the IDE is served at all (<see cref="GraphQLIdeOptions.Enabled"/>).</summary>
    public bool Enabled { get; } = options.Value.Enabled;

    /// <summary>
    /// Whether <paramref name="request"/> is a browser opening <c>/graphql</c>: a GET whose Accept names
    /// <c>text/html</c> and whose query string has neither <c>query</c> (a GraphQL request, answered as
    /// JSON whatever the Accept) nor <c>sdl</c>. WebSocket and event-stream requests are told apart before.
    /// </summary>
    public bool IsBrowserNavigation(HttpRequest request) =>
        Enabled
        && HttpMethods.IsGet(request.Method)
        && !request.Query.ContainsKey("query")
        && !request.Query.ContainsKey("sdl")
        && ResponseMediaTypes.Accepts(request.Headers.Accept, "text/html");

    /// <summary>The IDE's page, with a base URL of <c>/graphql/</c>; 503 when its files are missing.</summary>
    public async Task ServePageAsync(HttpContext context)
    {
        var index = files.Find(GraphQLIdeFiles.IndexFile);
        if (index is null)
        {
            if (Interlocked.Exchange(ref _missingLogged, 1) == 0)
            {
                LogFilesMissing(logger, files.Root);
            }

            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.IdeNotInstalled,
                $"The GraphQL IDE's files are missing from '{files.Root}'. Build the project (it runs 'npm ci' in src/AiWebEngine/ide and copies the IDE next to the binary), or point AiWebEngine:GraphQL:Ide:FilesPath at them. GraphQL requests to /graphql still work.");
            return;
        }

        var html = await File.ReadAllTextAsync(index.PhysicalPath!, context.RequestAborted);
        var page = Encoding.UTF8.GetBytes(WithBase(html, context.Request.PathBase + GraphQLEndpointRouteBuilderExtensions.Path + "/"));
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/html; charset=utf-8";
        response.ContentLength = page.Length;
        response.Headers.CacheControl = RevalidateCacheControl;
        // The same URL answers GraphQL clients with JSON: caches must key on Accept.
        response.Headers.Vary = HeaderNames.Accept;
        await response.Body.WriteAsync(page, context.RequestAborted);
    }

    /// <summary>
    /// <c>bcp-config.json</c>: the endpoint is this server's <c>/graphql</c>, resolved by the IDE
    /// against the page's URL (so it is right behind any host name or proxy), and telemetry is off.
    /// </summary>
    public static async Task ServeConfigAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("endpoint", context.Request.PathBase + GraphQLEndpointRouteBuilderExtensions.Path);
            json.WriteBoolean("useBrowserUrlAsEndpoint", true);
            // The IDE is served from this origin: its requests carry the session cookie of a signed-in
            // browser (same-origin, so the cross-site request checks do not apply), as a page's fetch would.
            json.WriteBoolean("includeCookies", true);
            json.WriteBoolean("useGet", false);
            json.WriteBoolean("disableTelemetry", true);
            json.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffer.Length;
        response.Headers.CacheControl = RevalidateCacheControl;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>The stand-in service worker (see <see cref="ServiceWorker"/>).</summary>
    public static async Task ServeServiceWorkerAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/javascript; charset=utf-8";
        response.ContentLength = ServiceWorker.Length;
        response.Headers.CacheControl = RevalidateCacheControl;
        await response.Body.WriteAsync(ServiceWorker, context.RequestAborted);
    }

    /// <summary>
    /// One of the IDE's files: content-hashed <c>static/…</c> files cached for a year, the others
    /// revalidated; ETag and Last-Modified for conditional requests (304) and ranges. 404 for a missing
    /// file or one of a type without a known content type.
    /// </summary>
    public Task ServeFileAsync(HttpContext context, string subpath)
    {
        var contentType = GraphQLIdeFiles.ContentTypeOf(subpath);
        if (contentType is null
            || subpath.Equals(GraphQLIdeFiles.IndexFile, StringComparison.OrdinalIgnoreCase)
            || files.Find(subpath) is not { } file)
        {
            return ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"The GraphQL IDE has no file '{subpath}'.");
        }

        context.Response.Headers.CacheControl = subpath.StartsWith("static/", StringComparison.Ordinal) ? ImmutableCacheControl : RevalidateCacheControl;
        var etag = new EntityTagHeaderValue($"\"{file.LastModified.ToUnixTimeMilliseconds():x}-{file.Length:x}\"");
        return TypedResults.PhysicalFile(file.PhysicalPath!, contentType, lastModified: file.LastModified, entityTag: etag).ExecuteAsync(context);
    }

    /// <summary><paramref name="html"/> with <c>&lt;base href="…"&gt;</c> as the first element of its head.</summary>
    internal static string WithBase(string html, string baseHref)
    {
        var tag = $"<base href=\"{HtmlEncoder.Default.Encode(baseHref)}\"/>";
        var head = html.IndexOf("<head>", StringComparison.OrdinalIgnoreCase);
        return head < 0 ? tag + html : html.Insert(head + "<head>".Length, tag);
    }

    [LoggerMessage(EventId = 1450, Level = LogLevel.Warning, Message = "The GraphQL IDE's files are missing from {Root}; browsers opening /graphql get 503 until the project is built with npm available")]
    private static partial void LogFilesMissing(ILogger logger, string root);
}
