using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace AiWebEngine.Hosting;

/// <summary>
/// Kestrel connection middleware: a connection that streams events sends what it flushes on the
/// flushing thread, and can write frames straight to its socket, instead of handing every flush to
/// Kestrel's send loop on its I/O queue.
/// </summary>
/// <remarks>
/// <para>
/// A stream fan-out flushes one small frame to thousands of connections per message; the hop to
/// Kestrel's I/O queue cost about as much server CPU as the <c>send</c> itself (see
/// <c>bench/results/fanout-profile.md</c>). Here each connection's output is a pipe of its own on a
/// non-blocking socket. Its send loop runs on the thread pool while the connection answers requests
/// (the flushes of one response then leave in one <c>send</c>; sending each at once cost a third of the
/// request throughput), and on the flushing thread once an event stream calls
/// <see cref="IDirectSocketWrites.SendInline"/>: a flush then sends what the socket takes and returns.
/// Only a full socket buffer (a slow client) makes the loop wait for the socket, asynchronously; the
/// pipe's pause threshold (Kestrel's <c>MaxResponseBufferSize</c>) then holds the writer back as before.
/// Requests are still read and run on Kestrel's threads: only sending moves.
/// </para>
/// <para>
/// It applies to connections on Kestrel's socket transport (anything else has no socket to write to and
/// keeps its transport); TLS, if configured after it, encrypts into this output. When the response side
/// ends, what is left is sent and Kestrel's own output is completed, so Kestrel shuts the socket down as
/// usual; when Kestrel aborts the connection, the pending send fails and the writer sees the pipe
/// completed. <c>AiWebEngine:Http:InlineSocketSends</c> = false turns it off.
/// </para>
/// </remarks>
internal sealed class InlineSocketSends(long? maxResponseBufferSize)
{
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            await next(connection);
            return;
        }

        var original = connection.Transport;
        var output = new SocketOutput(socket, original.Output, connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool, maxResponseBufferSize);
        connection.Transport = new DuplexPipe(original.Input, output.Writer);
        connection.Features.Set<IDirectSocketWrites>(output);
        try
        {
            await next(connection);
        }
        finally
        {
            await output.CompleteAsync();
            connection.Transport = original;
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>A connection's output pipe and the loop that sends what is flushed into it.</summary>
    private sealed class SocketOutput : IDirectSocketWrites
    {
        private readonly Socket _socket;
        private readonly PipeWriter _kestrelOutput;
        private readonly Pipe _pipe;
        private readonly Task _sending;
        private readonly Lock _sync = new();
        private readonly SendScheduler _scheduler = new();

        // Under _sync. Busy: the pipe may hold bytes not yet sent (set before a flush makes them
        // readable, cleared only when the send loop finds the pipe empty), so a direct write must wait.
        private bool _busy;
        private bool _closed;

        public SocketOutput(Socket socket, PipeWriter kestrelOutput, MemoryPool<byte>? pool, long? maxBufferSize)
        {
            _socket = socket;
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
            Writer = new MarkingWriter(_pipe.Writer, this);
            _sending = SendLoopAsync();
        }

        public PipeWriter Writer { get; }

        /// <inheritdoc />
        public void SendInline() => _scheduler.SendInline();

        /// <inheritdoc />
        public bool TryWrite(ReadOnlySpan<byte> bytes, out ValueTask<FlushResult> queued)
        {
            queued = default;
            lock (_sync)
            {
                if (_busy || _closed)
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

                // The socket's buffer is full (a slow client): the rest waits in the pipe, in order.
                _busy = true;
                _pipe.Writer.Write(bytes[Math.Max(sent, 0)..]);
            }

            queued = _pipe.Writer.FlushAsync();
            return true;
        }

        /// <summary>Waits until what was flushed is sent (or the connection failed), then ends Kestrel's own output.</summary>
        public async Task CompleteAsync()
        {
            // Kestrel completes the writer when the connection's requests are done; this is for the
            // connection delegate failing before that.
            await _pipe.Writer.CompleteAsync();
            await _sending;
        }

        private void MarkBusy()
        {
            lock (_sync)
            {
                _busy = true;
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
                        ready = reader.TryRead(out result);
                        _busy = ready;
                    }

                    if (!ready)
                    {
                        // A flush marks the output busy before its bytes become readable here.
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
                // The connection was aborted or broke (or its writer failed): the writer sees the pipe completed.
                failure = e;
            }
            finally
            {
                lock (_sync)
                {
                    _closed = true;
                }

                await reader.CompleteAsync(failure);
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

        /// <summary>Kestrel's view of the pipe: each flush marks the output busy first.</summary>
        private sealed class MarkingWriter(PipeWriter inner, SocketOutput output) : PipeWriter
        {
            public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

            public override long UnflushedBytes => inner.UnflushedBytes;

            public override void Advance(int bytes) => inner.Advance(bytes);

            public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

            public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

            public override void CancelPendingFlush() => inner.CancelPendingFlush();

            public override void Complete(Exception? exception = null)
            {
                output.MarkBusy();
                inner.Complete(exception);
            }

            public override ValueTask CompleteAsync(Exception? exception = null)
            {
                output.MarkBusy();
                return inner.CompleteAsync(exception);
            }

            public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
            {
                output.MarkBusy();
                return inner.FlushAsync(cancellationToken);
            }
        }
    }
}

/// <summary>
/// A connection feature of <see cref="InlineSocketSends"/>: sends bytes that are already in the
/// connection's wire format straight to the socket, skipping the response writer, when nothing else is
/// waiting to be sent.
/// </summary>
/// <remarks>
/// Only for a writer that owns the response (an event stream after its headers are out) and knows
/// its framing (HTTP/1.1 chunks, no TLS).
/// </remarks>
internal interface IDirectSocketWrites
{
    /// <summary>
    /// From now on, what the connection flushes is sent on the flushing thread. For an event stream,
    /// which flushes once per batch of frames; a request/response connection keeps the send loop on
    /// the thread pool, where the several flushes of one response leave in one <c>send</c>.
    /// </summary>
    void SendInline();

    /// <summary>
    /// Sends <paramref name="bytes"/>, or what the socket does not take now, in order after it.
    /// </summary>
    /// <param name="bytes">The bytes, framed for the wire.</param>
    /// <param name="queued">When part of the bytes had to wait: the flush to await (back-pressure).</param>
    /// <returns>False when other bytes are still waiting to be sent (nothing was taken: write through the response instead).</returns>
    bool TryWrite(ReadOnlySpan<byte> bytes, out ValueTask<FlushResult> queued);
}
