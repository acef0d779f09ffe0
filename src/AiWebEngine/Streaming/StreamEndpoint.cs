using AiWebEngine.Errors;
using AiWebEngine.Security;

namespace AiWebEngine.Streaming;

/// <summary>
/// The request delegate of every stream endpoint (<see cref="StreamEndpointDataSource"/>): GET opens
/// the stream, any other method gets 405 with <c>Allow: GET</c>.
/// </summary>
/// <remarks>
/// A connection's metadata is what filters match (SPEC §4.3). With an <c>authorize</c> hook it is what the
/// hook returned (trusted); without one it is the query string (untrusted: anyone can write it). In both
/// cases the reserved key <c>user</c> is the engine's: the authenticated user id, or absent when
/// anonymous, never a value from the query string or the hook, so a filter on <c>user</c> reaches only
/// that user's connections.
/// </remarks>
internal sealed class StreamEndpoint(StreamRegistry streams, SseEndpoint sse)
{
    private static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    public async Task HandleAsync(HttpContext context, StreamRegistration matched)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET";
            await ErrorResponse.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, ErrorCodes.MethodNotAllowed,
                $"{matched.Path} is a stream: open it with GET (for example new EventSource(\"{matched.Path}\")).");
            return;
        }

        // The endpoint the router matched may be a moment older than the registry: the hook that decides
        // is the serving version's (asked again if its version retires during the call), and a path
        // removed since is gone, as a route removed on the request's way is.
        for (var attempt = 0; ; attempt++)
        {
            if (streams.Snapshot.GetValueOrDefault(matched.Path) is not { } stream)
            {
                await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound,
                    $"The stream {matched.Path} was removed while the request was on its way (its script {matched.Owner} was reloaded or unloaded).");
                return;
            }

            if (stream.Hook is null)
            {
                await sse.ServeAsync(context, StreamRegistry.TopicOf(stream.Path), WithUser(SseEndpoint.Metadata(context.Request.Query), context));
                return;
            }

            var admission = await stream.Hook.AdmitAsync(context, stream);
            if (!admission.Retired || attempt == 2)
            {
                await AnswerAsync(context, stream, admission);
                return;
            }
        }
    }

    private async Task AnswerAsync(HttpContext context, StreamRegistration stream, StreamAdmission admission)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return; // The client left while the hook ran: nothing to answer.
        }

        if (admission.Busy)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.ScriptBusy,
                $"The authorize hook of stream {stream.Path} has too many calls waiting; retry later.", retryAfter: BusyRetryAfter);
            return;
        }

        // Refused, failed, timed out, or its version retired twice in a row: never an open stream.
        if (admission.Metadata is not { } admitted)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                $"The stream {stream.Path} refused the connection.");
            return;
        }

        await sse.ServeAsync(context, StreamRegistry.TopicOf(stream.Path), WithUser(admitted, context));
    }

    /// <summary>A copy of <paramref name="metadata"/> whose <c>user</c> is the caller's id, or absent when anonymous.</summary>
    public static Dictionary<string, string> WithUser(IReadOnlyDictionary<string, string> metadata, HttpContext context)
    {
        var copy = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        copy.Remove(StreamAdmission.UserKey);
        if (ScriptUser.Id(context.User) is { } id)
        {
            copy[StreamAdmission.UserKey] = id;
        }

        return copy;
    }
}
