using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace AiWebEngine.Management;

/// <summary>One script change read back from Redis, validated: whoever can write to Redis is not trusted as the operator is.</summary>
/// <param name="Uri">A script URI that <see cref="ScriptUris.Validate"/> accepts for this instance's scripts directory.</param>
/// <param name="Source">The new source, or <see langword="null"/> for a deletion.</param>
/// <param name="Origin">The instance that made the change.</param>
internal sealed record ReplicatedChange(string Uri, string? Source, string Origin)
{
    /// <summary>Longest instance id accepted (ours are 32 hex digits).</summary>
    public const int MaxOriginLength = 64;

    /// <summary>A stream entry (<c>u</c>, <c>o</c>, <c>s</c>, <c>x</c>) as a change, or why it cannot be one.</summary>
    public static ReplicatedChange? FromEntry(StreamEntry entry, string root, int maxSourceBytes, out string? problem)
    {
        var problems = new[]
        {
            Text(entry["u"], "u", ScriptUris.MaxLength * 4, out var uri),
            Text(entry["o"], "o", MaxOriginLength, out var origin),
            Text(entry["x"], "x", 16, out var deleted),
        };
        if ((problem = problems.FirstOrDefault(p => p is not null)) is not null)
        {
            return null;
        }

        if (deleted is not ("0" or "1"))
        {
            problem = $"its deletion flag 'x' is '{deleted}', not 0 or 1";
            return null;
        }

        string? source = null;
        if (deleted == "0" && (problem = Text(entry["s"], "s", maxSourceBytes, out source)) is not null)
        {
            return null;
        }

        return Checked(uri, source, origin, root, out problem);
    }

    /// <summary>A field of the state hash (URI → <see cref="ScriptState"/> JSON) as a change, or why it cannot be one.</summary>
    public static ReplicatedChange? FromState(HashEntry entry, string root, int maxSourceBytes, out string? problem)
    {
        // A source of maxSourceBytes takes at most 6 bytes a byte once escaped as JSON.
        var problems = new[]
        {
            Text(entry.Name, "name", ScriptUris.MaxLength * 4, out var uri),
            Text(entry.Value, "value", maxSourceBytes * 6L + 1024, out var json),
        };
        if ((problem = problems.FirstOrDefault(p => p is not null)) is not null)
        {
            return null;
        }

        ScriptState? state;
        try
        {
            state = JsonSerializer.Deserialize(json, ReplicationJsonContext.Default.ScriptState);
        }
        catch (JsonException e)
        {
            problem = "its value is not a script state: " + e.Message;
            return null;
        }

        if (state?.Instance is not { Length: > 0 and <= MaxOriginLength } origin)
        {
            problem = "its value names no instance";
            return null;
        }

        if (state.Source is { } source && Encoding.UTF8.GetByteCount(source) > maxSourceBytes)
        {
            problem = $"its source is over {maxSourceBytes} bytes (AiWebEngine:Scripts:MaxSourceBytes)";
            return null;
        }

        return Checked(uri, state.Source, origin, root, out problem);
    }

    private static ReplicatedChange? Checked(string uri, string? source, string origin, string root, out string? problem)
    {
        problem = ScriptUris.Validate(uri, root);
        return problem is null ? new ReplicatedChange(uri, source, origin) : null;
    }

    /// <summary>A field as text: present, at most <paramref name="maxBytes"/>, valid UTF-8. Returns what is wrong, or <see langword="null"/>.</summary>
    private static string? Text(RedisValue value, string field, long maxBytes, out string text)
    {
        text = "";
        if (value.IsNull)
        {
            return $"it has no field '{field}'";
        }

        var bytes = (byte[])value!;
        if (bytes.Length > maxBytes)
        {
            return $"its field '{field}' is {bytes.Length} bytes, over {maxBytes}";
        }

        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return $"its field '{field}' is not valid UTF-8";
        }

        text = Encoding.UTF8.GetString(bytes);
        return null;
    }
}
