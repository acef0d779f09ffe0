using System.Diagnostics;
using System.Text.Json;

namespace SseLoad;

/// <summary>The two measurements: fan-out of published messages, and memory per idle connection.</summary>
internal static class Scenarios
{
    private static readonly double s_microsecondsPerTick = 1e6 / Stopwatch.Frequency;

    /// <summary>
    /// N clients on one stream; messages published at a fixed rate (<c>fixed</c>), as fast as the
    /// server answers (<c>open</c>: open loop, a window of pipelined requests) or as fast as the
    /// slowest client receives (<c>closed</c>: at most <c>--inflight</c> messages published but not
    /// yet received by every client). Then a drain: until every client has the last message.
    /// </summary>
    public static int Fanout(Options o)
    {
        var port = o.Int("port");
        var serverPid = o.Int("server-pid");
        var clk = o.Int("clk-tck", 100);
        var count = o.Int("clients");
        var mode = o.String("mode");
        var rate = o.Double("rate", 100);
        var duration = o.Double("duration", 10);
        var window = o.Int("window", 32);
        var inflight = o.Int("inflight", 64);
        var warmup = o.Int("warmup", 100);
        var drainSeconds = o.Double("drain", 10);
        var drainMaxSeconds = Math.Max(drainSeconds, o.Double("drain-max", drainSeconds));
        var name = o.String("name", $"{mode} N={count}");
        var run = Random.Shared.NextInt64(1, long.MaxValue / 2);
        var config = Config(o, port, run, receiveBuffer: 16 * 1024);

        var self = Process.GetCurrentProcess();
        // --client-ports P1,P2,…: clients spread round-robin over several servers (bench/cluster.sh); the
        // publisher and the /health sampling stay on --port.
        var clientPorts = o.String("client-ports", "") is { Length: > 0 } list
            ? list.Split(',').Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray()
            : null;
        var (clients, tasks, ready, connectSeconds) = ConnectAsync(count, config, clientPorts).GetAwaiter().GetResult();
        var health = HealthConnectionsAsync(port).GetAwaiter().GetResult();
        Log.Write($"{name}: {ready}/{count} clients connected in {connectSeconds:F1} s; /health connections = {health}"
            + (config.Protocol == "sse" ? "" : " (counts stream connections only)"));
        if (ready < count)
        {
            throw new InvalidOperationException($"only {ready} of {count} clients connected: {clients.FirstOrDefault(c => c.LastError is not null)?.LastError}");
        }

        using var publisher = new Publisher(port, o.String("publish-path", "/publish"), run, window, o.Int("padding", 0), s_microsecondsPerTick);

        // Warm-up (seq −warmup … −1, not measured): JIT of both sides, buffers, thread pool.
        for (var seq = -warmup; seq < 0; seq++)
        {
            publisher.Publish(seq, TimeSpan.FromSeconds(10));
            Thread.Sleep(2);
        }

        publisher.WaitAnswered(TimeSpan.FromSeconds(10));
        var warmEnd = Stopwatch.GetTimestamp() + 15 * Stopwatch.Frequency;
        while (clients.Any(c => Volatile.Read(ref c.MaxWarmSeq) != -1) && Stopwatch.GetTimestamp() < warmEnd)
        {
            Thread.Sleep(10);
        }

        var warmMissing = clients.Count(c => Volatile.Read(ref c.MaxWarmSeq) != -1);
        Log.Write($"{name}: warm-up of {warmup} messages done ({warmMissing} clients missed its end)");
        Thread.Sleep(500);

        // The measurement.
        var sampler = new Sampler(port, serverPid);
        var serverCpu0 = Proc.CpuMicroseconds(serverPid, clk);
        self.Refresh();
        var clientCpu0 = self.TotalProcessorTime;
        var allocated0 = GC.GetTotalAllocatedBytes();
        var gen0Collections0 = GC.CollectionCount(0);
        var rssBefore = Proc.StatusKiB(serverPid, "VmRSS");
        var machine0 = Proc.MachineTicks();
        var t0 = Stopwatch.GetTimestamp();
        var end = t0 + (long)(duration * Stopwatch.Frequency);
        long published = 0;
        long maxLagTicks = 0;
        var stall = TimeSpan.FromSeconds(10);
        switch (mode)
        {
            case "fixed":
            {
                var total = (long)(rate * duration);
                for (long seq = 0; seq < total; seq++)
                {
                    var due = t0 + (long)(seq * Stopwatch.Frequency / rate);
                    var wait = due - Stopwatch.GetTimestamp();
                    if (wait > Stopwatch.Frequency / 1000)
                    {
                        Thread.Sleep(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                    }

                    while (Stopwatch.GetTimestamp() < due)
                    {
                        Thread.SpinWait(20);
                    }

                    maxLagTicks = Math.Max(maxLagTicks, Stopwatch.GetTimestamp() - due);
                    if (!publisher.Publish(seq, stall))
                    {
                        break;
                    }

                    published++;
                }

                break;
            }

            case "open":
                while (Stopwatch.GetTimestamp() < end)
                {
                    var n = publisher.PublishBatch(published, window, stall);
                    if (n == 0)
                    {
                        break;
                    }

                    published += n;
                }

                break;

            case "closed":
            {
                using var reached = new ManualResetEventSlim(false, spinCount: 1);
                while (Stopwatch.GetTimestamp() < end)
                {
                    // Until every client has seq published − inflight nothing may be published. A client
                    // found behind wakes this thread when it gets there (a disconnected one never does:
                    // the wait times out), so waiting costs a few wake-ups and passes over the clients
                    // per message instead of a pass every millisecond.
                    var needed = published - inflight;
                    if (!AllReached(clients, needed, out var laggard))
                    {
                        var c = clients[laggard];
                        reached.Reset();
                        c.WakeWhen(needed, reached);
                        if (c.Connected && Volatile.Read(ref c.MaxSeq) < needed)
                        {
                            reached.Wait(10);
                        }

                        continue;
                    }

                    var slowest = long.MaxValue;
                    foreach (var c in clients)
                    {
                        if (c.Connected)
                        {
                            slowest = Math.Min(slowest, Volatile.Read(ref c.MaxSeq));
                        }
                    }

                    if (slowest == long.MaxValue)
                    {
                        slowest = published - 1;
                    }

                    var allowed = (int)Math.Min(slowest + inflight - (published - 1), window);
                    if (allowed <= 0)
                    {
                        Thread.Sleep(1);
                        continue;
                    }

                    var n = publisher.PublishBatch(published, allowed, stall);
                    if (n == 0)
                    {
                        break;
                    }

                    published += n;
                }

                break;
            }

            default:
                throw new ArgumentException("--mode is fixed, open or closed");
        }

        var tPublished = Stopwatch.GetTimestamp();
        var answered = publisher.WaitAnswered(TimeSpan.FromSeconds(30));
        var tAnswered = Stopwatch.GetTimestamp();

        // Drain: until every client has the last message, or the drain time is over.
        // --drain: the longest the deliveries may make no progress; --drain-max: the longest in all.
        // A slow server's backlog keeps arriving and is counted, not called lost; a stalled one is.
        var drainStart = Stopwatch.GetTimestamp();
        var drainMax = drainStart + (long)(drainMaxSeconds * Stopwatch.Frequency);
        var lastProgress = drainStart;
        var lastReceived = clients.Sum(c => c.Received);
        while (Stopwatch.GetTimestamp() < drainMax && clients.Any(c => Volatile.Read(ref c.MaxSeq) < published - 1))
        {
            Thread.Sleep(5);
            var received = clients.Sum(c => c.Received);
            var now = Stopwatch.GetTimestamp();
            if (received != lastReceived)
            {
                lastReceived = received;
                lastProgress = now;
            }
            else if (now - lastProgress > drainSeconds * Stopwatch.Frequency)
            {
                break;
            }
        }

        var tDrained = Stopwatch.GetTimestamp();
        var serverCpu1 = Proc.CpuMicroseconds(serverPid, clk);
        self.Refresh();
        var clientCpu1 = self.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes() - allocated0;
        var gen0Collections = GC.CollectionCount(0) - gen0Collections0;
        var machine1 = Proc.MachineTicks();
        var samples = sampler.Stop();
        var rssAfter = Proc.StatusKiB(serverPid, "VmRSS");
        var healthAfter = HealthConnectionsAsync(port).GetAwaiter().GetResult();

        var lastDelivery = clients.Max(c => c.LastDeliveryTimestamp);
        foreach (var c in clients)
        {
            c.Stop();
        }

        Task.WhenAny(Task.WhenAll(tasks), Task.Delay(10_000)).GetAwaiter().GetResult();

        var latency = Histogram.MergeAllThreads();
        var deliveries = clients.Sum(c => c.Received);
        var seconds = (Math.Max(lastDelivery, tPublished) - t0) / (double)Stopwatch.Frequency;
        var cpuSeconds = (tDrained - t0) / (double)Stopwatch.Frequency;
        var serverCpu = serverCpu1 - serverCpu0;
        var clientCpu = (clientCpu1 - clientCpu0).TotalMicroseconds;
        var lostPerClient = clients.Select(c => c.Lost(published)).ToArray();
        var result = new FanoutResult
        {
            Name = name,
            Protocol = config.Protocol,
            Path = config.Path,
            Query = config.Protocol == "graphql-sse" ? config.Query : null,
            Mode = mode,
            Clients = count,
            RateTarget = mode == "fixed" ? rate : null,
            DurationSeconds = duration,
            Window = window,
            Inflight = mode == "closed" ? inflight : null,
            Published = published,
            PublishSeconds = (tPublished - t0) / (double)Stopwatch.Frequency,
            PublishRate = published / ((tPublished - t0) / (double)Stopwatch.Frequency),
            PublishOk = publisher.Ok,
            PublishFailed = publisher.Failed,
            PublishFirstFailure = publisher.FirstFailure,
            PublishAllAnswered = answered,
            PublishAnswerWaitSeconds = (tAnswered - tPublished) / (double)Stopwatch.Frequency,
            PublishQueuedSum = publisher.QueuedSum,
            PublishQueuedMin = publisher.QueuedMin == long.MaxValue ? 0 : publisher.QueuedMin,
            PublishAckP50Ms = publisher.AckLatency.Percentile(50) / 1000.0,
            PublishAckP99Ms = publisher.AckLatency.Percentile(99) / 1000.0,
            PublishAckMaxMs = publisher.AckLatency.Max / 1000.0,
            PublisherMaxLagMs = maxLagTicks * s_microsecondsPerTick / 1000,
            Deliveries = deliveries,
            ExpectedDeliveries = published * count,
            DeliverySeconds = seconds,
            DrainSeconds = (tDrained - tAnswered) / (double)Stopwatch.Frequency,
            DeliveriesPerSecond = deliveries / seconds,
            LatencyP50Ms = latency.Percentile(50) / 1000.0,
            LatencyP90Ms = latency.Percentile(90) / 1000.0,
            LatencyP99Ms = latency.Percentile(99) / 1000.0,
            LatencyP999Ms = latency.Percentile(99.9) / 1000.0,
            LatencyMaxMs = latency.Max / 1000.0,
            LatencyMeanMs = latency.Count == 0 ? 0 : latency.Sum / latency.Count / 1000.0,
            Lost = lostPerClient.Sum(),
            ClientsWithLosses = lostPerClient.Count(l => l > 0),
            Duplicates = clients.Sum(c => c.Duplicates),
            OutOfOrder = clients.Sum(c => c.OutOfOrder),
            IdGaps = clients.Sum(c => c.IdGaps),
            Foreign = clients.Sum(c => c.Foreign),
            FirstForeign = clients.Select(c => c.FirstForeign).FirstOrDefault(f => f is not null),
            Completes = clients.Sum(c => c.Completes),
            Disconnects = clients.Sum(c => c.Disconnects),
            ClientsDisconnected = clients.Count(c => c.Disconnects > 0),
            StreamsEndedByServer = clients.Sum(c => c.StreamsEnded),
            ConnectErrors = clients.Sum(c => c.ConnectErrors),
            ClientsMissingLast = clients.Count(c => Volatile.Read(ref c.MaxSeq) < published - 1),
            FirstClientError = clients.Select(c => c.LastError).FirstOrDefault(e => e is not null),
            ServerCpuMicrosecondsPerDelivery = deliveries == 0 ? 0 : serverCpu / deliveries,
            ServerCores = serverCpu / 1e6 / cpuSeconds,
            ClientCores = clientCpu / 1e6 / cpuSeconds,
            ClientCpuMicrosecondsPerDelivery = deliveries == 0 ? 0 : clientCpu / deliveries,
            Processors = Environment.ProcessorCount,
            MachineBusyCores = (machine1.Busy - machine0.Busy) / (double)clk / cpuSeconds,
            OtherCores = Math.Max(0, (machine1.Busy - machine0.Busy) / (double)clk / cpuSeconds - serverCpu / 1e6 / cpuSeconds - clientCpu / 1e6 / cpuSeconds),
            ClientUnreadBytesMean = samples.ClientUnreadMean,
            ClientBacklogMs = seconds <= 0 || deliveries == 0 ? 0 : samples.ClientUnreadMean / (clients.Sum(c => c.BytesReceived) / seconds) * 1000,
            ClientUnreadBytesMax = samples.ClientUnreadMax,
            ServerUnsentBytesMax = samples.ServerUnsentMax,
            ServerRssKiBBefore = rssBefore,
            ServerRssKiBPeak = Math.Max(samples.ServerRssMaxKiB, rssAfter),
            ServerRssKiBAfter = rssAfter,
            ServerThreadsMax = samples.ServerThreadsMax,
            HealthConnectionsBefore = health,
            HealthConnectionsAfter = healthAfter,
            BytesReceived = clients.Sum(c => c.BytesReceived),
            Receives = clients.Sum(c => c.Receives),
        };

        Log.Write($"{name}: published {published} ({result.PublishRate:F0}/s), {deliveries} deliveries "
            + $"({result.DeliveriesPerSecond:F0}/s), p50 {result.LatencyP50Ms:F2} ms, p99 {result.LatencyP99Ms:F2} ms, "
            + $"max {result.LatencyMaxMs:F1} ms, lost {result.Lost}, dup {result.Duplicates}, ooo {result.OutOfOrder}, "
            + $"disconnects {result.Disconnects}, server {result.ServerCpuMicrosecondsPerDelivery:F2} µs/delivery, "
            + $"cores server {result.ServerCores:F2} client {result.ClientCores:F2} other {result.OtherCores:F2}; "
            + $"client {result.ClientCpuMicrosecondsPerDelivery:F2} µs/delivery, allocated {allocated / 1024.0:F0} KiB ({gen0Collections} gen0 GCs)");
        if (result.Foreign > 0)
        {
            Log.Write($"{name}: {result.Foreign} messages were not this run's; the first: {result.FirstForeign}");
        }

        File.WriteAllText(o.String("out"), JsonSerializer.Serialize(result, Json.Options));
        return 0;
    }

    /// <summary>
    /// Server memory per idle stream connection: RSS with none, then with N (after a settle), then
    /// once they have all received a few messages, then after they are closed.
    /// </summary>
    public static int Idle(Options o)
    {
        var port = o.Int("port");
        var serverPid = o.Int("server-pid");
        var count = o.Int("clients", 10_000);
        var settle = o.Int("settle", 5);
        var run = Random.Shared.NextInt64(1, long.MaxValue / 2);
        var config = Config(o, port, run, receiveBuffer: 1024) with { Reconnect = false };

        // Warm the server's stream path first, so that its JIT and pools are not counted per connection.
        {
            var (warmClients, warmTasks, _, _) = ConnectAsync(20, config with { Run = run + 1 }).GetAwaiter().GetResult();
            using (var warm = new Publisher(port, "/publish", run + 1, 8, 0, s_microsecondsPerTick))
            {
                for (var seq = -20; seq < 0; seq++)
                {
                    warm.Publish(seq, TimeSpan.FromSeconds(5));
                }

                warm.WaitAnswered(TimeSpan.FromSeconds(5));
            }

            Thread.Sleep(500);
            foreach (var c in warmClients)
            {
                c.Stop();
            }

            Task.WhenAny(Task.WhenAll(warmTasks), Task.Delay(5000)).GetAwaiter().GetResult();
        }

        Thread.Sleep(TimeSpan.FromSeconds(settle));
        var rssSamplesBefore = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            rssSamplesBefore.Add(Proc.StatusKiB(serverPid, "VmRSS"));
            Thread.Sleep(500);
        }

        var rssBefore = rssSamplesBefore[^1];
        var healthBefore = HealthConnectionsAsync(port).GetAwaiter().GetResult();
        var selfBefore = CurrentRssKiB();

        var (clients, tasks, ready, connectSeconds) = ConnectAsync(count, config).GetAwaiter().GetResult();
        var healthOpen = HealthConnectionsAsync(port).GetAwaiter().GetResult();
        Log.Write($"idle: {ready}/{count} connected in {connectSeconds:F1} s; /health connections = {healthOpen}; settling {settle} s");

        var rssSettle = new List<long>();
        for (var i = 0; i < settle; i++)
        {
            Thread.Sleep(1000);
            rssSettle.Add(Proc.StatusKiB(serverPid, "VmRSS"));
        }

        var rssAfter = rssSettle[^1];
        var selfAfter = CurrentRssKiB();
        var healthSettled = HealthConnectionsAsync(port).GetAwaiter().GetResult();

        // Then a few messages to all of them: the one-message fan-out time at this size, and the
        // memory once every connection has written something.
        var messages = o.Int("messages", 3);
        long published = 0;
        using (var publisher = new Publisher(port, "/publish", run, 8, 0, s_microsecondsPerTick))
        {
            for (long seq = 0; seq < messages; seq++)
            {
                publisher.Publish(seq, TimeSpan.FromSeconds(10));
                published++;
                var due = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency;
                while (clients.Any(c => c.Connected && Volatile.Read(ref c.MaxSeq) < seq) && Stopwatch.GetTimestamp() < due)
                {
                    Thread.Sleep(5);
                }
            }

            publisher.WaitAnswered(TimeSpan.FromSeconds(5));
        }

        Thread.Sleep(1000);
        var rssAfterMessages = Proc.StatusKiB(serverPid, "VmRSS");

        foreach (var c in clients)
        {
            c.Stop();
        }

        Task.WhenAny(Task.WhenAll(tasks), Task.Delay(10_000)).GetAwaiter().GetResult();
        Thread.Sleep(TimeSpan.FromSeconds(settle));
        var rssClosed = Proc.StatusKiB(serverPid, "VmRSS");
        var healthClosed = HealthConnectionsAsync(port).GetAwaiter().GetResult();
        var latency = Histogram.MergeAllThreads();

        var result = new IdleResult
        {
            Clients = count,
            Connected = ready,
            ConnectSeconds = connectSeconds,
            SettleSeconds = settle,
            HealthConnectionsBefore = healthBefore,
            HealthConnectionsOpen = healthOpen,
            HealthConnectionsSettled = healthSettled,
            HealthConnectionsClosed = healthClosed,
            ServerRssKiBBefore = rssBefore,
            ServerRssKiBBeforeSamples = rssSamplesBefore,
            ServerRssKiBSettleSamples = rssSettle,
            ServerRssKiBAfter = rssAfter,
            ServerKiBPerConnection = ready == 0 ? 0 : (rssAfter - rssBefore) / (double)ready,
            ServerRssKiBAfterMessages = rssAfterMessages,
            ServerKiBPerConnectionAfterMessages = ready == 0 ? 0 : (rssAfterMessages - rssBefore) / (double)ready,
            ServerRssKiBAfterClose = rssClosed,
            ClientKiBPerConnection = ready == 0 ? 0 : (selfAfter - selfBefore) / (double)ready,
            Messages = published,
            Deliveries = clients.Sum(c => c.Received),
            Lost = clients.Sum(c => c.Lost(published)),
            Disconnects = clients.Sum(c => c.Disconnects),
            OneMessageLatencyP50Ms = latency.Percentile(50) / 1000.0,
            OneMessageLatencyP99Ms = latency.Percentile(99) / 1000.0,
            OneMessageLatencyMaxMs = latency.Max / 1000.0,
        };

        Log.Write($"idle: server RSS {rssBefore} KiB -> {rssAfter} KiB with {ready} connections = "
            + $"{result.ServerKiBPerConnection:F1} KiB/connection ({result.ServerKiBPerConnectionAfterMessages:F1} after {published} messages); "
            + $"after close {rssClosed} KiB; one message to all: p50 {result.OneMessageLatencyP50Ms:F1} ms, max {result.OneMessageLatencyMaxMs:F1} ms");
        File.WriteAllText(o.String("out"), JsonSerializer.Serialize(result, Json.Options));
        return 0;
    }

