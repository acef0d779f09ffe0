using System.Numerics;

namespace SseLoad;

/// <summary>
/// A log-linear histogram of non-negative values (microseconds here): exact below 256, then 128
/// buckets per power of two, so a reported percentile is within 0.8 % of the true value.
/// </summary>
/// <remarks>
/// Not thread-safe: every thread records into its own (<see cref="ForThisThread"/>) and the
/// histograms are merged once the load has stopped.
/// </remarks>
internal sealed class Histogram
{
    private const int Exact = 256;
    private const int Half = 128;
    private const int Buckets = Exact + 56 * Half;

    private static readonly Lock s_sync = new();
    private static readonly List<Histogram> s_perThread = [];

    [ThreadStatic]
    private static Histogram? t_current;

    private readonly long[] _counts = new long[Buckets];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public long Min { get; private set; } = long.MaxValue;

    public double Sum { get; private set; }

    /// <summary>This thread's histogram of the process-wide latency set.</summary>
    public static Histogram ForThisThread()
    {
        var current = t_current;
        if (current is null)
        {
            current = new Histogram();
            lock (s_sync)
            {
                s_perThread.Add(current);
            }

            t_current = current;
        }

        return current;
    }

    /// <summary>Adds a histogram that one thread records into (a poller's) to the process-wide set.</summary>
    public static void Register(Histogram histogram)
    {
        lock (s_sync)
        {
            s_perThread.Add(histogram);
        }
    }

    /// <summary>The per-thread histograms merged (call after the load has stopped).</summary>
    public static Histogram MergeAllThreads()
    {
        var merged = new Histogram();
        lock (s_sync)
        {
            foreach (var h in s_perThread)
            {
                merged.Add(h);
            }
        }

        return merged;
    }

    public void Record(long value)
    {
        if (value < 0)
        {
            value = 0;
        }

        _counts[Index(value)]++;
        Count++;
        Sum += value;
        if (value > Max)
        {
            Max = value;
        }

        if (value < Min)
        {
            Min = value;
        }
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < Buckets; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        Sum += other.Sum;
        Max = Math.Max(Max, other.Max);
        Min = Math.Min(Min, other.Min);
    }

    /// <summary>The value at percentile <paramref name="p"/> (0–100): the middle of its bucket, capped at the maximum.</summary>
    public long Percentile(double p)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(p / 100.0 * Count);
        rank = Math.Clamp(rank, 1, Count);
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                var low = Lower(i);
                var high = i + 1 < Buckets ? Lower(i + 1) : low;
                return Math.Min((low + high) / 2, Max);
            }
        }

        return Max;
    }

    private static int Index(long v)
    {
        if (v < Exact)
        {
            return (int)v;
        }

        var msb = 63 - BitOperations.LeadingZeroCount((ulong)v);
        var shift = msb - 7;
        var index = Exact + (shift - 1) * Half + (int)((v >> shift) - Half);
        return Math.Min(index, Buckets - 1);
    }

    private static long Lower(int i)
    {
        if (i < Exact)
        {
            return i;
        }

        var k = i - Exact;
        var shift = k / Half + 1;
        return (long)(k % Half + Half) << shift;
    }
}
