using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace AiWebEngine.Security;

/// <summary>
/// Validates a bearer token that did not come in an <c>Authorization</c> header — the
/// <c>connection_init</c> payload of a GraphQL WebSocket — with exactly the bearer scheme's own
/// configuration: its token handlers and validation parameters, and for an <c>Authority</c> the issuer
/// and signing keys of its (refreshed) OpenID Connect metadata.
/// </summary>
/// <remarks>
/// Invariant: a token accepted here is one <c>Authorization: Bearer</c> would have accepted on the
/// same server at the same moment; nothing is parsed by hand. With no bearer configuration every token
/// is refused.
/// </remarks>
internal sealed class BearerTokens(IOptionsMonitor<JwtBearerOptions> options, IConfiguration configuration)
{
    /// <summary>Whether tokens can be validated at all (<c>Authentication:Schemes:Bearer</c> is configured).</summary>
    public bool Configured => EngineAuthentication.BearerConfigured(configuration);

    /// <summary>The principal of <paramref name="token"/>, or the reason it is refused (as callers may be told it).</summary>
    public async Task<(ClaimsPrincipal? User, string? Problem)> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (!Configured)
        {
            return (null, "this server accepts no tokens (no Authentication:Schemes:Bearer)");
        }

        var bearer = options.Get(EngineAuthentication.BearerScheme);
        var parameters = bearer.TokenValidationParameters.Clone();
        if (bearer.ConfigurationManager is { } metadata)
        {
            try
            {
                var current = await metadata.GetConfigurationAsync(cancellationToken);
                parameters.ValidIssuers = [.. parameters.ValidIssuers ?? [], .. string.IsNullOrEmpty(current.Issuer) ? Array.Empty<string>() : [current.Issuer]];
                parameters.IssuerSigningKeys = [.. parameters.IssuerSigningKeys ?? [], .. current.SigningKeys];
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                return (null, "the token could not be checked (the identity provider's metadata is unavailable)");
            }
        }

        Exception? failure = null;
        foreach (var handler in bearer.TokenHandlers)
        {
            var result = await handler.ValidateTokenAsync(token, parameters);
            if (result.IsValid)
            {
                return (new ClaimsPrincipal(result.ClaimsIdentity), null);
            }

            failure ??= result.Exception;
        }

        // An unknown key may be a rotation: the scheme asks its metadata again on the next request.
        if (failure is SecurityTokenSignatureKeyNotFoundException && bearer.RefreshOnIssuerKeyNotFound)
        {
            bearer.ConfigurationManager?.RequestRefresh();
        }

        return (null, $"the token was refused ({AccessRefusals.Describe(failure ?? new SecurityTokenException())})");
    }
}
