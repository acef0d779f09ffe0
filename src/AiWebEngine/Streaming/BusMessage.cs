namespace AiWebEngine.Streaming;

/// <summary>
/// One published message, shared by every subscriber it goes to. Its SSE frame is encoded once,
/// on first use, and the same bytes are written to every client.
/// </summary>
public sealed class BusMessage
{
    private byte[]? _sseFrame;
    private int _bytes = -1;

    public BusMessage(long id, string data, IReadOnlyDictionary<string, string>? filter)
    {
        Id = id;
        Data = data;
        Filter = filter;
    }

    private BusMessage(byte[] frame)
    {
        Data = "";
        _sseFrame = frame;
        IsComment = true;
    }

    /// <summary>A keep-alive comment, queued to idle connections.</summary>
    public static BusMessage KeepAlive { get; } = new(SseFrames.KeepAlive.ToArray());

    /// <summary>An SSE comment line (<c>: text</c>) for one connection; <paramref name="text"/> has no line break.</summary>
    public static BusMessage Comment(string text) => new(SseFrames.Comment(text));

    /// <summary>Whether this is an SSE comment (a keep-alive, a note to one client) rather than a message of the topic.</summary>
    public bool IsComment { get; }

    /// <summary>The message's id in its topic: increases by one per message.</summary>
    public long Id { get; }

    /// <summary>The payload, exactly as it was sent (JSON text or a plain string).</summary>
    public string Data { get; }

    /// <summary>Who it is for (SPEC §4.3), or <see langword="null"/> for everyone.</summary>
    public IReadOnlyDictionary<string, string>? Filter { get; }

    /// <summary>
    /// The payload's size in UTF-8 bytes, the measure of <see cref="StreamOptions.MaxMessageBytes"/> and of
    /// the replay bounds. Counted once; counting twice in a race gives the same number.
    /// </summary>
    public int Bytes => _bytes >= 0 ? _bytes : _bytes = System.Text.Encoding.UTF8.GetByteCount(Data);

    /// <summary><c>id: n\ndata: …\n\n</c>, encoded once. Encoding twice in a race gives equal bytes, so no lock is needed.</summary>
    public ReadOnlyMemory<byte> SseFrame => _sseFrame ??= SseFrames.Message(Id, Data);

    /// <summary>Whether a connection with <paramref name="metadata"/> receives this message (SPEC §4.3, issue 18).</summary>
    /// <remarks>
    /// A message without a filter reaches everyone. A filtered one reaches a connection only if every key
    /// of the filter is in the connection's metadata with the same value (filter ⊆ metadata): a connection
    /// without metadata gets no filtered message. Live delivery and <c>Last-Event-ID</c> replay both ask here.
    /// </remarks>
    public bool IsFor(IReadOnlyDictionary<string, string> metadata)
    {
        if (Filter is null)
        {
            return true;
        }

        foreach (var (key, wanted) in Filter)
        {
            if (!metadata.TryGetValue(key, out var value) || !string.Equals(wanted, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
