using System.Buffers;
using System.Globalization;
using AiWebEngine.Diagnostics.Metrics;
using AiWebEngine.Hosting;
using AiWebEngine.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>
/// Serves one Server-Sent-Events connection to a bus topic (SPEC §4.1): headers flushed at once,
/// <c>retry:</c>, replay after <c>Last-Event-ID</c>, then live frames and keep-alives until the
/// topic ends, the client leaves, it falls too far behind, the server stops, or the credential it was
/// opened with expires (then a last <c>credential-expired</c> event says so; it has no id, so the client's
/// <c>Last-Event-ID</c> still resumes after the last message it received).
/// </summary>
internal sealed class SseEndpoint(
    ITopicBus bus,
    SseKeepAlive keepAlive,
    StreamConnectionLimiter limiter,
    IHostApplicationLifetime lifetime,
    IOptions<StreamOptions> options,
    TimeProvider time,
    EngineMetrics metrics)
{
    /// <summary>How long a new connection waits for its topic to be <see cref="TopicSubscriber.Ready"/> before its headers go anyway.</summary>
    internal static readonly TimeSpan ReadyWait = TimeSpan.FromSeconds(2);

    private readonly byte[] _prelude = SseFrames.Retry(options.Value.RetryMilliseconds);

    /// <summary>The last event of a stream whose credential expired.</summary>
    internal static readonly byte[] CredentialExpiredFrame = System.Text.Encoding.UTF8.GetBytes(
        "event: credential-expired\ndata: {\"code\":\"UNAUTHENTICATED\",\"message\":\"The credential this stream was opened with expired; reconnect with a fresh one (Last-Event-ID resumes where it ended).\"}\n\n");

    /// <summary>Serves the stream of <paramref name="topic"/> to a connection with <paramref name="metadata"/> (what filters match, SPEC §4.3).</summary>
    public async Task ServeAsync(HttpContext context, string topic, IReadOnlyDictionary<string, string> metadata)
    {
        if (!limiter.TryAcquire())
        {
            await limiter.RefuseAsync(context);
            return;
        }

        try
        {
            using var subscriber = bus.Subscribe(topic, metadata, LastEventId(context.Request));
            var expired = 0;
            using var expiry = Security.CredentialExpiry.When(await Security.CredentialExpiry.OfAsync(context), time, () =>
            {
                Volatile.Write(ref expired, 1);
                subscriber.Complete();
            });
            // A client that fell behind gets what is queued and a clean end (it resumes with its last id);
            // aborted if it does not take them soon.
            using var dropped = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            await using var abort = dropped.Token.UnsafeRegister(static c => ((HttpContext)c!).Abort(), context);
            subscriber.Overflow += () => dropped.CancelAfter(SseStreamWriter.DropGrace);
            await using var aborted = context.RequestAborted.UnsafeRegister(static s => ((TopicSubscriber)s!).Complete(), subscriber);
            await using var stopping = lifetime.ApplicationStopping.UnsafeRegister(static s => ((TopicSubscriber)s!).Complete(), subscriber);
            await WaitUntilReadyAsync(subscriber, context.RequestAborted);

            var response = StartEventStream(context);

            keepAlive.Track(subscriber);
            try
            {
                if (await SseStreamWriter.RunAsync(response.BodyWriter, subscriber, _prelude, time, metrics, DirectWrites(context)) && Volatile.Read(ref expired) == 1)
                {
                    // The writer has given the response back (no direct write is in flight): the last word is ours.
                    response.BodyWriter.Write(CredentialExpiredFrame);
                    await response.BodyWriter.FlushAsync(context.RequestAborted);
                }
            }
            finally
            {
                keepAlive.Untrack(subscriber);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client disconnected: the normal end of a stream.
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The connection broke mid-write: also a normal end.
        }
        finally
        {
            limiter.Release();
        }
    }

    /// <summary>
    /// Waits (without a thread) until the topic knows where it stands: a cluster topic read from Redis
    /// for the first time starts live only after that, so a client that has its headers and then sees a
    /// message sent does receive it. If Redis does not answer in time the stream starts anyway; its
    /// replay and live messages follow once Redis does.
    /// </summary>
    private async Task WaitUntilReadyAsync(TopicSubscriber subscriber, CancellationToken aborted)
    {
        if (subscriber.Ready.IsCompleted)
        {
            return;
        }

        try
        {
            await subscriber.Ready.WaitAsync(ReadyWait, time, aborted);
        }
        catch (TimeoutException)
        {
            // Redis is slow or away: the stream starts, and delivers once the topic is seeded.
        }
    }

    /// <summary>A connection's metadata: its query string, one value per key (the last wins).</summary>
    public static Dictionary<string, string> Metadata(IQueryCollection query)
    {
        var metadata = new Dictionary<string, string>(query.Count, StringComparer.Ordinal);
        foreach (var (key, values) in query)
        {
            metadata[key] = values.Count == 0 ? "" : values[^1] ?? "";
        }

        return metadata;
    }

    /// <summary>
    /// Starts an event-stream response: 200, <c>text/event-stream</c>, no caching, no proxy buffering
    /// (<c>X-Accel-Buffering: no</c>) and no response buffering, so each frame leaves when it is flushed.
    /// </summary>
    public static HttpResponse StartEventStream(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return response;
    }

    /// <summary>
    /// For an event stream whose headers are out: the connection's direct socket writes
    /// (<see cref="IDirectSocketWrites"/>) when what is written to them is exactly what Kestrel would
    /// send; otherwise null (the frames go through the response).
    /// </summary>
    /// <remarks>
    /// Exactly Kestrel's bytes: HTTP/1.1 with Kestrel's own chunked body (no middleware replaced the
    /// body feature, and nothing sets a <c>Content-Encoding</c>, as response compression does), on a
    /// connection whose transport is the socket itself (no TLS: judged from the connection, not from
    /// <see cref="HttpRequest.IsHttps"/>, which forwarded headers rewrite).
    /// </remarks>
    public static Func<IDirectSocketWrites?> DirectWrites(HttpContext context) => () =>
        context.Features.Get<IDirectSocketWrites>() is { CarriesResponseBytes: true } socket
        && HttpProtocol.IsHttp11(context.Request.Protocol)
        && string.Equals(context.Response.Headers.TransferEncoding, "chunked", StringComparison.OrdinalIgnoreCase)
        && Microsoft.Extensions.Primitives.StringValues.IsNullOrEmpty(context.Response.Headers.ContentEncoding)
        && IsServersOwnBody(context.Features)
            ? socket
            : null;

    // Kestrel's request features are one object: a middleware that wraps the body (compression,
    // buffering) replaces the body feature with its own and leaves the response feature.
    private static bool IsServersOwnBody(IFeatureCollection features) =>
        features.Get<IHttpResponseBodyFeature>() is { } body && ReferenceEquals(body, features.Get<IHttpResponseFeature>());

    /// <summary>The <c>Last-Event-ID</c> header as an id; anything that is not a non-negative integer means "none".</summary>
    public static long? LastEventId(HttpRequest request) =>
        long.TryParse(request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
}
