namespace AiWebEngine.Errors;

/// <summary>
/// Gives every request an id, sent back as <c>X-Request-Id</c> and used as <see cref="HttpContext.TraceIdentifier"/>,
/// so that a JSON error, a log line and a client's report can be matched.
/// </summary>
/// <remarks>An incoming <c>X-Request-Id</c> of up to 128 visible ASCII characters is kept, so that ids flow through proxies.</remarks>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-Id";

    public Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[HeaderName];
        if (incoming.Count == 1 && IsAcceptable(incoming[0]))
        {
            context.TraceIdentifier = incoming[0]!;
        }

        context.Response.Headers[HeaderName] = context.TraceIdentifier;
        return next(context);
    }

    private static bool IsAcceptable(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 128)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
