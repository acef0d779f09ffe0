using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using AiWebEngine.Hosting;
using Microsoft.AspNetCore.Connections;

namespace AiWebEngine.Tests.Hosting;

/// <summary>A connection's inline-send output on a real loopback socket pair, without Kestrel around it.</summary>
public sealed class SocketOutputTests
{
    [Fact]
    public async Task ASocketThatBreaksMidSend_EndsTheWriterWithACompletedFlush_NeverWithTheSocketsException()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var server = await listener.AcceptAsync();
        var kestrel = new Pipe();
        var connection = new DefaultConnectionContext("test", new DuplexPipe(new Pipe().Reader, kestrel.Writer), new DuplexPipe(kestrel.Reader, new Pipe().Writer));
        var output = new SocketOutput(server, connection, kestrel.Writer, pool: null, maxBufferSize: 64 * 1024);

        // More than the sockets' buffers hold: the send loop waits for the client, which never reads.
        var flush = Task.FromResult(default(FlushResult));
        for (var i = 0; i < 200 && flush.IsCompleted; i++)
        {
            output.Writer.Write(new byte[64 * 1024]);
            flush = output.Writer.FlushAsync().AsTask();
        }

        // The client resets, and the transport disposes the socket under the pending send (an abort).
        client.LingerState = new LingerOption(true, 0);
        client.Close();
        server.Dispose();

        // TLS writes into this pipe: an exception here escaped Kestrel's connection as unhandled.
        // (The last flush was pending when the loop ended; the kernel may have taken its bytes since.)
        // The pending send may still have gone into the kernel's buffers just before the reset arrived:
        // then that flush ends normally and a later one, whose send meets the reset, ends completed.
        // Either way no flush throws, and within a few more writes one says the output is complete.
        var result = await flush.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 50 && !result.IsCompleted; i++)
        {
            output.Writer.Write(new byte[64 * 1024]);
            result = await output.Writer.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(result.IsCompleted);
        output.Writer.Write(new byte[16]);
        Assert.True((await output.Writer.FlushAsync()).IsCompleted);
        await output.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
