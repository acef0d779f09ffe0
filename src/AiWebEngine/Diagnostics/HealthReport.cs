using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;

namespace AiWebEngine.Diagnostics;

/// <summary>
/// <c>GET /health</c>: <c>{ status, scripts: { loaded, failed: [{ uri, error, line }] }, streams: { paths, connections } }</c>.
/// </summary>
/// <remarks>
/// <c>status</c> is <c>ok</c>, or <c>degraded</c> while some script has failed to load or the scripts
/// directory is unavailable (<c>scripts.directoryError</c>); the server itself is serving either way,
/// so the HTTP status is 200.
/// </remarks>
internal sealed class HealthReport(ScriptManager scripts, ScriptDirectory directory, StreamRegistry streams, StreamConnectionLimiter connections)
{
    public async Task WriteAsync(HttpContext context)
    {
        var statuses = scripts.Statuses;
        var failed = statuses.Where(s => s.Error is not null).ToList();
        var directoryError = directory.DirectoryError;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", failed.Count == 0 && directoryError is null ? "ok" : "degraded");
        json.WriteStartObject("scripts");
        json.WriteNumber("loaded", statuses.Count(s => s.IsActive));
        json.WriteStartArray("failed");
        foreach (var script in failed)
        {
            json.WriteStartObject();
            json.WriteString("uri", script.Uri);
            json.WriteString("error", script.Error);
            if (script.ErrorLine is { } line)
            {
                json.WriteNumber("line", line);
            }

            json.WriteBoolean("previousVersionServing", script.IsActive);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (directoryError is not null)
        {
            json.WriteString("directoryError", directoryError);
        }

        json.WriteEndObject();
        json.WriteStartObject("streams");
        json.WriteNumber("paths", streams.Snapshot.Count);
        json.WriteNumber("connections", connections.Open);
        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
