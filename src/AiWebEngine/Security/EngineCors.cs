using AiWebEngine.Errors;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Security;

/// <summary>
/// CORS by ASP.NET Core's CORS middleware for the paths pages call — script routes, streams,
/// <c>/graphql</c> and its transports — and the cross-site request check (CSRF) for the same paths. The
/// management API (<c>/engine</c>) and <c>/metrics</c> keep their own, stricter rule (no browser page of
/// another origin at all) and get neither.
/// </summary>
/// <remarks>
/// Invariants: with no listed origin, no CORS header is ever sent (same-origin only); a listed origin
/// gets credentials; a request that carries cookies and changes state — POST, PUT, PATCH or DELETE (the
/// WebSocket upgrade has its own origin check) — from a page of an origin that is neither the request's own nor listed is refused
/// with 403 <c>CROSS_SITE_REQUEST</c> before authentication, rate limits or any script. "Another origin"
/// includes another port of the same host: a site spans ports, so SameSite=Lax cookies reach the engine
/// from every local development server, and that is the attack path this closes. Requests without
/// cookies (bearer tokens, curl, other servers) are not affected: nothing ambient speaks for them.
/// </remarks>
internal static class EngineCors
{
    public const string PolicyName = "AiWebEngine";

    public static void Add(IServiceCollection services)
    {
        services.AddOptions<CorsOptions>().BindConfiguration(CorsOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CorsOptions>, CorsOptionsValidator>();
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<IOptions<CorsOptions>>((cors, engine) =>
            cors.AddPolicy(PolicyName, policy => policy
                .WithOrigins([.. engine.Value.Normalized()])
                .AllowCredentials()
                .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")
                .AllowAnyHeader()
                .WithExposedHeaders("Retry-After", "WWW-Authenticate", "X-Request-Id")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
    }

    /// <summary>CORS (when origins are listed) and the cross-site check, for every path but the management API's.</summary>
    public static void Use(IApplicationBuilder app)
    {
        var origins = app.ApplicationServices.GetRequiredService<IOptions<CorsOptions>>().Value.Normalized();
        app.UseWhen(context => !IsManagement(context.Request.Path), branch =>
        {
            if (origins.Count > 0)
            {
                branch.UseCors(PolicyName);
            }

            branch.Use(async (context, next) =>
            {
                if (IsCrossSiteWithCookies(context, origins))
                {
                    await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.CrossSiteRequest,
                        $"{context.Request.Method} {context.Request.Path} with cookies from a page of another origin is refused (cross-site request forgery); list the page's origin in {CorsOptions.SectionName}:AllowedOrigins to allow it.");
                    return;
                }

                await next(context);
            });
        });
    }

    private static bool IsManagement(PathString path) =>
        path.StartsWithSegments("/engine", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the request carries cookies, changes state and comes from a page of an origin that is neither its own nor listed.</summary>
    public static bool IsCrossSiteWithCookies(HttpContext context, IReadOnlySet<string> listed)
    {
        var request = context.Request;
        if (request.Headers.Cookie.Count == 0 || !ChangesState(context))
        {
            return false;
        }

        var origin = request.Headers.Origin;
        if (origin.Count > 0)
        {
            return origin.Count > 1
                || !(BrowserRequests.IsSameOrigin(origin[0], request.Host)
                     || (BrowserRequests.NormalizeOrigin(origin[0]) is { } normalized && listed.Contains(normalized)));
        }

        // No Origin (older browsers on some requests): the browser's own word on where it comes from.
        var site = request.Headers["Sec-Fetch-Site"];
        return site.Count > 1 || (site.Count == 1 && site[0] is "cross-site" or "same-site");
    }

    private static bool ChangesState(HttpContext context)
    {
        var method = context.Request.Method;
        // The WebSocket upgrade (/graphql) is judged by WebSocketOrigins before its handshake: a browser always
        // sends Origin with it, and only the request's own origin and the listed ones get in, cookies or not.
        return HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);
    }
}
