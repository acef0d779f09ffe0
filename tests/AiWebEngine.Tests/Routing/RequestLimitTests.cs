using System.Net;
using System.Text;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Routing;

public sealed class RequestLimitTests
{
    private const string Echo = """register("/echo", (req) => ({ body: String(req.body.length) }), "POST");""";

    [Fact]
    public async Task Body_OverTheDefaultOneMiB_Gets413()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["echo.js"] = Echo });

        var exactly = await host.Client.PostAsync("/echo", new ByteArrayContent(Encoding.ASCII.GetBytes(new string('a', 1024 * 1024))));
        var over = await host.Client.PostAsync("/echo", new ByteArrayContent(new byte[(1024 * 1024) + 1]));

        Assert.Equal((1024 * 1024).ToString(), await HttpAssert.TextAsync(exactly));
        var error = await HttpAssert.ErrorAsync(over, HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
        Assert.Contains("1048576 bytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_OverAConfiguredLimit_Gets413_EvenWhenChunked()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["echo.js"] = Echo },
            new Dictionary<string, string?> { ["AiWebEngine:Http:MaxRequestBodyBytes"] = "100" });
        var chunked = new StreamContent(new MemoryStream(new byte[101]));
        chunked.Headers.ContentLength = null;

        var over = await host.Client.PostAsync("/echo", chunked);
        var under = await host.Client.PostAsync("/echo", new ByteArrayContent(new byte[100]));

        await HttpAssert.ErrorAsync(over, HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
        Assert.Equal("100", await HttpAssert.TextAsync(under));
    }
}
