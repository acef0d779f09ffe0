using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// A light SSE client for the fault tests: one raw loopback socket speaking HTTP/1.1 with keep-alive,
/// as browsers and proxies do, so the body is chunked and the engine's direct sends (the fan-out and
/// the writer framing chunks straight onto the socket) are what it reads. It keeps only what a check
/// needs: each message's id and the sequence number at the start of its data (<c>"&lt;seq&gt;"</c> or
/// <c>"&lt;seq&gt;:padding"</c>), so a thousand of them can take thousands of messages without holding
/// the payloads. A body that stops without its last (empty) chunk is an error, not a clean end.
/// </summary>
internal sealed class FaultSseClient : IAsyncDisposable
{
    private readonly TcpClient _socket;
    private readonly Task _reading;
    private readonly Lock _sync = new();
    private readonly List<(long Id, long Seq)> _messages = [];
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FaultSseClient(TcpClient socket, Stream stream)
    {
        _socket = socket;
        _reading = ReadAsync(stream);
    }

    /// <summary>Whether the server ended the stream cleanly (end of the body).</summary>
    public bool Ended { get; private set; }

    /// <summary>The status line of the response (<c>HTTP/1.1 200 OK</c>).</summary>
    public string StatusLine { get; private set; } = "";

    /// <summary>Whether the response body came chunked (<c>Transfer-Encoding: chunked</c>).</summary>
    public bool Chunked { get; private set; }

    /// <summary>The first error, if the stream broke instead of ending.</summary>
    public Exception? Error { get; private set; }

    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _messages.Count;
            }
        }
    }

    public IReadOnlyList<(long Id, long Seq)> Messages
    {
        get
        {
            lock (_sync)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Connects, sends the request and waits for the response head and the <c>retry:</c> line.</summary>
    public static async Task<FaultSseClient> OpenAsync(Uri server, string path, string? lastEventId = null, int? receiveBuffer = null)
    {
        var socket = new TcpClient();
        if (receiveBuffer is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(server.Host, server.Port);
        var stream = socket.GetStream();
        var request = $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAccept: text/event-stream\r\n"
            + (lastEventId is null ? "" : $"Last-Event-ID: {lastEventId}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var client = new FaultSseClient(socket, stream);
        await client._opened.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return client;
    }

    /// <summary>Waits until <paramref name="count"/> messages have arrived.</summary>
    public async Task WaitForCountAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline || (_reading.IsCompleted && Count < count))
            {
                throw new TimeoutException($"{Count} of {count} messages arrived (ended: {Ended}, error: {Error?.Message}).");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the stream ends (cleanly or not).</summary>
    public Task<bool> WaitForEndAsync(TimeSpan timeout) =>
        _reading.WaitAsync(timeout).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);

    private async Task ReadAsync(Stream stream)
    {
        try
        {
            var head = new HttpHead(stream);
            StatusLine = await head.ReadLineAsync() ?? "";
            // The head ends with an empty line.
            while (await head.ReadLineAsync() is { Length: > 0 } header)
            {
                Chunked |= header.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
            }

            if (!StatusLine.Contains(" 200 ", StringComparison.Ordinal))
            {
                _opened.TrySetResult();
                return;
            }

            if (!Chunked)
            {
                throw new IOException($"an HTTP/1.1 event stream must be chunked: {StatusLine}");
            }

            // The body starts with "retry: n" and an empty line.
            using var reader = new StreamReader(new ChunkedBody(head), Encoding.UTF8);

            await reader.ReadLineAsync();
            _opened.TrySetResult();

            long? id = null;
            long? seq = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length == 0)
                {
                    if (seq is { } s)
                    {
                        lock (_sync)
                        {
                            _messages.Add((id ?? -1, s));
                        }
                    }

                    id = seq = null;
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var data = line.AsSpan(6);
                    var colon = data.IndexOf(':');
                    // Data that is not a sequence number (a probe of the health check) counts as -1.
                    seq = long.TryParse(colon < 0 ? data : data[..colon], CultureInfo.InvariantCulture, out var n) ? n : -1;
                }
            }

            Ended = true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Error = e;
        }
        finally
        {
            _opened.TrySetResult();
        }
    }

    /// <summary>
    /// The response head, read line by line straight from the socket (CRLF, ASCII), and the bytes
    /// after it for the body: nothing of the body is read ahead into another reader.
    /// </summary>
    private sealed class HttpHead(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        public async ValueTask<string?> ReadLineAsync()
        {
            var line = new StringBuilder();
            while (true)
            {
                if (_start == _end && !await FillAsync())
                {
                    return line.Length == 0 ? null : throw new IOException("the connection closed in the middle of a line");
                }

                var c = (char)_buffer[_start++];
                if (c == '\n')
                {
                    return line.ToString().TrimEnd('\r');
                }

                line.Append(c);
            }
        }

        public async ValueTask<int> ReadAsync(Memory<byte> destination)
        {
            if (_start == _end && !await FillAsync())
            {
                return 0;
            }

            var count = Math.Min(destination.Length, _end - _start);
            _buffer.AsMemory(_start, count).CopyTo(destination);
            _start += count;
            return count;
        }

        private async ValueTask<bool> FillAsync()
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer);
            return _end > 0;
        }
    }

    /// <summary>An HTTP/1.1 chunked body, decoded: ends at the last chunk; a connection that closes before it throws.</summary>
    private sealed class ChunkedBody(HttpHead head) : Stream
    {
        private long _left;
        private bool _done;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_done)
            {
                return 0;
            }

            if (_left == 0)
            {
                var size = await head.ReadLineAsync() ?? throw new IOException("the connection closed before the body's last chunk");
                var semicolon = size.IndexOf(';', StringComparison.Ordinal);
                _left = long.Parse(semicolon < 0 ? size : size[..semicolon], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (_left == 0)
                {
                    // The last chunk: no trailers are sent, so an empty line ends the body.
                    if (await head.ReadLineAsync() is not "")
                    {
                        throw new IOException("the last chunk is not followed by an empty line");
                    }

                    _done = true;
                    return 0;
                }
            }

            var read = await head.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)]);
            if (read == 0)
            {
                throw new IOException("the connection closed in the middle of a chunk");
            }

            _left -= read;
            if (_left == 0 && await head.ReadLineAsync() is not "")
            {
                throw new IOException("a chunk is not followed by CRLF");
            }

            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Asserts that the messages are exactly sequence numbers <paramref name="from"/>..<paramref name="to"/> with consecutive ids.</summary>
    public void AssertReceivedInOrder(long from, long to)
    {
        var messages = Messages;
        Assert.True(messages.Count == to - from + 1, $"expected {to - from + 1} messages, got {messages.Count}");
        for (var i = 0; i < messages.Count; i++)
        {
            Assert.Equal(from + i, messages[i].Seq);
            if (i > 0)
            {
                Assert.Equal(messages[i - 1].Id + 1, messages[i].Id);
            }
        }
    }

    /// <summary>Closes the connection with a reset (RST) instead of a clean close, as a crashed client would.</summary>
    public ValueTask ResetAsync()
    {
        _socket.Client.LingerState = new LingerOption(true, 0);
        return DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // Disposing the socket ends the read; nothing more to wait for.
        }
    }
}
