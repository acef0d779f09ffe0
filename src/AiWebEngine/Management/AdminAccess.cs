using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using AiWebEngine.Errors;
using AiWebEngine.Security;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>
/// Guards every management endpoint (SPEC §7) and <c>/metrics</c>. A request a browser sent for a page
/// of another origin is refused (403), token or not. With <see cref="AdminOptions.Token"/> set, a request
/// needs <c>Authorization: Bearer &lt;token&gt;</c> (loopback too; missing or wrong → 401); without it,
/// only loopback clients that address the server by a loopback name are served (others → 403).
/// With <see cref="AdminOptions.Role"/> set, a signed-in user (a JWT the engine's bearer scheme accepted)
/// with that role is served too, from any address; a signed-in user without it gets 403.
/// Failed attempts are rate limited per client address; the right credentials are always served.
/// </summary>
/// <remarks>
/// <para>
/// The token is compared as SHA-256 hashes with <see cref="CryptographicOperations.FixedTimeEquals"/>,
/// so neither its content nor its length leaks through timing.
/// </para>
/// <para>
/// Loopback is judged on the connection's remote address: <c>127.0.0.0/8</c>, <c>::1</c> and their
/// IPv4-mapped forms. A request with no remote address comes from inside the process (ASP.NET Core's
/// TestServer) and counts as loopback. A loopback connection is not enough: a page on a DNS-rebinding
/// domain reaches the loopback socket too, with its own name as <c>Host</c> and a matching
/// <c>Origin</c>, so without a token the <c>Host</c> must be a loopback name as well
/// (<see cref="BrowserRequests.IsLoopbackHost"/>). Behind a reverse proxy every client looks like
/// loopback: set a token there.
/// </para>
/// <para>
/// Browser requests from another origin (<see cref="BrowserRequests.IsFromAnotherOrigin"/>) are
/// refused even with the right token: no management page is served to other origins, a browser
/// sends no bearer token by itself, and refusing them closes cross-site requests to <c>/engine</c>
/// whatever a future change does with ambient credentials.
/// </para>
/// <para>
/// Every 401 or 403 takes one permit of a fixed-window limiter (System.Threading.RateLimiting)
/// partitioned by client address; once an address has none left, its failing requests get 429 until
/// the window ends. The credentials are checked first, so a request with the right token (or, without
/// a token, a local one) is served whatever the address has spent: behind a proxy every client shares
/// one address, and a stranger's failures must not lock the operator out. The limit therefore slows
/// down and quiets refusals (only the first ones per window are logged); what makes a token
/// unguessable is its length and randomness.
/// </para>
/// </remarks>
internal sealed partial class AdminAccess : IAdminCallers, IDisposable
{
    private const string InProcess = "in-process";

    private readonly byte[]? _tokenHash;
    private readonly string? _role;
    private readonly PartitionedRateLimiter<string> _failures;
    private readonly TimeSpan _window;
    private readonly ILogger<AdminAccess> _logger;

    public AdminAccess(IOptions<AdminOptions> options, ILogger<AdminAccess> logger)
    {
        var admin = options.Value;
        _tokenHash = string.IsNullOrEmpty(admin.Token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(admin.Token));
        _role = string.IsNullOrEmpty(admin.Role) ? null : admin.Role;
        _window = admin.FailedAttemptWindow;
        _logger = logger;
        _failures = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = admin.MaxFailedAttempts,
            Window = admin.FailedAttemptWindow,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Wraps <paramref name="next"/> so that it runs only for an authorized client.</summary>
    public RequestDelegate Guard(RequestDelegate next) => context => InvokeAsync(context, next);

    /// <inheritdoc/>
    public bool IsAdmin(HttpContext context) => Check(context).Status == StatusCodes.Status200OK;

    private async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var (status, code, message) = Check(context);
        if (status == StatusCodes.Status200OK)
        {
            await next(context);
            return;
        }

        var client = context.Connection.RemoteIpAddress?.ToString() ?? InProcess;
        using var lease = _failures.AttemptAcquire(client);
        if (!lease.IsAcquired)
        {
            await TooManyAsync(context);
            return;
        }

        AccessRefused(_logger, context.Request.Method, context.Request.Path.Value ?? "/", client, status, context.TraceIdentifier);
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        await ErrorResponse.WriteAsync(context, status, code, message);
    }

    private (int Status, string Code, string Message) Check(HttpContext context)
    {
        if (BrowserRequests.IsFromAnotherOrigin(context.Request))
        {
            return (StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                "The management API refuses requests a browser sends for a page of another origin (its Origin or Sec-Fetch-Site header says so); use it from curl, the deploy command or another non-browser client.");
        }

        // A JWT is judged by the bearer scheme (UseAuthentication ran before): one it accepted names a user,
        // who is admin exactly when the role is configured and theirs. A string the scheme could not read
        // (the admin token itself) leaves the caller anonymous and goes on to the token and loopback rules.
        if (_role is not null && ScriptUser.Id(context.User) is not null)
        {
            return ScriptUser.HasAnyRole(context.User, [_role])
                ? (StatusCodes.Status200OK, "", "")
                : (StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, $"The management API needs the role '{_role}' (AiWebEngine:Admin:Role); the signed-in user does not have it.");
        }

        if (_tokenHash is null)
        {
            if (_role is not null && !IsLoopback(context.Connection.RemoteIpAddress))
            {
                return (StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
                    $"The management API needs a valid token with the role '{_role}' (AiWebEngine:Admin:Role) from this address.");
            }

            if (!IsLoopback(context.Connection.RemoteIpAddress))
            {
                return (StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                    "The management API answers only loopback clients while no token is configured; set AiWebEngine:Admin:Token to use it from elsewhere.");
            }

            return BrowserRequests.IsLoopbackHost(context.Request.Host)
                ? (StatusCodes.Status200OK, "", "")
                : (StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                    "While no token is configured the management API answers only requests addressed to a loopback name (Host: localhost, *.localhost, 127.x.x.x or [::1]), which a DNS-rebinding page cannot send; use http://localhost:<port>, or set AiWebEngine:Admin:Token.");
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, _role is null
                ? "The management API needs an 'Authorization: Bearer <token>' header."
                : $"The management API needs an 'Authorization: Bearer <token>' header: the management token, or a JWT with the role '{_role}'.");
        }

        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _tokenHash)
            ? (StatusCodes.Status200OK, "", "")
            : (StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "The bearer token is not the management token (AiWebEngine:Admin:Token).");
    }

    /// <summary>Whether <paramref name="address"/> is a loopback address; <see langword="null"/> (an in-process request) counts as loopback.</summary>
    public static bool IsLoopback(IPAddress? address)
    {
        if (address is null)
        {
            return true;
        }

        return IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }

    // The wait is told twice: as Retry-After, and in the details for clients that read only the body.
    private Task TooManyAsync(HttpContext context) =>
        ErrorResponse.WriteAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.TooManyRequests,
            "Too many refused management requests from this address; wait and try again (a request with the right credentials is still served).",
            new Dictionary<string, object?> { ["retryAfterSeconds"] = ErrorResponse.RetryAfterSeconds(_window) },
            retryAfter: _window);

    public void Dispose() => _failures.Dispose();

    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Management request {Method} {Path} from {Client} refused with {Status} (request {RequestId})")]
    private static partial void AccessRefused(ILogger logger, string method, string path, string client, int status, string requestId);
}
