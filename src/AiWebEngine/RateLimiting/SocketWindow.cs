namespace AiWebEngine.RateLimiting;

/// <summary>A fixed-window count for one socket: at most a number of permits per window.</summary>
/// <remarks>
/// Not thread-safe, by design: each is used by one socket's receive loop only, so it needs no lock and
/// no timer (a <c>FixedWindowRateLimiter</c> per socket would start one). Time comes from
/// <see cref="TimeProvider"/>, so tests can move it.
/// </remarks>
internal sealed class SocketWindow(int permitLimit, TimeSpan window, TimeProvider time)
{
    private long _windowStart = time.GetTimestamp();
    private int _taken;

    public int PermitLimit => permitLimit;

    public TimeSpan Window => window;

    /// <summary>Takes a permit; false when this window's are all taken (nothing is taken then).</summary>
    public bool TryTake()
    {
        var now = time.GetTimestamp();
        if (time.GetElapsedTime(_windowStart, now) >= window)
        {
            _windowStart = now;
            _taken = 0;
        }

        if (_taken >= permitLimit)
        {
            return false;
        }

        _taken++;
        return true;
    }

    /// <summary>Time until the current window ends.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            var left = window - time.GetElapsedTime(_windowStart);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }
}
