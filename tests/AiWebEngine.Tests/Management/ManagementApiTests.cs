using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Management;

/// <summary>The management API's surface, in process (loopback without a token).</summary>
public sealed class ManagementApiTests
{
    private const string Hello = """register("/hello", () => ({ body: "v1" }));""";

    private static StringContent Js(string source) => new(source, Encoding.UTF8, "text/javascript");

    [Fact]
    public async Task ListScripts_ShowsStateSizeLoadTimeErrorsAndRegistrations()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["chat/rooms.js"] = """
                register("/rooms", () => ({ body: "r" }));
                register("/rooms", () => ({ body: "r" }), "POST");
                registerWebStream("/rooms/live");
                registerGraphQLQuery("rooms", "type Query { rooms: String }", () => "x");
                """,
            ["broken.js"] = "let a = 1;\nthrow new Error('boom');\n",
        });

        var scripts = (await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/scripts"))).GetProperty("scripts");

        var broken = scripts[0];
        Assert.Equal("broken.js", broken.GetProperty("uri").GetString());
        Assert.Equal("failed", broken.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, broken.GetProperty("loadedAt").ValueKind);
        Assert.Contains("boom", broken.GetProperty("lastError").GetProperty("message").GetString());
        Assert.Equal(2, broken.GetProperty("lastError").GetProperty("line").GetInt32());

        var rooms = scripts[1];
        Assert.Equal("chat/rooms.js", rooms.GetProperty("uri").GetString());
        Assert.Equal("active", rooms.GetProperty("state").GetString());
        Assert.True(rooms.GetProperty("sizeBytes").GetInt32() > 100);
        Assert.True(rooms.GetProperty("loadedAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Equal(JsonValueKind.Null, rooms.GetProperty("lastError").ValueKind);
        var registrations = rooms.GetProperty("registrations");
        Assert.Equal(["GET /rooms", "POST /rooms"], registrations.GetProperty("routes").EnumerateArray().Select(r => $"{r.GetProperty("method").GetString()} {r.GetProperty("path").GetString()}"));
        Assert.Equal(["/rooms/live"], registrations.GetProperty("streams").EnumerateArray().Select(s => s.GetString()));
        var field = Assert.Single(registrations.GetProperty("graphql").EnumerateArray());
        Assert.Equal("Query", field.GetProperty("type").GetString());
        Assert.Equal("rooms", field.GetProperty("name").GetString());
    }

    [Fact]
    public async Task GetScript_ReturnsItsSource_WithSlashesPlainOrEncoded()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["chat/rooms.js"] = Hello });

        Assert.Equal(Hello, await HttpAssert.TextAsync(await host.Client.GetAsync("/engine/scripts/chat/rooms.js")));
        Assert.Equal(Hello, await HttpAssert.TextAsync(await host.Client.GetAsync("/engine/scripts/chat%2Frooms.js")));
    }

    [Fact]
    public async Task GetScript_Unknown_Is404Json()
    {
        await using var host = await EngineHost.StartAsync();

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/scripts/nope.js"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Theory]
    [InlineData("notes.txt")]
    [InlineData("%2E%2E%2Fescape.js")]
    [InlineData("a%2F%2E%2E%2F%2E%2E%2Fescape.js")]
    [InlineData("%2Fetc%2Fx.js")]
    [InlineData("a%5Cb.js")]
    [InlineData("a%2F%2Fb.js")]
    public async Task BadUri_Is400Json_ForEveryMethod(string uri)
    {
        await using var host = await EngineHost.StartAsync();

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/scripts/" + uri), HttpStatusCode.BadRequest, "BAD_REQUEST");
        await HttpAssert.ErrorAsync(await host.Client.PutAsync("/engine/scripts/" + uri, Js(Hello)), HttpStatusCode.BadRequest, "BAD_REQUEST");
        await HttpAssert.ErrorAsync(await host.Client.DeleteAsync("/engine/scripts/" + uri), HttpStatusCode.BadRequest, "BAD_REQUEST");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(host.ScriptsDirectory)!, "escape.js"));
    }

    [Fact]
    public async Task PutScript_New_Is201_ServesAtOnce_AndIsWrittenToDisk()
    {
        await using var host = await EngineHost.StartAsync();

        var created = await HttpAssert.JsonAsync(await host.Client.PutAsync("/engine/scripts/api/hello.js", Js(Hello)), HttpStatusCode.Created);

        Assert.Equal("inserted", created.GetProperty("action").GetString());
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
        Assert.Equal(Hello, await File.ReadAllTextAsync(Path.Combine(host.ScriptsDirectory, "api", "hello.js")));
        Assert.Empty(Directory.EnumerateFiles(host.ScriptsDirectory, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task PutScript_Replace_Is200_AndTheWatcherSeeingTheFileReloadsNothing()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = "let n = 0; register('/count', () => ({ body: String(++n) }));" });
        var changes = new List<ScriptChange>();
        host.Scripts.Changed += change => { lock (changes) { changes.Add(change); } };

        var replaced = await HttpAssert.JsonAsync(await host.Client.PutAsync("/engine/scripts/app.js", Js("let n = 100; register('/count', () => ({ body: String(++n) }));")));
        Assert.Equal("updated", replaced.GetProperty("action").GetString());
        Assert.Equal("101", await HttpAssert.TextAsync(await host.Client.GetAsync("/count")));
        await Task.Delay(1000);

        // Still the same isolate: the file event of the upload did not load the script again.
        Assert.Equal("102", await HttpAssert.TextAsync(await host.Client.GetAsync("/count")));
        lock (changes)
        {
            Assert.Equal([ScriptChangeKind.Updated], changes.Select(c => c.Kind));
        }
    }

    [Fact]
    public async Task PutScript_ThatFailsToLoad_Is422WithLine_AndChangesNothing()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = Hello });

        var error = await HttpAssert.ErrorAsync(
            await host.Client.PutAsync("/engine/scripts/app.js", Js("register('/hello', () => ({ body: 'v2' }));\n\nnull.boom;\n")),
            HttpStatusCode.UnprocessableEntity, "SCRIPT_LOAD_FAILED");

        Assert.Equal(3, error.GetProperty("details").GetProperty("line").GetInt32());
        Assert.Equal("app.js", error.GetProperty("details").GetProperty("uri").GetString());
        Assert.Equal("v1", await HttpAssert.TextAsync(await host.Client.GetAsync("/hello")));
        Assert.Equal(Hello, await File.ReadAllTextAsync(Path.Combine(host.ScriptsDirectory, "app.js")));
        Assert.Equal("ok", (await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task PutScript_New_ThatFailsToLoad_LeavesNoFileAndNoScript()
    {
        await using var host = await EngineHost.StartAsync();

        await HttpAssert.ErrorAsync(await host.Client.PutAsync("/engine/scripts/new/bad.js", Js("this is not javascript")), HttpStatusCode.UnprocessableEntity, "SCRIPT_LOAD_FAILED");

        Assert.False(Directory.Exists(Path.Combine(host.ScriptsDirectory, "new")));
        Assert.Empty((await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/scripts"))).GetProperty("scripts").EnumerateArray());
    }

    [Fact]
    public async Task PutScript_OverTheSizeLimit_Is413Json()
    {
        await using var host = await EngineHost.StartAsync(settings: new Dictionary<string, string?> { ["AiWebEngine:Scripts:MaxSourceBytes"] = "100" });

        await HttpAssert.ErrorAsync(await host.Client.PutAsync("/engine/scripts/big.js", Js("// " + new string('x', 200))), HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");

        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "big.js")));
    }

    [Fact]
    public async Task DeleteScript_Is204_UnloadsAndDeletes_Then404()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["app.js"] = Hello });

        var deleted = await host.Client.DeleteAsync("/engine/scripts/app.js");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());
        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "app.js")));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/hello"), HttpStatusCode.NotFound, "NOT_FOUND");
        await HttpAssert.ErrorAsync(await host.Client.DeleteAsync("/engine/scripts/app.js"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task Logs_HoldScriptOutputTaggedWithItsUri_FilteredByUriLevelAndLimit()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["a.js"] = "writeLog('from a'); console.error('a failed');",
            ["b.js"] = "writeLog('from b');",
        });

        var a = (await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?uri=a.js&limit=1000"))).GetProperty("logs");
        Assert.Equal(["[a.js] from a", "[a.js] a failed"], a.EnumerateArray().Where(l => l.GetProperty("category").GetString() == "AiWebEngine.Scripts").Select(l => l.GetProperty("message").GetString()));
        Assert.All(a.EnumerateArray(), l => Assert.Equal("a.js", l.GetProperty("uri").GetString()));

        var errors = (await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?uri=a.js&level=error"))).GetProperty("logs");
        var line = Assert.Single(errors.EnumerateArray());
        Assert.Equal("Error", line.GetProperty("level").GetString());

        var last = (await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?limit=1"))).GetProperty("logs");
        Assert.Single(last.EnumerateArray());

        var future = DateTimeOffset.UtcNow.AddMinutes(1).ToString("O");
        Assert.Empty((await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?since=" + Uri.EscapeDataString(future)))).GetProperty("logs").EnumerateArray());
    }

    [Theory]
    [InlineData("level=loud")]
    [InlineData("level=7")]
    [InlineData("limit=0")]
    [InlineData("limit=many")]
    [InlineData("since=yesterday")]
    public async Task Logs_BadQuery_Is400Json(string query)
    {
        await using var host = await EngineHost.StartAsync();

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/logs?" + query), HttpStatusCode.BadRequest, "BAD_REQUEST");
    }

    [Fact]
    public async Task Logs_AreBounded_OldestDroppedFirst()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["a.js"] = "for (let i = 0; i < 50; i++) writeLog('line ' + i);" },
            new Dictionary<string, string?> { ["AiWebEngine:Admin:LogBufferSize"] = "20" });

        var logs = (await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?limit=20"))).GetProperty("logs").EnumerateArray().ToList();

        Assert.Equal(20, logs.Count);
        Assert.DoesNotContain(logs, l => l.GetProperty("message").GetString() == "[a.js] line 0");
        var ids = logs.Select(l => l.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.Order(), ids);
    }

    [Fact]
    public async Task LogStream_TailsNewLines_MatchingItsFilter()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["a.js"] = "register('/log', (req) => { writeLog('hello ' + req.query.n); return { body: 'ok' }; });",
        });
        await using var tail = await SseReader.OpenAsync(host.Client, "/engine/logs/stream?uri=a.js");
        Assert.Equal("text/event-stream", tail.Response.Content.Headers.ContentType?.MediaType);
        await tail.ReadUntilAsync(frames => frames.Any(f => f.Retry is not null));

        await host.Client.GetAsync("/log?n=1");

        await tail.ReadMessagesAsync(1);
        var message = tail.Messages[0];
        var line = JsonDocument.Parse(message.Data!).RootElement;
        Assert.Equal("[a.js] hello 1", line.GetProperty("message").GetString());
        Assert.Equal(line.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), message.Id);
    }

    [Fact]
    public async Task Streams_ShowOwnerConnectionsAndMessagesSent()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["live.js"] = "registerWebStream('/live'); register('/send', () => { sendStreamMessage({ n: 1 }); return { body: 'sent' }; });",
        });
        await using var client = await SseReader.OpenAsync(host.Client, "/live");
        await client.ReadUntilAsync(frames => frames.Any(f => f.Retry is not null));
        await host.Client.GetAsync("/send");
        await client.ReadMessagesAsync(1);

        var stream = Assert.Single((await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/streams"))).GetProperty("streams").EnumerateArray());

        Assert.Equal("/live", stream.GetProperty("path").GetString());
        Assert.Equal("live.js", stream.GetProperty("owner").GetString());
        Assert.Equal(1, stream.GetProperty("connections").GetInt32());
        Assert.Equal(1, stream.GetProperty("messagesSent").GetInt64());
        Assert.Equal(0, stream.GetProperty("clientsDropped").GetInt64());
    }
}
