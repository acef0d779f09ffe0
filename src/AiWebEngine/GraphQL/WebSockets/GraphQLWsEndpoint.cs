using System.Net.WebSockets;
using AiWebEngine.Errors;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.RateLimiting;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using GraphQL;
using GraphQL.Transport;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>
/// WebSocket upgrades on <c>/graphql</c>: accepts the <c>graphql-transport-ws</c> subprotocol and serves
/// the socket with a <see cref="GraphQLWsConnection"/>; any other subprotocol is closed with 4406.
/// An upgrade from a browser page of an origin <see cref="WebSocketOrigins"/> does not allow is refused
/// with 403 <c>FORBIDDEN</c> before the handshake, so no resolver runs with that browser's cookies.
/// </summary>
/// <remarks>
/// A socket holds one of the server's stream connection slots (<see cref="StreamConnectionLimiter"/>)
/// while it is open; without a free slot the upgrade is answered 503 <c>OVERLOADED</c> and not accepted.
/// </remarks>
internal sealed partial class GraphQLWsEndpoint(
    GraphQLExecutor executor,
    WebSocketOrigins origins,
    GraphQLOperations operations,
    StreamConnectionLimiter limiter,
    ClientRateLimiter rateLimits,
    IHostApplicationLifetime lifetime,
    IOptions<GraphQLOptions> options,
    IOptions<HttpOptions> http,
    TimeProvider time,
    Security.BearerTokens tokens,
    ILogger<GraphQLWsConnection> logger)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public async Task HandleAsync(HttpContext context)
    {
        if (!origins.IsAllowed(context.Request))
        {
            OriginRefused(logger, context.TraceIdentifier);
            await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                $"A WebSocket from a page of another origin is refused; list the page's origin in {GraphQLOptions.SectionName}:AllowedOrigins to allow it.");
            return;
        }

        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(GraphQLWsMessages.SubProtocol, StringComparer.Ordinal))
        {
            using var refused = await context.WebSockets.AcceptWebSocketAsync();
            await refused.CloseAsync((WebSocketCloseStatus)GraphQLWsCloseCodes.SubprotocolNotAcceptable, "Subprotocol not acceptable", context.RequestAborted);
            return;
        }

        if (!limiter.TryAcquire())
        {
            await limiter.RefuseAsync(context);
            return;
        }

        try
        {
            await ServeAsync(context);
        }
        finally
        {
            limiter.Release();
        }
    }

    private async Task ServeAsync(HttpContext context)
    {
        WebSocket socket;
        try
        {
            socket = await context.WebSockets.AcceptWebSocketAsync(GraphQLWsMessages.SubProtocol);
        }
        catch (InvalidOperationException) when (!context.Response.HasStarted)
        {
            // Kestrel refuses the upgrade when it holds MaxConcurrentUpgradedConnections (the request
            // is a WebSocket request, so nothing else makes this upgrade fail before it starts).
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Overloaded,
                "The server holds its maximum of WebSocket connections (AiWebEngine:Http:MaxUpgradedConnections); retry later.",
                retryAfter: RetryAfter);
            return;
        }

        using var _ = socket;
        // The socket's identity: the upgrade request's (header or cookie), or the connection_init token's.
        var identity = new Identity(context.User) { Expires = await Security.CredentialExpiry.OfAsync(context) };
        var settings = new GraphQLWsSettings(
            (request, cancellationToken) => ExecuteAsync(context, identity.User, request, cancellationToken),
            executor.Json,
            options.Value.ConnectionInitWaitTimeout,
            options.Value.QueueCapacity,
            options.Value.MaxOperationsPerSocket,
            http.Value.MaxRequestBodyBytes,
            time,
            logger,
            GraphQLWsLimits.Create(rateLimits, ClientPartition.Of(context), time),
            (authorization, cancellationToken) => InitAsync(identity, authorization, cancellationToken));
        using var connection = new GraphQLWsConnection(socket, settings);
        // No socket outlives its credential: at expiry it is closed with 4403 (the client reconnects with a fresh one).
        identity.Expired = () => connection.CredentialExpired();
        identity.Watch(time);
        using var watch = identity;
        await connection.RunAsync(lifetime.ApplicationStopping);
    }

    /// <summary>Each operation runs on the schema current when it is subscribed, as the socket's user.</summary>
    private Task<GraphQLOperation> ExecuteAsync(HttpContext context, System.Security.Claims.ClaimsPrincipal user, GraphQLRequest request, CancellationToken cancellationToken) =>
        operations.RunAsync(executor.CurrentSchema, request, OperationKinds.All, context.RequestServices, user, context.Request.Headers, cancellationToken, ClientPartition.Of(context));

    /// <summary>
    /// A <c>connection_init</c> token, validated as the bearer scheme validates headers, becomes the socket's
    /// user; one that is refused closes the socket (4401), and without one the upgrade's identity stays.
    /// </summary>
    private async Task<string?> InitAsync(Identity identity, string? authorization, CancellationToken cancellationToken)
    {
        // A server without a bearer configuration accepts no tokens anywhere; a client that sends one anyway
        // (as an HTTP request with an Authorization header would) stays anonymous.
        if (authorization is null || !tokens.Configured)
        {
            return null;
        }

        var token = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : authorization.Trim();
        if (token.Length == 0)
        {
            return "the connection_init Authorization is empty";
        }

        var (user, problem) = await tokens.ValidateAsync(token, cancellationToken);
        if (user is null)
        {
            return problem;
        }

        identity.User = user;
        identity.Expires = Security.CredentialExpiry.OfToken(user);
        identity.Watch(time);
        return null;
    }

    /// <summary>
    /// Who a socket's operations run as, and until when: replaced once, by an accepted connection_init token,
    /// before any operation; the expiry timer follows the identity in force.
    /// </summary>
    private sealed class Identity(System.Security.Claims.ClaimsPrincipal user) : IDisposable
    {
        private readonly Lock _sync = new();
        private ITimer? _timer;

        public System.Security.Claims.ClaimsPrincipal User { get; set; } = user;

        public DateTimeOffset? Expires { get; set; }

        public Action? Expired { get; set; }

        public void Watch(TimeProvider time)
        {
            lock (_sync)
            {
                _timer?.Dispose();
                _timer = Expired is { } expired ? Security.CredentialExpiry.When(Expires, time, expired) : null;
            }
        }

        public void Dispose()
        {
            lock (_sync)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }
    }

    [LoggerMessage(EventId = 1421, Level = LogLevel.Warning, Message = "GraphQL WebSocket upgrade {RequestId} refused: its Origin is not allowed (AiWebEngine:GraphQL:AllowedOrigins)")]
    private static partial void OriginRefused(ILogger logger, string requestId);
}
