using System.Net;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Scripting;

public sealed class ScriptFailureTests : IAsyncLifetime
{
    private const string Script = """
        register("/throws", function () {
          throw new Error("database is on fire");
        });
        register("/number", () => 42);
        register("/status", () => ({ status: 700 }));
        register("/status-text", () => ({ status: "200" }));
        register("/headers", () => ({ headers: "x" }));
        register("/rejects", async () => { throw new TypeError("async trouble"); });
        register("/undefined", () => undefined);
        register("/throws-string", () => { throw "plain string"; });
        """;

    private EngineHost _host = null!;

    public async Task InitializeAsync() => _host = await EngineHost.StartAsync(new Dictionary<string, string> { ["failing.js"] = Script });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ThrowingHandler_Gets500_WithTheMessageScriptAndLine()
    {
        var response = await _host.Client.GetAsync("/throws");

        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
        var details = error.GetProperty("details");
        Assert.Equal("database is on fire", details.GetProperty("message").GetString());
        Assert.Equal("failing.js", details.GetProperty("script").GetString());
        Assert.Equal(2, details.GetProperty("line").GetInt32());
        var requestId = error.GetProperty("requestId").GetString()!;
        Assert.Contains(_host.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("failing.js", StringComparison.Ordinal) && l.Message.Contains(requestId, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/number", "a handler must return an object such as { status: 200, body: \"...\" }, got number 42")]
    [InlineData("/undefined", "a handler must return an object such as { status: 200, body: \"...\" }, got undefined")]
    [InlineData("/status", "a handler returned status number 700; status must be an integer from 200 to 599")]
    [InlineData("/status-text", "a handler returned status \"200\"; status must be an integer from 200 to 599")]
    [InlineData("/headers", "a handler returned headers \"x\"; headers must be an object of strings")]
    [InlineData("/rejects", "TypeError: async trouble")]
    [InlineData("/throws-string", "plain string")]
    public async Task BadHandlerResult_Gets500_WithAClearMessage(string path, string message)
    {
        var error = await HttpAssert.ErrorAsync(await _host.Client.GetAsync(path), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        Assert.Equal(message, error.GetProperty("details").GetProperty("message").GetString());
    }

    [Fact]
    public async Task FailedCall_LeavesTheScriptServing()
    {
        await _host.Client.GetAsync("/throws");

        var change = await _host.WriteScriptAsync("other.js", """register("/other", () => ({ body: "fine" }));""");

        Assert.Equal(ScriptChangeKind.Inserted, change.Kind);
        Assert.Equal("fine", await HttpAssert.TextAsync(await _host.Client.GetAsync("/other")));
        await HttpAssert.ErrorAsync(await _host.Client.GetAsync("/throws"), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
    }
}
