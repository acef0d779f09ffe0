using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Security;

/// <summary>
/// Identity the ASP.NET Core way: the engine's default scheme forwards each request to the handler that
/// can read its credential — JWT bearer (<c>Authentication:Schemes:Bearer</c>) today — and
/// <see cref="HttpContext.User"/> is the result. With nothing configured every caller is anonymous.
/// </summary>
/// <remarks>
/// Authentication runs once per request or connection (a stream, a WebSocket), never per delivered message.
/// </remarks>
internal static class EngineAuthentication
{
    /// <summary>The engine's default scheme: a policy scheme that picks the handler per request.</summary>
    public const string Scheme = "AiWebEngine";

    /// <summary>The JWT bearer scheme, configured from <c>Authentication:Schemes:Bearer</c>.</summary>
    public const string BearerScheme = JwtBearerDefaults.AuthenticationScheme;

    /// <summary>The configuration section of the bearer scheme.</summary>
    public const string BearerSection = "Authentication:Schemes:Bearer";

    /// <summary>The section of named authorization policies scripts can name (<c>{ auth: { policy: "name" } }</c>).</summary>
    public const string PoliciesSection = "AiWebEngine:Authorization:Policies";

    public static void Add(IServiceCollection services)
    {
        services.AddAuthentication(options =>
            {
                options.DefaultScheme = Scheme;
            })
            .AddPolicyScheme(Scheme, "AiWebEngine", options => options.ForwardDefaultSelector = SelectScheme)
            .AddJwtBearer(BearerScheme, _ => { });

        // After the configuration binding that AddJwtBearer registers, so these always hold: claims keep
        // their JWT names (sub, name, role), which ScriptUser reads, and tokens must be signed and current.
        services.AddOptions<JwtBearerOptions>(BearerScheme).PostConfigure(options =>
        {
            options.MapInboundClaims = false;
            var parameters = options.TokenValidationParameters;
            parameters.NameClaimType = "name";
            parameters.RoleClaimType = "role";
            // Set, not bound: the binding validates issuer and audience only when they are listed; an
            // Authority's metadata adds its issuer, and the validator refuses a configuration without audiences.
            parameters.ValidateIssuer = true;
            parameters.ValidateAudience = true;
            parameters.RequireSignedTokens = true;
            parameters.RequireExpirationTime = true;
            parameters.ValidateLifetime = true;
            parameters.ValidateIssuerSigningKey = true;
            parameters.ClockSkew = TimeSpan.FromSeconds(30);
        });
        services.AddSingleton<IValidateOptions<JwtBearerOptions>, BearerOptionsValidator>();
        services.AddOptions<JwtBearerOptions>(BearerScheme).ValidateOnStart();

        services.AddSingleton<BearerTokens>();
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IConfiguration>(ConfiguredPolicies.AddTo);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AccessRefusals>();
    }

    // Each request goes to the one handler that can read its credential; with none configured, to the
    // bearer handler, which finds no token and leaves the caller anonymous.
    private static string SelectScheme(HttpContext context) => BearerScheme;

    /// <summary>Whether <c>Authentication:Schemes:Bearer</c> is configured at all.</summary>
    public static bool BearerConfigured(IConfiguration configuration) => configuration.GetSection(BearerSection).Exists();
}

/// <summary>
/// Refuses a bearer configuration that would accept more tokens than the operator meant: one without
/// keys or authority (nothing can be validated), or without audiences (a token minted for another service
/// of the same issuer would be accepted).
/// </summary>
internal sealed class BearerOptionsValidator(IConfiguration configuration) : IValidateOptions<JwtBearerOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtBearerOptions options)
    {
        if (name != EngineAuthentication.BearerScheme || !EngineAuthentication.BearerConfigured(configuration))
        {
            return ValidateOptionsResult.Skip;
        }

        var parameters = options.TokenValidationParameters;
        var failures = new List<string>();
        var hasKeys = parameters.IssuerSigningKeys?.Any() == true || parameters.IssuerSigningKey is not null;
        if (!hasKeys && string.IsNullOrEmpty(options.Authority) && string.IsNullOrEmpty(options.MetadataAddress))
        {
            failures.Add($"{EngineAuthentication.BearerSection}: set Authority (an OpenID Connect issuer) or SigningKeys ({{ Issuer, Value }} with a base64 key, as 'dotnet user-jwts' writes them)");
        }

        if ((parameters.ValidAudiences?.Any() != true && string.IsNullOrEmpty(parameters.ValidAudience)))
        {
            failures.Add($"{EngineAuthentication.BearerSection}: set ValidAudiences (or Audience); without it a token minted for any other service of the issuer would be accepted");
        }

        if ((parameters.ValidIssuers?.Any() != true && string.IsNullOrEmpty(parameters.ValidIssuer) && string.IsNullOrEmpty(options.Authority)))
        {
            failures.Add($"{EngineAuthentication.BearerSection}: set ValidIssuer (or Authority), the issuer tokens must come from");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
