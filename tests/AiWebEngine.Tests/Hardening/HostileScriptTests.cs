using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Issue 7, point 1: hostile scripts. The limits of <c>ScriptLimitTests</c> (a handler's infinite loop,
/// allocation and recursion; top-level and <c>init</c> loops) extended to every place a script runs:
/// top level, <c>init</c>, a handler and a GraphQL resolver; plus 100 000 registrations, a 10 MiB
/// message, a 10 MiB log line and hostile handler results. Each case: a clear error for the caller,
/// the server still healthy (<see cref="Canary"/>), nothing promised lost.
/// </summary>
public sealed class HostileScriptTests
{
    private static readonly Dictionary<string, string?> ShortTimeout = new() { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:00.500" };

    private static Task<HttpResponseMessage> GraphQLAsync(EngineHost host, string query) =>
        host.Client.PostAsync("/graphql", new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json"));

    [Theory]
    [InlineData("loop", "() => { while (true) {} }", "did not finish within 500 ms")]
    [InlineData("pending", "() => new Promise(() => {})", "did not finish within 500 ms")]
    [InlineData("recursion", "function down(n) { return down(n + 1) + 1; }", "stack")]
    public async Task HostileResolver_IsAGraphQLErrorOnItsField_AndTheRestOfTheResultResolves(string name, string resolver, string message)
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["hostile.js"] = $$"""
                    let calls = 0;
                    registerGraphQLQuery("{{name}}", "type Query { {{name}}: String }", {{resolver}});
                    registerGraphQLQuery("hostileCalls", "type Query { hostileCalls: Int }", () => ++calls);
                    """,
            }),
            ShortTimeout);
        await using var canary = await Canary.ConnectAsync(host);

        // (Not hostileCalls in the same document: it would wait for the hostile field in the same
        // isolate, and a call whose CallTimeout passes while it waits is not run.)
        var result = await HttpAssert.JsonAsync(await GraphQLAsync(host, $"{{ {name} canary }}"));

        Assert.Equal(JsonValueKind.Null, result.GetProperty("data").GetProperty(name).ValueKind);
        Assert.Equal("alive", result.GetProperty("data").GetProperty("canary").GetString());
        var error = Assert.Single(result.GetProperty("errors").EnumerateArray());
        Assert.Equal(name, error.GetProperty("path")[0].GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        await canary.AssertHealthyAsync();
        // The script itself still serves, its globals intact.
        var again = await HttpAssert.JsonAsync(await GraphQLAsync(host, "{ hostileCalls }"));
        Assert.Equal(1, again.GetProperty("data").GetProperty("hostileCalls").GetInt32());
        again = await HttpAssert.JsonAsync(await GraphQLAsync(host, "{ hostileCalls }"));
        Assert.Equal(2, again.GetProperty("data").GetProperty("hostileCalls").GetInt32());
    }

    [Fact]
    public async Task UnboundedAllocationInAResolver_IsAGraphQLError_AndTheScriptComesBackInAFreshIsolate()
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["hog.js"] = """
                    registerGraphQLQuery("hog", "type Query { hog: String }", () => { const a = []; while (true) a.push(new Array(100000).fill(1)); });
                    registerGraphQLQuery("hogAlive", "type Query { hogAlive: String }", () => "alive");
                    """,
            }),
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxHeapMiB"] = "32", ["AiWebEngine:Scripts:CallTimeout"] = "00:00:20" });
        await using var canary = await Canary.ConnectAsync(host);

        var reloaded = host.WaitForChangeAsync("hog.js", () => { });
        var result = await HttpAssert.JsonAsync(await GraphQLAsync(host, "{ hog }"));
        await reloaded;

        Assert.Contains("heap limit", result.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        var alive = await HttpAssert.JsonAsync(await GraphQLAsync(host, "{ hogAlive }"));
        Assert.Equal("alive", alive.GetProperty("data").GetProperty("hogAlive").GetString());
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("top level", "const a = []; while (true) a.push(new Array(100000).fill(1));", "heap limit")]
    [InlineData("init", "function init() { const a = []; while (true) a.push(new Array(100000).fill(1)); }", "heap limit")]
    [InlineData("top level", "function down(n) { return down(n + 1) + 1; } down(0);", "stack")]
    [InlineData("init", "function down(n) { return down(n + 1) + 1; } function init() { down(0); }", "stack")]
    [InlineData("init", "function init() { return new Promise(() => {}); }", "did not finish within")]
    public async Task HostileLoad_FailsTheLoadWithAClearError_AndThePreviousVersionKeepsServing(string where, string hostile, string message)
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string> { ["app.js"] = """registerWebStream("/app/stream"); register("/app", () => ({ body: "v1" })); register("/app/send", () => ({ body: String(sendStreamMessage("v1 still serves")) }), "POST");""" }),
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxHeapMiB"] = "32", ["AiWebEngine:Scripts:CallTimeout"] = message == "did not finish within" ? "00:00:05" : "00:00:20" });
        // The heap and stack cases get a long call timeout, so a loaded machine cannot turn their limit into a timeout.
        await using var canary = await Canary.ConnectAsync(host);
        await using var appClient = await SseReader.OpenAsync(host.Client, "/app/stream");
        await appClient.ReadUntilAsync(f => f.Count >= 1);

        var change = await host.WriteScriptAsync("app.js", """registerWebStream("/app/stream"); register("/app", () => ({ body: "v2" }));""" + "\n" + hostile);

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.Contains(message, change.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/app")));
        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));
        var failed = health.GetProperty("scripts").GetProperty("failed")[0];
        Assert.Equal("app.js", failed.GetProperty("uri").GetString());
        Assert.True(failed.GetProperty("previousVersionServing").GetBoolean(), $"{where}: {failed}");
        // The stream's client is still attached to the version that serves: v1's send reaches it, as its first message.
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/app/send", null)));
        Assert.Equal(["v1 still serves"], (await appClient.ReadMessagesAsync(1)).Where(f => f.Data is not null).Select(f => f.Data));
        await canary.AssertHealthyAsync("degraded");
    }

    [Fact]
    public async Task OneHundredThousandRegistrations_StopAtTheLimitWithAClearError_AndTheFirstTenThousandServe()
    {
        const string Limit = "the script has 10000 registrations (routes, streams and GraphQL fields together); the limit is 10000 (AiWebEngine:Scripts:MaxRegistrations)";
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["routes.js"] = """
                    let error = null, count = 0;
                    register("/many/result", () => ({ body: { error, count } }));
                    try { for (let i = 0; i < 100000; i++) { register("/many/" + i, () => ({ body: "route" })); count++; } } catch (e) { error = e.message; }
                    """,
                ["streams.js"] = """
                    let error = null, count = 0;
                    register("/many-streams/result", () => ({ body: { error, count } }));
                    try { for (let i = 0; i < 100000; i++) { registerWebStream("/many-streams/" + i); count++; } } catch (e) { error = e.message; }
                    """,
                ["uncaught.js"] = """for (let i = 0; i < 100000; i++) registerWebStream("/uncaught/" + i);""",
            }),
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:01:00" });
        await using var canary = await Canary.ConnectAsync(host);

        var routes = await HttpAssert.JsonAsync(await host.Client.GetAsync("/many/result"));
        var streams = await HttpAssert.JsonAsync(await host.Client.GetAsync("/many-streams/result"));
        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));

        Assert.Equal(("register: " + Limit, 9999), (routes.GetProperty("error").GetString(), routes.GetProperty("count").GetInt32()));
        Assert.Equal(("registerWebStream: " + Limit, 9999), (streams.GetProperty("error").GetString(), streams.GetProperty("count").GetInt32()));
        Assert.Equal("route", await HttpAssert.TextAsync(await host.Client.GetAsync("/many/9998")));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/many/9999"), HttpStatusCode.NotFound, "NOT_FOUND");
        await using (var stream = await SseReader.OpenAsync(host.Client, "/many-streams/9998"))
        {
            Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        }

        var uncaught = Assert.Single(health.GetProperty("scripts").GetProperty("failed").EnumerateArray());
        Assert.Equal("uncaught.js", uncaught.GetProperty("uri").GetString());
        Assert.Contains("registerWebStream: " + Limit, uncaught.GetProperty("error").GetString(), StringComparison.Ordinal);
        await canary.AssertHealthyAsync("degraded");
    }

    [Fact]
    public async Task OneHundredThousandGraphQLFields_StopAtTheConfiguredLimitWithAClearError()
    {
        // Each GraphQL registration is checked by building a schema with it, so the default 10 000
        // takes long to reach; a lower limit shows the same stop.
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["fields.js"] = """
                    let error = null, count = 0;
                    registerGraphQLQuery("manyResult", "type Query { manyResult: String }", () => JSON.stringify({ error, count }));
                    try { for (let i = 0; i < 100000; i++) { registerGraphQLQuery("f" + i, "type Query { f" + i + ": Int }", () => i); count++; } } catch (e) { error = e.message; }
                    """,
            }),
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxRegistrations"] = "500", ["AiWebEngine:Scripts:CallTimeout"] = "00:01:00" });
        await using var canary = await Canary.ConnectAsync(host);

        var result = await HttpAssert.JsonAsync(await GraphQLAsync(host, "{ manyResult f498 }"));

        var fields = JsonDocument.Parse(result.GetProperty("data").GetProperty("manyResult").GetString()!).RootElement;
        Assert.Equal(498, result.GetProperty("data").GetProperty("f498").GetInt32());
        Assert.Equal("registerGraphQLQuery: the script has 500 registrations (routes, streams and GraphQL fields together); the limit is 500 (AiWebEngine:Scripts:MaxRegistrations)", fields.GetProperty("error").GetString());
        Assert.Equal(499, fields.GetProperty("count").GetInt32());
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task TenMiBMessage_ThrowsNamingTheLimit_AndTheStreamLosesNothing()
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["big.js"] = """
                    registerWebStream("/big");
                    register("/big/send", (req) => {
                      let error = null;
                      try { sendStreamMessage("x".repeat(10 * 1024 * 1024)); } catch (e) { error = e.message; }
                      let toPath = null;
                      try { sendStreamMessageToPath("/big", { text: "x".repeat(10 * 1024 * 1024) }); } catch (e) { toPath = e.message; }
                      sendStreamMessage("after");
                      return { body: { error, toPath } };
                    }, "POST");
                    """,
            }));
        await using var canary = await Canary.ConnectAsync(host);
        await using var client = await SseReader.OpenAsync(host.Client, "/big");
        await client.ReadUntilAsync(f => f.Count >= 1);

        var errors = await HttpAssert.JsonAsync(await host.Client.PostAsync("/big/send", null));
        var messages = await client.ReadMessagesAsync(1);

        Assert.Equal("sendStreamMessage: the message is 10485760 bytes; the limit is 1048576 bytes (AiWebEngine:Streams:MaxMessageBytes)", errors.GetProperty("error").GetString());
        Assert.Equal("sendStreamMessageToPath: the message is 10485771 bytes; the limit is 1048576 bytes (AiWebEngine:Streams:MaxMessageBytes)", errors.GetProperty("toPath").GetString());
        var only = Assert.Single(messages, m => m.Data is not null);
        var first = (Streaming.StreamEndpointTests.IdBase(host, "/big") + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((first, "after"), (only.Id, only.Data));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task TenMiBLogLine_IsCutAt64KiB_SayingHowMuchWasCut()
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string>
            {
                ["chatty.js"] = """register("/chatty", () => { writeLog("y".repeat(10 * 1024 * 1024)); console.log("z".repeat(70000)); return { body: "ok" }; });""",
            }));
        await using var canary = await Canary.ConnectAsync(host);

        Assert.Equal("ok", await HttpAssert.TextAsync(await host.Client.GetAsync("/chatty")));
        var logs = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?uri=chatty.js"));

        var lines = logs.GetProperty("logs").EnumerateArray().Select(e => e.GetProperty("message").GetString()!).ToList();
        Assert.Contains(lines, l => l.EndsWith(new string('y', 100) + $"... ({(10 * 1024 * 1024) - (64 * 1024)} more characters cut)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith(new string('z', 100) + $"... ({70000 - (64 * 1024)} more characters cut)", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.True(l.Length < (64 * 1024) + 200, $"a log line of {l.Length} characters"));
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("{ headers: { \"x-bad\": \"a\\r\\nx-injected: 1\" } }", "header 'x-bad'")]
    [InlineData("{ headers: { \"bad name\": \"a\" } }", "header 'bad name'")]
    [InlineData("{ headers: { \"\": \"a\" } }", "header ''")]
    [InlineData("{ contentType: \"text/plain\\r\\nx-injected: 1\" }", "contentType")]
    [InlineData("{ status: 1e308 }", "status")]
    [InlineData("{ status: \"200\" }", "status")]
    public async Task HandlerResultThatHttpCannotCarry_Gets500NamingTheProblem(string result, string problem)
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string> { ["bad.js"] = $$"""register("/bad", () => ({{result}}));""" }),
            kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);

        var response = await host.Client.GetAsync("/bad");

        Assert.False(response.Headers.Contains("x-injected"));
        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
        Assert.Contains(problem, error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task TenMiBResponseBody_IsServedWhole()
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string> { ["large.js"] = """register("/large", () => ({ body: "l".repeat(10 * 1024 * 1024) }));""" }));
        await using var canary = await Canary.ConnectAsync(host);

        var body = await HttpAssert.TextAsync(await host.Client.GetAsync("/large"));

        Assert.Equal(10 * 1024 * 1024, body.Length);
        await canary.AssertHealthyAsync();
    }
}
