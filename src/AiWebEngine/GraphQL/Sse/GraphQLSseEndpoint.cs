using System.Buffers;
using AiWebEngine.Diagnostics.Metrics;
using AiWebEngine.GraphQL.Http;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using GraphQL;
using GraphQL.Transport;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.Sse;

/// <summary>
/// GraphQL over Server-Sent Events on <c>/graphql/sse</c> (and <c>/graphql</c> with
/// <c>Accept: text/event-stream</c>): the graphql-sse protocol in distinct connections mode.
/// </summary>
/// <remarks>
/// POST with a JSON body runs any operation; GET with <c>query</c>/<c>variables</c>/<c>operationName</c>
/// (for EventSource) runs queries and subscriptions (a mutation over GET is 405 <c>Allow: POST</c>). The
/// answer is an event stream whatever the Accept header says: one <c>next</c> per result, then
/// <c>complete</c>, then the response ends. Validation errors are a <c>next</c> with <c>errors</c>, because
/// EventSource cannot read the body of an error status. The subscription is disposed as soon as the
/// client goes away.
/// </remarks>
internal sealed partial class GraphQLSseEndpoint(
    GraphQLExecutor executor,
    GraphQLOperations operations,
    GraphQLKeepAlive keepAlive,
    StreamConnectionLimiter limiter,
    IHostApplicationLifetime lifetime,
    IOptions<GraphQLOptions> options,
    IOptions<HttpOptions> http,
    TimeProvider time,
    ILogger<GraphQLSseEndpoint> logger,
    EngineMetrics metrics)
{
    private readonly int _maxBodyBytes = http.Value.MaxRequestBodyBytes;
    private readonly int _queueCapacity = options.Value.QueueCapacity;

    public async Task HandleAsync(HttpContext context)
    {
        var (request, problem) = await GraphQLHttpRequest.ReadAsync(context, executor.Json, _maxBodyBytes);
        if (problem is not null)
        {
            await GraphQLHttpRequest.WriteAsync(context, problem, ResponseMediaType.Json, executor.Json);
            return;
        }

        await HandleAsync(context, request!);
    }

    /// <summary>Serves <paramref name="request"/>, already read from <paramref name="context"/>, as an event stream.</summary>
    /// <remarks>
    /// The response holds one of the server's stream connection slots (<see cref="StreamConnectionLimiter"/>)
    /// from before the operation runs until it ends, whatever the operation; without a free slot it is
    /// 503 <c>OVERLOADED</c> and nothing runs.
    /// </remarks>
    public async Task HandleAsync(HttpContext context, GraphQLRequest request)
    {
        if (!limiter.TryAcquire())
        {
            await limiter.RefuseAsync(context);
            return;
        }

        try
        {
            await ServeAsync(context, request);
        }
        finally
        {
            limiter.Release();
        }
    }

    private async Task ServeAsync(HttpContext context, GraphQLRequest request)
    {
        var schema = executor.CurrentSchema;
        var isGet = HttpMethods.IsGet(context.Request.Method);
        try
        {
            var operation = await operations.RunAsync(schema, request, isGet ? OperationKinds.Query | OperationKinds.Subscription : OperationKinds.All,
                context.RequestServices, context.User, context.Request.Headers, context.RequestAborted, RateLimiting.ClientPartition.Of(context));
            var result = operation.Result;
            if (isGet && GraphQLExecutor.IsOperationNotAllowed(result))
            {
                context.Response.Headers.Allow = "POST";
                await GraphQLHttpRequest.WriteResultAsync(context, result, StatusCodes.Status405MethodNotAllowed, ResponseMediaType.Json, executor.Json);
                return;
            }

            SseEndpoint.StartEventStream(context);
            if (operation.Events is { } events)
            {
                await StreamAsync(context, events);
            }
            else
            {
                // A query, a mutation, or an operation that failed before it ran: one next, then complete.
                var output = context.Response.BodyWriter;
                output.Write(GraphQLSseFrames.Next(result, executor.Json));
                output.Write(GraphQLSseFrames.Complete.Span);
                await output.FlushAsync(context.RequestAborted);
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
    }

    private async Task StreamAsync(HttpContext context, IObservable<SubscriptionEvent> source)
    {
        var stream = new GraphQLSseStream(_queueCapacity, executor.Json, time);
        // A client that fell behind gets its last frames and complete; aborted if it does not take them soon.
        using var dropped = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        await using var abort = dropped.Token.UnsafeRegister(static c => ((HttpContext)c!).Abort(), context);
        stream.Overflow += () =>
        {
            ClientTooSlow(logger, context.TraceIdentifier, _queueCapacity);
            dropped.CancelAfter(SseStreamWriter.DropGrace);
        };

        using var subscription = source.Subscribe(stream);
        // No subscription outlives its credential: at expiry the client is told why, then complete.
        using var expiry = Security.CredentialExpiry.When(await Security.CredentialExpiry.OfAsync(context), time, () => stream.OnError(
            new ExecutionError("The credential this subscription was opened with expired; subscribe again with a fresh one.") { Code = FieldAccess.UnauthenticatedCode }));
        await using var aborted = context.RequestAborted.UnsafeRegister(static s => ((GraphQLSseStream)s!).Stop(), stream);
        await using var stopping = lifetime.ApplicationStopping.UnsafeRegister(static s => ((GraphQLSseStream)s!).Stop(), stream);
        keepAlive.Track(stream);
        try
        {
            // Headers go out at once, before any event: the client knows it is subscribed.
            await context.Response.StartAsync(context.RequestAborted);
            await SseStreamWriter.RunAsync(context.Response.BodyWriter, stream.Frames, static frame => frame, stream, ReadOnlyMemory<byte>.Empty, time, metrics, SseEndpoint.DirectWrites(context), stream.Gate);
        }
        finally
        {
            keepAlive.Untrack(stream);
        }

        // Leaving disposes the subscription, which disposes the event source's subscription.
    }

    [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "GraphQL event stream {RequestId} fell {Capacity} frames behind and was disconnected")]
    private static partial void ClientTooSlow(ILogger logger, string requestId, int capacity);
}
