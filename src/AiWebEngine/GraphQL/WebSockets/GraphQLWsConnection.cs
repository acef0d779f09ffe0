using AiWebEngine.GraphQL.Subscriptions;
using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using GraphQL;
using GraphQL.Transport;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>What a <see cref="GraphQLWsConnection"/> needs from its host: how to run an operation, and its limits.</summary>
/// <param name="Execute">Runs an operation on the current schema (all operation types are allowed).</param>
/// <param name="MaxOperations">Operations one socket may run at once; a <c>subscribe</c> over it gets an <c>error</c> for its id.</param>
/// <param name="Limits">The socket's rate limits, or <see langword="null"/> when they are off.</param>
/// <param name="Init">
/// Judges the <c>connection_init</c> payload's <c>Authorization</c> value (<see langword="null"/> when it has
/// none) before the connection is acknowledged: <see langword="null"/> accepts, a reason refuses (close 4401).
/// </param>
internal sealed record GraphQLWsSettings(
    Func<GraphQLRequest, CancellationToken, Task<GraphQLOperation>> Execute,
    GraphQLJson Json,
    TimeSpan ConnectionInitWaitTimeout,
    int QueueCapacity,
    int MaxOperations,
    int MaxMessageBytes,
    TimeProvider Time,
    ILogger Logger,
    GraphQLWsLimits? Limits = null,
    Func<string?, CancellationToken, Task<string?>>? Init = null);

/// <summary>
/// The <c>graphql-transport-ws</c> protocol core (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)
/// on one <see cref="WebSocket"/>, knowing nothing of HTTP: <c>connection_init</c>/<c>connection_ack</c>
/// within a timeout, <c>ping</c>/<c>pong</c>, and many operations at once, each
/// <c>subscribe</c> → <c>next</c>* → <c>complete</c> (or <c>error</c>).
/// </summary>
/// <remarks>
/// One loop reads, one writes: every message to the client goes through a bounded queue
/// (<see cref="GraphQLOptions.QueueCapacity"/>), and a client that falls that far behind is aborted.
/// Protocol violations close the socket with the protocol's 44xx codes. When the socket ends, for any
/// reason, every operation is disposed. At most <see cref="GraphQLWsSettings.MaxOperations"/> operations
/// run at once: the protocol has no code for "too many", so a <c>subscribe</c> over the limit is
/// answered with an <c>error</c> for its id (<c>MAX_OPERATIONS_EXCEEDED</c>) and the socket and its other
/// operations go on; the id is free again at once. So is a <c>subscribe</c> over a rate limit
/// (<c>RATE_LIMITED</c>); a client that sends messages faster than <see cref="GraphQLWsLimits"/> allows
/// is closed with 4429.
/// </remarks>
internal sealed partial class GraphQLWsConnection : IDisposable
{
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly GraphQLWsSettings _settings;
    private readonly Channel<ReadOnlyMemory<byte>> _outbound;
    private readonly ConcurrentDictionary<string, GraphQLWsOperation> _operations = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _ended = new();
    private CloseRequest? _close;
    private ITimer? _abortTimer;
    private int _initReceived;
    private volatile bool _acknowledged;

