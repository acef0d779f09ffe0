using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// A redis-server process of the test's own, on a free loopback port, with no persistence (a restart
/// loses everything, as the fault tests want). It can be stopped and started again on the same port;
/// disposing it always kills it and deletes its directory.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _executable;
    private readonly string _directory;
    private Process? _process;

    private RedisServer(string executable, int port)
    {
        _executable = executable;
        Port = port;
        _directory = Directory.CreateTempSubdirectory("aiwebengine-redis-").FullName;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis connection string of this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Starts a server; fails (never skips) when redis-server is not installed.</summary>
    public static async Task<RedisServer> StartAsync()
    {
        // ./test exports the one it found or installed; the usual Debian places otherwise.
        var executable = new[] { Environment.GetEnvironmentVariable("AIWEBENGINE_REDIS_SERVER"), "/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server" }
            .FirstOrDefault(path => !string.IsNullOrEmpty(path) && File.Exists(path))
            ?? throw new InvalidOperationException("redis-server is not installed: the cluster tests need it (./test installs it, or: apt-get install -y redis-server).");
        var server = new RedisServer(executable, FreePort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the (stopped) server again on the same port, empty.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--protected-mode", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await PingAsync())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port} (exit code {(_process.HasExited ? _process.ExitCode : "none")}).");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Kills the server (as a crash would) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Runs one command (inline syntax) and returns the raw reply.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"));
        var reply = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (!IsComplete(reply.GetBuffer().AsSpan(0, (int)reply.Length)))
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            reply.Write(buffer, 0, read);
        }

        return Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length);
    }

    /// <summary>Whether a RESP reply is complete: one line, or for a bulk string (<c>$n</c>) its n bytes too.</summary>
    private static bool IsComplete(ReadOnlySpan<byte> reply)
    {
        var end = reply.IndexOf("\r\n"u8);
        if (end < 0)
        {
            return false;
        }

        if (reply[0] != (byte)'$' || !int.TryParse(reply[1..end], out var length) || length < 0)
        {
            return true;
        }

        return reply.Length >= end + 2 + length + 2;
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            return (await CommandAsync("PING")).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
