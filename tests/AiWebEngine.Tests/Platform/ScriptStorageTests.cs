using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, point 4 (the embedded store): <c>storage.get/set/delete/list/increment/compareAndSet</c> in SQLite,
/// a namespace per script, expiry, atomic increments and compare-and-set under concurrency, data that survives
/// a restart, limits with clear errors, export and delete through the management API, and a storage flood.
/// </summary>
public sealed class ScriptStorageTests
{
    private const string Script = """
        register("/run", async (req) => {
          try {
            const value = await (0, eval)(req.body);
            return { body: { value: value === undefined ? "(undefined)" : value } };
          } catch (e) {
            return { status: 400, body: { error: e.message } };
          }
        }, "POST");
        """;

    private static Task<EngineHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? time = null) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["a.js"] = Script, ["b/b.js"] = Script.Replace("/run", "/b/run", StringComparison.Ordinal) }, settings, time: time);

    private static async Task<JsonElement> RunAsync(EngineHost host, string code, string path = "/run") =>
        (await HttpAssert.JsonAsync(await host.Client.PostAsync(path, new StringContent(code)))).GetProperty("value");

    private static async Task<string> FailsAsync(EngineHost host, string code, string path = "/run") =>
        (await HttpAssert.JsonAsync(await host.Client.PostAsync(path, new StringContent(code)), HttpStatusCode.BadRequest)).GetProperty("error").GetString()!;

    [Fact]
    public async Task SetGetDeleteAndList_KeepJsonValues_InTheScriptsOwnNamespace()
    {
        await using var host = await StartAsync();
        await RunAsync(host, """
            Promise.all([
              storage.set("user:1", { name: "Ada", tags: ["x"] }),
              storage.set("user:2", "Bob"),
              storage.set("count", 41.5),
              storage.set("user", true),
            ])
            """);
        Assert.Equal("Ada", (await RunAsync(host, "storage.get('user:1')")).GetProperty("name").GetString());
        Assert.Equal(41.5, (await RunAsync(host, "storage.get('count')")).GetDouble());
        Assert.Equal("(undefined)", (await RunAsync(host, "storage.get('nothing')")).GetString());
        var listed = await RunAsync(host, "storage.list('user:')");
        Assert.Equal(["user:1", "user:2"], listed.EnumerateArray().Select(e => e.GetProperty("key").GetString()));
        Assert.Equal("Bob", listed[1].GetProperty("value").GetString());
        Assert.Equal(4, (await RunAsync(host, "storage.list()")).GetArrayLength());
        Assert.Equal(1, (await RunAsync(host, "storage.list('', { limit: 1 })")).GetArrayLength());

        // Another script, the same key: its own value.
        Assert.Equal("(undefined)", (await RunAsync(host, "storage.get('user:2')", "/b/run")).GetString());
        await RunAsync(host, "storage.set('user:2', 'someone else')", "/b/run");
        Assert.Equal("Bob", (await RunAsync(host, "storage.get('user:2')")).GetString());

        Assert.True((await RunAsync(host, "storage.delete('user:2')")).GetBoolean());
        Assert.False((await RunAsync(host, "storage.delete('user:2')")).GetBoolean());
        Assert.Equal("someone else", (await RunAsync(host, "storage.get('user:2')", "/b/run")).GetString());
    }

    [Fact]
    public async Task Increment_AndCompareAndSet_AreAtomic_UnderConcurrentCalls()
    {
        await using var host = await StartAsync();
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => RunAsync(host, "storage.increment('hits')")));
        Assert.Equal(50, (await RunAsync(host, "storage.get('hits')")).GetInt32());
        Assert.Equal(45, (await RunAsync(host, "storage.increment('hits', -5)")).GetInt32());

        // Fifty clients race to claim the same slot: exactly one wins.
        var claims = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => RunAsync(host, $"storage.compareAndSet('slot', undefined, 'client {i}')")));
        Assert.Single(claims, c => c.GetBoolean());
        Assert.False((await RunAsync(host, "storage.compareAndSet('slot', 'not the value', 'x')")).GetBoolean());
        var owner = (await RunAsync(host, "storage.get('slot')")).GetString();
        Assert.True((await RunAsync(host, $"storage.compareAndSet('slot', '{owner}', 'released')")).GetBoolean());

        Assert.Equal("storage.increment: the value of 'slot' is not a number", await FailsAsync(host, "storage.increment('slot')"));
        Assert.Equal("storage.increment: by must be a finite number, got number NaN", await FailsAsync(host, "storage.increment('x', NaN)"));
    }

    [Fact]
    public async Task AnEntryWithATtl_IsGoneWhenItExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await StartAsync(time: time);
        await RunAsync(host, "storage.set('session', { id: 7 }, { ttl: 60 })");
        Assert.Equal(7, (await RunAsync(host, "storage.get('session')")).GetProperty("id").GetInt32());
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("(undefined)", (await RunAsync(host, "storage.get('session')")).GetString());
        Assert.Equal(0, (await RunAsync(host, "storage.list()")).GetArrayLength());
        Assert.Equal("storage.set: ttl must be a number of seconds, got \"60\"", await FailsAsync(host, "storage.set('k', 1, { ttl: '60' })"));
    }

    [Fact]
    public async Task WhatWasSet_SurvivesARestart()
    {
        var data = Directory.CreateTempSubdirectory("aiwebengine-storage-").FullName;
        var settings = new Dictionary<string, string?> { ["AiWebEngine:Storage:Directory"] = data };
        await using (var first = await StartAsync(settings))
        {
            await RunAsync(first, "storage.set('kept', { across: 'restarts' })");
        }

        await using var second = await StartAsync(settings);
        Assert.Equal("restarts", (await RunAsync(second, "storage.get('kept')")).GetProperty("across").GetString());
        Assert.True(File.Exists(Path.Combine(data, "storage.db")));
    }

    [Fact]
    public async Task Limits_AndBadArguments_AreErrorsThatSayWhich_AndAFloodStopsAtTheScriptsLimit()
    {
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["AiWebEngine:Storage:MaxKeyBytes"] = "16",
            ["AiWebEngine:Storage:MaxValueBytes"] = "100",
            ["AiWebEngine:Storage:MaxBytesPerScript"] = "2000",
        });
        Assert.Equal("storage.set: the key is over 16 bytes (AiWebEngine:Storage:MaxKeyBytes)", await FailsAsync(host, "storage.set('k'.repeat(17), 1)"));
        Assert.Equal("storage.set: the value is over 100 bytes as JSON (AiWebEngine:Storage:MaxValueBytes)", await FailsAsync(host, "storage.set('k', 'x'.repeat(200))"));
        Assert.Equal("storage.get: key must be a non-empty string", await FailsAsync(host, "storage.get('')"));
        Assert.Equal("storage.get: key must be a string, got number 1", await FailsAsync(host, "storage.get(1)"));
        Assert.Equal("storage.set: the value cannot be stored as JSON, got undefined", await FailsAsync(host, "storage.set('k', undefined)"));

        var flood = await FailsAsync(host, "(async () => { for (let i = 0; ; i++) await storage.set('k' + i, 'x'.repeat(80)); })()");
        Assert.StartsWith("storage.set: the script's storage would hold ", flood, StringComparison.Ordinal);
        Assert.EndsWith("the limit is 2000 (AiWebEngine:Storage:MaxBytesPerScript)", flood, StringComparison.Ordinal);
        // The other script's budget is its own.
        await RunAsync(host, "storage.set('mine', 'still fine')", "/b/run");
        Assert.Equal("ok", (await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task TheManagementApi_ExportsAndDeletesAScriptsData()
    {
        await using var host = await StartAsync();
        await RunAsync(host, "Promise.all([storage.set('a', { n: 1 }), storage.set('b', [1, 2], { ttl: 3600 })])");
        await RunAsync(host, "storage.set('other', 1)", "/b/run");

        var export = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/storage?script=a.js"));
        var entries = export.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["a", "b"], entries.Select(e => e.GetProperty("key").GetString()));
        Assert.Equal(1, entries[0].GetProperty("value").GetProperty("n").GetInt32());
        Assert.Equal(JsonValueKind.Null, entries[0].GetProperty("expiresAt").ValueKind);
        Assert.Equal(JsonValueKind.String, entries[1].GetProperty("expiresAt").ValueKind);

        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/engine/storage?script=a.js");
        Assert.Equal(2, (await HttpAssert.JsonAsync(await host.Client.SendAsync(delete))).GetProperty("deleted").GetInt32());
        Assert.Equal("(undefined)", (await RunAsync(host, "storage.get('a')")).GetString());
        Assert.Equal(1, (await RunAsync(host, "storage.get('other')", "/b/run")).GetInt32());
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/engine/storage"), HttpStatusCode.BadRequest, "BAD_REQUEST");
    }

    [Fact]
    public async Task AScriptThatPatchesJsonAndObjectKeys_StillStoresAndReadsItsValues()
    {
        await using var host = await StartAsync();
        var value = await RunAsync(host, """
            JSON.stringify = () => "not json {";
            JSON.parse = () => "patched";
            Object.keys = () => [];
            (async () => { await storage.set("k", { a: [1, 2] }); return await storage.get("k"); })()
            """);
        Assert.Equal(2, value.GetProperty("a")[1].GetInt32());
        var export = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/storage?script=a.js"));
        Assert.Equal(1, export.GetProperty("entries")[0].GetProperty("value").GetProperty("a")[0].GetInt32());
    }
}
