using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// The engine as a child process of its own (<c>dotnet AiWebEngine.dll</c>, the build next to the
/// tests), on a free loopback port, for what an in-process host cannot do: die by <c>SIGKILL</c>, with
/// no shutdown code run. Disposing it kills it if it still runs.
/// </summary>
public sealed class EngineProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private EngineProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        // No draining of an abandoned response body: closing an endless event stream returns at once.
        Client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = baseAddress };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>What the process printed so far (the last 64 KiB), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the engine on <paramref name="scriptsDirectory"/> with <paramref name="settings"/> as
    /// command-line configuration, and waits until <c>/health/ready</c> is 200 with nothing degraded.
    /// </summary>
    public static async Task<EngineProcess> StartAsync(string scriptsDirectory, IReadOnlyDictionary<string, string?> settings)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = scriptsDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AiWebEngine.dll"));
        start.ArgumentList.Add("--scripts");
        start.ArgumentList.Add(scriptsDirectory);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        // As in EngineHost: the tests' many loopback connections are past the per-client rate limits.
        start.ArgumentList.Add("--AiWebEngine:RateLimits:Enabled=false");
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var engine = new EngineProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await engine.ReadyAsync())
        {
            if (engine._process.HasExited || DateTime.UtcNow > deadline)
            {
                var output = engine.Output;
                await engine.DisposeAsync();
                throw new InvalidOperationException($"the engine process did not become ready on port {port}:\n{output}");
            }

            await Task.Delay(100);
        }

        return engine;
    }

    /// <summary>Kills the process with <c>SIGKILL</c> (no shutdown runs, its sockets are closed by the kernel) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            // Process.Kill is SIGKILL on Unix.
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    private async Task<bool> ReadyAsync()
    {
        try
        {
            using var response = await Client.GetAsync("/health/ready");
            var body = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.OK && !body.Contains("Degraded", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            if (_output.Length > 64 * 1024)
            {
                _output.Remove(0, _output.Length - (64 * 1024));
            }
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
        Client.Dispose();
        await KillAsync();
        _process.Dispose();
    }
}
