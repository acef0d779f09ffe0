using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SseLoad;

/// <summary>
/// The clients' receive path of <c>--io epoll</c> (and of <c>--io uring</c> without io_uring): a few dedicated threads, each with its
/// own Linux <c>epoll</c> instance and a share of the sockets, that connect, write the request and
/// read the stream without a thread-pool work item, a task or a second <c>recv</c> per delivery.
/// </summary>
/// <remarks>
/// While it connects and writes its request a socket is registered level-triggered for writing; then
/// edge-triggered for reading: on readiness the poller reads it into the thread's buffer and feeds
/// the client's parser, and reads again only while a read filled the buffer (a short read means the
/// queue was empty, and data arriving after it is a new edge). Edge-triggered, the kernel does not
/// poll a socket a second time to find it drained, once per delivery. The socket never enters .NET's own socket engine (it is put in
/// non-blocking mode and only used synchronously), so the kernel wakes one epoll instance per
/// arrival, not two. The poller holds a reference on the socket's handle while it is registered, so
/// its descriptor cannot be closed (and reused by another socket) under a <c>recv</c>.
/// </remarks>
internal sealed partial class EpollPoller : IReceivePoller
{
    private const int EpollCloexec = 0x80000;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const int EpollCtlMod = 3;
    private const uint EpollIn = 0x001;
    private const uint EpollOut = 0x004;
    private const uint EpollErr = 0x008;
    private const uint EpollHup = 0x010;
    private const uint EpollRdHup = 0x2000;
    private const uint EpollEt = 0x80000000;
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int EIntr = 4;
    private const int EAgain = 11;
    private const int MaxEvents = 256;

    // struct epoll_event is packed on x86-64 (12 bytes: events, then data at 4), natural elsewhere (16, data at 8).
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly int _epoll;
    private readonly byte[] _buffer;
    private readonly Histogram _latency = new();
    private readonly Lock _sync = new();
    private Connection?[] _slots = new Connection?[256];
    private readonly Stack<int> _free = new();
    private int _used;
    private uint _generation;

    private EpollPoller(int index, int bufferBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("--io epoll needs Linux; use --io async elsewhere");
        }