    /// <summary>
    /// Waits (at most --max-wait seconds) until the machine is quiet: over one second, the CPU time
    /// of every process but <c>--server-pid</c> and this one below --threshold cores. Prints the last value.
    /// </summary>
    public static int Quiet(Options o)
    {
        var serverPid = o.Int("server-pid");
        var clk = o.Int("clk-tck", 100);
        var threshold = o.Double("threshold", 0.25);
        var end = Stopwatch.GetTimestamp() + (long)(o.Double("max-wait", 30) * Stopwatch.Frequency);
        var self = Process.GetCurrentProcess();
        double others;
        do
        {
            var m0 = Proc.MachineTicks();
            var s0 = Proc.CpuMicroseconds(serverPid, clk);
            self.Refresh();
            var c0 = self.TotalProcessorTime;
            var t0 = Stopwatch.GetTimestamp();
            Thread.Sleep(1000);
            var m1 = Proc.MachineTicks();
            var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            self.Refresh();
            others = ((m1.Busy - m0.Busy) / (double)clk - (Proc.CpuMicroseconds(serverPid, clk) - s0) / 1e6 - (self.TotalProcessorTime - c0).TotalSeconds) / seconds;
        }
        while (others > threshold && Stopwatch.GetTimestamp() < end);

        Console.WriteLine(others.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    }

    /// <summary>
    /// Whether every connected client has received seq <paramref name="seq"/>; if not,
    /// <paramref name="laggard"/> is the last client in the array that has not. (The server writes to
    /// its subscribers roughly in the order they connected, so that one is likely the last to receive.)
    /// </summary>
    private static bool AllReached(SseClient[] clients, long seq, out int laggard)
    {
        for (var i = clients.Length - 1; i >= 0; i--)
        {
            var c = clients[i];
            if (c.Connected && Volatile.Read(ref c.MaxSeq) < seq)
            {
                laggard = i;
                return false;
            }
        }

        laggard = -1;
        return true;
    }

    private static ClientConfig Config(Options o, int port, long run, int receiveBuffer)
    {
        var protocol = o.String("protocol", "sse");
        if (protocol is not ("sse" or "graphql-sse"))
        {
            throw new ArgumentException("--protocol is sse or graphql-sse");
        }

        return new(
            protocol,
            o.String("query", "subscription { liveEvents }"),
            port,
            o.String("path", protocol == "sse" ? "/feed" : "/graphql/sse"),
            run,
            o.Int("source-addresses", 8),
            o.Int("receive-buffer", receiveBuffer),
            o.Bool("reconnect", true),
            o.String("reconnect-delay-ms", "") is { Length: > 0 } delay ? int.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) : null,
            s_microsecondsPerTick,
            Io(o) switch
            {
                "epoll" => Pollers(o.Int("pollers", 1), o.Int("receive-buffer", receiveBuffer)),
                "uring" => Uring(o, o.Int("pollers", 1), o.Int("receive-buffer", receiveBuffer)),
                _ => null,
            },
            o.String("jwt-key", "") is { Length: > 0 } key ? new BenchTokens(key, o.String("jwt-issuer", "bench"), o.String("jwt-audience", "bench")) : null);
    }

