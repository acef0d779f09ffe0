using System.Globalization;
using Cronos;

namespace AiWebEngine.Scripting;

/// <summary>
/// When a named job (<c>schedule(name, spec, handler)</c>) runs: a cron expression of five fields (minutes)
/// or six (seconds first), in UTC, parsed by Cronos; or an interval such as <c>"5s"</c>, <c>"10m"</c>,
/// <c>"1h"</c>, <c>"1d"</c>, whose ticks are the multiples of it since 1970 (UTC).
/// </summary>
/// <remarks>
/// Invariant: the ticks depend on the spec and the clock only, never on when an instance started, so
/// every instance of a cluster computes the same ticks and their lease (one run per tick) is decided
/// between equal keys.
/// </remarks>
internal sealed class ScheduleSpec
{
    /// <summary>The shortest interval between two ticks.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    private readonly CronExpression? _cron;
    private readonly TimeSpan _interval;

    private ScheduleSpec(string text, CronExpression? cron, TimeSpan interval)
    {
        Text = text;
        _cron = cron;
        _interval = interval;
    }

    /// <summary>The spec as the script gave it.</summary>
    public string Text { get; }

    public static bool TryParse(string text, out ScheduleSpec? spec, out string? error)
    {
        spec = null;
        error = null;
        var trimmed = text.Trim();
        if (TryParseInterval(trimmed, out var interval))
        {
            if (interval < MinInterval || interval > TimeSpan.FromDays(366))
            {
                error = $"an interval must be from 1s to 366d, got '{trimmed}'";
                return false;
            }

            spec = new ScheduleSpec(trimmed, null, interval);
            return true;
        }

        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            error = $"'{Cut(trimmed)}' is neither an interval (such as \"5s\", \"10m\", \"1h\", \"1d\") nor a cron expression of 5 fields (minute hour day month weekday) or 6 (second first)";
            return false;
        }

        try
        {
            spec = new ScheduleSpec(trimmed, CronExpression.Parse(trimmed, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard), TimeSpan.Zero);
            return true;
        }
        catch (CronFormatException e)
        {
            error = $"'{Cut(trimmed)}' is not a valid cron expression: {e.Message}";
            return false;
        }
    }

    /// <summary>The first tick after <paramref name="after"/>, or <see langword="null"/> when there is none.</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        if (_cron is not null)
        {
            return _cron.GetNextOccurrence(after, TimeZoneInfo.Utc);
        }

        var ticks = _interval.Ticks;
        var sinceEpoch = after.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + ((sinceEpoch / ticks) + 1) * ticks, TimeSpan.Zero);
    }

    private static bool TryParseInterval(string text, out TimeSpan interval)
    {
        interval = default;
        var unit = text.EndsWith("ms", StringComparison.Ordinal) ? "ms" : text.Length > 0 ? text[^1..] : "";
        var number = text[..^unit.Length];
        if (unit is not ("ms" or "s" or "m" or "h" or "d") || number.Length == 0 || !number.All(char.IsAsciiDigit)
            || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > 1_000_000_000)
        {
            return false;
        }

        interval = unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            "h" => TimeSpan.FromHours(value),
            _ => TimeSpan.FromDays(value),
        };
        return true;
    }

    private static string Cut(string text) => text.Length > 60 ? text[..57] + "..." : text;
}
