using AiWebEngine.Errors;

namespace AiWebEngine.RateLimiting;

/// <summary>The answer to a request a per-client limit refused: 429 <c>RATE_LIMITED</c> with <c>Retry-After</c>.</summary>
internal static class RateLimitRefusal
{
    public static Task WriteAsync(HttpContext context, ClientLimit limit, TimeSpan wait)
    {
        return ErrorResponse.WriteAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, limit.Message,
            new Dictionary<string, object?>
            {
                ["limit"] = limit.ConfigurationKey,
                ["retryAfterSeconds"] = ErrorResponse.RetryAfterSeconds(wait),
            },
            retryAfter: wait);
    }
}
