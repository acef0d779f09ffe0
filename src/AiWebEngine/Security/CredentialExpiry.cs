using Microsoft.AspNetCore.Authentication;

namespace AiWebEngine.Security;

/// <summary>
/// When the credential a request was authenticated with stops being valid: the token's <c>exp</c>, or
/// the session's expiry. A stream or subscription opened with it must end then (issue 18, point 6).
/// </summary>
public static class CredentialExpiry
{
    /// <summary>The expiry of the request's credential, or <see langword="null"/> when anonymous or it never expires.</summary>
    public static async Task<DateTimeOffset?> OfAsync(HttpContext context)
    {
        if (ScriptUser.Id(context.User) is null)
        {
            return null;
        }

        // The handler remembers its result for the request: this does not validate the credential again.
        var result = await context.AuthenticateAsync(EngineAuthentication.Scheme);
        DateTimeOffset? expires = result.Properties?.ExpiresUtc;
        if (OfToken(context.User) is { } tokenExpiry)
        {
            expires = expires is { } session && session < tokenExpiry ? session : tokenExpiry;
        }

        return expires;
    }

    /// <summary>The <c>exp</c> of the token <paramref name="principal"/> was read from, or <see langword="null"/> (none, or past year 9999).</summary>
    public static DateTimeOffset? OfToken(System.Security.Claims.ClaimsPrincipal principal) =>
        principal.FindFirst("exp") is { } exp && long.TryParse(exp.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    /// <summary>
    /// Calls <paramref name="expired"/> once at <paramref name="expires"/> (at once when it has passed);
    /// nothing when it is <see langword="null"/>. Dispose the result to cancel.
    /// </summary>
    /// <remarks>
    /// A timer cannot be set more than about 49 days ahead (2^32 - 2 ms), and tokens and sessions often last
    /// longer (<c>dotnet user-jwts</c> mints three-month tokens): a later expiry is reached in steps of at
    /// most <see cref="MaxStep"/>, each step checking the clock again.
    /// </remarks>
    public static ITimer? When(DateTimeOffset? expires, TimeProvider time, Action expired) =>
        expires is { } at ? new ExpiryTimer(at, time, expired) : null;

    /// <summary>The longest single wait of <see cref="When"/>, well inside what a timer accepts.</summary>
    internal static readonly TimeSpan MaxStep = TimeSpan.FromDays(20);

    private sealed class ExpiryTimer : ITimer
    {
        private readonly DateTimeOffset _at;
        private readonly TimeProvider _time;
        private readonly Action _expired;
        private readonly ITimer _timer;

        public ExpiryTimer(DateTimeOffset at, TimeProvider time, Action expired)
        {
            _at = at;
            _time = time;
            _expired = expired;
            // Created disarmed and armed after the field is set, so a callback always finds it.
            _timer = time.CreateTimer(static s => ((ExpiryTimer)s!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Arm();
        }

        private TimeSpan Remaining => _at - _time.GetUtcNow();

        // An expiry that has come fires at once, still on a timer thread: the callback never runs inside When.
        private void Arm()
        {
            var remaining = Remaining;
            _timer.Change(remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining < MaxStep ? remaining : MaxStep, Timeout.InfiniteTimeSpan);
        }

        private void Tick()
        {
            if (Remaining > TimeSpan.Zero)
            {
                Arm();
                return;
            }

            _expired();
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => throw new NotSupportedException("An expiry timer is set once, by CredentialExpiry.When.");

        public void Dispose() => _timer.Dispose();

        public ValueTask DisposeAsync() => _timer.DisposeAsync();
    }
}
