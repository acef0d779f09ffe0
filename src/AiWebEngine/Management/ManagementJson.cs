using System.Text.Encodings.Web;
using System.Text.Json;

namespace AiWebEngine.Management;

/// <summary>Writes the management API's JSON answers (camelCase names, written by hand: no reflection).</summary>
internal static class ManagementJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body, WriterOptions);
        write(json);
        await json.FlushAsync(context.RequestAborted);
    }
}
