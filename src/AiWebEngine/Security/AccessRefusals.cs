using AiWebEngine.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.IdentityModel.Tokens;

namespace AiWebEngine.Security;

/// <summary>
/// Answers a refused request with the engine's JSON error: 401 with <c>WWW-Authenticate</c> (from the
/// handler's own challenge) when the caller is not signed in or its credential is not valid, 403 when
/// the signed-in user lacks what the registration asks for. No redirect: the callers of routes, streams
/// and GraphQL are programs (fetch, EventSource, GraphQL clients), not a sign-in form.
/// </summary>
internal sealed class AccessRefusals : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var rule = context.GetEndpoint()?.Metadata.GetMetadata<AccessRule>();
        if (rule is null || authorizeResult.Succeeded)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var path = context.Request.Path.Value;
        // A principal without a user id (a token with no sub) is not signed in as anyone: a 401, not a 403.
        if (authorizeResult.Forbidden && ScriptUser.Id(context.User) is not null)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, $"{path} requires {rule.Description}.");
            return;
        }

        await ChallengeAsync(context);
        await ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
            $"{path} requires {rule.Description}: {await ProblemAsync(context)}");
    }

    /// <summary>Lets the bearer handler write its <c>WWW-Authenticate</c> (with the token's problem); keeps the 401.</summary>
    public static async Task ChallengeAsync(HttpContext context)
    {
        await context.ChallengeAsync(EngineAuthentication.BearerScheme);
        if (context.Response.Headers.WWWAuthenticate.Count == 0)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
    }

    /// <summary>Why the caller is not signed in, in words: no credential, or what is wrong with the one sent.</summary>
    /// <remarks>The handler remembers its result for the request, so asking again does not validate the token twice.</remarks>
    public static async Task<string> ProblemAsync(HttpContext context) =>
        (await context.AuthenticateAsync(EngineAuthentication.Scheme)).Failure is { } failure
            ? $"the token was refused ({Describe(failure)})"
            : "sign in, or send a token in 'Authorization: Bearer <token>'";

    /// <summary>A token's problem as the caller may be told it (no key material, no token contents).</summary>
    public static string Describe(Exception failure) => failure switch
    {
        SecurityTokenExpiredException => "it has expired",
        SecurityTokenNotYetValidException => "it is not valid yet",
        SecurityTokenInvalidIssuerException => "its issuer is not accepted",
        SecurityTokenInvalidAudienceException => "its audience is not accepted",
        SecurityTokenSignatureKeyNotFoundException => "it is signed with an unknown key",
        SecurityTokenInvalidSignatureException => "its signature is not valid",
        SecurityTokenNoExpirationException => "it has no expiry",
        SecurityTokenInvalidLifetimeException => "its lifetime is not valid",
        SecurityTokenMalformedException => "it is not a well-formed JWT",
        _ => "it is not valid",
    };
}
