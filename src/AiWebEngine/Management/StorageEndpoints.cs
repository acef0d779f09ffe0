using AiWebEngine.Errors;
using AiWebEngine.Scripting.Storage;

namespace AiWebEngine.Management;

/// <summary>
/// <c>GET /engine/storage?script=URI</c> exports a script's stored entries; <c>DELETE /engine/storage?script=URI</c>
/// deletes them all. A script's data outlives the script (deleting the file keeps it), so this is how it goes.
/// </summary>
internal sealed class StorageEndpoints(ScriptStorage storage)
{
    public async Task ExportAsync(HttpContext context)
    {
        if (await ScriptOf(context) is not { } script)
        {
            return;
        }

        var entries = await storage.ExportAsync(script);
        await ManagementJson.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("script", script);
            json.WriteStartArray("entries");
            foreach (var (key, value, expires) in entries)
            {
                json.WriteStartObject();
                json.WriteString("key", key);
                json.WritePropertyName("value");
                json.WriteRawValue(value, skipInputValidation: false);
                if (expires is { } at)
                {
                    json.WriteString("expiresAt", DateTimeOffset.FromUnixTimeMilliseconds(at).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    json.WriteNull("expiresAt");
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    public async Task DeleteAsync(HttpContext context)
    {
        if (await ScriptOf(context) is not { } script)
        {
            return;
        }

        var deleted = await storage.DeleteAllAsync(script);
        await ManagementJson.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("script", script);
            json.WriteNumber("deleted", deleted);
            json.WriteEndObject();
        });
    }

    private static async Task<string?> ScriptOf(HttpContext context)
    {
        var values = context.Request.Query["script"];
        if (values.Count == 1 && values[0] is { Length: > 0 and <= 1024 } script)
        {
            return script;
        }

        await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, "Name the script: ?script=<its URI, such as chat/rooms.js>.");
        return null;
    }
}
