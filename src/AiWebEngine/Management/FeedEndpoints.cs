using System.Globalization;
using AiWebEngine.Errors;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>
/// <c>GET /engine/logs</c> and its live tail <c>/engine/logs/stream</c>, <c>GET /engine/script-updates</c>,
/// and <c>GET /engine/streams</c>.
/// </summary>
internal sealed class FeedEndpoints(LogBuffer logs, ScriptUpdates updates, FeedStream stream, StreamRegistry streams, ITopicBus bus, IOptions<AdminOptions> options, AiWebEngine.Scripting.ScheduleBoard schedules)
{
    private const int DefaultLimit = 100;

    /// <summary><c>?uri=&amp;level=&amp;since=&amp;limit=</c>: the latest <c>limit</c> kept lines that match, oldest first.</summary>
    public async Task LogsAsync(HttpContext context)
    {
        if (await LogFilterAsync(context, withPaging: true) is not { } query)
        {
            return;
        }

        var matching = logs.Feed.Snapshot().Where(item => query.Filter(item.Value)).ToList();
        var latest = matching.Skip(Math.Max(0, matching.Count - query.Limit));
        await ManagementJson.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("logs");
            foreach (var item in latest)
            {
                json.WriteRawValue(item.Json, skipInputValidation: true);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary>The live tail: each new line that matches <c>?uri=&amp;level=</c> as an SSE message whose id resumes it.</summary>
    public async Task LogStreamAsync(HttpContext context)
    {
        if (await LogFilterAsync(context, withPaging: false) is { } query)
        {
            await stream.ServeAsync(context, logs.Feed, query.Filter);
        }
    }

    public Task ScriptUpdatesAsync(HttpContext context) =>
        stream.ServeAsync(context, updates.Feed, static (ScriptChange _) => true);

    /// <summary>Every stream path with its owner and counters, and the replay bytes of the whole process.</summary>
    /// <remarks><c>replayBytes</c> counts the UTF-8 payloads kept for <c>Last-Event-ID</c> replay (the process holds about three times that: each payload as a string and as its encoded frame). <c>clientsDropped</c> counts clients disconnected because they fell a full queue behind (SPEC §4.2); the frames they missed are replayed when they reconnect.</remarks>
    public Task StreamsAsync(HttpContext context) => ManagementJson.WriteAsync(context, json =>
    {
        json.WriteStartObject();
        json.WriteStartArray("streams");
        foreach (var (path, stream) in streams.Snapshot.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var stats = bus.GetStats(StreamRegistry.TopicOf(path));
            json.WriteStartObject();
            json.WriteString("path", path);
            json.WriteString("owner", stream.Owner);
            json.WriteNumber("connections", stats?.Subscribers ?? 0);
            json.WriteNumber("messagesSent", stats?.Published ?? 0);
            json.WriteNumber("clientsDropped", stats?.Disconnected ?? 0);
            json.WriteNumber("lastId", stats?.LastId ?? 0);
            json.WriteNumber("replayBytes", stats?.ReplayBytes ?? 0);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        // Every topic's, GraphQL subscriptions' included: what AiWebEngine:Streams:ReplayMaxTotalBytes bounds.
        json.WriteNumber("replayBytes", bus.ReplayBytes);
        json.WriteEndObject();
    });

    /// <summary>Every named job of the serving scripts, as this instance sees it (see <see cref="ScheduleBoard"/>).</summary>
    public Task SchedulesAsync(HttpContext context) => ManagementJson.WriteAsync(context, json =>
    {
        static void Time(System.Text.Json.Utf8JsonWriter json, string name, DateTimeOffset? at)
        {
            if (at is { } value)
            {
                json.WriteString(name, value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                json.WriteNull(name);
            }
        }

        json.WriteStartObject();
        json.WriteStartArray("schedules");
        foreach (var job in schedules.List())
        {
            json.WriteStartObject();
            json.WriteString("script", job.Script);
            json.WriteString("name", job.Name);
            json.WriteString("schedule", job.Spec);
            Time(json, "nextRun", job.NextRun);
            Time(json, "lastRun", job.LastRun);
            if (job.LastDuration is { } duration)
            {
                json.WriteNumber("lastDurationMs", Math.Round(duration.TotalMilliseconds, 1));
            }
            else
            {
                json.WriteNull("lastDurationMs");
            }

            json.WriteString("lastOutcome", job.LastOutcome);
            json.WriteString("lastError", job.LastError);
            json.WriteNumber("runs", job.Runs);
            json.WriteNumber("failures", job.Failures);
            json.WriteNumber("ranElsewhere", job.RanElsewhere);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    });

    private sealed record LogQuery(Func<LogEntry, bool> Filter, int Limit);

    private async Task<LogQuery?> LogFilterAsync(HttpContext context, bool withPaging)
    {
        var query = context.Request.Query;
        var uri = query["uri"].ToString();
        var levelText = query["level"].ToString();
        var sinceText = withPaging ? query["since"].ToString() : "";
        var limitText = withPaging ? query["limit"].ToString() : "";

        var level = LogLevel.Trace;
        if (levelText.Length > 0 && (!Enum.TryParse(levelText, ignoreCase: true, out level) || !Enum.IsDefined(level) || int.TryParse(levelText, out _)))
        {
            return await BadAsync(context, $"level '{levelText}' is not one of Trace, Debug, Information, Warning, Error, Critical");
        }

        DateTimeOffset? since = null;
        if (sinceText.Length > 0)
        {
            if (!DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return await BadAsync(context, $"since '{sinceText}' is not an ISO 8601 timestamp");
            }

            since = parsed;
        }

        var max = options.Value.LogBufferSize;
        var limit = DefaultLimit;
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > max))
        {
            return await BadAsync(context, $"limit '{limitText}' is not a number from 1 to {max} (AiWebEngine:Admin:LogBufferSize)");
        }

        return new LogQuery(
            entry => entry.Level >= level && (uri.Length == 0 || entry.Uri == uri) && (since is null || entry.Timestamp > since),
            limit);
    }

    private static async Task<LogQuery?> BadAsync(HttpContext context, string message)
    {
        await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, message);
        return null;
    }
}
