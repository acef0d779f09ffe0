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

    /// <summary>The <c>exp</c> of the token <paramref name="principal"/> was read from, or <see langword="null"/>.</summary>
    public static DateTimeOffset? OfToken(System.Security.Claims.ClaimsPrincipal principal) =>
        principal.FindFirst("exp") is { } exp && long.TryParse(exp.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    /// <summary>
    /// Calls <paramref name="expired"/> once at <paramref name="expires"/> (at once when it has passed);
    /// nothing when it is <see langword="null"/>. Dispose the result to cancel.
    /// </summary>
    public static ITimer? When(DateTimeOffset? expires, TimeProvider time, Action expired)
    {
        if (expires is not { } at)
        {
            return null;
        }

        var due = at - time.GetUtcNow();
        return time.CreateTimer(static s => ((Action)s!)(), expired, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }
}
