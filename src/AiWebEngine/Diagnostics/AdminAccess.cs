using System.Net;
using System.Security.Cryptography;
using System.Text;
using AiWebEngine.Errors;

namespace AiWebEngine.Diagnostics;

/// <summary>
/// Who may use the admin surface (<c>/metrics</c>), per SPEC §7: with <c>AiWebEngine:Admin:Token</c> set,
/// every request needs <c>Authorization: Bearer &lt;token&gt;</c> (loopback clients too; missing or wrong
/// is 401); without a token, only loopback clients are served (others get 403).
/// </summary>
/// <remarks>
/// The management API (<c>/engine/*</c>) applies the same rule; this small check exists so that
/// <c>/metrics</c> does not depend on it, and the two are meant to become one. A request with no remote
/// address is an in-process one (TestServer) and counts as loopback.
/// </remarks>
internal sealed class AdminAccess
{
    public const string TokenKey = "AiWebEngine:Admin:Token";

    private readonly byte[]? _token;

    public AdminAccess(IConfiguration configuration)
    {
        var token = configuration[TokenKey];
        _token = string.IsNullOrEmpty(token) ? null : Encoding.UTF8.GetBytes(token);
    }

    /// <summary>Whether the request may pass; when it may not, the JSON error (401 or 403) is written.</summary>
    public async Task<bool> AuthorizeAsync(HttpContext context)
    {
        if (_token is null)
        {
            if (IsLoopback(context.Connection.RemoteIpAddress))
            {
                return true;
            }

            await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                $"Only loopback clients may use this endpoint while no admin token is configured. Set {TokenKey} to allow remote clients with a bearer token.");
            return false;
        }

        if (BearerTokenMatches(context.Request.Headers.Authorization.ToString()))
        {
            return true;
        }

        await ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
            "This endpoint needs 'Authorization: Bearer <token>' with the admin token (AiWebEngine:Admin:Token).");
        return false;
    }

    /// <summary>A middleware for a branch of the pipeline (the Prometheus exporter's) that only admins reach.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (await AuthorizeAsync(context))
        {
            await next(context);
        }
    }

    private bool BearerTokenMatches(string authorization)
    {
        const string Scheme = "Bearer ";
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, _token);
    }

    private static bool IsLoopback(IPAddress? address) => address is null || IPAddress.IsLoopback(address);
}
