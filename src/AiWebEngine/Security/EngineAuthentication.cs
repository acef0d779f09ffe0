using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace AiWebEngine.Security;

/// <summary>
/// Identity the ASP.NET Core way: the engine's default scheme forwards each request to the handler that
/// can read its credential — JWT bearer (<c>Authentication:Schemes:Bearer</c>) for a token, the cookie
/// session that OpenID Connect sign-in (<c>Authentication:Schemes:OpenIdConnect</c>) leaves — and
/// <see cref="HttpContext.User"/> is the result. With nothing configured every caller is anonymous.
/// </summary>
/// <remarks>
/// Authentication runs once per request or connection (a stream, a WebSocket), never per delivered message.
/// Invariants: a request with an <c>Authorization</c> header is judged by its token alone (a cookie beside
/// it is not read); the session cookie is read only when sign-in is configured; a challenge is always the
/// bearer handler's 401 with <c>WWW-Authenticate</c>, never a redirect to a sign-in page.
/// </remarks>
internal static class EngineAuthentication
{
    /// <summary>The engine's default scheme: a policy scheme that picks the handler per request.</summary>
    public const string Scheme = "AiWebEngine";

    /// <summary>The JWT bearer scheme, configured from <c>Authentication:Schemes:Bearer</c>.</summary>
    public const string BearerScheme = JwtBearerDefaults.AuthenticationScheme;

    /// <summary>The configuration section of the bearer scheme.</summary>
    public const string BearerSection = "Authentication:Schemes:Bearer";

    /// <summary>The cookie session scheme: what OpenID Connect sign-in signs in to.</summary>
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    /// <summary>The OpenID Connect sign-in scheme, configured from <c>Authentication:Schemes:OpenIdConnect</c>.</summary>
    public const string SignInScheme = OpenIdConnectDefaults.AuthenticationScheme;

    /// <summary>The configuration section of OpenID Connect sign-in.</summary>
    public const string SignInSection = "Authentication:Schemes:OpenIdConnect";

    /// <summary>The session cookie's name.</summary>
    public const string SessionCookie = "aiwebengine.session";

    /// <summary>The query parameter an EventSource stream may carry its token in (<see cref="SignInOptions.AllowQueryToken"/>).</summary>
    public const string QueryTokenParameter = "access_token";

    /// <summary>The provider returns the browser here after sign-in (registered at the provider as <c>&lt;origin&gt;/auth/callback</c>).</summary>
    public static readonly PathString CallbackPath = "/auth/callback";

    /// <summary>The section of named authorization policies scripts can name (<c>{ auth: { policy: "name" } }</c>).</summary>
    public const string PoliciesSection = "AiWebEngine:Authorization:Policies";

    public static void Add(IServiceCollection services)
    {
        services.AddOptions<SignInOptions>().BindConfiguration(SignInOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignInOptions>, SignInOptionsValidator>();

        services.AddAuthentication(options =>
            {
                options.DefaultScheme = Scheme;
            })
            .AddPolicyScheme(Scheme, "AiWebEngine", _ => { })
            .AddJwtBearer(BearerScheme, _ => { })
            .AddCookie(CookieScheme, _ => { });

        services.AddOptions<PolicySchemeOptions>(Scheme).Configure<IConfiguration, IOptions<SignInOptions>>((options, configuration, signIn) =>
        {
            var sessions = SignInConfigured(configuration);
            var queryTokens = signIn.Value.AllowQueryToken;
            options.ForwardDefaultSelector = context => SelectScheme(context, sessions, queryTokens);
            options.ForwardChallenge = BearerScheme;
            options.ForwardForbid = BearerScheme;
        });

        // After the configuration binding that AddJwtBearer registers, so these always hold: claims keep
        // their JWT names (sub, name, role), which ScriptUser reads, and tokens must be signed and current.
        services.AddOptions<JwtBearerOptions>(BearerScheme).PostConfigure<IOptions<SignInOptions>>((options, signIn) =>
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
            // A key the authority removed from its JWKS stops working at the next fetch: by default the
            // token handler would still accept it for an hour from the "last known good" configuration.
            if (options.ConfigurationManager is Microsoft.IdentityModel.Tokens.BaseConfigurationManager manager)
            {
                manager.UseLastKnownGoodConfiguration = false;
            }

            if (signIn.Value.AllowQueryToken)
            {
                var received = options.Events.OnMessageReceived;
                options.Events.OnMessageReceived = async context =>
                {
                    await received(context);
                    context.Token ??= QueryToken.Take(context.HttpContext);
                };
            }
        });
        services.AddSingleton<IValidateOptions<JwtBearerOptions>, BearerOptionsValidator>();
        services.AddOptions<JwtBearerOptions>(BearerScheme).ValidateOnStart();

        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<IOptions<SignInOptions>>((options, signIn) =>
        {
            options.Cookie.Name = SessionCookie;
            options.Cookie.HttpOnly = true;
            // Lax: sent when the browser navigates here and on this origin's own fetch and EventSource, not
            // on another site's subrequests; a cross-site state change that still carries it is refused by
            // EngineCors (CROSS_SITE_REQUEST).
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = signIn.Value.SessionLifetime;
            // Fixed, not sliding: a stream opened with the session knows when it must end.
            options.SlidingExpiration = false;
            // A session lasts as long as the provider's ID token says the sign-in is good (UseTokenLifetime
            // below), and never longer than SessionLifetime.
            options.Events.OnSigningIn = context =>
            {
                var issued = context.Properties.IssuedUtc ?? context.Options.TimeProvider!.GetUtcNow();
                var latest = issued + signIn.Value.SessionLifetime;
                if (context.Properties.ExpiresUtc is not { } expires || expires > latest)
                {
                    context.Properties.ExpiresUtc = latest;
                }

                return Task.CompletedTask;
            };
            options.Events.OnRedirectToLogin = context =>
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
            options.Events.OnRedirectToAccessDenied = context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
        });

        AddSignIn(services);

        services.AddSingleton<BearerTokens>();
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IConfiguration>(ConfiguredPolicies.AddTo);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AccessRefusals>();
    }

