using AiWebEngine.Cli;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Cli;

public sealed class DeployCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("aiwebengine-deploy-").FullName;
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string WriteFile(string name, string source)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, source);
        return path;
    }

    private Task<int> RunAsync(params string[] args) => EngineCommandLine.InvokeAsync(args, _output, _error);

    [Fact]
    public async Task Deploy_PutsTheFileWithTheBearerToken_AndPrintsSuccess()
    {
        await using var server = await FakeScriptsEndpoint.StartAsync(token: "s3cret");
        var file = WriteFile("hello.js", "register('/hello', () => ({ body: 'hi' }));");

        var exit = await RunAsync("deploy", file, "--uri", "api/hello.js", "--server", server.Address.ToString(), "--token", "s3cret");

        Assert.Equal(0, exit);
        var upload = Assert.Single(server.Uploads);
        Assert.Equal(new FakeScriptsEndpoint.Upload("api/hello.js", "register('/hello', () => ({ body: 'hi' }));", "Bearer s3cret"), upload);
        Assert.Contains("Deployed api/hello.js to", _output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", _error.ToString());
    }

    [Fact]
    public async Task Deploy_PrintsTheErrorWithItsLine_AndFails_WhenTheScriptDoesNotLoad()
    {
        await using var server = await FakeScriptsEndpoint.StartAsync();
        var file = WriteFile("bad.js", "let a = 1;\nthrow new Error('boom');\n");

        var exit = await RunAsync("deploy", file, "--server", server.Address.ToString());

        Assert.Equal(1, exit);
        Assert.Equal("bad.js", Assert.Single(server.Uploads).Uri);
        Assert.Equal($"{file}:2: error SCRIPT_LOAD_FAILED: Error: boom (422 UnprocessableEntity)\n", _error.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Deploy_AgainstTheRealServer_ServesTheScript_OrPrintsItsLoadErrorWithTheLine()
    {
        const string Token = "a-real-admin-token-1234";
        await using var host = await EngineHost.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:Admin:Token"] = Token }, kestrel: true);
        var good = WriteFile("greet.js", "register('/greet', () => ({ body: 'deployed' }));");
        var bad = WriteFile("broken.js", "let a = 1;\nthrow new Error('boom');\n");

        var deployed = await RunAsync("deploy", good, "--uri", "api/greet.js", "--server", host.BaseAddress.ToString(), "--token", Token);
        var failed = await RunAsync("deploy", bad, "--server", host.BaseAddress.ToString(), "--token", Token);

        Assert.Equal(0, deployed);
        Assert.Equal("deployed", await host.Client.GetStringAsync("/greet"));
        Assert.True(File.Exists(Path.Combine(host.ScriptsDirectory, "api", "greet.js")));
        Assert.Equal(1, failed);
        Assert.Contains($"{bad}:2: error SCRIPT_LOAD_FAILED:", _error.ToString(), StringComparison.Ordinal);
        Assert.Contains("boom", _error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "broken.js")));
    }

    [Fact]
    public async Task Deploy_WithoutAToken_ToTheRealServerOnLoopback_ServesTheScript()
    {
        // No token: the server judges the Host the deployer sends (that of --server), which names loopback.
        await using var host = await EngineHost.StartAsync(kestrel: true);
        var good = WriteFile("greet.js", "register('/greet', () => ({ body: 'deployed' }));");
        var other = WriteFile("other.js", "register('/other', () => ({ body: 'via localhost' }));");

        var viaAddress = await RunAsync("deploy", good, "--server", host.BaseAddress.ToString());
        var viaLocalhost = await RunAsync("deploy", other, "--server", $"http://localhost:{host.BaseAddress.Port}");

        Assert.True(viaAddress == 0 && viaLocalhost == 0, _error.ToString());
        Assert.Equal("deployed", await host.Client.GetStringAsync("/greet"));
        Assert.Equal("via localhost", await host.Client.GetStringAsync("/other"));
    }

    [Fact]
    public async Task Deploy_PrintsTheAuthError_WhenTheTokenIsMissing()
    {
        await using var server = await FakeScriptsEndpoint.StartAsync(token: "s3cret");
        var file = WriteFile("hello.js", "1;");

        var exit = await RunAsync("deploy", file, "--server", server.Address.ToString());

        Assert.Equal(1, exit);
        Assert.Contains("error UNAUTHORIZED: missing or wrong token (401 Unauthorized)", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_SaysTheServerCannotBeReached_WhenNothingListens()
    {
        int port;
        await using (var gone = await FakeScriptsEndpoint.StartAsync())
        {
            port = gone.Address.Port;
        }

        var exit = await RunAsync("deploy", WriteFile("hello.js", "1;"), "--server", $"http://127.0.0.1:{port}");

        Assert.Equal(1, exit);
        Assert.Contains($"error: cannot reach http://127.0.0.1:{port}/", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeployWatch_UploadsEverySave_AndCatchesUpAfterTheServerRestarts()
    {
        var file = WriteFile("live.js", "// v1");
        var server = await FakeScriptsEndpoint.StartAsync();
        var uploads = server.Uploads;
        var port = server.Address.Port;
        using var http = new HttpClient();
        var deployer = new ScriptDeployer(file, "live.js", new ScriptUpload(http, server.Address, null), _output, _error)
        {
            Debounce = TimeSpan.FromMilliseconds(50),
            RetryInterval = TimeSpan.FromMilliseconds(100),
        };
        using var stop = new CancellationTokenSource();
        var watch = deployer.WatchAsync(stop.Token);

        try
        {
            await WaitForAsync(() => uploads.Any(u => u.Body == "// v1"));
            await File.WriteAllTextAsync(file, "// v2");
            await WaitForAsync(() => uploads.Any(u => u.Body == "// v2"));

            // The server goes away; a save made meanwhile reaches it when it is back on the same port.
            await server.DisposeAsync();
            await File.WriteAllTextAsync(file, "// v3");
            await WaitForAsync(() => _error.ToString().Contains("retrying until it is back", StringComparison.Ordinal));
            server = await FakeScriptsEndpoint.StartAsync(port: port, uploads: uploads);
            await WaitForAsync(() => uploads.Any(u => u.Body == "// v3"));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(10)));
            await server.DisposeAsync();
        }

        Assert.Contains("Watching", _output.ToString(), StringComparison.Ordinal);
    }

    private async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out; output:\n{_output}\nerrors:\n{_error}");
            await Task.Delay(25);
        }
    }
}
