using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using AiWebEngine.Routing;
using AiWebEngine.Streaming;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Hosting;

/// <summary>
/// Kestrel's socket transport with inline sends: a connection that streams events sends what it
/// flushes on the flushing thread, and can write frames straight to its socket, instead of handing
/// every flush to Kestrel's send loop on its I/O queue.
/// </summary>
/// <remarks>
/// <para>
/// A stream fan-out flushes one small frame to thousands of connections per message; the hop to
/// Kestrel's I/O queue cost about as much server CPU as the <c>send</c> itself (see
/// <c>bench/results/fanout-profile.md</c>). Here each connection's output is a pipe of its own on a
/// non-blocking socket (<see cref="SocketOutput"/>). Its send loop runs on the thread pool while the
/// connection answers requests (the flushes of one response then leave in one <c>send</c>), and on the
/// flushing thread once an event stream calls <see cref="IDirectSocketWrites.SendInline"/>. Only a full
/// socket buffer (a slow client) makes the loop wait for the socket, asynchronously; the pipe's pause
/// threshold (Kestrel's <c>MaxResponseBufferSize</c>) then holds the writer back as before. Requests are
/// still read and run on Kestrel's threads: only sending moves.
/// </para>
/// <para>
/// It wraps the transport (the connections a listener accepts), not an endpoint's connection
/// middleware: the host's <c>ConfigureEndpointDefaults</c> and endpoint configuration stay its own, and
/// everything Kestrel runs on a connection (TLS above all) sits above this output and writes into it.
/// Such a connection is never written to directly (<see cref="IDirectSocketWrites.CarriesResponseBytes"/>).
/// When the connection is disposed, what is left is sent before Kestrel's own output is completed, so
/// Kestrel shuts the socket down as usual; when Kestrel aborts the connection, the pending send fails
/// and writers see the pipe completed. <c>AiWebEngine:Http:InlineSocketSends</c> = false turns it off.
/// </para>
/// </remarks>
internal sealed class InlineSocketSends(IConnectionListenerFactory sockets, IOptions<HttpOptions> http, IOptions<KestrelServerOptions> kestrel)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = await sockets.BindAsync(endpoint, cancellationToken);
        return http.Value.InlineSocketSends ? new Listener(listener, kestrel.Value.Limits.MaxResponseBufferSize) : listener;
    }

    public bool CanBind(EndPoint endpoint) => sockets is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    private sealed class Listener(IConnectionListener inner, long? maxResponseBufferSize) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            var connection = await inner.AcceptAsync(cancellationToken);
            return connection?.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket
                ? new Connection(connection, socket, maxResponseBufferSize)
                : connection;
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>The transport's connection with its output replaced by a <see cref="SocketOutput"/>.</summary>
    private sealed class Connection : ConnectionContext
    {
        private readonly ConnectionContext _inner;
        private readonly SocketOutput _output;

        public Connection(ConnectionContext inner, Socket socket, long? maxResponseBufferSize)
        {
            _inner = inner;
            _output = new SocketOutput(socket, this, inner.Transport.Output, inner.Features.Get<IMemoryPoolFeature>()?.MemoryPool, maxResponseBufferSize);
            Transport = new DuplexPipe(inner.Transport.Input, _output.Writer);
            inner.Features.Set<IDirectSocketWrites>(_output);
        }

        public override IDuplexPipe Transport { get; set; }

        public override string ConnectionId
        {
            get => _inner.ConnectionId;
            set => _inner.ConnectionId = value;
        }

        public override IFeatureCollection Features => _inner.Features;

        public override IDictionary<object, object?> Items
        {
            get => _inner.Items;
            set => _inner.Items = value;
        }

        public override CancellationToken ConnectionClosed
        {
            get => _inner.ConnectionClosed;
            set => _inner.ConnectionClosed = value;
        }

        public override EndPoint? LocalEndPoint
        {
            get => _inner.LocalEndPoint;
            set => _inner.LocalEndPoint = value;
        }

        public override EndPoint? RemoteEndPoint
        {
            get => _inner.RemoteEndPoint;
            set => _inner.RemoteEndPoint = value;
        }

        public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

        public override void Abort() => _inner.Abort();

        public override async ValueTask DisposeAsync()
        {
            // What the connection flushed leaves before Kestrel's transport shuts the socket down.
            await _output.CompleteAsync();
            await _inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
