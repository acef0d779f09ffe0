using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SseLoad;

/// <summary>
/// One Server-Sent-Events client on a raw socket: <c>GET /feed</c> over HTTP/1.1 (or, with protocol
/// <c>graphql-sse</c>, <c>POST /graphql/sse</c> with a subscription), then a byte-level parser (status
/// line and headers, chunked transfer coding, SSE lines) that checks every message. The socket is
/// read by a <see cref="UringPoller"/> thread (<c>--io uring</c>, the default), an
/// <see cref="EpollPoller"/> thread (<c>--io epoll</c>) or by a
/// <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> loop (<c>--io async</c>);
/// all feed <see cref="Feed"/>.
/// </summary>
/// <remarks>
/// A message's data is <c>{"run":R,"seq":S,"t":T}</c> (see <see cref="Publisher"/>): <c>T</c> is the
/// publisher's <see cref="Stopwatch"/> timestamp in this same process, so receive time − T is the
/// publish-to-receive latency on one clock. Messages of another run are counted as foreign and
/// otherwise ignored; negative <c>seq</c> are warm-up messages (no statistics). Per client it counts
/// duplicates (a seq seen before), out-of-order arrivals (a new seq below the highest seen), gaps in
/// the SSE <c>id</c>, disconnects and keep-alive comments; the lost messages are counted at the end
/// from the set of seqs seen.
/// Like <c>EventSource</c>, a dropped client reconnects after the server's <c>retry:</c> with
/// <c>Last-Event-ID</c> (unless reconnecting is off).
/// graphql-sse (distinct connections mode): events are <c>event: next</c> with
/// <c>{"data":{"field":"{\"run\":R,…}"}}</c> (a String field carries the message as a JSON string, so the
/// keys are found escaped too), and <c>event: complete</c> ends the operation; a client that is dropped
/// subscribes again (no replay in that protocol).
/// </remarks>
internal sealed class SseClient(int index, ClientConfig config)
{
    private const int HttpHeaders = 0;
    private const int HttpBody = 1;

    private const int ChunkSize = 0;
    private const int ChunkExtension = 1;
    private const int ChunkSizeLf = 2;
    private const int ChunkData = 3;
    private const int ChunkDataCr = 4;
    private const int ChunkDataLf = 5;
    private const int ChunkDone = 6;

    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;
    private static ReadOnlySpan<byte> RunKey => "run"u8;
    private static ReadOnlySpan<byte> SeqKey => "seq"u8;
    private static ReadOnlySpan<byte> TimeKey => "t"u8;

    private readonly TaskCompletionSource<bool> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _receive;
    private Socket? _socket;
    private volatile bool _stopping;

    // HTTP.
    private int _http;
    private byte[] _headers = new byte[1024];
    private int _headersLength;
    private bool _chunked;
    private int _chunkState;
    private long _chunkRemaining;

    // SSE.
    private byte[] _line = new byte[256];
    private int _lineLength;
    private long _eventId = -1;
    private bool _eventComplete;
    private bool _hasData;
    private byte[] _data = new byte[256];
    private int _dataLength;

    // The histogram of the thread that is feeding the parser.
    private Histogram? _latency;

    // The closed loop's wake-up (see WakeWhen).
    private long _wakeAt = long.MaxValue;
    private ManualResetEventSlim? _reached;

    // Checks.
    private ulong[] _seen = new ulong[64];

    /// <summary>Completes when the first response's headers arrive: true for 200, false otherwise.</summary>
    public Task<bool> Ready => _ready.Task;

    public int Status { get; private set; }

    public int RetryMilliseconds { get; private set; } = 3000;

    public long LastEventId { get; private set; }

    /// <summary>Highest measured seq received (−1: none); read by the closed-loop publisher.</summary>
    public long MaxSeq = -1;

    /// <summary>Highest warm-up seq received (warm-up seqs are negative, counting up to −1).</summary>
    public long MaxWarmSeq = long.MinValue;

    public long Received { get; private set; }

    public long Distinct { get; private set; }

    public long Duplicates { get; private set; }

    public long OutOfOrder { get; private set; }

    public long Foreign { get; private set; }

    /// <summary>The first message that was not one of this run's (for the log: a GraphQL error, say).</summary>
    public string? FirstForeign { get; private set; }

    /// <summary>graphql-sse <c>complete</c> events received.</summary>
    public long Completes { get; private set; }

    public long IdGaps { get; private set; }

    public long KeepAlives { get; private set; }

    public int Disconnects { get; private set; }

    public int ConnectErrors { get; private set; }

    public int StreamsEnded { get; private set; }

    public string? LastError { get; private set; }

    public bool Connected { get; private set; }