    public GraphQLWsConnection(WebSocket socket, GraphQLWsSettings settings)
    {
        _socket = socket;
        _settings = settings;
        _outbound = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(settings.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    internal GraphQLJson Json => _settings.Json;

    /// <summary>Operations running now.</summary>
    public int OperationCount => _operations.Count;

    /// <summary>Serves the socket until it closes; <paramref name="stopping"/> closes it with 1001 (going away).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var writer = WriteLoopAsync();
        using var initTimeout = _settings.Time.CreateTimer(static s => ((GraphQLWsConnection)s!).OnInitTimeout(), this, _settings.ConnectionInitWaitTimeout, Timeout.InfiniteTimeSpan);
        await using var stop = stopping.UnsafeRegister(static s => ((GraphQLWsConnection)s!).Close(WebSocketCloseStatus.EndpointUnavailable, "The server is stopping"), this);
        try
        {
            await ReceiveLoopAsync();
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The connection broke or was aborted: a normal end for a socket.
        }
        finally
        {
            await _ended.CancelAsync();
            foreach (var operation in _operations.Values)
            {
                operation.Dispose();
            }

            _operations.Clear();
            Close(WebSocketCloseStatus.NormalClosure, "");
            await writer;
            await DrainCloseAsync();
            _abortTimer?.Dispose();
        }
    }

    /// <summary>Runs an operation of this connection; cancelled when the socket ends.</summary>
    internal Task<GraphQLOperation> ExecuteAsync(GraphQLRequest request) => _settings.Execute(request, _ended.Token);

    /// <summary>Queues a message; a client too far behind to take it is aborted.</summary>
    internal void Send(ReadOnlyMemory<byte> message)
    {
        if (!_outbound.Writer.TryWrite(message) && Volatile.Read(ref _close) is null)
        {
            _socket.Abort();
        }
    }

    /// <summary>Takes <paramref name="operation"/> out of the table; false when it already was.</summary>
    internal bool Remove(GraphQLWsOperation operation) => _operations.TryRemove(new(operation.Id, operation));

    /// <summary>Closes the socket once what is queued is sent; the first close wins.</summary>
    private void Close(WebSocketCloseStatus status, string reason)
    {
        if (Interlocked.CompareExchange(ref _close, new CloseRequest(status, reason), null) is null)
        {
            _outbound.Writer.TryComplete();
        }
    }

    private void Close(int code, string reason) => Close((WebSocketCloseStatus)code, reason);

    private void OnInitTimeout()
    {
        if (!_acknowledged)
        {
            Close(GraphQLWsCloseCodes.ConnectionInitialisationTimeout, "Connection initialisation timeout");
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (Volatile.Read(ref _close) is null)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer.GetMemory(4096), CancellationToken.None);
                buffer.Advance(received.Count);
                if (buffer.WrittenCount > _settings.MaxMessageBytes)
                {
                    Close(WebSocketCloseStatus.MessageTooBig, $"Messages are limited to {_settings.MaxMessageBytes} bytes");
                    return;
                }
            }
            while (!received.EndOfMessage && received.MessageType != WebSocketMessageType.Close);

            if (received.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            if (_settings.Limits?.OnMessage() is { } tooFast)
            {
                Close(GraphQLWsCloseCodes.TooManyMessages, tooFast);
                return;
            }

            if (received.MessageType != WebSocketMessageType.Text || !Handle(buffer.WrittenMemory))
            {
                Close(GraphQLWsCloseCodes.BadRequest, "Invalid message received");
                return;
            }
        }
    }

