using AiWebEngine.Errors;

namespace AiWebEngine.Streaming;

/// <summary>
/// Answers requests to registered stream paths: GET opens the stream, any other method gets 405.
/// Stream paths are matched exactly and case-sensitively (SPEC §3), before script routes.
/// </summary>
internal sealed class StreamMiddleware(RequestDelegate next, StreamRegistry streams, SseEndpoint endpoint)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        if (path is null || streams.OwnerOf(path) is null)
        {
            return next(context);
        }

        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET";
            return ErrorResponse.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, ErrorCodes.MethodNotAllowed,
                $"{path} is a stream: open it with GET (for example new EventSource(\"{path}\")).");
        }

        return endpoint.ServeAsync(context, StreamRegistry.TopicOf(path));
    }
}
