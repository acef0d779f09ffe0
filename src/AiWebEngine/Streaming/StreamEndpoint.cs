using AiWebEngine.Errors;

namespace AiWebEngine.Streaming;

/// <summary>
/// The request delegate of every stream endpoint (<see cref="StreamEndpointDataSource"/>): GET opens
/// the stream, any other method gets 405 with <c>Allow: GET</c>.
/// </summary>
internal sealed class StreamEndpoint(StreamRegistry streams, SseEndpoint sse)
{
    public Task HandleAsync(HttpContext context, StreamRegistration matched)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET";
            return ErrorResponse.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, ErrorCodes.MethodNotAllowed,
                $"{matched.Path} is a stream: open it with GET (for example new EventSource(\"{matched.Path}\")).");
        }

        // The endpoint the router matched may be a moment older than the registry: a path removed since
        // is gone, as a route removed on the request's way is.
        if (streams.Snapshot.GetValueOrDefault(matched.Path) is null)
        {
            return ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound,
                $"The stream {matched.Path} was removed while the request was on its way (its script {matched.Owner} was reloaded or unloaded).");
        }

        return sse.ServeAsync(context, StreamRegistry.TopicOf(matched.Path), SseEndpoint.Metadata(context.Request.Query));
    }
}
