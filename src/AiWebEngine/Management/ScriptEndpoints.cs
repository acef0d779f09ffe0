using System.Text;
using System.Text.Json;
using AiWebEngine.Errors;
using AiWebEngine.GraphQL;
using AiWebEngine.Routing;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>
/// <c>GET /engine/scripts</c> (every script and what it registered), and <c>GET</c>, <c>PUT</c>,
/// <c>DELETE /engine/scripts/{uri}</c> (its source; create or replace; remove).
/// </summary>
internal sealed class ScriptEndpoints(
    ScriptManager scripts,
    ScriptStore store,
    RouteTable routes,
    StreamRegistry streams,
    GraphQLRegistry graphQL,
    IOptions<ScriptOptions> scriptOptions,
    IOptions<HttpOptions> httpOptions)
{
    public const string UriParameter = "uri";

    // A script body is limited by both the HTTP body limit and the script size limit.
    private readonly int _maxBody = Math.Min(httpOptions.Value.MaxRequestBodyBytes, scriptOptions.Value.MaxSourceBytes);

    public Task ListAsync(HttpContext context)
    {
        var routeSnapshot = routes.Snapshot.Values;
        var fields = graphQL.Fields;
        return ManagementJson.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("scripts");
            foreach (var status in scripts.Statuses)
            {
                json.WriteStartObject();
                json.WriteString("uri", status.Uri);
                json.WriteNumber("sizeBytes", status.SizeBytes);
                json.WriteString("state", status.IsActive ? "active" : "failed");
                if (status.LoadedAt is { } loadedAt)
                {
                    json.WriteString("loadedAt", loadedAt);
                }
                else
                {
                    json.WriteNull("loadedAt");
                }

                if (status.Error is not null)
                {
                    json.WriteStartObject("lastError");
                    json.WriteString("message", status.Error);
                    if (status.ErrorLine is { } line)
                    {
                        json.WriteNumber("line", line);
                    }

                    json.WriteEndObject();
                }
                else
                {
                    json.WriteNull("lastError");
                }

                WriteRegistrations(json, status.Uri, routeSnapshot, fields);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private void WriteRegistrations(Utf8JsonWriter json, string uri, IEnumerable<ScriptRoute> routeSnapshot, IEnumerable<GraphQLField> fields)
    {
        json.WriteStartObject("registrations");
        json.WriteStartArray("routes");
        foreach (var route in routeSnapshot.Where(r => r.Owner == uri).OrderBy(r => r.Path.Path, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            json.WriteString("method", route.Method);
            json.WriteString("path", route.Path.Path);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("streams");
        foreach (var path in streams.PathsOf(uri).Order(StringComparer.Ordinal))
        {
            json.WriteStringValue(path);
        }

        json.WriteEndArray();
        json.WriteStartArray("graphql");
        foreach (var field in fields.Where(f => f.Owner == uri).OrderBy(f => f.Kind).ThenBy(f => f.Name, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            json.WriteString("type", field.Kind.ToString());
            json.WriteString("name", field.Name);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public async Task GetAsync(HttpContext context)
    {
        if (await UriAsync(context) is not { } uri)
        {
            return;
        }

        if (await store.ReadAsync(uri, context.RequestAborted) is not { } source)
        {
            await NotFoundAsync(context, uri);
            return;
        }

        context.Response.ContentType = "text/javascript; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(source, context.RequestAborted);
    }

    public async Task PutAsync(HttpContext context)
    {
        if (await UriAsync(context) is not { } uri || await BodyAsync(context) is not { } source)
        {
            return;
        }

        var (result, error) = await store.UploadAsync(uri, source, context.RequestAborted);
        if (error is not null)
        {
            var details = new Dictionary<string, object?> { ["uri"] = uri, ["error"] = error.Message };
            if (error.Line is { } line)
            {
                details["line"] = line;
            }

            await ErrorResponse.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.ScriptLoadFailed,
                $"The script {uri} failed to load: {error.Describe()}. Nothing changed; the previous version, if any, keeps serving.", details);
            return;
        }

        var status = scripts.Statuses.FirstOrDefault(s => s.Uri == uri);
        await ManagementJson.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("uri", uri);
            json.WriteString("action", result == UploadResult.Created ? "inserted" : "updated");
            json.WriteNumber("sizeBytes", status?.SizeBytes ?? Encoding.UTF8.GetByteCount(source));
            json.WriteEndObject();
        }, result == UploadResult.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    public async Task DeleteAsync(HttpContext context)
    {
        if (await UriAsync(context) is not { } uri)
        {
            return;
        }

        if (!await store.DeleteAsync(uri))
        {
            await NotFoundAsync(context, uri);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
        // No body: the status-code pages must not add one.
        if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }
    }

    /// <summary>The script URI of the request, or <see langword="null"/> after answering 400.</summary>
    private async Task<string?> UriAsync(HttpContext context)
    {
        // A URI may come percent-encoded as one segment (chat%2Frooms.js) or with plain slashes.
        var raw = context.Request.RouteValues[UriParameter] as string ?? "";
        var uri = Uri.UnescapeDataString(raw);
        if (ScriptUris.Validate(uri, store.Root) is { } error)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest,
                $"Not a script URI: {error}. A script URI is a relative path ending in '.js' (chat/rooms.js).");
            return null;
        }

        return uri;
    }

    /// <summary>The request body as UTF-8 text (without a byte order mark), or <see langword="null"/> after answering 413.</summary>
    private async Task<string?> BodyAsync(HttpContext context)
    {
        var body = await ScriptRequest.ReadBodyAsync(context, _maxBody);

        if (body is null)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge,
                $"The script is larger than {_maxBody} bytes (AiWebEngine:Scripts:MaxSourceBytes, AiWebEngine:Http:MaxRequestBodyBytes).");
            return null;
        }

        var source = Encoding.UTF8.GetString(body);
        return source.Length > 0 && source[0] == '\uFEFF' ? source[1..] : source;
    }

    private static Task NotFoundAsync(HttpContext context, string uri) =>
        ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"There is no script {uri}.");
}
