using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using AiWebEngine.Streaming;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace AiWebEngine.Hosting;

/// <summary>
/// A connection's output pipe on its non-blocking socket, and the loop that sends what is flushed into
/// it (see <see cref="InlineSocketSends"/>); also the connection's <see cref="IDirectSocketWrites"/>.
/// </summary>
/// <remarks>
/// One owner of the socket's send side at a time, decided under one lock: the send loop owns it from
/// the moment bytes are flushed into the pipe (every flush and completion of the pipe happens under
/// the lock, and marks it first) until the loop, under the lock, finds the pipe empty. A direct write
/// happens under the lock, only while the loop does not own it. So a direct write never runs while the
/// loop sends, and never overtakes bytes flushed before it.
/// </remarks>
internal sealed class SocketOutput : IDirectSocketWrites
{
    private readonly Socket _socket;
    private readonly ConnectionContext _connection;
    private readonly PipeWriter _kestrelOutput;
    private readonly Pipe _pipe;
    private readonly Task _sending;
    private readonly Lock _sync = new();
    private readonly SendScheduler _scheduler = new();

    // Under _sync: the send loop owns the send side (see the remarks).
    private bool _loopOwnsSend;
    private bool _closed;

    public SocketOutput(Socket socket, ConnectionContext connection, PipeWriter kestrelOutput, MemoryPool<byte>? pool, long? maxBufferSize)
    {
        _socket = socket;
        _connection = connection;
        // Sends on the calling thread must never wait for the client: a full socket buffer is
        // reported (WouldBlock), not waited out. Asynchronous sends are not affected.
        _socket.Blocking = false;
        _kestrelOutput = kestrelOutput;
        // Kestrel's limit is the pause threshold; unlimited (null) keeps a bound anyway.
        var pause = maxBufferSize is > 0 ? maxBufferSize.Value : 1024 * 1024;
        // Kestrel's own memory pool, as its transport's pipes use.
        _pipe = new Pipe(new PipeOptions(
            pool: pool,
            readerScheduler: _scheduler,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: pause,
            resumeWriterThreshold: pause / 2,
            useSynchronizationContext: false));
        Writer = new OwningWriter(_pipe.Writer, this);
        _sending = SendLoopAsync();
    }

    /// <summary>What the connection's HTTP layer (or TLS above it) writes to.</summary>
    public PipeWriter Writer { get; }

    /// <inheritdoc />
    public bool CarriesResponseBytes =>
        ReferenceEquals(_connection.Transport.Output, Writer)
        && _connection.Features.Get<ITlsHandshakeFeature>() is null
        && _connection.Features.Get<Microsoft.AspNetCore.Http.Features.ITlsConnectionFeature>() is null;

    /// <inheritdoc />
    public void SendInline() => _scheduler.SendInline();

    /// <inheritdoc />
    public bool TryWrite(ReadOnlySpan<byte> bytes, out ValueTask<FlushResult> queued)
    {
        queued = default;
        lock (_sync)
        {
            if (_loopOwnsSend || _closed)
            {
                return false;
            }

            int sent;
            SocketError error;
            try
            {
                sent = _socket.Send(bytes, SocketFlags.None, out error);
            }
            catch (ObjectDisposedException)
            {
                // Kestrel closed the connection before its writer ended.
                sent = 0;
                error = SocketError.Shutdown;
            }

            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                // The connection broke: the bytes are lost with it, and the next write through
                // the pipe ends the writer (Kestrel also sees the socket close and aborts).
                _closed = true;
                return true;
            }

            if (sent == bytes.Length)
            {
                return true;
            }

            // The socket's buffer is full (a slow client): the rest waits in the pipe, in order, and
            // the loop owns the send side until it has sent it.
            _loopOwnsSend = true;
            _pipe.Writer.Write(bytes[Math.Max(sent, 0)..]);
            queued = _pipe.Writer.FlushAsync();
            return true;
        }
    }

    /// <summary>Waits until what was flushed is sent (or the connection failed), then ends Kestrel's own output.</summary>
    public async Task CompleteAsync()
    {
        // Kestrel completes the writer when the connection's requests are done; this is for the
        // connection delegate failing before that.
        await Writer.CompleteAsync();
        await _sending;
    }

    private ValueTask<FlushResult> FlushOwned(PipeWriter inner, CancellationToken cancellationToken)
    {
        // Marked and made readable under one lock: the loop cannot find the pipe empty in between.
        lock (_sync)
        {
            _loopOwnsSend = true;
            return inner.FlushAsync(cancellationToken);
        }
    }

    private void CompleteOwned(PipeWriter inner, Exception? exception)
    {
        lock (_sync)
        {
            _loopOwnsSend = true;
            inner.Complete(exception);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _pipe.Reader;
        Exception? failure = null;
        try
        {
            while (true)
            {
                ReadResult result;
                bool ready;
                lock (_sync)
                {
                    // Nothing readable under the lock means nothing flushed and unsent: give up the send side.
                    ready = reader.TryRead(out result);
                    _loopOwnsSend = ready;
                }

                if (!ready)
                {
                    // A flush takes the send side for the loop before its bytes become readable here.
                    result = await reader.ReadAsync();
                }

                var buffer = result.Buffer;
                try
                {
                    if (!buffer.IsEmpty)
                    {
                        await SendAsync(buffer);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The connection was reset or aborted mid-send (or its writer failed).
            failure = e;
        }
        finally
        {
            lock (_sync)
            {
                _closed = true;
            }

            // Completed without the exception: writers see a completed flush (the normal end of a
            // connection whose client left), never the socket's error thrown into them, which TLS
            // above this pipe would let escape the connection as an unhandled exception.
            await reader.CompleteAsync();
            if (failure is not null)
            {
                // Off this thread: the loop may be running inside the HTTP layer's flush, under its locks.
                ThreadPool.UnsafeQueueUserWorkItem(
                    static state => state.Connection.Abort(new ConnectionAbortedException("The connection broke while its response was being sent.", state.Failure)),
                    (Connection: _connection, Failure: failure),
                    preferLocal: false);
            }

            // Kestrel's send loop never got a byte; completing it lets Kestrel shut the socket down.
            await _kestrelOutput.CompleteAsync();
        }
    }

    /// <summary>
    /// Sends each segment on this thread as far as the socket takes it, and waits only for what
    /// it does not (a full send buffer). A connection that never fills its buffer never creates
    /// the socket's asynchronous send state.
    /// </summary>
    private async ValueTask SendAsync(ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer)
        {
            var sent = _socket.Send(segment.Span, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                sent = 0;
            }
            else if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            if (sent < segment.Length)
            {
                await _socket.SendAsync(segment[sent..], SocketFlags.None);
            }
        }
    }

    /// <summary>
    /// Runs the send loop on the thread pool (a request/response connection: the flushes of one
    /// response go out together), or, once the connection streams, on the flushing thread.
    /// </summary>
    private sealed class SendScheduler : PipeScheduler
    {
        private volatile bool _inline;

        public void SendInline() => _inline = true;

        public override void Schedule(Action<object?> action, object? state)
        {
            if (_inline)
            {
                action(state);
            }
            else
            {
                PipeScheduler.ThreadPool.Schedule(action, state);
            }
        }
    }

    /// <summary>The HTTP layer's view of the pipe: each flush and completion hands the send side to the loop first.</summary>
    private sealed class OwningWriter(PipeWriter inner, SocketOutput output) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => output.CompleteOwned(inner, exception);

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            output.CompleteOwned(inner, exception);
            return ValueTask.CompletedTask;
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => output.FlushOwned(inner, cancellationToken);
    }
}
