using System.Net;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Streaming;

/// <summary>Stream paths through the HTTP surface (SPEC §4).</summary>
public sealed class StreamEndpointTests
{
    private const string Chat = """
        registerWebStream("/chat");
        registerWebStream("/chat/lobby");
        register("/send", (req) => ({ body: String(sendStreamMessage(JSON.parse(req.body))) }), "POST");
        register("/send-text", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        register("/send-to", (req) => ({ body: String(sendStreamMessageToPath(req.query.path, req.body, req.query.room ? { room: req.query.room } : undefined)) }), "POST");
        """;

    private static Dictionary<string, string> Scripts(params (string Uri, string Source)[] scripts) =>
        scripts.ToDictionary(s => s.Uri, s => s.Source);

    /// <summary>
    /// Where the ids of the stream at <paramref name="path"/> start: its first message has id
    /// <c>base + 1</c> (the base comes from the clock, so that ids never repeat across restarts).
    /// </summary>
    public static long IdBase(EngineHost host, string path)
    {
        var stats = host.Services.GetRequiredService<ITopicBus>().GetStats(StreamRegistry.TopicOf(path))!;
        return stats.LastId - stats.Published;
    }

    [Fact]
    public async Task Stream_AnswersWithSseHeaders_Retry_AndIdsPerMessage()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        await using var client = await SseReader.OpenAsync(host.Client, "/chat");
        await client.ReadUntilAsync(frames => frames.Count >= 1);

        await host.Client.PostAsync("/send", new StringContent("{\"text\":\"hi\"}"));
        await host.Client.PostAsync("/send-text", new StringContent("line one\nline two"));
        await client.ReadMessagesAsync(2);

        Assert.Equal(HttpStatusCode.OK, client.Response.StatusCode);
        Assert.Equal("text/event-stream; charset=utf-8", client.Response.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache", client.Response.Headers.CacheControl!.ToString());
        Assert.Equal("no", client.Response.Headers.GetValues("X-Accel-Buffering").Single());
        var b = IdBase(host, "/chat");
        Assert.Equal($"retry: 3000\n\nid: {b + 1}\ndata: {{\"text\":\"hi\"}}\n\nid: {b + 2}\ndata: line one\ndata: line two\n\n", client.Raw);
    }

    [Fact]
    public async Task Stream_ParsesWithDotNetsSseParser_IdsDataAndRetry()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        using var response = await host.Client.GetAsync("/chat", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var parser = System.Net.ServerSentEvents.SseParser.Create(body);
        var items = parser.EnumerateAsync().GetAsyncEnumerator();

        await host.Client.PostAsync("/send-text", new StringContent("a\nb"));
        await host.Client.PostAsync("/send", new StringContent("{\"k\":1}"));
        Assert.True(await items.MoveNextAsync());
        var first = items.Current;
        Assert.True(await items.MoveNextAsync());
        var second = items.Current;

        var b = IdBase(host, "/chat");
        Assert.Equal(($"{b + 1}", "a\nb", "message"), (first.EventId, first.Data, first.EventType));
        Assert.Equal(($"{b + 2}", "{\"k\":1}"), (second.EventId, second.Data));
        Assert.Equal(TimeSpan.FromMilliseconds(3000), parser.ReconnectionInterval);
        await items.DisposeAsync();
    }

