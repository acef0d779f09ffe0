using AiWebEngine.Streaming;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>Serves a feed subscriber as Server-Sent Events, with the framing and keep-alives of the script streams (SPEC §4.1).</summary>
internal sealed class FeedStream(SseKeepAlive keepAlive, IHostApplicationLifetime lifetime, IOptions<StreamOptions> options, TimeProvider time)
{
    private readonly byte[] _prelude = SseFrames.Retry(options.Value.RetryMilliseconds);

    public async Task ServeAsync<T>(HttpContext context, EngineFeed<T> feed, Func<T, bool> filter)
    {
        using var subscriber = feed.Subscribe(filter, SseEndpoint.LastEventId(context.Request));
        await using var aborted = context.RequestAborted.UnsafeRegister(static s => ((FeedSubscriber<T>)s!).Complete(), subscriber);
        await using var stopping = lifetime.ApplicationStopping.UnsafeRegister(static s => ((FeedSubscriber<T>)s!).Complete(), subscriber);

        var response = SseEndpoint.StartEventStream(context);

        keepAlive.Track(subscriber);
        try
        {
            await SseStreamWriter.RunAsync(response.BodyWriter, subscriber.Frames, static frame => frame, subscriber, _prelude, time);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client disconnected: the normal end of a stream.
        }
        finally
        {
            keepAlive.Untrack(subscriber);
        }
    }
}
