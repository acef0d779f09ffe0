using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Scripting;

public sealed class ScriptApiValidationTests : IAsyncLifetime
{
    // Each attempt records the message the API threw, so one request shows them all.
    private const string Script = """
        const errors = {};
        function attempt(name, f) { try { f(); errors[name] = null; } catch (e) { errors[name] = (e instanceof Error ? "Error: " : "") + e.message; } }
        function h() { return { body: "ok" }; }
        attempt("noSlash", () => register("hello", "h"));
        attempt("notString", () => register(42, "h"));
        attempt("tooLong", () => register("/" + "a".repeat(200), "h"));
        attempt("badMethod", () => register("/x", "h", "TRACE"));
        attempt("methodType", () => register("/x", "h", 5));
        attempt("handlerType", () => register("/x", 17));
        attempt("handlerMissing", () => register("/x"));
        attempt("emptyHandler", () => register("/x", ""));
        attempt("reserved", () => register("/graphql/mine", "h"));
        attempt("reservedHealth", () => register("/health", "h"));
        attempt("badParam", () => register("/users/{id-x}", "h"));
        attempt("starInMiddle", () => register("/a/*/b", "h"));
        attempt("query", () => register("/a?b=1", "h"));
        attempt("space", () => register("/a b", "h"));
        attempt("dotdot", () => register("/a/../b", "h"));
        attempt("emptySegment", () => register("/a//b", "h"));
        attempt("taken", () => register("/owned", "h"));
        attempt("takenOtherName", () => register("/things/{other}", "h", "post"));
        attempt("writeLogNothing", () => writeLog());
        attempt("writeLogNull", () => writeLog(null));
        attempt("ownTwice", () => { register("/twice", "h"); register("/twice", "h"); });
        attempt("lowercaseMethod", () => register("/lower", "h", "delete"));
        register("/errors", () => ({ body: errors }));
        """;

    private const string Owner = """
        register("/owned", () => ({ body: "owner" }));
        register("/things/{id}", () => ({ body: "thing" }), "POST");
        """;

    private EngineHost _host = null!;
    private JsonElement _errors;

    public async Task InitializeAsync()
    {
        _host = await EngineHost.StartAsync(new Dictionary<string, string> { ["a-owner.js"] = Owner, ["b-validation.js"] = Script });
        _errors = await HttpAssert.JsonAsync(await _host.Client.GetAsync("/errors"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("noSlash", "register: path must start with '/', got 'hello'")]
    [InlineData("notString", "register: path must be a string starting with '/', got number 42")]
    [InlineData("tooLong", "register: path is 201 characters; the limit is 200")]
    [InlineData("badMethod", "register: method 'TRACE' is not supported; use GET, POST, PUT, DELETE or PATCH")]
    [InlineData("methodType", "register: method must be a string (GET, POST, PUT, DELETE or PATCH), got number 5")]
    [InlineData("handlerType", "register: handler must be the name of a global function or a function, got number 17")]
    [InlineData("handlerMissing", "register: handler must be the name of a global function or a function, got undefined")]
    [InlineData("emptyHandler", "register: handler must be the name of a global function or a function, got \"\"")]
    [InlineData("reserved", "register: path '/graphql/mine' is under '/graphql', which is reserved for the engine")]
    [InlineData("reservedHealth", "register: path '/health' is under '/health', which is reserved for the engine")]
    [InlineData("badParam", "register: path '/users/{id-x}' has segment '{id-x}'; a parameter segment is '{name}' with a name of letters, digits and '_'")]
    [InlineData("starInMiddle", "register: path '/a/*/b' has '*' before its last segment; '/*' may only end a path")]
    [InlineData("query", "register: path '/a?b=1' contains '?'; whitespace, control characters, '?', '#' and '\\' are not allowed")]
    [InlineData("space", "register: path '/a b' contains character U+0020; whitespace, control characters, '?', '#' and '\\' are not allowed")]
    [InlineData("dotdot", "register: path '/a/../b' contains a '.' or '..' segment")]
    [InlineData("emptySegment", "register: path '/a//b' has an empty segment ('//' or a trailing '/')")]
    [InlineData("taken", "register: GET /owned is already registered by a-owner.js")]
    [InlineData("takenOtherName", "register: POST /things/{other} is already registered by a-owner.js")]
    [InlineData("writeLogNothing", "writeLog: message is required, got undefined")]
    [InlineData("writeLogNull", "writeLog: message is required, got null")]
    public void ApiFunction_ThrowsAnErrorNamingTheProblem_OnBadInput(string attempt, string message)
    {
        Assert.Equal("Error: " + message, _errors.GetProperty(attempt).GetString());
    }

    [Theory]
    [InlineData("ownTwice")]
    [InlineData("lowercaseMethod")]
    public void ApiFunction_Accepts_ValidInput(string attempt)
    {
        Assert.Equal(JsonValueKind.Null, _errors.GetProperty(attempt).ValueKind);
    }

    [Fact]
    public async Task LowercaseMethod_RegistersTheUppercaseRoute()
    {
        Assert.Equal("ok", await HttpAssert.TextAsync(await _host.Client.DeleteAsync("/lower")));
    }

    [Fact]
    public async Task Load_Fails_WhenARegisteredHandlerNameIsNotAFunction()
    {
        var change = await _host.WriteScriptAsync("typo.js", """register("/typo", "helloHandlr"); function helloHandler() {}""");

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Equal("register(\"/typo\", \"helloHandlr\", \"GET\"): 'helloHandlr' is not a function when the script has finished loading", change.Error);
    }

    [Fact]
    public async Task Load_Succeeds_WhenTheHandlerIsDefinedAfterRegister()
    {
        var change = await _host.WriteScriptAsync("later.js", """register("/later", "later"); function later() { return { body: "later" }; }""");

        Assert.Equal(ScriptChangeKind.Inserted, change.Kind);
        Assert.Equal("later", await HttpAssert.TextAsync(await _host.Client.GetAsync("/later")));
    }
}
