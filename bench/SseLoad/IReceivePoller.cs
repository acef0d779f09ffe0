using System.Net;
using System.Net.Sockets;

namespace SseLoad;

/// <summary>
/// A receive path that owns the clients' sockets on threads of its own: <see cref="EpollPoller"/>
/// (<c>--io epoll</c>) or <see cref="UringPoller"/> (<c>--io uring</c>).
/// </summary>
internal interface IReceivePoller
{
    /// <summary>
    /// Connects <paramref name="socket"/> (bound, not connected) to <paramref name="endpoint"/>, writes
    /// <paramref name="request"/> and feeds what arrives to <paramref name="client"/>'s parser until the
    /// server closes, the client's parser says the response is over, or the client stops. The task
    /// fails with a <see cref="SocketException"/> on a socket error.
    /// </summary>
    Task RunAsync(SseClient client, Socket socket, EndPoint endpoint, byte[] request);
}
