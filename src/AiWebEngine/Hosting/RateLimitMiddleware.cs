using System.Threading.RateLimiting;
using AiWebEngine.GraphQL;
using AiWebEngine.GraphQL.Http;
using AiWebEngine.RateLimiting;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;

namespace AiWebEngine.Hosting;

/// <summary>
/// Applies the per-client limits by the kind of path a request is for, as the engine knows its paths:
/// script routes, stream paths, <c>/graphql/subscription/&lt;name&gt;</c>, <c>/graphql/sse</c> and
/// <c>/graphql</c> (HTTP or WebSocket). Anything else (health, metrics, the management API, 404s)
/// passes uncounted.
/// </summary>
/// <remarks>
/// Judged from the path, not only from endpoint metadata, because stream paths are answered before
/// endpoints run. A refusal happens before anything of the request runs (no script, no resolver, no
/// subscription), and only the new request is refused: the client's open connections go on. A
/// long-lived connection holds one <see cref="ClientRateLimiter.Connections"/> lease until it ends.
/// Work per request: a dictionary look-up and one permit per limit that applies, never per message.
/// </remarks>
internal sealed partial class RateLimitMiddleware(RequestDelegate next, ClientRateLimiter limits, StreamRegistry streams, ILogger<RateLimitMiddleware> logger)
{
    private const string GraphQLPath = GraphQLEndpointRouteBuilderExtensions.Path;

    public Task InvokeAsync(HttpContext context)
    {
        if (!limits.Enabled || context.Request.Path.Value is not { } path)
        {
            return next(context);
        }

        if (path.StartsWith(GraphQLPath, StringComparison.Ordinal))
        {
            return GraphQLAsync(context, path);
        }

        if (HttpMethods.IsGet(context.Request.Method) && streams.OwnerOf(path) is not null)
        {
            return LimitedAsync(context, connect: true, operation: false, policy: PolicyOf(streams.RateLimitOf(path)));
        }

        if (context.GetEndpoint()?.Metadata.GetMetadata<ScriptRoute>() is { } route)
        {
            return LimitedAsync(context, request: true, policy: PolicyOf(route.RateLimit));
        }

        return next(context);
    }

    private Task GraphQLAsync(HttpContext context, string path)
    {
        if (path.Length == GraphQLPath.Length)
        {
            // A WebSocket is a long-lived connection whose subscribes the socket counts itself; an HTTP
            // request is one operation, held as a connection too while it may be answered as an event stream.
            return context.WebSockets.IsWebSocketRequest
                ? LimitedAsync(context, connect: true, operation: false)
                : LimitedAsync(context, connect: false, operation: true,
                    holdsConnection: ResponseMediaTypes.AcceptsEventStream(context.Request.Headers.Accept));
        }

        if (path == GraphQLPath + "/sse")
        {
            return LimitedAsync(context, connect: true, operation: true);
        }

        if (path.StartsWith(SubscriptionPrefix, StringComparison.Ordinal))
        {
            return LimitedAsync(context, connect: true, operation: false);
        }

        return next(context);
    }

    private const string SubscriptionPrefix = GraphQLPath + "/subscription/";

    private ClientLimit? PolicyOf(string? name) => name is null ? null : limits.Policy(name);

    private async Task LimitedAsync(HttpContext context, bool connect = false, bool operation = false, bool request = false, bool? holdsConnection = null, ClientLimit? policy = null)
    {
        var client = ClientPartition.Of(context);
        var refused = request ? Refused(context, limits.Requests, client) : null;
        refused ??= connect ? Refused(context, limits.StreamConnects, client) : null;
        refused ??= operation ? Refused(context, limits.GraphQLOperations, client) : null;
        if (refused is not null)
        {
            await refused;
            return;
        }

        RateLimitLease? policyLease = null;
        if (policy is not null)
        {
            policyLease = await policy.AcquireAsync(client, context.RequestAborted);
            if (!policyLease.IsAcquired)
            {
                Refuse(context, policy, client);
                var wait = policy.RetryAfter(policyLease);
                policyLease.Dispose();
                await RateLimitRefusal.WriteAsync(context, policy, wait);
                return;
            }
        }

        using (policyLease)
        {
            if (!(holdsConnection ?? connect))
            {
                await next(context);
                return;
            }

            using var connection = limits.Connections.AttemptAcquire(client);
            if (!connection.IsAcquired)
            {
                Refuse(context, limits.Connections, client);
                await RateLimitRefusal.WriteAsync(context, limits.Connections, limits.Connections.RetryAfter(connection));
                return;
            }

            await next(context);
        }
    }

    /// <summary>The refusal to write when <paramref name="limit"/> has no permit for <paramref name="client"/>, else null.</summary>
    private Task? Refused(HttpContext context, ClientLimit limit, string client)
    {
        // These limits have no queue, so a permit is had or refused at once. Their leases hold nothing.
        using var lease = limit.AttemptAcquire(client);
        if (lease.IsAcquired)
        {
            return null;
        }

        Refuse(context, limit, client);
        return RateLimitRefusal.WriteAsync(context, limit, limit.RetryAfter(lease));
    }

    private void Refuse(HttpContext context, ClientLimit limit, string client) =>
        Refused(logger, context.Request.Method, context.Request.Path.Value ?? "/", client, limit.ConfigurationKey);

    [LoggerMessage(EventId = 1950, Level = LogLevel.Debug, Message = "{Method} {Path} from {Client} refused with 429 by {Limit}")]
    private static partial void Refused(ILogger logger, string method, string path, string client, string limit);
}
