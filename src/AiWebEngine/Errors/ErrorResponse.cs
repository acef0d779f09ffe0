using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;

namespace AiWebEngine.Errors;

/// <summary>
/// Writes the engine's JSON error body:
/// <c>{ "error": { "code", "message", "requestId", "path", "method", "details"? }, "status" }</c>.
/// </summary>
internal static class ErrorResponse
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="retryAfter">
    /// For a refusal the client should retry (429, 503): sent as <c>Retry-After</c> in whole seconds,
    /// at least 1, so that clients and proxies back off instead of retrying at once.
    /// </param>
    public static async Task WriteAsync(HttpContext context, int status, string code, string message, IReadOnlyDictionary<string, object?>? details = null, TimeSpan? retryAfter = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        // An error body replaces whatever a handler had set (but Allow, which a 405 needs, and the
        // WWW-Authenticate challenge of a 401); the status-code-pages middleware must not write a second one.
        var allow = context.Response.Headers.Allow;
        var challenge = context.Response.Headers.WWWAuthenticate;
        context.Response.Clear();
        if (allow.Count > 0)
        {
            context.Response.Headers.Allow = allow;
        }

        if (challenge.Count > 0 && status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = challenge;
        }

        if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers[RequestIdMiddleware.HeaderName] = context.TraceIdentifier;
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds(wait).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await context.Response.Body.WriteAsync(Format(context, status, code, message, details), context.RequestAborted);
    }

    /// <summary>The <c>Retry-After</c> value of <paramref name="wait"/>: whole seconds, rounded up, at least 1.</summary>
    public static int RetryAfterSeconds(TimeSpan wait) => (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, int.MaxValue);

    public static byte[] Format(HttpContext context, int status, string code, string message, IReadOnlyDictionary<string, object?>? details)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("code", code);
            json.WriteString("message", message);
            json.WriteString("requestId", context.TraceIdentifier);
            json.WriteString("path", context.Request.Path.Value ?? "/");
            json.WriteString("method", context.Request.Method);
            if (details is not null)
            {
                json.WritePropertyName("details");
                GraphQL.GraphQLValues.Write(json, details);
            }

            json.WriteEndObject();
            json.WriteNumber("status", status);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
