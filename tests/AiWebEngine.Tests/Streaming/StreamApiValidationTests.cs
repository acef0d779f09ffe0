using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Streaming;

public sealed class StreamApiValidationTests : IAsyncLifetime
{
    private const string Script = """
        const errors = {};
        function attempt(name, f) { try { const r = f(); errors[name] = r === undefined ? null : r; } catch (e) { errors[name] = "Error: " + e.message; } }
        registerWebStream("/mine");
        attempt("pathType", () => registerWebStream(5));
        attempt("noSlash", () => registerWebStream("events"));
        attempt("dots", () => registerWebStream("/a..b"));
        attempt("backslash", () => registerWebStream("/a\\b"));
        attempt("trailingSlash", () => registerWebStream("/a/"));
        attempt("emptySegment", () => registerWebStream("/a//b"));
        attempt("graphql", () => registerWebStream("/graphql/mine"));
        attempt("tooLong", () => registerWebStream("/" + "x".repeat(200)));
        attempt("taken", () => registerWebStream("/theirs"));
        attempt("routeTaken", () => registerWebStream("/their-route"));
        attempt("again", () => registerWebStream("/mine"));
        attempt("sendNumber", () => sendStreamMessage(42));
        attempt("sendNull", () => sendStreamMessage(null));
        attempt("sendUndefined", () => sendStreamMessage());
        attempt("sendFunction", () => sendStreamMessage(() => 1));
        attempt("sendBoolean", () => sendStreamMessage(true));
        attempt("sendCircular", () => { const a = {}; a.self = a; return sendStreamMessage(a); });
        attempt("sendOk", () => sendStreamMessage({ ok: true }));
        attempt("toPathUnknown", () => sendStreamMessageToPath("/nowhere", "x"));
        attempt("toPathType", () => sendStreamMessageToPath(null, "x"));
        attempt("toPathFilter", () => sendStreamMessageToPath("/mine", "x", "room=1"));
        attempt("toPathFilterValue", () => sendStreamMessageToPath("/mine", "x", { room: {} }));
        attempt("toPathOthers", () => sendStreamMessageToPath("/theirs", "x", { room: 1 }));
        attempt("tooBig", () => sendStreamMessage("x".repeat(1024 * 1024 + 1)));
        attempt("bigOk", () => sendStreamMessage("x".repeat(1024 * 1024)));
        attempt("routeOnStream", () => register("/mine", () => ({}), "POST"));
        register("/errors", () => ({ body: errors }));
        """;

    private EngineHost _host = null!;
    private JsonElement _errors;

    public async Task InitializeAsync()
    {
        _host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["a-theirs.js"] = """registerWebStream("/theirs"); register("/their-route", () => ({}), "PUT");""",
            ["b-mine.js"] = Script,
        });
        _errors = await HttpAssert.JsonAsync(await _host.Client.GetAsync("/errors"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("pathType", "registerWebStream: path must be a string starting with '/', got number 5")]
    [InlineData("noSlash", "registerWebStream: path must start with '/', got 'events'")]
    [InlineData("dots", "registerWebStream: path '/a..b' contains '..'")]
    [InlineData("backslash", "registerWebStream: path '/a\\b' contains '\\'; whitespace, control characters, '?', '#' and '\\' are not allowed")]
    [InlineData("trailingSlash", "registerWebStream: path '/a/' has an empty segment ('//' or a trailing '/')")]
    [InlineData("emptySegment", "registerWebStream: path '/a//b' has an empty segment ('//' or a trailing '/')")]
    [InlineData("graphql", "registerWebStream: path '/graphql/mine' is under '/graphql', which is reserved for the engine")]
    [InlineData("tooLong", "registerWebStream: path is 201 characters; the limit is 200")]
    [InlineData("taken", "registerWebStream: stream /theirs is already registered by a-theirs.js")]
    [InlineData("routeTaken", "registerWebStream: /their-route is already a route (PUT /their-route, registered by a-theirs.js); a stream needs a path of its own")]
    [InlineData("sendNumber", "sendStreamMessage: data must be an object, an array or a string, got number 42")]
    [InlineData("sendNull", "sendStreamMessage: data must be an object, an array or a string, got null")]
    [InlineData("sendUndefined", "sendStreamMessage: data must be an object, an array or a string, got undefined")]
    [InlineData("sendFunction", "sendStreamMessage: data must be an object, an array or a string, got a function")]
    [InlineData("sendBoolean", "sendStreamMessage: data must be an object, an array or a string, got boolean true")]
    [InlineData("toPathUnknown", "sendStreamMessageToPath: no stream is registered at '/nowhere'; call registerWebStream(\"/nowhere\") first")]
    [InlineData("toPathType", "sendStreamMessageToPath: path must be a string starting with '/', got null")]
    [InlineData("toPathFilter", "sendStreamMessageToPath: filter must be an object of metadata values such as { room: \"general\" }, got \"room=1\"")]
    [InlineData("toPathFilterValue", "sendStreamMessageToPath: filter.room must be a string, number or boolean, got an object")]
    [InlineData("tooBig", "sendStreamMessage: the message is 1048577 bytes; the limit is 1048576 bytes (AiWebEngine:Streams:MaxMessageBytes)")]
    [InlineData("routeOnStream", "register: /mine is a stream path (registered by b-mine.js); a stream answers GET only, so no route may use its path")]
    public void StreamFunction_ThrowsAClearError_OnBadInput(string attempt, string message)
    {
        Assert.Equal("Error: " + message, _errors.GetProperty(attempt).GetString());
    }

    [Fact]
    public void SendCircular_ThrowsNamingJson()
    {
        Assert.StartsWith("Error: sendStreamMessage: data cannot be serialized as JSON:", _errors.GetProperty("sendCircular").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("again")]
    [InlineData("sendOk")]
    [InlineData("toPathOthers")]
    [InlineData("bigOk")]
    public void StreamFunction_AcceptsValidInput_ReturningAClientCount(string attempt)
    {
        var value = _errors.GetProperty(attempt);
        Assert.True(value.ValueKind is JsonValueKind.Number or JsonValueKind.Undefined or JsonValueKind.Null || !value.GetString()!.StartsWith("Error", StringComparison.Ordinal), value.ToString());
    }

    [Fact]
    public async Task ConflictingStream_FailsTheLoad_AndKeepsThePreviousVersion()
    {
        var change = await _host.WriteScriptAsync("c-thief.js", """registerWebStream("/theirs");""");

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Equal("registerWebStream: stream /theirs is already registered by a-theirs.js", change.Error);
    }
}
