using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// A server and a client <see cref="WebSocket"/> joined in memory, for protocol cores that work on a
/// <see cref="WebSocket"/> without HTTP.
/// </summary>
public sealed class WebSocketPair : IDisposable
{
    private WebSocketPair(WebSocket server, WebSocket client)
    {
        Server = server;
        Client = client;
    }

    public WebSocket Server { get; }

    public WebSocket Client { get; }

    public static WebSocketPair Create(string subProtocol)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var server = WebSocket.CreateFromStream(new DuplexStream(toServer.Reader.AsStream(), toClient.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = true, SubProtocol = subProtocol, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        var client = WebSocket.CreateFromStream(new DuplexStream(toClient.Reader.AsStream(), toServer.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = false, SubProtocol = subProtocol, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        return new WebSocketPair(server, client);
    }

    /// <summary>Sends one text message from the client.</summary>
    public Task SendAsync(string text) =>
        Client.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The next text message the client receives, or <see langword="null"/> when the server closed (see <see cref="WebSocket.CloseStatus"/>).</summary>
    public static async Task<string?> ReceiveAsync(WebSocket socket, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancel.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (socket.State == WebSocketState.CloseReceived)
                {
                    // Answer the close; not awaited, because a client then waits up to a second for the
                    // server to drop the connection.
                    _ = socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                }

                return null;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            if (result.EndOfMessage)
            {
                return text.ToString();
            }
        }
    }

    public Task<string?> ReceiveAsync(TimeSpan? timeout = null) => ReceiveAsync(Client, timeout);

    public void Dispose()
    {
        Server.Dispose();
        Client.Dispose();
    }

    private sealed class DuplexStream(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => input.ReadAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => output.WriteAsync(buffer, cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

        public override void Flush() => output.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                input.Dispose();
                output.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