    /// <summary>
    /// OpenID Connect sign-in, registered as a scheme only when its section exists: its handler runs on every
    /// request (to spot the callback), so an engine without sign-in does not pay for it.
    /// </summary>
    private static void AddSignIn(IServiceCollection services)
    {
        services.AddOptions<AuthenticationOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            if (SignInConfigured(configuration))
            {
                options.AddScheme(SignInScheme, scheme =>
                {
                    scheme.HandlerType = typeof(OpenIdConnectHandler);
                    scheme.DisplayName = "OpenID Connect";
                });
            }
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.AddOptions<OpenIdConnectOptions>(SignInScheme).BindConfiguration(SignInSection).Configure(options =>
        {
            // Set after the binding, so these hold whatever the section says: the engine's paths, the
            // authorization code flow with PKCE answered by a GET (a POST from the provider's origin would
            // be a cross-site request), claims under their JWT names, no tokens kept in the cookie.
            options.SignInScheme = CookieScheme;
            options.CallbackPath = CallbackPath;
            options.SignedOutCallbackPath = "/auth/signout-callback";
            options.RemoteSignOutPath = "/auth/signout-remote";
            options.ResponseType = OpenIdConnectResponseType.Code;
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.UsePkce = true;
            options.MapInboundClaims = false;
            options.GetClaimsFromUserInfoEndpoint = true;
            options.SaveTokens = false;
            options.UseTokenLifetime = true;
            options.TokenValidationParameters.NameClaimType = "name";
            options.TokenValidationParameters.RoleClaimType = "role";
            // The callback is a top-level GET navigation: Lax cookies reach it, on http (development) too.
            foreach (var cookie in new[] { options.CorrelationCookie, options.NonceCookie })
            {
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            }

            options.ClaimActions.Add(new UserInfoClaims());
            options.Events.OnRemoteFailure = SignInEndpoints.RemoteFailureAsync;
        });
        services.AddSingleton<IValidateOptions<OpenIdConnectOptions>, SignInSchemeValidator>();
        services.AddOptions<OpenIdConnectOptions>(SignInScheme).ValidateOnStart();
    }

    // Each request goes to the one handler that can read its credential; with none, to the bearer
    // handler, which finds no token and leaves the caller anonymous.
    private static string SelectScheme(HttpContext context, bool sessions, bool queryTokens)
    {
        var request = context.Request;
        if (request.Headers.Authorization.Count > 0 || !sessions || !request.Cookies.ContainsKey(SessionCookie))
        {
            return BearerScheme;
        }

        // A token the operator allowed in the query speaks for the stream rather than the cookie beside it.
        return queryTokens && request.Query.ContainsKey(QueryTokenParameter) ? BearerScheme : CookieScheme;
    }

    /// <summary>Whether <c>Authentication:Schemes:Bearer</c> is configured at all.</summary>
    public static bool BearerConfigured(IConfiguration configuration) => configuration.GetSection(BearerSection).Exists();

    /// <summary>Whether <c>Authentication:Schemes:OpenIdConnect</c> (sign-in with a cookie session) is configured at all.</summary>
    public static bool SignInConfigured(IConfiguration configuration) => configuration.GetSection(SignInSection).Exists();
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

/// <summary>Refuses at start a sign-in configuration that cannot work: no provider, no client id.</summary>
internal sealed class SignInSchemeValidator(IConfiguration configuration) : IValidateOptions<OpenIdConnectOptions>
{
    public ValidateOptionsResult Validate(string? name, OpenIdConnectOptions options)
    {
        if (name != EngineAuthentication.SignInScheme || !EngineAuthentication.SignInConfigured(configuration))
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.Authority) && string.IsNullOrEmpty(options.MetadataAddress))
        {
            failures.Add($"{EngineAuthentication.SignInSection}: set Authority, the OpenID Connect provider's issuer URL");
        }

        if (string.IsNullOrEmpty(options.ClientId))
        {
            failures.Add($"{EngineAuthentication.SignInSection}: set ClientId (and ClientSecret), the client registered at the provider with the redirect URI <origin>{EngineAuthentication.CallbackPath}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
