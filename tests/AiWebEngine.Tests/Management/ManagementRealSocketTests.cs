using System.Net;
using System.Net.Sockets;
using System.Text;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Management;

/// <summary>
/// The attacks on the management API over a real Kestrel socket on 127.0.0.1, where <c>Host</c>,
/// <c>Origin</c> and the remote address are what a browser on this machine would send.
/// </summary>
public sealed class ManagementRealSocketTests
{
    private const string Pwn = "register('/pwned', () => ({ body: 'pwned' }));";

    [Fact]
    public async Task DnsRebindingPage_CannotUploadAScript_WithoutToken()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);
        using var request = new HttpRequestMessage(HttpMethod.Put, "/engine/scripts/pwn.js") { Content = new StringContent(Pwn) };
        // What the page's fetch sends once attacker.example resolves to 127.0.0.1: its own name, a same-origin Origin.
        request.Headers.Host = $"attacker.example:{host.BaseAddress.Port}";
        request.Headers.Add("Origin", $"http://attacker.example:{host.BaseAddress.Port}");

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "pwn.js")));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/pwned"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task DnsRebindingPage_CannotReadTheManagementStreams_OrMetrics()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);

        foreach (var path in new[] { "/engine/logs/stream", "/engine/script-updates", "/metrics" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "attacker.example";
            await HttpAssert.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "FORBIDDEN");
        }
    }

    [Fact]
    public async Task LocalClient_AddressingLocalhost_UploadsAndTheRouteServes()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);
        using var request = new HttpRequestMessage(HttpMethod.Put, "/engine/scripts/ok.js") { Content = new StringContent("register('/ok', () => ({ body: 'ok' }));") };
        request.Headers.Host = $"localhost:{host.BaseAddress.Port}";

        await HttpAssert.JsonAsync(await host.Client.SendAsync(request), HttpStatusCode.Created);

        Assert.Equal("ok", await HttpAssert.TextAsync(await host.Client.GetAsync("/ok")));
    }

    [Fact]
    public async Task CrossSitePage_CannotUploadAScript_ToLocalhost()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);
        using var request = new HttpRequestMessage(HttpMethod.Put, "/engine/scripts/pwn.js") { Content = new StringContent(Pwn) };
        request.Headers.Host = $"localhost:{host.BaseAddress.Port}";
        request.Headers.Add("Origin", "http://evil.example");
        request.Headers.Add("Sec-Fetch-Site", "cross-site");

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "FORBIDDEN");

        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "pwn.js")));
    }

    [Fact]
    public async Task RequestWithoutHost_IsRefused_WithoutToken()
    {
        // HTTP/1.0 may leave Host out; no browser does, and without a name there is nothing to judge.
        await using var host = await EngineHost.StartAsync(kestrel: true);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /engine/scripts HTTP/1.0\r\n\r\n"));

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("HTTP/1.1 403", response, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"FORBIDDEN\"", response, StringComparison.Ordinal);
    }
}
