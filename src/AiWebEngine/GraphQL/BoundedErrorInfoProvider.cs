using GraphQL;
using GraphQL.Execution;

namespace AiWebEngine.GraphQL;

/// <summary>
/// GraphQL.NET's error serialization with every message at most <see cref="MaxMessageLength"/>
/// characters: a longer one keeps its start and end and says how much was cut in the middle.
/// </summary>
/// <remarks>
/// Validation and coercion messages echo the client's own values (a list literal or variable of the
/// wrong type is printed whole), so without a cut a small request buys a response many times its size.
/// The cut is applied where <see cref="GraphQLJson"/> writes an error, so it covers every error of every
/// transport (results, subscription events, WebSocket <c>error</c> messages), whoever created it.
/// </remarks>
internal sealed class BoundedErrorInfoProvider : IErrorInfoProvider
{
    /// <summary>The longest message written, in UTF-16 code units (the cut marker included).</summary>
    public const int MaxMessageLength = 1000;

    private const int Head = 600;
    private const int Tail = 200;

    private readonly ErrorInfoProvider _inner = new();

    public ErrorInfo GetInfo(ExecutionError executionError)
    {
        var info = _inner.GetInfo(executionError);
        info.Message = Cut(info.Message);
        return info;
    }

    /// <summary><paramref name="message"/>, or its first 600 and last 200 characters around a marker saying how many were cut.</summary>
    public static string Cut(string message)
    {
        if (message.Length <= MaxMessageLength)
        {
            return message;
        }

        // Never keep half of a surrogate pair at either edge of the cut.
        var head = char.IsHighSurrogate(message[Head - 1]) ? Head - 1 : Head;
        var tailStart = message.Length - Tail;
        if (char.IsLowSurrogate(message[tailStart]))
        {
            tailStart++;
        }

        return string.Concat(message.AsSpan(0, head), $"... ({tailStart - head} characters cut) ...", message.AsSpan(tailStart));
    }
}
