using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SseLoad;

/// <summary>
/// The clients' receive path of <c>--io uring</c>: one dedicated thread with one Linux
/// <c>io_uring</c> instance that connects each socket (<c>IORING_OP_CONNECT</c>), writes its request
/// (<c>IORING_OP_SEND</c>) and then keeps one multishot receive (<c>IORING_OP_RECV</c> with
/// <c>IORING_RECV_MULTISHOT</c>) armed on it for the connection's life. Arriving data lands in a
/// buffer the kernel picks from a provided-buffer ring (<c>IORING_REGISTER_PBUF_RING</c>) and
/// produces a completion without a system call per socket: the thread reaps every completion of a
/// batch, feeds the bytes to the client's parser, gives the buffers back, and enters the kernel once
/// (<c>io_uring_enter</c> with <c>IORING_ENTER_GETEVENTS</c>) to submit what the batch queued and
/// wait for the next completions.
/// </summary>
/// <remarks>
/// Raw system calls (no liburing): <c>io_uring_setup</c> (425), <c>io_uring_enter</c> (426) and
/// <c>io_uring_register</c> (427) through libc's <c>syscall</c>, the rings mapped with <c>mmap</c>.
/// The ring is set up <c>IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN</c> (completions are
/// posted only when this thread waits for them), falling back to <c>COOP_TASKRUN</c>, then to no flag;
/// if io_uring is not available at all (<see cref="TryStart"/> returns null) the caller uses epoll.
/// Only the ring's thread submits: <see cref="RunAsync"/> queues the connection and wakes the thread
/// through an <c>eventfd</c> the ring keeps a read pending on. A connection's requests carry its
/// slot and generation in <c>user_data</c>, so a completion for a connection already ended (the
/// last completion of a cancelled receive) is recognised; its buffer is still given back.
/// The socket's handle is referenced while the connection is registered, like <see cref="EpollPoller"/>.
/// </remarks>
internal sealed unsafe partial class UringPoller : IReceivePoller
{
    private const long SysIoUringSetup = 425;
    private const long SysIoUringEnter = 426;
    private const long SysIoUringRegister = 427;

    private const uint SetupCqSize = 1u << 3;
    private const uint SetupCoopTaskRun = 1u << 8;
    private const uint SetupSingleIssuer = 1u << 12;
    private const uint SetupDeferTaskRun = 1u << 13;
    private const uint FeatSingleMmap = 1u << 0;
    private const uint EnterGetEvents = 1u << 0;
    private const uint RegisterPbufRing = 22;

    private const byte OpRead = 22;
    private const byte OpConnect = 16;
    private const byte OpSend = 26;
    private const byte OpRecv = 27;
    private const byte OpAsyncCancel = 14;
    private const byte SqeBufferSelect = 1 << 5;
    private const ushort RecvMultishot = 1 << 1;
    private const uint CqeFBuffer = 1u << 0;
    private const uint CqeFMore = 1u << 1;

    private const int MsgNoSignal = 0x4000;
    private const int EIntr = 4;
    private const int EAgain = 11;
    private const int EBusy = 16;
    private const int ENoBufs = 105;
    private const int ECanceled = 125;

    // user_data: generation << 32 | kind << 24 | slot.
    private const ulong KindConnect = 1;
    private const ulong KindSend = 2;
    private const ulong KindRecv = 3;
    private const ulong KindCancel = 4;
    private const ulong KindWake = 5;
    private const int MaxSlots = 1 << 24;

    private const ushort BufferGroup = 0;

    private readonly int _ring;
    private readonly string _mode;

    // Submission queue.
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly byte* _sqes;
    private uint _sqLocalTail;
    private uint _toSubmit;

    // Completion queue.
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly byte* _cqes;

    // Provided buffers.
    private readonly byte* _bufRing;
    private readonly byte* _buffers;
    private readonly int _bufferBytes;
    private readonly ushort _bufMask;
    private ushort _bufTail;

