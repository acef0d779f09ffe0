using Microsoft.Extensions.Options;

namespace AiWebEngine.Security;

/// <summary>
/// The engine's own authentication settings beside the standard <c>Authentication:Schemes</c> sections,
/// bound from <c>AiWebEngine:Authentication</c>.
/// </summary>
public sealed class SignInOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Authentication";

    /// <summary>
    /// Whether an EventSource stream (a script stream, <c>/graphql/subscription/&lt;name&gt;</c>) may carry its
    /// bearer token as the <c>access_token</c> query parameter. Off by default: a URL lands in access logs,
    /// proxy logs and browser history, so the token is as exposed as they are.
    /// </summary>
    public bool AllowQueryToken { get; set; }

    /// <summary>How long a cookie session from OpenID Connect sign-in lasts; a stream opened with it ends then.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}

/// <summary>Refuses a session lifetime outside one minute to thirty days at start.</summary>
internal sealed class SignInOptionsValidator : IValidateOptions<SignInOptions>
{
    public ValidateOptionsResult Validate(string? name, SignInOptions options) =>
        options.SessionLifetime < TimeSpan.FromMinutes(1) || options.SessionLifetime > TimeSpan.FromDays(30)
            ? ValidateOptionsResult.Fail($"{SignInOptions.SectionName}:SessionLifetime must be between 00:01:00 and 30.00:00:00 (it is {options.SessionLifetime}).")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// Endpoint metadata: an event stream that EventSource opens, where the <c>access_token</c> query parameter
/// is read when <see cref="SignInOptions.AllowQueryToken"/> is on. No other endpoint ever reads it.
/// </summary>
public sealed class AcceptsQueryToken
{
    public static readonly AcceptsQueryToken Instance = new();

    private AcceptsQueryToken()
    {
    }
}
