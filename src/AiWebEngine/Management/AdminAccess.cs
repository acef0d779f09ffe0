using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using AiWebEngine.Errors;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>
/// Guards every management endpoint (SPEC §7): with <see cref="AdminOptions.Token"/> set, a request
/// needs <c>Authorization: Bearer &lt;token&gt;</c> (loopback too; missing or wrong → 401); without it,
/// only loopback clients are served (others → 403). Failed attempts are rate limited per client address.
/// </summary>
/// <remarks>
/// <para>
/// The token is compared as SHA-256 hashes with <see cref="CryptographicOperations.FixedTimeEquals"/>,
/// so neither its content nor its length leaks through timing.
/// </para>
/// <para>
/// Loopback is judged on the connection's remote address: <c>127.0.0.0/8</c>, <c>::1</c> and their
/// IPv4-mapped forms. A request with no remote address comes from inside the process (ASP.NET Core's
/// TestServer) and counts as loopback. Behind a reverse proxy every client looks like loopback:
/// set a token there.
/// </para>
/// <para>
/// Every 401 or 403 takes one permit of a fixed-window limiter (System.Threading.RateLimiting,
/// the limiter behind ASP.NET Core's rate limiting middleware) partitioned by client address; once an
/// address has none left, all its management requests get 429 until the window ends, so that a
/// token cannot be guessed by trying.
/// </para>
/// </remarks>
internal sealed partial class AdminAccess : IDisposable
{
    private const string InProcess = "in-process";

    private readonly byte[]? _tokenHash;
    private readonly PartitionedRateLimiter<string> _failures;
    private readonly TimeSpan _window;
    private readonly ILogger<AdminAccess> _logger;

    public AdminAccess(IOptions<AdminOptions> options, ILogger<AdminAccess> logger)
    {
        var admin = options.Value;
        _tokenHash = string.IsNullOrEmpty(admin.Token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(admin.Token));
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

    private async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var client = context.Connection.RemoteIpAddress?.ToString() ?? InProcess;
        if (_failures.GetStatistics(client)?.CurrentAvailablePermits == 0)
        {
            await TooManyAsync(context);
            return;
        }

        var (status, code, message) = Check(context);
        if (status == StatusCodes.Status200OK)
        {
            await next(context);
            return;
        }

        AccessRefused(_logger, context.Request.Method, context.Request.Path.Value ?? "/", client, status, context.TraceIdentifier);
        using var lease = _failures.AttemptAcquire(client);
        if (!lease.IsAcquired)
        {
            await TooManyAsync(context);
            return;
        }

        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        await ErrorResponse.WriteAsync(context, status, code, message);
    }

    private (int Status, string Code, string Message) Check(HttpContext context)
    {
        if (_tokenHash is null)
        {
            return IsLoopback(context.Connection.RemoteIpAddress)
                ? (StatusCodes.Status200OK, "", "")
                : (StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                    "The management API answers only loopback clients while no token is configured; set AiWebEngine:Admin:Token to use it from elsewhere.");
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "The management API needs an 'Authorization: Bearer <token>' header.");
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
            "Too many failed management requests from this address; wait and try again.",
            new Dictionary<string, object?> { ["retryAfterSeconds"] = ErrorResponse.RetryAfterSeconds(_window) },
            retryAfter: _window);

    public void Dispose() => _failures.Dispose();

    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Management request {Method} {Path} from {Client} refused with {Status} (request {RequestId})")]
    private static partial void AccessRefused(ILogger logger, string method, string path, string client, int status, string requestId);
}