    /// <summary>Stopwatch timestamp of the last measured message.</summary>
    public long LastDeliveryTimestamp { get; private set; }

    public long BytesReceived { get; private set; }

    public long Receives { get; private set; }

    /// <summary>Measured seqs in [0, <paramref name="published"/>) never received.</summary>
    public long Lost(long published)
    {
        long have = 0;
        var words = (int)Math.Min((published + 63) / 64, _seen.Length);
        for (var w = 0; w < words; w++)
        {
            var bits = _seen[w];
            var from = (long)w * 64;
            if (from + 64 > published)
            {
                bits &= (1UL << (int)(published - from)) - 1;
            }

            have += (long)ulong.PopCount(bits);
        }

        return published - have;
    }

    public async Task RunAsync()
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, config.Port);
        var source = new IPAddress([127, 0, 0, (byte)(1 + index % config.SourceAddresses)]);
        var first = true;
        while (!_stopping)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket = socket;
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                ResetParser();
                var request = Request(first ? 0 : LastEventId);
                first = false;
                if (config.Pollers is { } pollers)
                {
                    await pollers[index % pollers.Length].RunAsync(this, socket, endpoint, request);
                }
                else
                {
                    await ReceiveAsync(socket, endpoint, request);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                if (!_stopping)
                {
                    LastError = e.Message;
                    if (!Connected)
                    {
                        ConnectErrors++;
                    }
                }
            }
            finally
            {
                Connected = false;
                socket.Dispose();
            }

            if (_stopping)
            {
                break;
            }

            if (_http == HttpHeaders || Status != 200)
            {
                _ready.TrySetResult(false);
            }

            Disconnects++;
            if (!config.Reconnect)
            {
                break;
            }

            await Task.Delay(config.ReconnectDelayMilliseconds ?? RetryMilliseconds);
        }

        _ready.TrySetResult(false);
    }

    /// <summary>
    /// The <c>--io async</c> receive loop: one <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/>
    /// per read, continuing on the socket engine's or the thread pool's threads.
    /// </summary>
    private async Task ReceiveAsync(Socket socket, IPEndPoint endpoint, byte[] request)
    {
        await socket.ConnectAsync(endpoint);
        await socket.SendAsync(request, SocketFlags.None);
        var buffer = _receive ??= new byte[config.ReceiveBufferBytes];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0 || !Feed(buffer.AsSpan(0, n), Stopwatch.GetTimestamp(), Histogram.ForThisThread()))
            {
                break;
            }
        }
    }

    /// <summary>Set by <see cref="Stop"/>: the poller ends the connection at its next event.</summary>
    public bool Stopping => _stopping;

    /// <summary>Closes the connection; <see cref="RunAsync"/> then ends without reconnecting.</summary>
    public void Stop()
    {
        _stopping = true;
        try
        {
            if (config.Pollers is null)
            {
                _socket?.Dispose();
            }
            else
            {
                // The poller owns the descriptor while it is registered: shut the connection down, which
                // wakes the poller (it then unregisters the socket and RunAsync disposes it).
                _socket?.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
    }

    private byte[] Request(long lastEventId)
    {
        if (config.Protocol == "graphql-sse")
        {
            var body = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["query"] = config.Query }));
            var head = Encoding.ASCII.GetBytes(new StringBuilder()
                .Append("POST ").Append(config.Path).Append(" HTTP/1.1\r\nHost: 127.0.0.1:").Append(config.Port)
                .Append("\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ").Append(body.Length)
                .Append("\r\n\r\n").ToString());
            return [.. head, .. body];
        }

        var request = new StringBuilder()
            .Append("GET ").Append(config.Path).Append(" HTTP/1.1\r\nHost: 127.0.0.1:").Append(config.Port)
            .Append("\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n");
        if (config.Tokens is { } tokens)
        {
            // Each client is its own signed-in user (sub user-<index>): the authenticated bench.
            request.Append("Authorization: Bearer ").Append(tokens.For(index)).Append("\r\n");
        }

        if (lastEventId > 0)
        {
            request.Append("Last-Event-ID: ").Append(lastEventId).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(request.Append("\r\n").ToString());
    }

    private void ResetParser()
    {
        _http = HttpHeaders;
        _headersLength = 0;
        _chunked = false;
        _chunkState = ChunkSize;
        _chunkRemaining = 0;
        _lineLength = 0;
        _eventId = -1;
        _eventComplete = false;
        _hasData = false;
        _dataLength = 0;
    }

    /// <summary>
    /// Parses what one read returned (<paramref name="timestamp"/>: when; latencies go to
    /// <paramref name="latency"/>, the reading thread's histogram). False when the connection is over:
    /// an error answer, or the server ended the response (the client then reconnects on a new socket).
    /// </summary>
    public bool Feed(ReadOnlySpan<byte> bytes, long timestamp, Histogram latency)
    {
        Receives++;
        BytesReceived += bytes.Length;
        if (_http == HttpHeaders)
        {
            bytes = FeedHeaders(bytes);
            if (_http == HttpHeaders)
            {
                return true;
            }

            if (Status != 200)
            {
                return false;
            }
        }

        _latency = latency;
        if (_chunked)
        {
            FeedChunked(bytes, timestamp);
        }
        else
        {
            FeedSse(bytes, timestamp);
        }

        return _chunkState != ChunkDone;
    }

    /// <summary>Collects the response head; returns the body bytes that followed it.</summary>
    private ReadOnlySpan<byte> FeedHeaders(ReadOnlySpan<byte> bytes)
    {
        // The head may span receives: look for its end in what is collected plus what arrived.
        var searchFrom = Math.Max(0, _headersLength - 3);
        Append(ref _headers, ref _headersLength, bytes);
        var end = _headers.AsSpan(searchFrom, _headersLength - searchFrom).IndexOf(HeaderEnd);
        if (end < 0)
        {
            return [];
        }

        end += searchFrom + HeaderEnd.Length;
        var head = Encoding.ASCII.GetString(_headers, 0, end);
        var consumedFromBytes = bytes.Length - (_headersLength - end);
        _http = HttpBody;
        Status = head.Length > 12 && int.TryParse(head.AsSpan(9, 3), out var status) ? status : 0;
        _chunked = head.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase);
        if (Status == 200)
        {
            Connected = true;
            _ready.TrySetResult(true);
        }
        else
        {
            LastError = "HTTP " + head.Split("\r\n")[0];
        }

        return bytes[consumedFromBytes..];
    }

    private void FeedChunked(ReadOnlySpan<byte> bytes, long timestamp)
    {
        while (!bytes.IsEmpty)
        {
            switch (_chunkState)
            {
                case ChunkSize:
                {
                    var b = bytes[0];
                    bytes = bytes[1..];
                    var digit = b switch
                    {
                        >= (byte)'0' and <= (byte)'9' => b - '0',
                        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                        _ => -1,
                    };
                    if (digit >= 0)
                    {
                        _chunkRemaining = _chunkRemaining * 16 + digit;
                    }
                    else
                    {
                        _chunkState = b == '\r' ? ChunkSizeLf : ChunkExtension;
                    }

                    break;
                }

                case ChunkExtension:
                {
                    var cr = bytes.IndexOf((byte)'\r');
                    if (cr < 0)
                    {
                        return;
                    }

                    bytes = bytes[(cr + 1)..];
                    _chunkState = ChunkSizeLf;
                    break;
                }

                case ChunkSizeLf:
                    bytes = bytes[1..];
                    if (_chunkRemaining == 0)
                    {
                        // The last chunk: the server ended the stream.
                        _chunkState = ChunkDone;
                        StreamsEnded++;
                        return;
                    }

                    _chunkState = ChunkData;
                    break;

                case ChunkData:
                {
                    var take = (int)Math.Min(_chunkRemaining, bytes.Length);
                    FeedSse(bytes[..take], timestamp);
                    bytes = bytes[take..];
                    _chunkRemaining -= take;
                    if (_chunkRemaining == 0)
                    {
                        _chunkState = ChunkDataCr;
                    }

                    break;
                }

                case ChunkDataCr:
                    bytes = bytes[1..];
                    _chunkState = ChunkDataLf;
                    break;

                case ChunkDataLf:
                    bytes = bytes[1..];
                    _chunkState = ChunkSize;
                    _chunkRemaining = 0;
                    break;

                default:
                    return;
            }
        }
    }

    private void FeedSse(ReadOnlySpan<byte> bytes, long timestamp)
    {
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(ref _line, ref _lineLength, bytes);
                return;
            }

            ReadOnlySpan<byte> line;
            if (_lineLength > 0)
            {
                Append(ref _line, ref _lineLength, bytes[..newline]);
                line = _line.AsSpan(0, _lineLength);
            }
            else
            {
                line = bytes[..newline];
            }

            if (!line.IsEmpty && line[^1] == '\r')
            {
                line = line[..^1];
            }

            Line(line, timestamp);
            _lineLength = 0;
            bytes = bytes[(newline + 1)..];
        }
    }

    private void Line(ReadOnlySpan<byte> line, long timestamp)
    {
        if (line.IsEmpty)
        {
            Dispatch(timestamp);
            return;
        }

        if (line[0] == ':')
        {
            KeepAlives++;
            return;
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == ' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                Append(ref _data, ref _dataLength, "\n"u8);
            }

            Append(ref _data, ref _dataLength, value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventComplete = value.SequenceEqual("complete"u8);
        }
        else if (field.SequenceEqual("id"u8))
        {
            _eventId = Utf8Parser.TryParse(value, out long id, out _) ? id : -1;
        }
        else if (field.SequenceEqual("retry"u8) && Utf8Parser.TryParse(value, out int retry, out _))
        {
            RetryMilliseconds = retry;
        }
    }

    private void Dispatch(long timestamp)
    {
        if (_eventId >= 0)
        {
            if (LastEventId > 0 && _eventId != LastEventId + 1)
            {
                IdGaps++;
            }

            LastEventId = _eventId;
            _eventId = -1;
        }

        if (_eventComplete)
        {
            // graphql-sse: the operation is over (its empty data is not a message).
            Completes++;
        }
        else if (_hasData)
        {
            Message(_data.AsSpan(0, _dataLength), timestamp);
        }

        _eventComplete = false;
        _hasData = false;
        _dataLength = 0;
    }

    private void Message(ReadOnlySpan<byte> data, long timestamp)
    {
        if (!TryNumber(data, RunKey, out var run) || run != config.Run
            || !TryNumber(data, SeqKey, out var seq) || !TryNumber(data, TimeKey, out var sent))
        {
            Foreign++;
            FirstForeign ??= Encoding.UTF8.GetString(data[..Math.Min(data.Length, 300)]);
            return;
        }

        if (seq < 0)
        {
            if (seq > MaxWarmSeq)
            {
                Volatile.Write(ref MaxWarmSeq, seq);
            }

            return;
        }

        Received++;
        LastDeliveryTimestamp = timestamp;
        _latency!.Record((long)((timestamp - sent) * config.MicrosecondsPerTick));

        var word = (int)(seq >> 6);
        if (word >= _seen.Length)
        {
            Array.Resize(ref _seen, Math.Max(word + 1, _seen.Length * 2));
        }

        var bit = 1UL << (int)(seq & 63);
        if ((_seen[word] & bit) != 0)
        {
            Duplicates++;
            return;
        }

        _seen[word] |= bit;
        Distinct++;
        if (seq < MaxSeq)
        {
            OutOfOrder++;
        }
        else
        {
            Volatile.Write(ref MaxSeq, seq);
            if (seq >= _wakeAt)
            {
                _wakeAt = long.MaxValue;
                _reached?.Set();
            }
        }
    }

    /// <summary>
    /// Sets <paramref name="reached"/> once this client has measured seq <paramref name="seq"/>
    /// (the closed-loop publisher waits on its slowest client instead of polling).
    /// </summary>
    public void WakeWhen(long seq, ManualResetEventSlim reached)
    {
        _reached = reached;
        Interlocked.Exchange(ref _wakeAt, seq);
    }

    /// <summary>
    /// The number after <c>"key":</c>, also when the JSON is itself inside a JSON string
    /// (<c>\"key\":</c>) and when the number is quoted.
    /// </summary>
    private static bool TryNumber(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key, out long value)
    {
        value = 0;
        var from = 0;
        while (from < json.Length)
        {
            var at = json[from..].IndexOf(key);
            if (at < 0)
            {
                return false;
            }

            at += from;
            from = at + key.Length;
            // Before the key: a quote (maybe escaped); after it: a quote (maybe escaped), then ':'.
            if (at == 0 || json[at - 1] != '"')
            {
                continue;
            }

            var rest = json[from..];
            if (rest.StartsWith("\\\""u8))
            {
                rest = rest[2..];
            }
            else if (rest.StartsWith("\""u8))
            {
                rest = rest[1..];
            }
            else
            {
                continue;
            }

            if (rest.IsEmpty || rest[0] != ':')
            {
                continue;
            }

            rest = rest[1..];
            while (!rest.IsEmpty && (rest[0] == ' ' || rest[0] == '\\' || rest[0] == '"'))
            {
                rest = rest[1..];
            }

            return Utf8Parser.TryParse(rest, out value, out _);
        }

        return false;
    }

    private static void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (length + bytes.Length > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + bytes.Length));
        }

        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }
}

/// <summary>What every client of a run shares.</summary>
internal sealed record ClientConfig(
    string Protocol,
    string Query,
    int Port,
    string Path,
    long Run,
    int SourceAddresses,
    int ReceiveBufferBytes,
    bool Reconnect,
    int? ReconnectDelayMilliseconds,
    double MicrosecondsPerTick,
    IReceivePoller[]? Pollers,
    BenchTokens? Tokens = null);
