using System.Buffers;
using GraphQL;

namespace AiWebEngine.GraphQL.Sse;

/// <summary>
/// The frames of the graphql-sse protocol in distinct connections mode
/// (https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md): <c>next</c> with an
/// <see cref="ExecutionResult"/>, then <c>complete</c>.
/// </summary>
internal static class GraphQLSseFrames
{
    private static ReadOnlySpan<byte> NextPrefix => "event: next\ndata: "u8;

    private static ReadOnlySpan<byte> End => "\n\n"u8;

    /// <summary><c>event: complete</c> with an empty <c>data:</c> line, which EventSource needs to dispatch the event.</summary>
    public static ReadOnlyMemory<byte> Complete { get; } = "event: complete\ndata: \n\n"u8.ToArray();

    /// <summary><c>event: next\ndata: &lt;result JSON&gt;\n\n</c>, encoded once; the JSON is one line.</summary>
    public static byte[] Next(ExecutionResult result, GraphQLJson json)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(NextPrefix);
        json.Write(buffer, result);
        buffer.Write(End);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>event: next\ndata: &lt;payload&gt;\n\n</c> around an encoded one-line result.</summary>
    public static byte[] Next(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[NextPrefix.Length + payload.Length + End.Length];
        NextPrefix.CopyTo(frame);
        payload.CopyTo(frame.AsSpan(NextPrefix.Length));
        End.CopyTo(frame.AsSpan(NextPrefix.Length + payload.Length));
        return frame;
    }

    /// <summary>The result of a source stream error: a <c>next</c> with the error, as GraphQL.NET reports it.</summary>
    public static byte[] NextError(Exception error, GraphQLJson json) =>
        Next(new ExecutionResult(error as ExecutionError ?? new ExecutionError("The subscription's event stream failed.", error)), json);
}
