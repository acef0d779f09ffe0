using System.Text.Json;
using StackExchange.Redis;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// A topic's Redis stream entry as a bus message. Entries are input from outside the process (anyone
/// who can write to Redis can add one), so everything is checked: the id, the fields, their UTF-8 and
/// their size, and the filter's JSON.
/// </summary>
internal static class TopicEntry
{
    /// <summary>An entry (<c>d</c> the payload, <c>f</c> the filter as JSON or empty) as a message, or <see langword="null"/> and why not.</summary>
    public static BusMessage? Parse(StreamEntry entry, int maxBytes, out string? problem)
    {
        problem = null;
        var rawId = entry.Id.ToString();
        if (!RedisIds.TryParse(rawId, out var id))
        {
            return Fail(out problem, "its id is not ms-seq with a sequence below 1 000 000");
        }

        if (Text(entry["d"], "d", maxBytes, out var data) is { } dataProblem)
        {
            return Fail(out problem, dataProblem);
        }

        IReadOnlyDictionary<string, string>? filter = null;
        var filterValue = entry["f"];
        if (!filterValue.IsNullOrEmpty)
        {
            if (Text(filterValue, "f", maxBytes, out var filterText) is { } filterProblem)
            {
                return Fail(out problem, filterProblem);
            }

            try
            {
                filter = JsonSerializer.Deserialize(filterText, BusJsonContext.Default.IReadOnlyDictionaryStringString);
            }
            catch (JsonException e)
            {
                return Fail(out problem, "its filter 'f' is not a JSON object of strings: " + e.Message);
            }

            if (filter is null)
            {
                return Fail(out problem, "its filter 'f' is null");
            }
        }

        return new BusMessage(id, data, filter);
    }

    /// <summary>A field as text: present, at most <see cref="StreamOptions.MaxMessageBytes"/>, valid UTF-8. Returns what is wrong, or <see langword="null"/>.</summary>
    private static string? Text(RedisValue value, string field, int maxBytes, out string text)
    {
        text = "";
        if (value.IsNull)
        {
            return $"it has no field '{field}'";
        }

        var bytes = (byte[])value!;
        if (bytes.Length > maxBytes)
        {
            return $"its field '{field}' is {bytes.Length} bytes, over {maxBytes} (AiWebEngine:Streams:MaxMessageBytes)";
        }

        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return $"its field '{field}' is not valid UTF-8";
        }

        text = System.Text.Encoding.UTF8.GetString(bytes);
        return null;
    }

    private static BusMessage? Fail(out string? problem, string why)
    {
        problem = why;
        return null;
    }
}
