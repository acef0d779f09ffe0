using System.Collections.Concurrent;
using AiWebEngine.Scripting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// The real application (Program) on a temporary scripts directory, in-process on TestServer or,
/// with <c>kestrel: true</c>, on a real loopback socket.
/// </summary>
public sealed class EngineHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly ConcurrentQueue<ScriptChange> _changes = new();
    private readonly bool _ownsDirectory;
    private event Action<ScriptChange>? ChangeSeen;

    private EngineHost(string scriptsDirectory, bool ownsDirectory, WebApplicationFactory<Program> factory, LogCapture logs)
    {
        ScriptsDirectory = scriptsDirectory;
        _ownsDirectory = ownsDirectory;
        _factory = factory;
        Logs = logs;
    }

    public string ScriptsDirectory { get; }

    public LogCapture Logs { get; }

    public IServiceProvider Services => _factory.Services;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The server's base address (a loopback URL when hosted on Kestrel).</summary>
    public Uri BaseAddress => Client.BaseAddress!;

    /// <summary>A WebSocket client for the in-process server (not for a Kestrel host).</summary>
    public WebSocketClient CreateWebSocketClient() => _factory.Server.CreateWebSocketClient();

    internal ScriptManager Scripts => Services.GetRequiredService<ScriptManager>();

    /// <summary>The repository root (where AiWebEngine.sln is).</summary>
    public static string RepositoryRoot { get; } = Path.GetDirectoryName(NodeClient.ScriptsDirectory.TrimEnd('/'))![..^"/tests".Length];

    /// <summary>Starts the engine on a copy of the repository's <c>samples/</c>.</summary>
    public static Task<EngineHost> StartWithSamplesAsync(bool kestrel = false, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var samples = Path.Combine(RepositoryRoot, "samples");
        var scripts = Directory.EnumerateFiles(samples, "*.js", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(samples, f), File.ReadAllText);
        return StartAsync(scripts, settings, kestrel: kestrel);
    }

    public static async Task<EngineHost> StartAsync(
        IReadOnlyDictionary<string, string>? scripts = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        bool kestrel = false,
        TimeProvider? time = null,
        Action<IServiceCollection>? services = null,
        int port = 0,
        string? scriptsDirectory = null,
        TestTransport? transport = null)
    {
        // A transport other than plain HTTP/1.1 is a Kestrel host with its own endpoint.
        kestrel |= transport is not null;
        // A given directory (a server restarted on the same scripts) belongs to the caller: it is kept on dispose.
        var directory = scriptsDirectory ?? Directory.CreateTempSubdirectory("aiwebengine-test-").FullName;
        foreach (var (uri, source) in scripts ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(directory, uri);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, source);
        }

        var logs = new LogCapture();
        var configuration = new Dictionary<string, string?>
        {
            ["AiWebEngine:Scripts:Path"] = directory,
            ["AiWebEngine:Scripts:ReloadDebounce"] = "00:00:00.050",
            ["Logging:LogLevel:AiWebEngine"] = "Debug",
            // Script storage of this host's own (a test that restarts a server passes the same directory).
            ["AiWebEngine:Storage:Directory"] = directory + "-data",
        };
        // Tests open hundreds of connections from one loopback address, far past the per-client
        // defaults: limits are off unless a test configures them (the rate-limit tests do).
        if (settings?.Keys.Any(k => k.StartsWith("AiWebEngine:RateLimits", StringComparison.Ordinal)) != true)
        {
            configuration["AiWebEngine:RateLimits:Enabled"] = "false";
        }

        if (kestrel)
        {
            configuration["Urls"] = $"http://127.0.0.1:{port}";
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(configuration));
            builder.ConfigureLogging(logging => logging.AddProvider(logs));
            if (time is not null)
            {
                builder.ConfigureTestServices(s => s.AddSingleton(time));
            }

            if (services is not null)
            {
                builder.ConfigureTestServices(services);
            }
        });
        if (transport is { } listen)
        {
            factory.UseKestrel(options => TestTransports.Listen(options, listen, port));
        }
        else if (kestrel)
        {
            factory.UseKestrel(port);
        }

        var host = new EngineHost(directory, scriptsDirectory is null, factory, logs);
        host.Client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (kestrel)
        {
            var address = factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            host.Client.Dispose();
            // No draining of an abandoned response body: closing an endless event stream returns at once.
            host.Client = TestTransports.Client(new Uri(address), transport ?? TestTransport.Http11);
        }

        host.Scripts.Changed += host.OnChanged;
        await host.Services.GetRequiredService<ScriptDirectory>().InitialLoad.WaitAsync(TimeSpan.FromSeconds(30));
        return host;
    }

    private void OnChanged(ScriptChange change)
    {
        _changes.Enqueue(change);
        ChangeSeen?.Invoke(change);
    }

    /// <summary>Writes a script file and waits until the engine has loaded (or failed to load) it.</summary>
    public async Task<ScriptChange> WriteScriptAsync(string uri, string source)
    {
        var path = Path.Combine(ScriptsDirectory, uri);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // A previous write can still have a late file event on its way (editors and File.WriteAllText
        // write in steps); let it land first so that the change awaited below is this write's.
        await Task.Delay(200);
        return await WaitForChangeAsync(uri, () => File.WriteAllText(path, source));
    }

    /// <summary>Deletes a script file and waits until the engine has unloaded it.</summary>
    public Task<ScriptChange> DeleteScriptAsync(string uri) =>
        WaitForChangeAsync(uri, () => File.Delete(Path.Combine(ScriptsDirectory, uri)));

    /// <summary>Runs <paramref name="act"/> and waits for the next change of <paramref name="uri"/>.</summary>
    public async Task<ScriptChange> WaitForChangeAsync(string uri, Action act)
    {
        var seen = new TaskCompletionSource<ScriptChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(ScriptChange change)
        {
            if (change.Uri == uri)
            {
                seen.TrySetResult(change);
            }
        }

        ChangeSeen += Handler;
        try
        {
            act();
            return await seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            ChangeSeen -= Handler;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(ScriptsDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}
