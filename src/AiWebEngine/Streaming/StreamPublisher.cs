using System.Text;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>
/// <c>sendStreamMessage</c> and <c>sendStreamMessageToPath</c>: checks, then one publish per
/// stream. Returns the number of clients the message was queued for, or an error message for the
/// script to throw.
/// </summary>
internal sealed class StreamPublisher(ITopicBus bus, StreamRegistry streams, IOptions<StreamOptions> options)
{
    private readonly int _maxBytes = options.Value.MaxMessageBytes;

    /// <summary>Sends to every client of every stream <paramref name="uri"/> owns.</summary>
    public object SendToOwnStreams(string uri, string data)
    {
        if (CheckSize(data) is { } error)
        {
            return error;
        }

        var queued = 0;
        try
        {
            foreach (var path in streams.PathsOf(uri))
            {
                queued += bus.Publish(StreamRegistry.TopicOf(path), data);
            }
        }
        catch (Redis.BusUnavailableException e)
        {
            return e.Message;
        }

        return queued;
    }

    /// <summary>Sends to the clients of one stream (any script's) whose metadata matches <paramref name="filter"/>.</summary>
    public object SendToPath(string path, string data, IReadOnlyDictionary<string, string>? filter)
    {
        if (streams.OwnerOf(path) is null)
        {
            return $"no stream is registered at '{path}'; call registerWebStream(\"{path}\") first";
        }

        if (CheckSize(data) is { } error)
        {
            return error;
        }

        try
        {
            return bus.Publish(StreamRegistry.TopicOf(path), data, filter);
        }
        catch (Redis.BusUnavailableException e)
        {
            return e.Message;
        }
    }

    private string? CheckSize(string data)
    {
        // Cheap bound first: a UTF-8 byte count is at most three per UTF-16 char.
        if (data.Length * 3L <= _maxBytes)
        {
            return null;
        }

        var bytes = Encoding.UTF8.GetByteCount(data);
        return bytes <= _maxBytes
            ? null
            : $"the message is {bytes} bytes; the limit is {_maxBytes} bytes (AiWebEngine:Streams:MaxMessageBytes)";
    }
}
