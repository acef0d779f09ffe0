using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Scripting;

/// <summary>
/// Issue 16: a script replaces the built-ins the bootstrap relies on before it calls the API. What
/// guards the server (the log-line cap, filters, the Promises the host awaits) holds in .NET anyway.
/// </summary>
public sealed class PatchedBuiltinsTests
{
    // Every built-in the bootstrap's logging path could use, replaced to hand the whole line over.
    private const string PatchEverything = """
        const big = "y".repeat(40 * 1024 * 1024);
        RegExp.prototype.test = function () { return true; };
        String.prototype.slice = function () { return String(this); };
        String.prototype.substring = function () { return String(this); };
        Array.prototype.join = function () { return big; };
        Array.prototype.push = function (value) { this[this.length] = value; return this.length; };
        Array.prototype.slice = function () { return this; };
        JSON.stringify = function () { return big; };
        Object.keys = function () { return []; };
        """;

    [Fact]
    public async Task FortyMiCharacterLogLine_ThroughPatchedBuiltins_IsStillCutAtTheLimit()
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["chatty.js"] = PatchEverything + """
                    register("/chatty", () => { writeLog(big); console.log("short", "parts"); console.error({ a: 1 }); return { body: "ok" }; });
                    """,
            }));
        await using var canary = await Canary.ConnectAsync(host);

        Assert.Equal("ok", await HttpAssert.TextAsync(await host.Client.GetAsync("/chatty")));
        var logs = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?uri=chatty.js"));

        var lines = logs.GetProperty("logs").EnumerateArray().Select(e => e.GetProperty("message").GetString()!).Where(l => l.Contains("yyyy", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        var suffix = $"... ({(40 * 1024 * 1024) - ScriptLogger.MaxLineLength} more characters cut)";
        Assert.All(lines, l => Assert.EndsWith(new string('y', 100) + suffix, l, StringComparison.Ordinal));
        // The stored line is "[chatty.js] " + the cut message.
        Assert.All(lines, l => Assert.True(l.Length <= "[chatty.js] ".Length + ScriptLogger.MaxLineLength + suffix.Length, $"a log line of {l.Length} characters"));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task PatchedPromiseThenCallAndApply_NeverReceiveAHostObject_AndAsyncHandlersResolversAndInitStillWork()
    {
        // The host subscribes to a Promise that is still pending when the call returns (one that
        // never settles here: nothing in the API settles one later); a settled one it reads directly.
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["spy.js"] = """
                const seen = [];
                const isHost = EngineInternal.isHostObject;
                function name(value) {
                  try { return value === null || value === undefined ? String(value) : String(value.constructor && value.constructor.name); } catch (e) { return "throws"; }
                }
                function record(where, args) {
                  for (let i = 0; i < args.length; i++) {
                    const value = args[i];
                    seen[seen.length] = { where, host: isHost(value), type: typeof value, constructor: name(value) };
                  }
                }
                const then = Promise.prototype.then, call = Function.prototype.call, apply = Function.prototype.apply;
                Promise.prototype.then = function (...args) { record("then", args); return Reflect.apply(then, this, args); };
                Function.prototype.call = function (...args) { record("call", args); return Reflect.apply(call, this, args); };
                Function.prototype.apply = function (...args) { record("apply", args); return Reflect.apply(apply, this, args); };
                let initDone = false;
                async function init() { await null; initDone = true; }
                register("/async", async () => { await null; return { status: 201, body: "async " + initDone }; });
                register("/async-plain", () => Promise.resolve({ body: "plain" }));
                register("/thenable", () => ({ then(resolve) { resolve({ body: "thenable" }); } }));
                register("/pending", () => new Promise(() => {}));
                registerGraphQLQuery("never", "type Query { never: String }", () => new Promise(() => {}));
                registerGraphQLQuery("later", "type Query { later: String }", async () => "resolved");
                register("/seen", () => ({ body: { count: seen.length, hosts: seen.filter(s => s.host), constructors: seen.map(s => s.constructor) } }));
                """,
        }, new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:01" });

        var asyncResponse = await host.Client.GetAsync("/async");
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/pending"), System.Net.HttpStatusCode.GatewayTimeout, "SCRIPT_TIMEOUT");
        var never = await HttpAssert.JsonAsync(await host.Client.PostAsync("/graphql", new StringContent("""{"query":"{ never }"}""", System.Text.Encoding.UTF8, "application/json")));
        var plain = await HttpAssert.TextAsync(await host.Client.GetAsync("/async-plain"));
        var thenable = await HttpAssert.TextAsync(await host.Client.GetAsync("/thenable"));
        var graphql = await HttpAssert.JsonAsync(await host.Client.PostAsync("/graphql", new StringContent("""{"query":"{ later }"}""", System.Text.Encoding.UTF8, "application/json")));
        var seen = await HttpAssert.JsonAsync(await host.Client.GetAsync("/seen"));

        Assert.Equal(System.Net.HttpStatusCode.Created, asyncResponse.StatusCode);
        Assert.Equal("async true", await asyncResponse.Content.ReadAsStringAsync());
        Assert.Equal(("plain", "thenable"), (plain, thenable));
        Assert.Equal("resolved", graphql.GetProperty("data").GetProperty("later").GetString());
        Assert.Contains("did not finish within", never.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(seen.GetProperty("count").GetInt32() > 0, "the patched then was never called: the probe proves nothing");
        Assert.True(seen.GetProperty("hosts").GetArrayLength() == 0, $"host objects reached the script: {seen.GetProperty("hosts")}");
        Assert.DoesNotContain(seen.GetProperty("constructors").EnumerateArray(), c => c.GetString()!.Contains("Host", StringComparison.Ordinal) || c.GetString()!.Contains("Delegate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FilterThatSerializesToSomethingElse_ThroughObjectPrototypeToJson_ThrowsNamingTheFilter()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["filter.js"] = """
                registerWebStream("/room");
                registerGraphQLSubscription("chat", "type Subscription { chat: String }", null);
                function attempt(send, json) {
                  Object.prototype.toJSON = function () { return json; };
                  try { send(); return "sent"; } catch (e) { return e.message; } finally { delete Object.prototype.toJSON; }
                }
                register("/send", () => ({ body: {
                  array: attempt(() => sendStreamMessageToPath("/room", "m", { room: "a" }), [1]),
                  number: attempt(() => sendStreamMessageToPath("/room", "m", { room: "a" }), { room: 1 }),
                  subscription: attempt(() => sendSubscriptionMessage("chat", "m", { room: "a" }), "text"),
                } }));
                """,
        });

        var result = await HttpAssert.JsonAsync(await host.Client.GetAsync("/send"));

        Assert.StartsWith("sendStreamMessageToPath: filter did not reach the server as an object", result.GetProperty("array").GetString(), StringComparison.Ordinal);
        Assert.Equal("sendStreamMessageToPath: filter.room did not reach the server as a string", result.GetProperty("number").GetString());
        Assert.StartsWith("sendSubscriptionMessage: filter did not reach the server as an object", result.GetProperty("subscription").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"room":"a","n":"1"}""", true, null)]
    [InlineData("{}", true, null)]
    [InlineData("[1]", false, "filter did not reach the server as an object of metadata values such as { room: \"general\" }")]
    [InlineData("\"text\"", false, "filter did not reach the server as an object of metadata values such as { room: \"general\" }")]
    [InlineData("{not json", false, "filter did not reach the server as an object of metadata values such as { room: \"general\" }")]
    [InlineData("""{"room":1}""", false, "filter.room did not reach the server as a string")]
    [InlineData("""{"room":null}""", false, "filter.room did not reach the server as a string")]
    [InlineData("""{"room":{"nested":"x"}}""", false, "filter.room did not reach the server as a string")]
    public void FilterJson_TryParse_RefusesAnythingButAnObjectOfStrings(string json, bool parsed, string? error)
    {
        var ok = FilterJson.TryParse(json, out var filter, out var message);

        Assert.Equal((parsed, error), (ok, message));
        Assert.Equal(parsed, filter is not null);
    }

    [Fact]
    public void FilterJson_TryParse_TakesNullAsNoFilter()
    {
        Assert.True(FilterJson.TryParse(null, out var filter, out var error));
        Assert.Equal((null, null), (filter, error));
    }

    [Fact]
    public async Task TenMiBErrorMessage_IsCutInTheResponseAndHealth()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["loud.js"] = """register("/loud", () => { throw new Error("start " + "e".repeat(10 * 1024 * 1024) + " end"); });""",
        });

        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync("/loud"), System.Net.HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        var message = error.GetProperty("details").GetProperty("message").GetString()!;
        Assert.True(message.Length <= ScriptFailedException.MaxMessageLength + 40, $"a message of {message.Length} characters");
        Assert.StartsWith("start eee", message, StringComparison.Ordinal);
        Assert.EndsWith("eee end", message, StringComparison.Ordinal);
        Assert.Contains("characters cut", message, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Number, error.GetProperty("details").GetProperty("line").ValueKind);
    }
}
