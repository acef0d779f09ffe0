using System.Buffers;
using System.Text.Json;
using GraphQL;

namespace AiWebEngine.GraphQL.WebSockets;

/// <summary>
/// The server's messages of the <c>graphql-transport-ws</c> protocol
/// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md), encoded once as UTF-8 JSON text.
/// </summary>
internal static class GraphQLWsMessages
{
    /// <summary>The WebSocket subprotocol name.</summary>
    public const string SubProtocol = "graphql-transport-ws";

    public static ReadOnlyMemory<byte> ConnectionAck { get; } = """{"type":"connection_ack"}"""u8.ToArray();

    public static ReadOnlyMemory<byte> Pong { get; } = """{"type":"pong"}"""u8.ToArray();

    /// <summary><c>{"id":…,"type":"next","payload":&lt;result&gt;}</c>.</summary>
    public static byte[] Next(string id, ExecutionResult result, GraphQLJson json) =>
        Encode(id, "next", writer => json.Write(writer, result));

    /// <summary><c>{"id":…,"type":"next","payload":&lt;result&gt;}</c> around an already encoded result.</summary>
    public static byte[] Next(string id, ReadOnlyMemory<byte> payload) =>
        Encode(id, "next", writer => writer.WriteRawValue(payload.Span, skipInputValidation: true));

    /// <summary><c>{"id":…,"type":"error","payload":[&lt;errors&gt;]}</c>: the operation failed before it ran.</summary>
    public static byte[] Error(string id, ExecutionResult result, GraphQLJson json) =>
        Encode(id, "error", writer => json.WriteErrors(writer, result));

    /// <summary><c>{"id":…,"type":"complete"}</c>.</summary>
    public static byte[] Complete(string id) => Encode(id, "complete", payload: null);

    private static byte[] Encode(string id, string type, Action<Utf8JsonWriter>? payload)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, GraphQLJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteString("type"u8, type);
            if (payload is not null)
            {
                writer.WritePropertyName("payload"u8);
                payload(writer);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>The close codes of <c>graphql-transport-ws</c>.</summary>
internal static class GraphQLWsCloseCodes
{
    /// <summary>A message that is not valid JSON, has an unknown type, or lacks what its type needs.</summary>
    public const int BadRequest = 4400;

    /// <summary><c>subscribe</c> before the connection was acknowledged, or a <c>connection_init</c> whose credential is refused.</summary>
    public const int Unauthorized = 4401;

    /// <summary>The connection's credential expired (it was valid at <c>connection_init</c>).</summary>
    public const int Forbidden = 4403;

    /// <summary>The subprotocol is not <c>graphql-transport-ws</c>.</summary>
    public const int SubprotocolNotAcceptable = 4406;

    /// <summary>No <c>connection_init</c> within <see cref="GraphQLOptions.ConnectionInitWaitTimeout"/>.</summary>
    public const int ConnectionInitialisationTimeout = 4408;

    /// <summary>A <c>subscribe</c> with the id of an operation still running.</summary>
    public const int SubscriberAlreadyExists = 4409;

    /// <summary>A second <c>connection_init</c>.</summary>
    public const int TooManyInitialisationRequests = 4429;

    /// <summary>
    /// The client sends messages faster than <c>AiWebEngine:RateLimits:WebSocketMessages</c> allows: the
    /// protocol's "too many" code, with a reason that says which.
    /// </summary>
    public const int TooManyMessages = 4429;

    /// <summary>The server failed unexpectedly.</summary>
    public const int InternalServerError = 4500;
}
