using System.Diagnostics;
using System.Text;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// Runs one of the npm clients in <c>tests/js</c> (real EventSource, graphql-sse, graphql-ws and
/// headless Chromium clients) and collects what it prints, line by line.
/// </summary>
public sealed class NodeClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _errors = new();
    private readonly SemaphoreSlim _changed = new(0);

    private NodeClient(Process process)
    {
        _process = process;
    }

    /// <summary>The repository's <c>tests/js</c> folder.</summary>
    public static string ScriptsDirectory { get; } = FindScriptsDirectory();

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public static NodeClient Start(string script, params string[] arguments) => Start(script, new Dictionary<string, string>(), arguments);

    /// <summary>Starts <paramref name="script"/> with <paramref name="environment"/> added to this process's environment.</summary>
    public static NodeClient Start(string script, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = ScriptsDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var client = new NodeClient(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (client._lines)
            {
                client._lines.Add(e.Data);
            }

            client._changed.Release();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (client._errors)
            {
                client._errors.AppendLine(e.Data);
            }
        };
        process.Exited += (_, _) => client._changed.Release();
        if (!process.Start())
        {
            throw new InvalidOperationException("node did not start; install Node.js and run 'npm ci' in tests/js");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return client;
    }

    /// <summary>Waits for a printed line that satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (Lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (_process.HasExited && !Lines.Any(match))
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The client exited ({_process.ExitCode}) first.\nstdout:\n{string.Join('\n', Lines)}\nstderr:\n{Errors}");
            }

            try
            {
                await _changed.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out.\nstdout:\n{string.Join('\n', Lines)}\nstderr:\n{Errors}");
            }
        }
    }

    /// <summary>Waits for the client to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(cancel.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public string Output => string.Join('\n', Lines);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _changed.Dispose();
    }

    private static string FindScriptsDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AiWebEngine.sln")))
            {
                return Path.Combine(directory.FullName, "tests", "js");
            }
        }

        throw new InvalidOperationException("AiWebEngine.sln not found above " + AppContext.BaseDirectory);
    }
}
