using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SseLoad;

/// <summary>
/// Publishes <c>{"run":R,"seq":S,"t":T}</c> messages as <c>POST /publish</c> requests pipelined on one
/// HTTP/1.1 connection, so the server handles them, and numbers them, in send order.
/// </summary>
/// <remarks>
/// <c>T</c> is <see cref="Stopwatch.GetTimestamp"/> taken just before the request is written to the
/// socket. At most <see cref="Window"/> requests are unanswered at a time; a reader thread parses the
/// responses (status, then the body: the number of clients the message was queued for).
/// </remarks>
internal sealed class Publisher : IDisposable
{
    private readonly Socket _socket;
    private readonly string _requestHead;
    private readonly long _run;
    private readonly int _padding;
    private readonly SemaphoreSlim _window;
    private readonly ConcurrentQueue<long> _sendTimes = new();
    private readonly Thread _reader;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly double _microsecondsPerTick;
    private int _buffered;

    public Publisher(int port, string path, long run, int window, int padding, double microsecondsPerTick)
    {
        _run = run;
        _padding = padding;
        Window = window;
        _microsecondsPerTick = microsecondsPerTick;
        _window = new SemaphoreSlim(window, window);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        _requestHead = $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
        _reader = new Thread(ReadResponses) { IsBackground = true, Name = "publish-responses" };
        _reader.Start();
    }

    public int Window { get; }

    /// <summary>Requests written.</summary>
    public long Sent => Volatile.Read(ref _sent);

    private long _sent;

    /// <summary>Responses read.</summary>
    public long Answered => Volatile.Read(ref _answered);

    private long _answered;

    public long Ok { get; private set; }

    public long Failed { get; private set; }

    /// <summary>Sum of the publish responses: clients each message was queued for.</summary>
    public long QueuedSum { get; private set; }

    /// <summary>The smallest publish response (clients one message was queued for).</summary>
    public long QueuedMin { get; private set; } = long.MaxValue;

    public string? FirstFailure { get; private set; }

    public string? ReaderError { get; private set; }

    /// <summary>Request to response, microseconds.</summary>
    public Histogram AckLatency { get; } = new();

    /// <summary>Writes one message, waiting for a free slot in the window (false: none came in <paramref name="timeout"/>).</summary>
    public bool Publish(long seq, TimeSpan timeout)
    {
        if (!_window.Wait(timeout))
        {
            return false;
        }

        Append(seq);
        Flush();
        return true;
    }

    /// <summary>
    /// Writes as many messages as the window allows, at least one and at most <paramref name="max"/>,
    /// in one socket write; returns how many (0: no slot came in <paramref name="timeout"/>).
    /// </summary>
    public int PublishBatch(long firstSeq, int max, TimeSpan timeout)
    {
        if (max <= 0 || !_window.Wait(timeout))
        {
            return 0;
        }

        var count = 1;
        while (count < max && _window.Wait(0))
        {
            count++;
        }

        for (var i = 0; i < count; i++)
        {
            Append(firstSeq + i);
        }

        Flush();
        return count;
    }

    /// <summary>Waits until every request has been answered.</summary>
    public bool WaitAnswered(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Answered < Sent)
        {
            if (Stopwatch.GetTimestamp() > deadline || ReaderError is not null)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }

    private readonly byte[] _out = new byte[256 * 1024];

    private void Append(long seq)
    {
        // The timestamp is taken as late as possible: just before the bytes go out (same write).
        var now = Stopwatch.GetTimestamp();
        var body = $"{{\"run\":{_run},\"seq\":{seq},\"t\":{now}{(_padding > 0 ? ",\"pad\":\"" + new string('x', _padding) + "\"" : "")}}}";
        var request = _requestHead + Encoding.UTF8.GetByteCount(body) + "\r\n\r\n" + body;
        _buffered += Encoding.UTF8.GetBytes(request, _out.AsSpan(_buffered));
        _sendTimes.Enqueue(now);
        _sent++;
    }

    private void Flush()
    {
        var sent = 0;
        while (sent < _buffered)
        {
            sent += _socket.Send(_out.AsSpan(sent, _buffered - sent), SocketFlags.None);
        }

        _buffered = 0;
        Volatile.Write(ref _sent, _sent);
    }

    private void ReadResponses()
    {
        // A minimal HTTP/1.1 response reader: status line, Content-Length or chunked body.
        var length = 0;
        try
        {
            while (true)
            {
                var n = _socket.Receive(_buffer.AsSpan(length), SocketFlags.None);
                if (n == 0)
                {
                    ReaderError = "the server closed the publish connection";
                    return;
                }

                length += n;
                var consumed = 0;
                while (TryParseResponse(_buffer.AsSpan(consumed, length - consumed), out var used, out var status, out var body))
                {
                    consumed += used;
                    OnResponse(status, body);
                }

                _buffer.AsSpan(consumed, length - consumed).CopyTo(_buffer);
                length -= consumed;
                if (length == _buffer.Length)
                {
                    ReaderError = "a publish response is larger than 64 KiB";
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            ReaderError ??= e.Message;
        }
    }

    private void OnResponse(int status, ReadOnlySpan<byte> body)
    {
        var now = Stopwatch.GetTimestamp();
        if (_sendTimes.TryDequeue(out var sent))
        {
            AckLatency.Record((long)((now - sent) * _microsecondsPerTick));
        }

        if (status == 200 && Utf8Parser.TryParse(body, out long queued, out _))
        {
            Ok++;
            QueuedSum += queued;
            QueuedMin = Math.Min(QueuedMin, queued);
        }
        else
        {
            Failed++;
            FirstFailure ??= $"HTTP {status}: {Encoding.UTF8.GetString(body)}";
        }

        Volatile.Write(ref _answered, _answered + 1);
        _window.Release();
    }

    private static bool TryParseResponse(ReadOnlySpan<byte> bytes, out int used, out int status, out ReadOnlySpan<byte> body)
    {
        used = 0;
        status = 0;
        body = default;
        var headEnd = bytes.IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return false;
        }

        var head = bytes[..headEnd];
        if (head.Length < 12 || !Utf8Parser.TryParse(head[9..12], out status, out _))
        {
            throw new InvalidDataException("not an HTTP/1.1 response: " + Encoding.ASCII.GetString(head));
        }

        var bodyStart = headEnd + 4;
        var contentLength = HeaderValue(head, "content-length");
        if (contentLength is not null)
        {
            var size = int.Parse(contentLength, System.Globalization.CultureInfo.InvariantCulture);
            if (bytes.Length < bodyStart + size)
            {
                return false;
            }

            body = bytes.Slice(bodyStart, size);
            used = bodyStart + size;
            return true;
        }

        if (HeaderValue(head, "transfer-encoding") is { } coding && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            // Small bodies: take the chunks up to the last one (0\r\n\r\n) and keep the first chunk's data.
            var end = bytes[bodyStart..].IndexOf("\r\n0\r\n\r\n"u8);
            if (end < 0)
            {
                return false;
            }

            var chunks = bytes.Slice(bodyStart, end);
            var sizeEnd = chunks.IndexOf("\r\n"u8);
            body = sizeEnd < 0 ? [] : chunks[(sizeEnd + 2)..];
            used = bodyStart + end + 7;
            return true;
        }

        used = bodyStart;
        return true;
    }

    private static string? HeaderValue(ReadOnlySpan<byte> head, string name)
    {
        foreach (var line in Encoding.ASCII.GetString(head).Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    public void Dispose()
    {
        _socket.Dispose();
        _reader.Join(TimeSpan.FromSeconds(2));
        _window.Dispose();
    }
}