    private readonly int _wakeFd;
    private readonly ulong* _wakeValue;
    private int _wakeRequested;
    private readonly ConcurrentQueue<Connection> _incoming = new();

    private readonly Histogram _latency = new();
    private Connection?[] _slots = new Connection?[256];
    private readonly Stack<int> _free = new();
    private int _used;
    private uint _generation;

    private UringPoller(int ring, string mode, byte* params_, int bufferCount, int bufferBytes)
    {
        _ring = ring;
        _mode = mode;
        var p = params_;
        var sqEntries = *(uint*)(p + 0);
        var cqEntries = *(uint*)(p + 4);
        var features = *(uint*)(p + 20);
        var sq = p + 40;
        var cq = p + 80;
        var sqRingBytes = *(uint*)(sq + 24) + sqEntries * 4; // sq_off.array + entries * u32
        var cqRingBytes = *(uint*)(cq + 20) + cqEntries * 16; // cq_off.cqes + entries * 16
        if ((features & FeatSingleMmap) == 0)
        {
            throw new PlatformNotSupportedException("io_uring without IORING_FEAT_SINGLE_MMAP (kernel older than 5.4)");
        }

        var ringBytes = Math.Max(sqRingBytes, cqRingBytes);
        var rings = Map(ringBytes, ring, 0);
        _sqes = Map(sqEntries * 64, ring, 0x10000000);

        _sqHead = (uint*)(rings + *(uint*)(sq + 0));
        _sqTail = (uint*)(rings + *(uint*)(sq + 4));
        _sqMask = *(uint*)(rings + *(uint*)(sq + 8));
        _sqEntries = *(uint*)(rings + *(uint*)(sq + 12));
        var array = (uint*)(rings + *(uint*)(sq + 24));
        for (uint i = 0; i < _sqEntries; i++)
        {
            array[i] = i; // The SQE at index i is always slot i of the ring.
        }

        _sqLocalTail = Volatile.Read(ref *_sqTail);
        _cqHead = (uint*)(rings + *(uint*)(cq + 0));
        _cqTail = (uint*)(rings + *(uint*)(cq + 4));
        _cqMask = *(uint*)(rings + *(uint*)(cq + 8));
        _cqes = rings + *(uint*)(cq + 20);

        // The provided-buffer ring: bufferCount entries of struct io_uring_buf (16 bytes), page-aligned.
        _bufferBytes = bufferBytes;
        _bufMask = (ushort)(bufferCount - 1);
        _bufRing = MapAnonymous((nuint)bufferCount * 16);
        _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)bufferCount * (nuint)bufferBytes, 4096);
        var reg = stackalloc byte[40];
        new Span<byte>(reg, 40).Clear();
        *(ulong*)reg = (ulong)_bufRing;
        *(uint*)(reg + 8) = (uint)bufferCount;
        *(ushort*)(reg + 12) = BufferGroup;
        if (Syscall(SysIoUringRegister, ring, RegisterPbufRing, (long)reg, 1, 0, 0) < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new SocketException(error);
        }

        for (var bid = 0; bid < bufferCount; bid++)
        {
            AddBuffer((ushort)bid);
        }

        PublishBuffers();

        _wakeFd = EventFd(0, 0x80000 /* EFD_CLOEXEC */);
        if (_wakeFd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        _wakeValue = (ulong*)NativeMemory.AlignedAlloc(8, 8);
        Histogram.Register(_latency);
    }

    /// <summary>
    /// A poller on a new io_uring instance (its thread started), or null when io_uring cannot be used
    /// here (the reason is logged): the caller then reads the sockets with epoll.
    /// </summary>
    public static UringPoller? TryStart(int bufferCount, int bufferBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            Log.Write("--io uring needs Linux; falling back to --io epoll");
            return null;
        }

        if (bufferCount < 1 || bufferCount > 32768 || (bufferCount & (bufferCount - 1)) != 0)
        {
            throw new ArgumentException("--uring-buffers must be a power of two between 1 and 32768");
        }

        if (bufferBytes < 64)
        {
            throw new ArgumentException("--uring-buffer-bytes must be at least 64");
        }

        // SINGLE_ISSUER binds the ring to the thread that sets it up: the poller's thread does it.
        UringPoller? poller = null;
        Exception? failure = null;
        using var ready = new ManualResetEventSlim();
        new Thread(() =>
        {
            try
            {
                poller = Create(bufferCount, bufferBytes);
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                ready.Set();
            }

            poller?.Loop();
        }) { IsBackground = true, Name = "uring" }.Start();
        ready.Wait();
        return failure is null ? poller : throw new InvalidOperationException($"io_uring setup: {failure.Message}", failure);
    }

    private static UringPoller? Create(int bufferCount, int bufferBytes)
    {
        (uint Flags, string Name)[] attempts =
        [
            (SetupSingleIssuer | SetupDeferTaskRun, "SINGLE_ISSUER|DEFER_TASKRUN"),
            (SetupCoopTaskRun, "COOP_TASKRUN"),
            (0, "no task-run flags"),
        ];
        // SSELOAD_URING_SETUP (to compare them): defer (only the first), coop (only COOP_TASKRUN),
        // plain (no flags), none (no attempt: exercises the fallback to epoll).
        switch (Environment.GetEnvironmentVariable("SSELOAD_URING_SETUP"))
        {
            case null or "":
                break;
            case "defer":
                attempts = attempts[..1];
                break;
            case "coop":
                attempts = attempts[1..2];
                break;
            case "plain":
                attempts = attempts[2..];
                break;
            case "none":
                Log.Write("SSELOAD_URING_SETUP=none: io_uring not tried; falling back to --io epoll");
                return null;
            case var other:
                throw new ArgumentException($"SSELOAD_URING_SETUP is defer, coop, plain or none, got {other}");
        }

        var error = 0;
        foreach (var (flags, name) in attempts)
        {
            var p = stackalloc byte[120];
            new Span<byte>(p, 120).Clear();
            *(uint*)(p + 4) = 32768; // cq_entries (IORING_SETUP_CQSIZE): a burst to 10,000 sockets fits.
            *(uint*)(p + 8) = flags | SetupCqSize;
            var fd = (int)Syscall(SysIoUringSetup, 4096, (long)p, 0, 0, 0, 0);
            if (fd < 0)
            {
                error = Marshal.GetLastPInvokeError();
                continue;
            }

            UringPoller poller;
            try
            {
                poller = new UringPoller(fd, name, p, bufferCount, bufferBytes);
            }
            catch (Exception e) when (e is SocketException or PlatformNotSupportedException)
            {
                Log.Write($"io_uring setup ({name}) failed: {e.Message}; falling back to --io epoll");
                Close(fd);
                return null;
            }

            Log.Write($"io_uring receive path: {name}, {bufferCount} provided buffers of {bufferBytes} bytes");
            return poller;
        }

        Log.Write($"io_uring_setup failed: errno {error} ({new SocketException(error).Message}); falling back to --io epoll");
        return null;
    }

    /// <summary>How the ring was set up (for the log).</summary>
    public string Mode => _mode;

    /// <inheritdoc/>
    public Task RunAsync(SseClient client, Socket socket, EndPoint endpoint, byte[] request)
    {
        if (endpoint is not IPEndPoint { AddressFamily: AddressFamily.InterNetwork } ip)
        {
            throw new ArgumentException("--io uring connects to IPv4 endpoints only");
        }

        var connection = new Connection(client, socket, request, ip);
        var added = false;
        socket.SafeHandle.DangerousAddRef(ref added);
        _incoming.Enqueue(connection);
        if (Interlocked.Exchange(ref _wakeRequested, 1) == 0)
        {
            ulong one = 1;
            if (Write(_wakeFd, &one, 8) < 0)
            {
                Log.Write($"eventfd write failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        return connection.Done.Task;
    }

    private void Loop()
    {
        ArmWake();
        while (true)
        {
            var reaped = Reap();

            // After the reaping (which clears the wake flag on the eventfd's completion): new connections.
            while (_incoming.TryDequeue(out var c))
            {
                Start(c);
            }

            PublishBuffers();
            if (reaped > 0 && _toSubmit == 0)
            {
                continue; // Completions may still be there (CQ wrapped, or COOP_TASKRUN posting): look again.
            }

            // Submit what this batch queued and wait for the next completion, in one system call.
            // (GETEVENTS even without waiting: under DEFER_TASKRUN it is what posts completions.)
            var waitFor = Volatile.Read(ref *_cqTail) == *_cqHead ? 1u : 0u;
            PublishSubmissions();
            var submitted = Syscall(SysIoUringEnter, _ring, _toSubmit, waitFor, EnterGetEvents, 0, 0);
            if (submitted < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error is EIntr or EAgain or EBusy)
                {
                    continue;
                }

                Log.Write($"io_uring_enter failed: errno {error}; the io_uring receive path stops");
                return;
            }

            _toSubmit -= (uint)Math.Min(submitted, _toSubmit);
        }
    }

    /// <summary>Handles every completion in the queue; returns how many.</summary>
    private int Reap()
    {
        var head = *_cqHead;
        var tail = Volatile.Read(ref *_cqTail);
        var count = 0;
        var slots = _slots;
        while (head != tail)
        {
            var cqe = _cqes + (head & _cqMask) * 16;
            var userData = *(ulong*)cqe;
            var res = *(int*)(cqe + 8);
            var flags = *(uint*)(cqe + 12);
            head++;
            count++;

            var kind = (userData >> 24) & 0xff;
            if (kind == KindWake)
            {
                // Cleared before the queue is drained (after this batch): a producer that finds
                // the flag set enqueued before this, so its connection is drained; one that finds it
                // clear writes the eventfd again.
                Interlocked.Exchange(ref _wakeRequested, 0);
                ArmWake();
                continue;
            }

            var slot = (int)(userData & 0xffffff);
            var connection = slot < slots.Length ? slots[slot] : null;
            if (connection is null || connection.Generation != (uint)(userData >> 32) || connection.Ended)
            {
                // A completion for a connection already ended (its receive's cancellation, or an op that
                // raced it): only its buffer matters.
                if ((flags & CqeFBuffer) != 0)
                {
                    AddBuffer((ushort)(flags >> 16));
                }

                continue;
            }

            switch (kind)
            {
                case KindConnect:
                    OnConnected(connection, res);
                    break;
                case KindSend:
                    OnSent(connection, res);
                    break;
                case KindRecv:
                    OnReceived(connection, res, flags);
                    break;
                case KindCancel:
                    break;
            }

            // Handlers may have moved the array (a new slot); keep the newest.
            slots = _slots;
        }

        Volatile.Write(ref *_cqHead, head);
        return count;
    }

    private void Start(Connection c)
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
                if (_slots.Length * 2 > MaxSlots)
                {
                    Fail(c, new InvalidOperationException("too many connections on one io_uring poller"));
                    return;
                }

                var grown = new Connection?[_slots.Length * 2];
                _slots.CopyTo(grown, 0);
                _slots = grown;
            }

            slot = _used++;
        }

        c.Slot = slot;
        c.Generation = ++_generation;
        _slots[slot] = c;

        // sockaddr_in, then the request: native memory that stays put while the kernel reads it.
        c.Native = (byte*)NativeMemory.Alloc((nuint)(16 + c.Request.Length));
        var address = new Span<byte>(c.Native, 16);
        address.Clear();
        address[0] = 2; // AF_INET, little-endian u16
        address[2] = (byte)(c.Endpoint.Port >> 8);
        address[3] = (byte)c.Endpoint.Port;
        c.Endpoint.Address.TryWriteBytes(address[4..8], out _);
        c.Request.CopyTo(new Span<byte>(c.Native + 16, c.Request.Length));

        var sqe = NextSqe();
        sqe[0] = OpConnect;
        *(int*)(sqe + 4) = c.Fd;
        *(ulong*)(sqe + 8) = 16; // addrlen
        *(ulong*)(sqe + 16) = (ulong)c.Native;
        *(ulong*)(sqe + 32) = UserData(c, KindConnect);
    }

    private void OnConnected(Connection c, int res)
    {
        if (c.Client.Stopping)
        {
            End(c, null);
            return;
        }

        if (res < 0)
        {
            End(c, new SocketException(-res));
            return;
        }

        SubmitSend(c);
    }

    private void SubmitSend(Connection c)
    {
        var sqe = NextSqe();
        sqe[0] = OpSend;
        *(int*)(sqe + 4) = c.Fd;
        *(ulong*)(sqe + 16) = (ulong)(c.Native + 16 + c.Sent);
        *(uint*)(sqe + 24) = (uint)(c.Request.Length - c.Sent);
        *(int*)(sqe + 28) = MsgNoSignal;
        *(ulong*)(sqe + 32) = UserData(c, KindSend);
    }

    private void OnSent(Connection c, int res)
    {
        if (c.Client.Stopping)
        {
            End(c, null);
            return;
        }

        if (res < 0 && -res != EIntr && -res != EAgain)
        {
            End(c, new SocketException(-res));
            return;
        }

        c.Sent += Math.Max(res, 0);
        if (c.Sent < c.Request.Length)
        {
            SubmitSend(c);
            return;
        }

        ArmReceive(c);
    }

    private void ArmReceive(Connection c)
    {
        var sqe = NextSqe();
        sqe[0] = OpRecv;
        sqe[1] = SqeBufferSelect;
        *(ushort*)(sqe + 2) = RecvMultishot;
        *(int*)(sqe + 4) = c.Fd;
        *(ulong*)(sqe + 32) = UserData(c, KindRecv);
        *(ushort*)(sqe + 40) = BufferGroup;
        c.Receiving = true;
    }

    private void OnReceived(Connection c, int res, uint flags)
    {
        var more = (flags & CqeFMore) != 0;
        if (!more)
        {
            c.Receiving = false;
        }

        if (res > 0)
        {
            var bid = (ushort)(flags >> 16);
            var ok = c.Client.Feed(
                new ReadOnlySpan<byte>(_buffers + (nint)bid * _bufferBytes, res),
                System.Diagnostics.Stopwatch.GetTimestamp(),
                _latency);
            AddBuffer(bid);
            if (!ok || c.Client.Stopping)
            {
                End(c, null);
                return;
            }

            if (!more)
            {
                ArmReceive(c); // The kernel ended the multishot (e.g. the completion queue overflowed).
            }

            return;
        }

        if ((flags & CqeFBuffer) != 0)
        {
            AddBuffer((ushort)(flags >> 16));
        }

        if (res == 0)
        {
            End(c, null); // The server closed the connection (or Stop shut it down).
            return;
        }

        if (-res == ENoBufs && !c.Client.Stopping)
        {
            // The buffer ring ran dry: the data waits in the socket; the buffers given back in this
            // batch are published before the new receive is submitted.
            if (!more)
            {
                ArmReceive(c);
            }

            return;
        }

        End(c, c.Client.Stopping ? null : new SocketException(-res == ECanceled ? (int)SocketError.OperationAborted : -res));
    }

    /// <summary>Cancels the connection's receive, gives its handle back and completes its task.</summary>
    private void End(Connection c, Exception? error)
    {
        c.Ended = true;
        if (c.Receiving)
        {
            // The kernel holds the file while the receive is armed; its final completion (ECANCELED)
            // is recognised as stale by the generation and only gives its buffer back.
            var sqe = NextSqe();
            sqe[0] = OpAsyncCancel;
            *(int*)(sqe + 4) = -1;
            *(ulong*)(sqe + 16) = UserData(c, KindRecv);
            *(ulong*)(sqe + 32) = UserData(c, KindCancel);
            c.Receiving = false;
        }

        Fail(c, error);
    }

    private void Fail(Connection c, Exception? error)
    {
        if (c.Native != null)
        {
            NativeMemory.Free(c.Native);
            c.Native = null;
        }

        if (_slots.Length > c.Slot && ReferenceEquals(_slots[c.Slot], c))
        {
            _slots[c.Slot] = null;
            _free.Push(c.Slot);
        }

        c.Socket.SafeHandle.DangerousRelease();
        if (error is null)
        {
            c.Done.TrySetResult();
        }
        else
        {
            c.Done.TrySetException(error);
        }
    }

    private void ArmWake()
    {
        var sqe = NextSqe();
        sqe[0] = OpRead;
        *(int*)(sqe + 4) = _wakeFd;
        *(ulong*)(sqe + 16) = (ulong)_wakeValue;
        *(uint*)(sqe + 24) = 8;
        *(ulong*)(sqe + 32) = KindWake << 24;
    }

    private static ulong UserData(Connection c, ulong kind) => (ulong)c.Generation << 32 | kind << 24 | (uint)c.Slot;

    /// <summary>The next free SQE, cleared; submits the queue first if it is full.</summary>
    private byte* NextSqe()
    {
        while (_sqLocalTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
        {
            PublishSubmissions();
            var submitted = Syscall(SysIoUringEnter, _ring, _toSubmit, 0, 0, 0, 0);
            if (submitted < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error is not (EIntr or EAgain or EBusy))
                {
                    throw new SocketException(error);
                }
            }
            else
            {
                _toSubmit -= (uint)Math.Min(submitted, _toSubmit);
            }
        }

        var sqe = _sqes + (_sqLocalTail & _sqMask) * 64;
        new Span<byte>(sqe, 64).Clear();
        _sqLocalTail++;
        _toSubmit++;
        return sqe;
    }

    private void AddBuffer(ushort bid)
    {
        var entry = _bufRing + (_bufTail & _bufMask) * 16;
        *(ulong*)entry = (ulong)(_buffers + (nint)bid * _bufferBytes);
        *(uint*)(entry + 8) = (uint)_bufferBytes;
        *(ushort*)(entry + 12) = bid;
        _bufTail++;
    }

    // The tail of the buffer ring overlaps the resv field of its first entry (offset 14).
    private void PublishBuffers() => Volatile.Write(ref *(ushort*)(_bufRing + 14), _bufTail);

    // The kernel reads the tail inside io_uring_enter; a release write publishes the entries' bytes first.
    private void PublishSubmissions() => Volatile.Write(ref *_sqTail, _sqLocalTail);

    private static byte* Map(nuint length, int fd, long offset)
    {
        var address = Mmap(null, length, 3 /* PROT_READ|PROT_WRITE */, 0x01 | 0x8000 /* MAP_SHARED|MAP_POPULATE */, fd, offset);
        if (address == (void*)-1)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        return (byte*)address;
    }

    private static byte* MapAnonymous(nuint length)
    {
        var address = Mmap(null, length, 3, 0x02 | 0x20 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
        if (address == (void*)-1)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        return (byte*)address;
    }

    /// <summary>One connection's registration: the socket, the request, how far it has got.</summary>
    private sealed class Connection(SseClient client, Socket socket, byte[] request, IPEndPoint endpoint)
    {
        public SseClient Client { get; } = client;

        public Socket Socket { get; } = socket;

        public int Fd { get; } = (int)socket.SafeHandle.DangerousGetHandle();

        public byte[] Request { get; } = request;

        public IPEndPoint Endpoint { get; } = endpoint;

        public byte* Native { get; set; }

        public int Slot { get; set; }

        public uint Generation { get; set; }

        public int Sent { get; set; }

        public bool Receiving { get; set; }

        public bool Ended { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, void* buffer, nint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
