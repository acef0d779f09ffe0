using System.Buffers;
using System.Text;
using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Security;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace AiWebEngine.Routing;

/// <summary>
/// Builds the <c>req</c> object a handler receives, as JSON:
/// <c>{ method, path, query, form, headers, body, params, user }</c>.
/// </summary>
/// <remarks>
/// Invariant: unless the operator opts in (<see cref="ScriptOptions.ExposeCredentials"/>), no credential reaches
/// the script: the <c>Authorization</c> and <c>Cookie</c> headers are left out, and <c>user</c> says who proved what.
/// </remarks>
internal static class ScriptRequest
{
    /// <summary>
    /// Reads the body (at most <paramref name="limit"/> bytes); <see langword="null"/> when it is larger,
    /// whether the declared length, the bytes read or Kestrel's own limit says so.
    /// </summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpContext context, int limit)
    {
        try
        {
            return await ReadBodyUpToAsync(context, limit);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private static async Task<byte[]?> ReadBodyUpToAsync(HttpContext context, int limit)
    {
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            return null;
        }

        if (request.ContentLength == 0 || (request.ContentLength is null && !HasBody(request)))
        {
            return [];
        }

        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is { } length ? (int)length : 4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, context.RequestAborted);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return null;
            }
        }
    }

    private static bool HasBody(HttpRequest request) =>
        request.Headers.TransferEncoding.Count > 0 || !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method);

    public static async Task<string> ToJsonAsync(HttpContext context, byte[] body, bool exposeCredentials = false)
    {
        var request = context.Request;
        var buffer = new ArrayBufferWriter<byte>(512 + body.Length * 2);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("method", request.Method);
            json.WriteString("path", request.Path.Value ?? "/");

            json.WriteStartObject("query");
            foreach (var (key, values) in request.Query)
            {
                json.WriteString(key, values.Count == 0 ? "" : values[^1]);
            }

            json.WriteEndObject();

            json.WriteStartObject("form");
            await WriteFormAsync(json, request, body);
            json.WriteEndObject();

            json.WriteStartObject("headers");
            foreach (var (name, values) in request.Headers)
            {
                if (!exposeCredentials && Credentials.IsCredentialHeader(name))
                {
                    continue;
                }

                json.WriteString(name.ToLowerInvariant(), values.ToString());
            }

            json.WriteEndObject();

            json.WriteString("body", Encoding.UTF8.GetString(body));
            // The exact bytes, for req.bodyBytes (decoded by the bootstrap only when a handler reads it).
            if (body.Length > 0)
            {
                json.WriteBase64String("bodyBase64", body);
            }

            json.WriteStartObject("params");
            foreach (var (key, value) in request.RouteValues)
            {
                json.WriteString(key == RoutePath.RestParameter ? "*" : key, value?.ToString() ?? "");
            }

            json.WriteEndObject();

            json.WritePropertyName("user");
            ScriptUser.Write(json, context.User);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // urlencoded and multipart fields become req.form (a repeated key keeps its last value).
    // File parts are not copied into form: their bytes stay in req.body.
    private static async Task WriteFormAsync(Utf8JsonWriter json, HttpRequest request, byte[] body)
    {
        if (body.Length == 0 || !MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType))
        {
            return;
        }

        if (contentType.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var (key, values) in QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)))
            {
                json.WriteString(key, values.Count == 0 ? "" : values[^1]);
            }

            return;
        }

        if (!contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
        {
            return;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var reader = new MultipartReader(boundary, new MemoryStream(body, writable: false));
            while (await reader.ReadNextSectionAsync() is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) ||
                    !disposition.IsFormDisposition() || disposition.IsFileDisposition())
                {
                    continue;
                }

                using var text = new StreamReader(section.Body, Encoding.UTF8);
                fields[HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? ""] = await text.ReadToEndAsync();
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            // A malformed multipart body (or one past MultipartReader's header limits) leaves form with
            // the fields read so far; the raw body is still in req.body.
        }

        foreach (var (key, value) in fields)
        {
            json.WriteString(key, value);
        }
    }
}