    /// <summary>
    /// <c>--io</c> (also the environment variable <c>SSELOAD_IO</c>): <c>uring</c> (the default) reads
    /// the clients' sockets on <c>--pollers</c> io_uring threads (1) with multishot receives into
    /// provided buffers (<see cref="UringPoller"/>; it falls back to epoll when io_uring is not
    /// available); <c>epoll</c> on dedicated epoll threads (<see cref="EpollPoller"/>); <c>async</c> with one
    /// <see cref="System.Net.Sockets.Socket.ReceiveAsync(Memory{byte}, System.Net.Sockets.SocketFlags, CancellationToken)"/> per read.
    /// </summary>
    public static string Io(Options o)
    {
        var io = o.String("io", Environment.GetEnvironmentVariable("SSELOAD_IO") is { Length: > 0 } env ? env : "uring");
        return io is "epoll" or "uring" or "async" ? io : throw new ArgumentException($"--io is epoll, uring or async, got {io}");
    }

    private static IReceivePoller[]? s_pollers;

    // One set of poller threads per process, shared by every client configuration of the run.
    private static IReceivePoller[] Pollers(int threads, int bufferBytes) =>
        s_pollers ??= EpollPoller.Start(threads, bufferBytes);

    // --io uring: --pollers rings (1), each one thread; --uring-buffers provided buffers (8192, a power
    // of two; SSELOAD_URING_BUFFERS) of --uring-buffer-bytes (2048; SSELOAD_URING_BUFFER_BYTES) per
    // ring. SSELOAD_URING_SETUP=defer|coop|none picks the ring's setup flags (see UringPoller). Without
    // io_uring: the epoll pollers.
    private static IReceivePoller[] Uring(Options o, int threads, int receiveBuffer)
    {
        if (s_pollers is not null)
        {
            return s_pollers;
        }

        if (threads < 1)
        {
            throw new ArgumentException("--pollers must be at least 1");
        }

        var count = o.Int("uring-buffers", EnvInt("SSELOAD_URING_BUFFERS", 8192));
        var bytes = o.Int("uring-buffer-bytes", EnvInt("SSELOAD_URING_BUFFER_BYTES", 2048));
        var rings = new List<IReceivePoller>();
        for (var i = 0; i < threads; i++)
        {
            if (UringPoller.TryStart(count, bytes) is not { } ring)
            {
                return Pollers(threads, receiveBuffer);
            }

            rings.Add(ring);
        }

        return s_pollers = [.. rings];
    }

