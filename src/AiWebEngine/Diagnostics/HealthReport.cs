using System.Text.Json;
using AiWebEngine.Management;
using AiWebEngine.Scripting;
using AiWebEngine.Security;
using AiWebEngine.Streaming;

namespace AiWebEngine.Diagnostics;

/// <summary>
/// <c>GET /health</c>: <c>{ status, scripts: { loaded, failedCount, failed?: [{ uri, error, line }], directoryError? }, streams: { paths, connections } }</c>,
/// and on a cluster instance <c>replication: { following, caughtUp, entriesSkipped, lastError?, lastErrorAt? }</c>.
/// </summary>
/// <remarks>
/// <para>
/// <c>status</c> is <c>ok</c>, or <c>degraded</c> while some script has failed to load, the scripts
/// directory is unavailable or the script replication is retrying after a failure
/// (<c>replication.following</c> false); the server itself is serving either way, so the HTTP status
/// is 200. Skipped replicated changes are counted and the last problem shown, but do not degrade the
/// status: replication goes on after them.
/// </para>
/// <para>
/// The endpoint is public, so everyone gets the status and the counts; which scripts failed, their
/// errors, the directory's error and replication's last error (script URIs, source lines, file system
/// paths, Redis messages) are written only for the administrator (<see cref="IAdminCallers"/>). The
/// answer depends on the caller, so it is never cached.
/// </para>
/// </remarks>
internal sealed class HealthReport(ScriptManager scripts, ScriptDirectory directory, StreamRegistry streams, StreamConnectionLimiter connections, ScriptReplication replication, IAdminCallers admins)
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
        json.WriteNumber("failedCount", failed.Count);
        var admin = admins.IsAdmin(context);
        if (admin)
        {
            WriteFailures(json, failed, directoryError);
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
            if (admin && cluster.LastError is not null)
            {
                json.WriteString("lastError", cluster.LastError);
                json.WriteString("lastErrorAt", cluster.LastErrorAt!.Value);
            }

            json.WriteEndObject();
        }

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
