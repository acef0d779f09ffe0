using System.Text.Json;
using AiWebEngine.Management;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;

namespace AiWebEngine.Diagnostics;

/// <summary>
/// <c>GET /health</c>: <c>{ status, scripts: { loaded, failed: [{ uri, error, line }] }, streams: { paths, connections } }</c>,
/// and on a cluster instance <c>replication: { following, caughtUp, entriesSkipped, lastError, lastErrorAt }</c>.
/// </summary>
/// <remarks>
/// <c>status</c> is <c>ok</c>, or <c>degraded</c> while some script has failed to load, the scripts
/// directory is unavailable (<c>scripts.directoryError</c>) or the script replication is retrying
/// after a failure (<c>replication.following</c> false); the server itself is serving either way,
/// so the HTTP status is 200. Skipped replicated changes are counted and the last problem shown, but
/// do not degrade the status: replication goes on after them.
/// </remarks>
internal sealed class HealthReport(ScriptManager scripts, ScriptDirectory directory, StreamRegistry streams, StreamConnectionLimiter connections, ScriptReplication replication)
{
    public async Task WriteAsync(HttpContext context)
    {
        var statuses = scripts.Statuses;
        var failed = statuses.Where(s => s.Error is not null).ToList();
        var directoryError = directory.DirectoryError;
        var cluster = replication.Enabled ? replication.Health : null;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", failed.Count == 0 && directoryError is null && cluster?.Following != false ? "ok" : "degraded");
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
        if (cluster is not null)
        {
            json.WriteStartObject("replication");
            json.WriteBoolean("following", cluster.Following);
            json.WriteBoolean("caughtUp", cluster.CaughtUp);
            json.WriteNumber("entriesSkipped", cluster.EntriesSkipped);
            if (cluster.LastError is not null)
            {
                json.WriteString("lastError", cluster.LastError);
                json.WriteString("lastErrorAt", cluster.LastErrorAt!.Value);
            }

            json.WriteEndObject();
        }
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
