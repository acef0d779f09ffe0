using System.Globalization;

namespace AiWebEngine.Streaming.Redis;

/// <summary>
/// Redis stream entry ids (<c>ms-seq</c>) as the bus's <see langword="long"/> ids: <c>ms × 1 000 000 + seq</c>.
/// </summary>
/// <remarks>
/// Every instance reads the same entries, so every instance gives a message the same id, and an SSE
/// client's <c>Last-Event-ID</c> means the same thing on each. Ids stay integers (the wire format of
/// SSE <c>id:</c> fields does not change) and increase with the stream, also across a Redis restart
/// (entry ids come from Redis's clock). A sequence number of a million or more within one millisecond
/// cannot be represented; Redis does not come near that rate on one stream.
/// </remarks>
internal static class RedisIds
{
    public const long SequenceRange = 1_000_000;

    public static bool TryParse(string? text, out long id)
    {
        id = 0;
        if (text is null)
        {
            return false;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !long.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || seq >= SequenceRange
            || ms > (long.MaxValue - seq) / SequenceRange)
        {
            return false;
        }

        id = ms * SequenceRange + seq;
        return true;
    }

    public static string Format(long id) =>
        string.Create(CultureInfo.InvariantCulture, $"{id / SequenceRange}-{id % SequenceRange}");

    /// <summary>The id of the first entry Redis could add at <paramref name="time"/>.</summary>
    public static long At(DateTimeOffset time) => time.ToUnixTimeMilliseconds() * SequenceRange;
}