    [Fact]
    public async Task SendStreamMessage_ReachesEveryStreamOfTheScript_AndReturnsTheClientCount()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat), ("other.js", """registerWebStream("/other");""")));
        await using var chat = await SseReader.OpenAsync(host.Client, "/chat");
        await using var lobby = await SseReader.OpenAsync(host.Client, "/chat/lobby");
        await using var other = await SseReader.OpenAsync(host.Client, "/other");
        await Task.WhenAll(chat.ReadUntilAsync(f => f.Count > 0), lobby.ReadUntilAsync(f => f.Count > 0), other.ReadUntilAsync(f => f.Count > 0));

        var count = await HttpAssert.TextAsync(await host.Client.PostAsync("/send", new StringContent("[1,2]")));

        Assert.Equal("2", count);
        Assert.Equal("[1,2]", (await chat.ReadMessagesAsync(1)).Single(f => f.Data is not null).Data);
        Assert.Equal("[1,2]", (await lobby.ReadMessagesAsync(1)).Single(f => f.Data is not null).Data);
        // A marker sent to /other after the send: had the send reached /other, it would have been
        // queued there first, so the marker being the stream's first message proves it did not.
        await host.Client.PostAsync("/send-to?path=/other", new StringContent("marker"));
        Assert.Equal(["marker"], (await other.ReadMessagesAsync(1)).Where(f => f.Data is not null).Select(f => f.Data));
    }

    [Fact]
    public async Task ObjectAndItsJsonString_DeliverTheSameBytes()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("same.js", """
            registerWebStream("/same");
            register("/go", () => {
              const x = { b: 1, a: [true, null, "é"], n: 1.5 };
              sendStreamMessage(x);
              sendStreamMessage(JSON.stringify(x));
              return {};
            }, "POST");
            """)));
        await using var client = await SseReader.OpenAsync(host.Client, "/same");
        await client.ReadUntilAsync(f => f.Count > 0);

        await host.Client.PostAsync("/go", null);
        var messages = (await client.ReadMessagesAsync(2)).Where(f => f.Data is not null).ToList();

        Assert.Equal(messages[0].Data, messages[1].Data);
        Assert.Equal("{\"b\":1,\"a\":[true,null,\"é\"],\"n\":1.5}", messages[0].Data);
    }

    [Fact]
    public async Task SendToPath_WithAFilter_ReachesOnlyMatchingConnections()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        await using var general = await SseReader.OpenAsync(host.Client, "/chat?room=general");
        await using var random = await SseReader.OpenAsync(host.Client, "/chat?room=random");
        await using var everything = await SseReader.OpenAsync(host.Client, "/chat");
        await Task.WhenAll(general.ReadUntilAsync(f => f.Count > 0), random.ReadUntilAsync(f => f.Count > 0), everything.ReadUntilAsync(f => f.Count > 0));

        var count = await HttpAssert.TextAsync(await host.Client.PostAsync("/send-to?path=/chat&room=general", new StringContent("for general")));
        await host.Client.PostAsync("/send-to?path=/chat", new StringContent("for all"));

        // A connection without metadata is not in the filter's audience: it gets the unfiltered message only.
        Assert.Equal("1", count);
        Assert.Equal(["for general", "for all"], (await general.ReadMessagesAsync(2)).Where(f => f.Data is not null).Select(f => f.Data));
        Assert.Equal(["for all"], (await everything.ReadMessagesAsync(1)).Where(f => f.Data is not null).Select(f => f.Data));
        Assert.Equal(["for all"], (await random.ReadMessagesAsync(1)).Where(f => f.Data is not null).Select(f => f.Data));
    }

    [Fact]
    public async Task LastEventId_ReplaysWhatWasMissed_InOrder_WithoutDuplicates_ThenLive()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        for (var i = 1; i <= 5; i++)
        {
            await host.Client.PostAsync("/send-text", new StringContent($"m{i}"));
        }

        var b = IdBase(host, "/chat");
        await using var resumed = await SseReader.OpenAsync(host.Client, "/chat", lastEventId: $"{b + 2}");
        await resumed.ReadMessagesAsync(3);
        await host.Client.PostAsync("/send-text", new StringContent("m6"));
        var frames = await resumed.ReadMessagesAsync(4);

        Assert.Equal([$"{b + 3}", $"{b + 4}", $"{b + 5}", $"{b + 6}"], frames.Where(f => f.Data is not null).Select(f => f.Id));
        Assert.Equal(["m3", "m4", "m5", "m6"], frames.Where(f => f.Data is not null).Select(f => f.Data));
    }

    [Fact]
    public async Task LastEventId_Garbage_IsIgnored()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        await host.Client.PostAsync("/send-text", new StringContent("old"));

        await using var client = await SseReader.OpenAsync(host.Client, "/chat", lastEventId: "not-a-number\u00e9");
        await client.ReadUntilAsync(f => f.Count > 0);
        await host.Client.PostAsync("/send-text", new StringContent("new"));

        Assert.Equal(["new"], (await client.ReadMessagesAsync(1)).Where(f => f.Data is not null).Select(f => f.Data));
    }

    [Fact]
    public async Task Replay_KeepsTheLast256Messages()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("burst.js", """
            registerWebStream("/burst");
            register("/burst-go", () => { for (let i = 1; i <= 300; i++) sendStreamMessage("m" + i); return {}; }, "POST");
            """)));
        await host.Client.PostAsync("/burst-go", null);

        await using var client = await SseReader.OpenAsync(host.Client, "/burst", lastEventId: "0");
        var ids = (await client.ReadMessagesAsync(256)).Where(f => f.Data is not null).Select(f => long.Parse(f.Id!)).ToList();

        Assert.Equal(Enumerable.Range(45, 256).Select(i => IdBase(host, "/burst") + i), ids);
    }

    [Fact]
    public async Task KeepAlive_IsACommentAfterTheIdleInterval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)), time: time);
        await using var client = await SseReader.OpenAsync(host.Client, "/chat");
        await client.ReadUntilAsync(f => f.Count > 0);

        // 14 s idle: a keep-alive due then would be queued inside Advance, before the marker sent after it.
        time.Advance(TimeSpan.FromSeconds(14));
        await host.Client.PostAsync("/send-text", new StringContent("marker"));
        await client.ReadMessagesAsync(1);
        var marker = $"id: {IdBase(host, "/chat") + 1}\ndata: marker\n\n";
        Assert.Equal("retry: 3000\n\n" + marker, client.Raw);
        // The marker's write is the connection's last activity (recorded once its flush returns).
        await Task.Delay(200);
        time.Advance(TimeSpan.FromSeconds(16));
        await client.ReadUntilAsync(f => f.Count > 2);

        Assert.Equal("retry: 3000\n\n" + marker + ":\n\n", client.Raw);
    }

    [Fact]
    public async Task OtherMethods_OnAStreamPath_Get405_WithAllowGet()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));

        var response = await host.Client.PostAsync("/chat", null);

        await HttpAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
        Assert.Equal(["GET"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task StreamPaths_AreCaseSensitive()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));

        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/CHAT"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task ConnectionLimit_Answers503_AndFreesSlotsOnDisconnect()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)), new Dictionary<string, string?> { ["AiWebEngine:Streams:MaxConnections"] = "2" });
        var first = await SseReader.OpenAsync(host.Client, "/chat");
        await using var second = await SseReader.OpenAsync(host.Client, "/chat");
        await first.ReadUntilAsync(f => f.Count > 0);
        await second.ReadUntilAsync(f => f.Count > 0);

        var refused = await host.Client.GetAsync("/chat");
        await HttpAssert.ErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "OVERLOADED");
        Assert.Equal(TimeSpan.FromSeconds(3), refused.Headers.RetryAfter?.Delta); // RetryMilliseconds, rounded up

        await first.DisposeAsync();
        await WaitForConnectionsAsync(host, 1);
        await using var third = await SseReader.OpenAsync(host.Client, "/chat");
        Assert.Equal(HttpStatusCode.OK, third.Response.StatusCode);
    }

    [Fact]
    public async Task Disconnects_ReleaseEverything_After1000Cycles()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        var bus = host.Services.GetRequiredService<ITopicBus>();

        for (var i = 0; i < 1000; i++)
        {
            await using var client = await SseReader.OpenAsync(host.Client, i % 2 == 0 ? "/chat" : "/chat?room=x");
            await client.ReadUntilAsync(f => f.Count > 0);
        }

        await WaitForConnectionsAsync(host, 0);
        Assert.Equal(0, bus.GetStats(StreamRegistry.TopicOf("/chat"))?.Subscribers ?? 0);
        var health = await HttpAssert.JsonAsync(await host.Client.GetAsync("/health"));
        Assert.Equal(0, health.GetProperty("streams").GetProperty("connections").GetInt32());
        Assert.Equal(2, health.GetProperty("streams").GetProperty("paths").GetInt32());
    }

    [Fact]
    public async Task StreamCreatedByAHandler_ServesAtOnce()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("rooms.js", """
            register("/rooms/{name}", (req) => { registerWebStream("/rooms/" + req.params.name + "/events"); return { status: 201 }; }, "POST");
            register("/rooms/{name}/say", (req) => ({ body: String(sendStreamMessageToPath("/rooms/" + req.params.name + "/events", { said: req.body })) }), "POST");
            """)));

        await HttpAssert.TextAsync(await host.Client.PostAsync("/rooms/lobby", null), HttpStatusCode.Created);
        await using var client = await SseReader.OpenAsync(host.Client, "/rooms/lobby/events");
        await client.ReadUntilAsync(f => f.Count > 0);
        var count = await HttpAssert.TextAsync(await host.Client.PostAsync("/rooms/lobby/say", new StringContent("hello")));

        Assert.Equal("1", count);
        Assert.Equal("{\"said\":\"hello\"}", (await client.ReadMessagesAsync(1)).Single(f => f.Data is not null).Data);
    }

    [Fact]
    public async Task Reload_KeepsClientsOfSurvivingPaths_AndEndsClientsOfRemovedOnes()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("app.js", """
            registerWebStream("/stays");
            registerWebStream("/goes");
            register("/send", () => ({ body: String(sendStreamMessage("v1")) }), "POST");
            """)));
        await using var stays = await SseReader.OpenAsync(host.Client, "/stays");
        await using var goes = await SseReader.OpenAsync(host.Client, "/goes");
        await Task.WhenAll(stays.ReadUntilAsync(f => f.Count > 0), goes.ReadUntilAsync(f => f.Count > 0));
        await host.Client.PostAsync("/send", null);

        await host.WriteScriptAsync("app.js", """
            registerWebStream("/stays");
            register("/send", () => ({ body: String(sendStreamMessage("v2")) }), "POST");
            """);
        var count = await HttpAssert.TextAsync(await host.Client.PostAsync("/send", null));

        Assert.Equal("1", count);
        Assert.True(await goes.WaitForEndAsync());
        var messages = (await stays.ReadMessagesAsync(2)).Where(f => f.Data is not null).ToList();
        Assert.Equal(["v1", "v2"], messages.Select(f => f.Data));
        var b = IdBase(host, "/stays");
        Assert.Equal([$"{b + 1}", $"{b + 2}"], messages.Select(f => f.Id));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/goes"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task DeletingTheScript_EndsItsStreams()
    {
        await using var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)));
        await using var client = await SseReader.OpenAsync(host.Client, "/chat");
        await client.ReadUntilAsync(f => f.Count > 0);

        await host.DeleteScriptAsync("chat.js");

        Assert.True(await client.WaitForEndAsync());
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/chat"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task Shutdown_EndsEveryStreamCleanly()
    {
        var host = await EngineHost.StartAsync(Scripts(("chat.js", Chat)), kestrel: true);
        await using var client = await SseReader.OpenAsync(host.Client, "/chat");
        await client.ReadUntilAsync(f => f.Count > 0);

        var stopped = host.DisposeAsync().AsTask();

        Assert.True(await client.WaitForEndAsync(TimeSpan.FromSeconds(10)));
        await stopped.WaitAsync(TimeSpan.FromSeconds(10));
    }

    internal static async Task WaitForConnectionsAsync(EngineHost host, int expected)
    {
        var limiter = host.Services.GetRequiredService<StreamConnectionLimiter>();
        for (var i = 0; i < 200 && limiter.Open != expected; i++)
        {
            await Task.Delay(25);
        }

        Assert.Equal(expected, limiter.Open);
    }
}
