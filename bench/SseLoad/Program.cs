using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SseLoad;

// SseLoad: the load client of bench/streams.sh.
//
//   SseLoad fanout --port P --server-pid PID --clients N --mode fixed|open|closed [--rate 100] [--duration 10] --name S --out F.json
//   SseLoad idle   --port P --server-pid PID --clients 10000 [--settle 5] --out F.json
//   SseLoad quiet  --server-pid PID [--max-wait 30] [--threshold 0.25]   waits until other processes are idle
//   SseLoad port                                                       prints a free loopback port
//   SseLoad report --out streams.md --machine "…" --dotnet "…" F.json…
//   SseLoad reload --port P --file F --template "…VERSION…" --out F.json   script change → new version serving
//   SseLoad compare --engine DIR --peer DIR --out summary.md --chart chart.png   engine and peer side by side
//
// fanout and idle: --io uring (default; SSELOAD_IO in the environment) reads the clients' sockets on
// --pollers N (1) io_uring threads (multishot receives into provided buffers; epoll when io_uring is
// unavailable); --io epoll on N dedicated epoll threads; --io async uses one Socket.ReceiveAsync per read.
// Every command stops by itself: --deadline (seconds, default 120) ends the process whatever happens.
var options = Options.Parse(args);
if (options.Command is "fanout" or "idle" && Scenarios.Io(options) == "async")
{
    // --io async: socket completions run their continuations on .NET's epoll threads (one per CPU)
    // instead of being queued to the thread pool: the receive loops never block. Read by
    // System.Net.Sockets when its first socket is created, so it must be set before that.
    // (--io epoll reads the clients' sockets on threads of its own; see EpollPoller.)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var deadline = options.Int("deadline", 120);
var watchdog = new Thread(() =>
{
    Thread.Sleep(TimeSpan.FromSeconds(deadline));
    Console.Error.WriteLine($"[sseload] deadline of {deadline} s reached; exiting");
    Environment.Exit(3);
}) { IsBackground = true };
watchdog.Start();

try
{
    return options.Command switch
    {
        "fanout" => Scenarios.Fanout(options),
        "idle" => Scenarios.Idle(options),
        "quiet" => Scenarios.Quiet(options),
        "port" => FreePort(),
        "report" => Report.Write(options),
        "reload" => Reload.Run(options),
        "compare" => Compare.Write(options),
        _ => Usage(),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"[sseload] failed: {e}");
    return 1;
}

// A loopback port that is free now (the caller starts the server on it).
static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    Console.WriteLine(((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: SseLoad fanout|idle|quiet|port|report --option value … (see bench/streams.sh)");
    return 2;
}

namespace SseLoad
{
    internal sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public string Command { get; private set; } = "";

        public List<string> Positional { get; } = [];

        public static Options Parse(string[] args)
        {
            var options = new Options { Command = args.Length > 0 ? args[0] : "" };
            for (var i = 1; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                {
                    options._values[args[i][2..]] = args[++i];
                }
                else
                {
                    options.Positional.Add(args[i]);
                }
            }

            return options;
        }

        public string String(string key, string? fallback = null) =>
            _values.TryGetValue(key, out var value) ? value
            : fallback ?? throw new ArgumentException($"--{key} is required");

        public int Int(string key, int? fallback = null) =>
            _values.TryGetValue(key, out var value) ? int.Parse(value, CultureInfo.InvariantCulture)
            : fallback ?? throw new ArgumentException($"--{key} is required");

        public double Double(string key, double fallback) =>
            _values.TryGetValue(key, out var value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

        public bool Bool(string key, bool fallback) =>
            _values.TryGetValue(key, out var value) ? bool.Parse(value) : fallback;
    }

    internal static class Log
    {
        public static void Write(string message) =>
            Console.Error.WriteLine($"[sseload {DateTime.Now:HH:mm:ss.fff}] {message}");
    }

    internal static class Json
    {
        public static readonly JsonSerializerOptions Options = new() { WriteIndented = true };
    }
}