    /// <summary>Acts on one message; false when it is not a valid protocol message (then the caller closes with 4400).</summary>
    private bool Handle(ReadOnlyMemory<byte> message)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            var hasPayload = root.TryGetProperty("payload"u8, out var payload) && payload.ValueKind != JsonValueKind.Null;
            switch (type.GetString())
            {
                case "connection_init" when hasPayload && payload.ValueKind != JsonValueKind.Object:
                    return false;
                case "connection_init":
                    return OnInit(hasPayload ? AuthorizationOf(payload) : null);
                case "ping":
                    Send(GraphQLWsMessages.Pong);
                    return true;
                case "pong":
                    return true;
                case "subscribe":
                    return TryReadId(root, out var id) && hasPayload && OnSubscribe(id, payload);
                case "complete":
                    if (!TryReadId(root, out var completed))
                    {
                        return false;
                    }

                    if (_operations.TryRemove(completed, out var operation))
                    {
                        operation.Dispose();
                    }

                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>
    /// Acknowledges the first <c>connection_init</c> once its credential (if any) is accepted, else closes
    /// with 4401; a second one closes with 4429. Until the acknowledgement a <c>subscribe</c> closes with 4401.
    /// </summary>
    private bool OnInit(string? authorization)
    {
        if (Interlocked.Exchange(ref _initReceived, 1) != 0)
        {
            Close(GraphQLWsCloseCodes.TooManyInitialisationRequests, "Too many initialisation requests");
        }
        else if (_settings.Init is null)
        {
            Acknowledge();
        }
        else
        {
            _ = InitAsync(_settings.Init, authorization);
        }

        return true;
    }

    private async Task InitAsync(Func<string?, CancellationToken, Task<string?>> init, string? authorization)
    {
        string? refusal;
        try
        {
            refusal = await init(authorization, _ended.Token);
        }
        catch (OperationCanceledException)
        {
            return; // The socket ended while the credential was checked.
        }

        if (refusal is null)
        {
            Acknowledge();
        }
        else
        {
            Close(GraphQLWsCloseCodes.Unauthorized, CloseReason("Unauthorized: " + refusal));
        }
    }

    private void Acknowledge()
    {
        _acknowledged = true;
        Send(GraphQLWsMessages.ConnectionAck);
    }

    /// <summary>The payload's <c>Authorization</c> (or <c>authorization</c>) string; a non-string one is kept as "" (refused).</summary>
    private static string? AuthorizationOf(JsonElement payload)
    {
        if (!payload.TryGetProperty("Authorization"u8, out var value) && !payload.TryGetProperty("authorization"u8, out value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : "";
    }

    /// <summary>Ends the socket because its credential expired: close 4403, after what is queued.</summary>
    internal void CredentialExpired() => Close(GraphQLWsCloseCodes.Forbidden, "Forbidden: the credential expired; reconnect with a fresh one");

    /// <summary>A close reason cut to the 123 UTF-8 bytes a close frame can carry.</summary>
    private static string CloseReason(string reason)
    {
        while (System.Text.Encoding.UTF8.GetByteCount(reason) > 123)
        {
            reason = reason[..^1];
        }

        return reason;
    }

    private bool OnSubscribe(string id, JsonElement payload)
    {
        if (!_acknowledged)
        {
            Close(GraphQLWsCloseCodes.Unauthorized, "Unauthorized");
            return true;
        }

        if (!GraphQLRequestReader.TryRead(payload, _settings.Json, out var request, out _))
        {
            return false;
        }

        if (_operations.ContainsKey(id))
        {
            Close(GraphQLWsCloseCodes.SubscriberAlreadyExists, $"Subscriber for {id} already exists");
            return true;
        }

        // Only this loop adds operations, so the count cannot grow between the check and the add.
        if (_operations.Count >= _settings.MaxOperations)
        {
            Send(GraphQLWsMessages.Error(id, TooManyOperations(), _settings.Json));
            return true;
        }

        if (_settings.Limits?.OnSubscribe() is { } limited)
        {
            Send(GraphQLWsMessages.Error(id, RateLimited(limited), _settings.Json));
            return true;
        }

        var operation = new GraphQLWsOperation(id, request, this);
        _operations.TryAdd(id, operation);

        _ = RunOperationAsync(operation);
        return true;
    }

    private ExecutionResult TooManyOperations() => new(new ExecutionError(
        $"This socket runs its maximum of {_settings.MaxOperations} operations at once (AiWebEngine:GraphQL:MaxOperationsPerSocket); complete one, or open another socket.")
    {
        Code = "MAX_OPERATIONS_EXCEEDED",
    });

    private static ExecutionResult RateLimited(string message) => new(new ExecutionError(message) { Code = "RATE_LIMITED" });

    private async Task RunOperationAsync(GraphQLWsOperation operation)
    {
        try
        {
            await operation.RunAsync();
        }
        catch (OperationCanceledException) when (_ended.IsCancellationRequested)
        {
            // The socket ended while the operation ran.
        }
        catch (Exception e)
        {
            OperationFailed(_settings.Logger, operation.Id, e);
            Close(GraphQLWsCloseCodes.InternalServerError, "Internal server error");
        }
    }

    private static bool TryReadId(JsonElement root, out string id)
    {
        id = root.TryGetProperty("id"u8, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
        return id.Length > 0;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            var reader = _outbound.Reader;
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var message))
                {
                    await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }

            var close = Volatile.Read(ref _close) ?? new CloseRequest(WebSocketCloseStatus.NormalClosure, "");
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                // If the client does not answer the close, it is aborted rather than waited for.
                _abortTimer = _settings.Time.CreateTimer(static s => ((WebSocket)s!).Abort(), _socket, CloseHandshakeTimeout, Timeout.InfiniteTimeSpan);
                await _socket.CloseOutputAsync(close.Status, close.Reason, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection broke: the receive loop ends too.
            _socket.Abort();
        }
    }

    /// <summary>After our close, reads until the client's close (or the abort timer), so the client sees a clean close.</summary>
    private async Task DrainCloseAsync()
    {
        try
        {
            var buffer = new byte[256];
            while (_socket.State == WebSocketState.CloseSent)
            {
                await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Aborted by the timer, or the client left: either way the socket is done.
        }
    }

    public void Dispose() => _ended.Dispose();

    [LoggerMessage(EventId = 1430, Level = LogLevel.Error, Message = "GraphQL WebSocket operation {OperationId} failed; the socket is closed with 4500")]
    private static partial void OperationFailed(ILogger logger, string operationId, Exception exception);

    private sealed record CloseRequest(WebSocketCloseStatus Status, string Reason);
}
