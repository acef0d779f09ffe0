using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Security;
using AiWebEngine.Streaming;

namespace AiWebEngine.Diagnostics;

/// <summary>
/// <c>GET /health</c>: <c>{ status, scripts: { loaded, failedCount, failed?: [{ uri, error, line }], directoryError? }, streams: { paths, connections } }</c>.
/// </summary>
/// <remarks>
/// <para>
/// <c>status</c> is <c>ok</c>, or <c>degraded</c> while some script has failed to load or the scripts
/// directory is unavailable; the server itself is serving either way, so the HTTP status is 200.
/// </para>
/// <para>
/// The endpoint is public, so everyone gets the status and the counts; which scripts failed, their
/// errors and the directory's error (script URIs, source lines, file system paths) are written only
/// for the administrator (<see cref="IAdminCallers"/>). The answer depends on the caller, so it is
/// never cached.
/// </para>
/// </remarks>
internal sealed class HealthReport(ScriptManager scripts, ScriptDirectory directory, StreamRegistry streams, StreamConnectionLimiter connections, IAdminCallers admins)
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
        json.WriteNumber("failedCount", failed.Count);
        if (admins.IsAdmin(context))
        {
            WriteFailures(json, failed, directoryError);
        }

        json.WriteEndObject();
        json.WriteStartObject("streams");
        json.WriteNumber("paths", streams.Snapshot.Count);
        json.WriteNumber("connections", connections.Open);
        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    private static void WriteFailures(Utf8JsonWriter json, List<ScriptStatus> failed, string? directoryError)
    {
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
    }
}
