using System.Text.Json;
using AiWebEngine.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Security;

/// <summary>
/// OpenID Connect sign-in for browser pages, under the reserved prefix <c>/auth</c>:
/// <c>GET /auth/signin?returnUrl=/page</c> (to the provider and back), <c>GET /auth/callback</c> (the
/// provider's answer, handled by the OpenID Connect handler), <c>POST /auth/signout?returnUrl=/page</c>
/// (ends the cookie session) and <c>GET /auth/me</c> (who the session, or a token, says you are).
/// </summary>
/// <remarks>
/// Invariants: a return URL is a path on this origin (never <c>//host</c> or <c>/\host</c>, which browsers
/// read as another site), so sign-in cannot be used to send a user elsewhere; signing out is a POST (a link
/// or image on another page cannot end a session, and the cross-site check refuses a form of another site);
/// a failed callback (forged state, replayed code, the provider refusing) answers 400 and signs in no one.
/// </remarks>
internal static partial class SignInEndpoints
{
    public const string Prefix = "/auth";

    private const int MaxReturnUrlLength = 2048;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix);
        group.MapGet("/signin", SignInAsync).WithDisplayName("AiWebEngine sign-in");
        group.MapPost("/signout", SignOutAsync).WithDisplayName("AiWebEngine sign-out");
        group.MapGet("/me", MeAsync).WithDisplayName("AiWebEngine who am I");
    }

    private static async Task SignInAsync(HttpContext context, IConfiguration configuration)
    {
        if (!EngineAuthentication.SignInConfigured(configuration))
        {
            await NotConfiguredAsync(context);
            return;
        }

        if (ReturnUrl(context) is not { } returnUrl)
        {
            await InvalidReturnUrlAsync(context);
            return;
        }

        await context.ChallengeAsync(EngineAuthentication.SignInScheme, new AuthenticationProperties { RedirectUri = returnUrl });
    }

    private static async Task SignOutAsync(HttpContext context, IConfiguration configuration)
    {
        if (!EngineAuthentication.SignInConfigured(configuration))
        {
            await NotConfiguredAsync(context);
            return;
        }

        if (ReturnUrl(context) is not { } returnUrl)
        {
            await InvalidReturnUrlAsync(context);
            return;
        }

        // The cookie session ends here; the provider's own session (single sign-on) is not ended.
        await context.SignOutAsync(EngineAuthentication.CookieScheme);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = returnUrl;
    }

    private static async Task MeAsync(HttpContext context)
    {
        if (ScriptUser.Id(context.User) is null)
        {
            await AccessRefusals.ChallengeAsync(context);
            await ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
                $"Not signed in: {await AccessRefusals.ProblemAsync(context)}, or sign in at {Prefix}/signin.");
            return;
        }

        var expires = await CredentialExpiry.OfAsync(context);
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WritePropertyName("user");
        ScriptUser.Write(json, context.User);
        if (expires is { } at)
        {
            json.WriteString("expiresAt", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull("expiresAt");
        }

        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    /// <summary>The failed callback's answer: 400 with the engine's JSON error; the reason goes to the log, not to the page.</summary>
    public static async Task RemoteFailureAsync(RemoteFailureContext context)
    {
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SignInEndpoints).FullName!);
        SignInFailed(logger, context.Failure?.Message ?? "unknown", context.HttpContext.TraceIdentifier);
        context.HandleResponse();
        await ErrorResponse.WriteAsync(context.HttpContext, StatusCodes.Status400BadRequest, ErrorCodes.SignInFailed,
            $"Sign-in did not complete (the provider refused it, or its answer was not for this browser's sign-in). Start again at {Prefix}/signin.");
    }

    /// <summary>The <c>returnUrl</c> query value (or form field) when it is a path on this origin; <c>/</c> when there is none; <see langword="null"/> when it is not acceptable.</summary>
    internal static string? ReturnUrl(HttpContext context)
    {
        var values = context.Request.Query["returnUrl"];
        if (values.Count == 0 && context.Request.HasFormContentType)
        {
            values = context.Request.Form["returnUrl"];
        }

        if (values.Count == 0)
        {
            return "/";
        }

        return values.Count == 1 && IsLocalPath(values[0]) ? values[0] : null;
    }

    /// <summary>Whether <paramref name="url"/> is a path on this origin: starts with one <c>/</c>, no <c>//</c> or <c>/\</c> after it, no control characters.</summary>
    internal static bool IsLocalPath(string? url) =>
        url is { Length: > 0 and <= MaxReturnUrlLength }
        && url[0] == '/'
        && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(c => char.IsControl(c) || c == '\\');

    private static Task NotConfiguredAsync(HttpContext context) =>
        ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.SignInNotConfigured,
            $"Sign-in is not configured: set {EngineAuthentication.SignInSection} (Authority, ClientId, ClientSecret); see README, Identity.");

    private static Task InvalidReturnUrlAsync(HttpContext context) =>
        ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidReturnUrl,
            "returnUrl must be one path on this site, starting with a single '/' (for example /examples/identity).");

    [LoggerMessage(EventId = 1470, Level = LogLevel.Warning, Message = "OpenID Connect sign-in failed: {Reason} (request {RequestId})")]
    private static partial void SignInFailed(ILogger logger, string reason, string requestId);
}