    private static int EnvInt(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    private static long CurrentRssKiB() => Proc.StatusKiB(Environment.ProcessId, "VmRSS");

    /// <summary>Opens <paramref name="count"/> clients, at most 200 connecting at a time, and waits (60 s at most) for their headers.</summary>
    private static async Task<(SseClient[] Clients, Task[] Tasks, int Ready, double Seconds)> ConnectAsync(int count, ClientConfig config, int[]? ports = null)
    {
        var start = Stopwatch.GetTimestamp();
        var clients = new SseClient[count];
        var tasks = new Task[count];
        using var gate = new SemaphoreSlim(200);
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        for (var i = 0; i < count; i++)
        {
            var remaining = TimeSpan.FromSeconds(Math.Max(0, (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency));
            if (!await gate.WaitAsync(remaining))
            {
                break;
            }

            var client = clients[i] = new SseClient(i, ports is null ? config : config with { Port = ports[i % ports.Length] });
            tasks[i] = Task.Run(client.RunAsync);
            _ = client.Ready.ContinueWith(_ => gate.Release(), TaskScheduler.Default);
        }

        for (var i = 0; i < count; i++)
        {
            clients[i] ??= new SseClient(i, config);
            tasks[i] ??= Task.CompletedTask;
        }

        await Task.WhenAny(Task.WhenAll(clients.Select(c => c.Ready)), Task.Delay(TimeSpan.FromSeconds(Math.Max(1, (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency))));
        var ready = clients.Count(c => c.Ready.IsCompletedSuccessfully && c.Ready.Result);
        return (clients, tasks, ready, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary><c>streams.connections</c> of <c>GET /health</c> (−1 when it does not answer).</summary>
    public static async Task<long> HealthConnectionsAsync(int port)
    {
        try
        {
            using var doc = JsonDocument.Parse(await s_http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/health")));
            return doc.RootElement.GetProperty("streams").GetProperty("connections").GetInt64();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return -1;
        }
    }

    /// <summary>Samples, every 250 ms, the loopback TCP queues (<see cref="TcpDiag"/>) and the server's RSS and threads.</summary>
    private sealed class Sampler
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private readonly int _port;
        private readonly int _serverPid;
        private double _unreadSum;
        private int _samples;

        public Sampler(int port, int serverPid)
        {
            _port = port;
            _serverPid = serverPid;
            _thread = new Thread(Run) { IsBackground = true, Name = "sampler" };
            _thread.Start();
        }

        public long ClientUnreadMax { get; private set; }

        public double ClientUnreadMean => _samples == 0 ? 0 : _unreadSum / _samples;

        public long ServerUnsentMax { get; private set; }

        public long ServerRssMaxKiB { get; private set; }

        public int ServerThreadsMax { get; private set; }

        private void Run()
        {
            using var diag = TcpDiag.TryOpen();
            while (!_stop)
            {
                var sample = diag?.TcpQueues(_port);
                // /proc/net/tcp only where sock_diag is not available: it formats every TCP socket of
                // the machine as text, which at 10 000 connections cost the client ~0.1-0.3 cores.
                var (unread, unsent, _) = sample ?? Proc.TcpQueues(_port);
                ClientUnreadMax = Math.Max(ClientUnreadMax, unread);
                ServerUnsentMax = Math.Max(ServerUnsentMax, unsent);
                _unreadSum += unread;
                _samples++;
                ServerRssMaxKiB = Math.Max(ServerRssMaxKiB, Proc.StatusKiB(_serverPid, "VmRSS"));
                ServerThreadsMax = Math.Max(ServerThreadsMax, Proc.Threads(_serverPid));
                Thread.Sleep(250);
            }
        }

        public Sampler Stop()
        {
            _stop = true;
            _thread.Join();
            return this;
        }
    }
}

internal sealed record FanoutResult
{
    public string Name { get; init; } = "";
    public string Protocol { get; init; } = "sse";
    public string Path { get; init; } = "";
    public string? Query { get; init; }
    public string Mode { get; init; } = "";
    public int Clients { get; init; }
    public double? RateTarget { get; init; }
    public double DurationSeconds { get; init; }
    public int Window { get; init; }
    public int? Inflight { get; init; }
    public long Published { get; init; }
    public double PublishSeconds { get; init; }
    public double PublishRate { get; init; }
    public long PublishOk { get; init; }
    public long PublishFailed { get; init; }
    public string? PublishFirstFailure { get; init; }
    public bool PublishAllAnswered { get; init; }
    public double PublishAnswerWaitSeconds { get; init; }
    public long PublishQueuedSum { get; init; }
    public long PublishQueuedMin { get; init; }
    public double PublishAckP50Ms { get; init; }
    public double PublishAckP99Ms { get; init; }
    public double PublishAckMaxMs { get; init; }
    public double PublisherMaxLagMs { get; init; }
    public long Deliveries { get; init; }
    public long ExpectedDeliveries { get; init; }
    public double DeliverySeconds { get; init; }
    public double DrainSeconds { get; init; }
    public double DeliveriesPerSecond { get; init; }
    public double LatencyP50Ms { get; init; }
    public double LatencyP90Ms { get; init; }
    public double LatencyP99Ms { get; init; }
    public double LatencyP999Ms { get; init; }
    public double LatencyMaxMs { get; init; }
    public double LatencyMeanMs { get; init; }
    public long Lost { get; init; }
    public int ClientsWithLosses { get; init; }
    public long Duplicates { get; init; }
    public long OutOfOrder { get; init; }
    public long IdGaps { get; init; }
    public long Foreign { get; init; }
    public string? FirstForeign { get; init; }
    public long Completes { get; init; }
    public long Disconnects { get; init; }
    public int ClientsDisconnected { get; init; }
    public long StreamsEndedByServer { get; init; }
    public long ConnectErrors { get; init; }
    public int ClientsMissingLast { get; init; }
    public string? FirstClientError { get; init; }
    public double ServerCpuMicrosecondsPerDelivery { get; init; }
    public double ServerCores { get; init; }
    public double ClientCores { get; init; }
    public double ClientCpuMicrosecondsPerDelivery { get; init; }
    public int Processors { get; init; }
    public double MachineBusyCores { get; init; }
    public double OtherCores { get; init; }
    public double ClientUnreadBytesMean { get; init; }
    public double ClientBacklogMs { get; init; }
    public long ClientUnreadBytesMax { get; init; }
    public long ServerUnsentBytesMax { get; init; }
    public long ServerRssKiBBefore { get; init; }
    public long ServerRssKiBPeak { get; init; }
    public long ServerRssKiBAfter { get; init; }
    public int ServerThreadsMax { get; init; }
    public long HealthConnectionsBefore { get; init; }
    public long HealthConnectionsAfter { get; init; }
    public long BytesReceived { get; init; }
    public long Receives { get; init; }
}

internal sealed record IdleResult
{
    public int Clients { get; init; }
    public int Connected { get; init; }
    public double ConnectSeconds { get; init; }
    public int SettleSeconds { get; init; }
    public long HealthConnectionsBefore { get; init; }
    public long HealthConnectionsOpen { get; init; }
    public long HealthConnectionsSettled { get; init; }
    public long HealthConnectionsClosed { get; init; }
    public long ServerRssKiBBefore { get; init; }
    public List<long> ServerRssKiBBeforeSamples { get; init; } = [];
    public List<long> ServerRssKiBSettleSamples { get; init; } = [];
    public long ServerRssKiBAfter { get; init; }
    public double ServerKiBPerConnection { get; init; }
    public long ServerRssKiBAfterMessages { get; init; }
    public double ServerKiBPerConnectionAfterMessages { get; init; }
    public long ServerRssKiBAfterClose { get; init; }
    public double ClientKiBPerConnection { get; init; }
    public long Messages { get; init; }
    public long Deliveries { get; init; }
    public long Lost { get; init; }
    public long Disconnects { get; init; }
    public double OneMessageLatencyP50Ms { get; init; }
    public double OneMessageLatencyP99Ms { get; init; }
    public double OneMessageLatencyMaxMs { get; init; }
}