        _epoll = EpollCreate1(EpollCloexec);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        _buffer = GC.AllocateArray<byte>(bufferBytes, pinned: true);
        Histogram.Register(_latency);
        new Thread(Loop) { IsBackground = true, Name = $"epoll-{index}" }.Start();
    }

    /// <summary><paramref name="threads"/> pollers (each a thread with its own epoll instance and read buffer).</summary>
    public static EpollPoller[] Start(int threads, int bufferBytes)
    {
        if (threads < 1)
        {
            throw new ArgumentException("--pollers must be at least 1");
        }

        return [.. Enumerable.Range(0, threads).Select(i => new EpollPoller(i, bufferBytes))];
    }

    /// <summary>
    /// Connects <paramref name="socket"/> (bound, not connected) to <paramref name="endpoint"/>, writes
    /// <paramref name="request"/> and feeds what arrives to <paramref name="client"/>'s parser until the
    /// server closes, the client's parser says the response is over, or the client stops. The task
    /// fails with a <see cref="SocketException"/> on a socket error.
    /// </summary>
    public Task RunAsync(SseClient client, Socket socket, System.Net.EndPoint endpoint, byte[] request)
    {
        socket.Blocking = false;
        try
        {
            socket.Connect(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // The usual case: the connection completes later and the socket becomes writable.
        }

        var connection = new Connection(client, socket, request);
        var added = false;
        socket.SafeHandle.DangerousAddRef(ref added);
        lock (_sync)
        {
            int slot;
            if (_free.Count > 0)
            {
                slot = _free.Pop();
            }
            else
            {
                if (_used == _slots.Length)
                {
                    var grown = new Connection?[_slots.Length * 2];
                    _slots.CopyTo(grown, 0);
                    Volatile.Write(ref _slots, grown);
                }

                slot = _used++;
            }

            connection.Slot = slot;
            connection.Generation = ++_generation;
            _slots[slot] = connection;
        }

        if (Control(EpollCtlAdd, connection, EpollOut) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            Release(connection);
            throw new SocketException(error);
        }

        return connection.Done.Task;
    }

    private void Loop()
    {
        var events = GC.AllocateArray<byte>(MaxEvents * s_eventSize, pinned: true);
        while (true)
        {
            var n = EpollWait(_epoll, events, MaxEvents, -1);
            if (n < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error == EIntr)
                {
                    continue;
                }

                Log.Write($"epoll_wait failed: errno {error}; the epoll receive path stops");
                return;
            }

            var slots = Volatile.Read(ref _slots);
            for (var i = 0; i < n; i++)
            {
                var e = events.AsSpan(i * s_eventSize, s_eventSize);
                var flags = BinaryPrimitives.ReadUInt32LittleEndian(e);
                var data = BinaryPrimitives.ReadUInt64LittleEndian(e[s_dataOffset..]);
                var slot = (int)(uint)data;
                // A slot freed and reused while this batch was pending: the generation tells them apart.
                var connection = slot < slots.Length ? slots[slot] : null;
                if (connection is null || connection.Generation != (uint)(data >> 32))
                {
                    continue;
                }

                OnEvents(connection, flags);
            }
        }
    }

    private void OnEvents(Connection c, uint flags)
    {
        if (c.Client.Stopping)
        {
            End(c, null);
            return;
        }

        if (!c.Sending)
        {
            Receive(c);
            return;
        }

        // Connecting, or the request not yet all written.
        if (!c.ConnectChecked)
        {
            if ((flags & (EpollOut | EpollErr | EpollHup)) == 0)
            {
                return;
            }

            var error = (int)c.Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != 0)
            {
                End(c, new SocketException(error));
                return;
            }

            c.ConnectChecked = true;
        }

        while (c.Sent < c.Request.Length)
        {
            var sent = Send(c.Fd, c.Request.AsSpan(c.Sent), c.Request.Length - c.Sent, MsgDontWait | MsgNoSignal);
            if (sent < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error == EAgain)
                {
                    return; // Writable again later (level-triggered EPOLLOUT).
                }

                if (error != EIntr)
                {
                    End(c, new SocketException(error));
                    return;
                }

                continue;
            }

            c.Sent += (int)sent;
        }

        c.Sending = false;
        if (Control(EpollCtlMod, c, EpollIn | EpollRdHup | EpollEt) != 0)
        {
            End(c, new SocketException(Marshal.GetLastPInvokeError()));
        }
    }

    private void Receive(Connection c)
    {
        while (true)
        {
            var n = Recv(c.Fd, _buffer, _buffer.Length, MsgDontWait);
            if (n > 0)
            {
                if (!c.Client.Feed(_buffer.AsSpan(0, (int)n), System.Diagnostics.Stopwatch.GetTimestamp(), _latency))
                {
                    End(c, null);
                    return;
                }

                if (n < _buffer.Length)
                {
                    return; // Drained: the next arrival is a new edge.
                }

                continue;
            }

            if (n == 0)
            {
                End(c, null); // The server closed the connection.
                return;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error == EAgain)
            {
                return;
            }

            if (error != EIntr)
            {
                End(c, new SocketException(error));
                return;
            }
        }
    }

    /// <summary>Unregisters the socket, gives its handle back and completes the connection's task.</summary>
    private void End(Connection c, Exception? error)
    {
        Control(EpollCtlDel, c, 0);
        Release(c);
        if (error is null)
        {
            c.Done.TrySetResult();
        }
        else
        {
            c.Done.TrySetException(error);
        }
    }

    private void Release(Connection c)
    {
        lock (_sync)
        {
            _slots[c.Slot] = null;
            _free.Push(c.Slot);
        }

        c.Socket.SafeHandle.DangerousRelease();
    }

    private int Control(int op, Connection c, uint flags)
    {
        Span<byte> e = stackalloc byte[16];
        e.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(e, flags);
        BinaryPrimitives.WriteUInt64LittleEndian(e[s_dataOffset..], (ulong)c.Generation << 32 | (uint)c.Slot);
        return EpollCtl(_epoll, op, c.Fd, e);
    }

    /// <summary>One connection's registration: the socket, the request, how far it has got.</summary>
    private sealed class Connection(SseClient client, Socket socket, byte[] request)
    {
        public SseClient Client { get; } = client;

        public Socket Socket { get; } = socket;

        public int Fd { get; } = (int)socket.SafeHandle.DangerousGetHandle();

        public byte[] Request { get; } = request;

        public int Slot { get; set; }

        public uint Generation { get; set; }

        public bool ConnectChecked { get; set; }

        public bool Sending { get; set; } = true;

        public int Sent { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epfd, int op, int fd, ReadOnlySpan<byte> @event);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epfd, Span<byte> events, int maxEvents, int timeout);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int fd, Span<byte> buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(int fd, ReadOnlySpan<byte> buffer, nint length, int flags);
}
