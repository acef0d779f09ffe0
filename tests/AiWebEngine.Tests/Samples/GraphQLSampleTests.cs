using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AiWebEngine.GraphQL;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.Samples;

/// <summary>
/// The GraphQL samples (<c>samples/graphql/</c>) on a real socket, through every transport: POST
/// /graphql, /graphql/sse, /graphql with Accept text/event-stream, /graphql/subscription/&lt;name&gt;,
/// and the npm graphql-sse, graphql-ws and eventsource clients.
/// </summary>
public sealed class GraphQLSampleTests(SampleFixture fixture) : IClassFixture<SampleFixture>, IDisposable
{
    private const string Greeting = "Subscribed to live notifications";

    // A stream closed early closes its connection at once instead of draining it for up to 2 s.
    private readonly HttpClient _client = new(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = fixture.Host.BaseAddress };

    private HttpClient Client => _client;

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Notifications_OverGraphQLSse_GreetFirst_ThenDeliverTheTrigger_AndTheMutation_Exactly()
    {
        await WaitForSubscribersAsync("liveNotifications", 0);
        await using var reader = await SseReader.OpenAsync(Client, Post("/graphql/sse", """{"query":"subscription { liveNotifications }"}"""));

        await reader.ReadMessagesAsync(1);
        Assert.Equal("text/event-stream", reader.Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("event: next\ndata: {\"data\":{\"liveNotifications\":\"" + Greeting + "\"}}\n\n", reader.Raw);

        Assert.Equal("Notification sent (1 subscriber(s), 0 stream client(s))", await HttpAssert.TextAsync(await Client.PostAsync("/trigger-notification", null)));
        AssertTriggered(LiveNotification((await reader.ReadMessagesAsync(2))[1]));

        Assert.Equal("""{"data":{"sendNotification":"Notification sent to 1 subscriber(s)"}}""", await SendNotificationAsync("Deploy finished"));
        AssertSent("Deploy finished", LiveNotification((await reader.ReadMessagesAsync(3))[2]));
        Assert.All(reader.Frames, f => Assert.Equal("next", f.Event));
    }

    [Fact]
    public async Task Notifications_OverTheNpmGraphQLSseClient_ThenItsLeavingReleasesTheSubscriber()
    {
        await WaitForSubscribersAsync("liveNotifications", 0);
        await using var client = NodeClient.Start("graphql-sse-client.mjs", Url("/graphql/sse"), "3", "leave", "subscription { liveNotifications }", "{ rooms }");

        await client.WaitForLineAsync(l => l.Contains(Greeting, StringComparison.Ordinal));
        await HttpAssert.TextAsync(await Client.PostAsync("/trigger-notification", null));
        Assert.Equal("""{"data":{"sendNotification":"Notification sent to 1 subscriber(s)"}}""", await SendNotificationAsync("from graphql-sse"));

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Contains("left", client.Lines);
        var rooms = NodeJson(client, "query").Single().GetProperty("data").GetProperty("rooms").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Equal(["general", "random"], rooms.Take(2));
        var events = NodeJson(client, "next").Select(r => r.GetProperty("data").GetProperty("liveNotifications").GetString()!).ToList();
        Assert.Equal(3, events.Count);
        Assert.Equal(Greeting, events[0]);
        AssertTriggered(events[1]);
        AssertSent("from graphql-sse", events[2]);

        // The client is gone: its subscriber is released, and the next mutation reaches no one.
        await WaitForSubscribersAsync("liveNotifications", 0);
        Assert.Equal("""{"data":{"sendNotification":"Notification sent to 0 subscriber(s)"}}""", await SendNotificationAsync("to no one"));
    }

    [Fact]
    public async Task Notifications_AsAnEventSourceStream_AreThePayloadsAsSent_WithIds_AndReplay()
    {
        await WaitForSubscribersAsync("liveNotifications", 0);
        await using var reader = await SseReader.OpenAsync(Client, "/graphql/subscription/liveNotifications");
        await WaitForSubscribersAsync("liveNotifications", 1);
        await using var npm = NodeClient.Start("sse-client.mjs", Url("/graphql/subscription/liveNotifications"), "2");
        await npm.WaitForLineAsync(l => l == "open");
        await WaitForSubscribersAsync("liveNotifications", 2);

        Assert.Equal("Notification sent (2 subscriber(s), 0 stream client(s))", await HttpAssert.TextAsync(await Client.PostAsync("/trigger-notification", null)));
        Assert.Equal("""{"data":{"sendNotification":"Notification sent to 2 subscriber(s)"}}""", await SendNotificationAsync("to the EventSource"));
        var messages = await reader.ReadMessagesAsync(2);

        Assert.Equal("text/event-stream", reader.Response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("retry: 3000\n\n", reader.Raw, StringComparison.Ordinal);
        Assert.All(messages, m => Assert.Null(m.Event));
        var data = messages.Where(m => m.Data is not null).ToList();
        AssertTriggered(data[0].Data!);
        AssertSent("to the EventSource", data[1].Data!);
        Assert.True(long.Parse(data[1].Id!) > long.Parse(data[0].Id!));

        Assert.True(await npm.WaitForExitAsync() == 0, npm.Output + npm.Errors);
        var fromNpm = NodeJson(npm, "data").Select(d => d.GetString()).ToList();
        Assert.Equal(data.Select(d => d.Data), fromNpm);
        Assert.Equal(data.Select(d => d.Id), NodeJson(npm, "id").Select(d => d.GetString()));

        // Reconnecting with the first event's id replays the second.
        await using var replay = await SseReader.OpenAsync(Client, "/graphql/subscription/liveNotifications", data[0].Id);
        var replayed = (await replay.ReadMessagesAsync(1)).Single(f => f.Data is not null);
        Assert.Equal((data[1].Id, data[1].Data), (replayed.Id, replayed.Data));
    }

    [Fact]
    public async Task Notifications_EventSourceClientThatDisconnects_IsReleased()
    {
        await WaitForSubscribersAsync("liveNotifications", 0);
        var reader = await SseReader.OpenAsync(Client, "/graphql/subscription/liveNotifications");
        await WaitForSubscribersAsync("liveNotifications", 1);
        Assert.Equal("""{"data":{"sendNotification":"Notification sent to 1 subscriber(s)"}}""", await SendNotificationAsync("one"));

        await reader.DisposeAsync();

        await WaitForSubscribersAsync("liveNotifications", 0);
        Assert.Equal("""{"data":{"sendNotification":"Notification sent to 0 subscriber(s)"}}""", await SendNotificationAsync("none"));
    }

    [Fact]
    public async Task SendNotification_WithoutAMessage_IsAGraphQLError()
    {
        var response = await Client.SendAsync(Post("/graphql", """{"query":"mutation { sendNotification }"}"""));
        var body = await response.Content.ReadAsStringAsync();

        var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("message").GetString();
        Assert.Contains("message", error, StringComparison.Ordinal);
        Assert.False(JsonDocument.Parse(body).RootElement.TryGetProperty("data", out _), body);
    }

    [Fact]
    public async Task Chat_OverTheNpmGraphQLWsClient_ReceivesOnlyItsRoom_TypedFields_AndRoomsListsTheNewRooms()
    {
        await WaitForSubscribersAsync("chat", 0);
        var url = new UriBuilder(new Uri(fixture.Host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri.ToString();
        await using var client = NodeClient.Start("graphql-ws-client.mjs", url, "2", "leave", """subscription { chat(room: "a") { id room user text at } }""", "{ rooms }");
        await using var raw = await SseReader.OpenAsync(Client, "/graphql/subscription/chat?room=a");
        await client.WaitForLineAsync(l => l.StartsWith("{\"query\"", StringComparison.Ordinal));
        await WaitForSubscribersAsync("chat", 2);

        var inB = await PostMessageAsync("b", "bob", "not for room a");
        var first = await PostMessageAsync("a", "ada", "hello a");
        var second = await PostMessageAsync("a", "alan", "again \"a\"");

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Contains("left", client.Lines);
        Assert.Single(client.Lines, "connected");
        var received = NodeJson(client, "next").Select(n => n.GetProperty("data").GetProperty("chat")).ToList();
        Assert.Equal([Fields(first), Fields(second)], received.Select(Fields));
        Assert.Equal(["id", "room", "user", "text", "at"], received[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("again \"a\"", received[1].GetProperty("text").GetString());
        Assert.Equal(("a", "ada", "hello a"), (received[0].GetProperty("room").GetString(), received[0].GetProperty("user").GetString(), received[0].GetProperty("text").GetString()));
        Assert.True(DateTimeOffset.TryParse(received[0].GetProperty("at").GetString(), out _));
        Assert.Equal(int.Parse(first.GetProperty("id").GetString()!) + 1, int.Parse(second.GetProperty("id").GetString()!));
        Assert.Equal("b", inB.GetProperty("room").GetString());

        // The EventSource on ?room=a got the same two messages as sent, as JSON.
        var rawMessages = (await raw.ReadMessagesAsync(2)).Where(f => f.Data is not null).Select(f => JsonDocument.Parse(f.Data!).RootElement).ToList();
        Assert.Equal([first.GetProperty("id").GetString(), second.GetProperty("id").GetString()], rawMessages.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["a", "a"], rawMessages.Select(m => m.GetProperty("room").GetString()));

        var rooms = JsonDocument.Parse(await QueryAsync("{ rooms }")).RootElement.GetProperty("data").GetProperty("rooms").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Equal(["general", "random"], rooms.Take(2));
        Assert.Contains("a", rooms);
        Assert.Contains("b", rooms);
        Assert.Equal(rooms.Count, rooms.Distinct().Count());

        await raw.DisposeAsync();
        await WaitForSubscribersAsync("chat", 0);
    }

    [Fact]
    public async Task Chat_OverGraphQLSse_ResolvesOnlyTheSelectedFields()
    {
        await WaitForSubscribersAsync("chat", 0);
        await using var reader = await SseReader.OpenAsync(Client, Post("/graphql/sse", """{"query":"subscription($room: String) { chat(room: $room) { user text } }","variables":{"room":"sse-room"}}"""));
        await WaitForSubscribersAsync("chat", 1);

        await PostMessageAsync("other-room", "eve", "nope");
        await PostMessageAsync("sse-room", "ada", "typed");

        var frame = (await reader.ReadMessagesAsync(1)).Single(f => f.Data is not null);
        Assert.Equal("next", frame.Event);
        Assert.Equal("""{"data":{"chat":{"user":"ada","text":"typed"}}}""", frame.Data);
    }

    [Fact]
    public async Task PostMessage_WithEmptyText_IsTheResolversError_AndPublishesNothing()
    {
        await WaitForSubscribersAsync("chat", 0);
        await using var room = await SseReader.OpenAsync(Client, "/graphql/subscription/chat?room=empty-text");
        await room.ReadUntilAsync(f => f.Count > 0);
        await WaitForSubscribersAsync("chat", 1);

        var body = await QueryAsync("""mutation { postMessage(room: "empty-text", user: "ada", text: "  ") { id } }""");
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("text must not be empty", root.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("data").GetProperty("postMessage").ValueKind);

        // A valid message to the same room afterwards: had the refused one been published, it would come first.
        var sent = await PostMessageAsync("empty-text", "ada", "after");
        var first = JsonDocument.Parse((await room.ReadMessagesAsync(1)).Single(f => f.Data is not null).Data!).RootElement;
        Assert.Equal((sent.GetProperty("id").GetString(), "after"), (first.GetProperty("id").GetString(), first.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task LiveEvents_TheTriggerRoute_ReachesGraphQLOverSseOnSlashGraphql_AndTheEventSourceStream()
    {
        await WaitForSubscribersAsync("liveEvents", 0);
        await using var graphql = await SseReader.OpenAsync(Client, Post("/graphql", """{"query":"subscription { liveEvents }"}""", "text/event-stream"));
        await graphql.ReadMessagesAsync(1);
        await using var stream = await SseReader.OpenAsync(Client, "/graphql/subscription/liveEvents");
        await WaitForSubscribersAsync("liveEvents", 2);

        Assert.Equal("Event sent", await HttpAssert.TextAsync(await Client.PostAsync("/live-events/trigger", null)));

        var next = (await graphql.ReadMessagesAsync(2))[1];
        var raw = (await stream.ReadMessagesAsync(1)).Single(f => f.Data is not null);
        Assert.Equal("text/event-stream", graphql.Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"data":{"liveEvents":"Live events subscription active"}}""", graphql.Messages[0].Data);
        Assert.Equal("next", next.Event);
        var sent = JsonDocument.Parse(next.Data!).RootElement.GetProperty("data").GetProperty("liveEvents").GetString()!;
        var timestamp = JsonDocument.Parse(sent).RootElement.GetProperty("timestamp").GetString()!;
        Assert.True(DateTimeOffset.TryParse(timestamp, out _), timestamp);
        Assert.Equal($$"""{"event":"user_joined","timestamp":"{{timestamp}}"}""", sent);
        Assert.Equal(sent, raw.Data);
    }

    [Fact]
    public async Task LiveEvents_TheTriggerRoute_OnlyTakesPost()
    {
        var response = await Client.GetAsync("/live-events/trigger");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    // ---- helpers ----

    private string Url(string path) => new Uri(fixture.Host.BaseAddress, path).ToString();

    private static HttpRequestMessage Post(string path, string json, string? accept = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        return request;
    }

    private async Task<string> QueryAsync(string query, object? variables = null)
    {
        var response = await Client.SendAsync(Post("/graphql", JsonSerializer.Serialize(new { query, variables })));
        return await HttpAssert.TextAsync(response);
    }

    private Task<string> SendNotificationAsync(string message) =>
        QueryAsync("mutation($m: String!) { sendNotification(message: $m) }", new { m = message });

    private async Task<JsonElement> PostMessageAsync(string room, string user, string text)
    {
        var body = await QueryAsync(
            "mutation($room: String!, $user: String!, $text: String!) { postMessage(room: $room, user: $user, text: $text) { id room user text at } }",
            new { room, user, text });
        var root = JsonDocument.Parse(body).RootElement;
        Assert.False(root.TryGetProperty("errors", out _), body);
        return root.GetProperty("data").GetProperty("postMessage").Clone();
    }

    // The subscription's subscribers on the bus, as sendSubscriptionMessage counts them.
    private async Task WaitForSubscribersAsync(string subscription, int count)
    {
        var bus = fixture.Host.Services.GetRequiredService<ITopicBus>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int Now() => bus.GetStats(GraphQLField.TopicOf(subscription))?.Subscribers ?? 0;
        while (Now() != count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected {count} subscriber(s) of {subscription}, have {Now()}");
            await Task.Delay(10);
        }
    }

    // The liveNotifications string of a graphql-sse `next` frame ({"data":{"liveNotifications":…}} and nothing else).
    private static string LiveNotification(SseFrame frame)
    {
        Assert.Equal("next", frame.Event);
        var root = JsonDocument.Parse(frame.Data!).RootElement;
        Assert.Equal(["data"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["liveNotifications"], root.GetProperty("data").EnumerateObject().Select(p => p.Name));
        return root.GetProperty("data").GetProperty("liveNotifications").GetString()!;
    }

    // POST /trigger-notification's payload, byte for byte but for the timestamp.
    private static void AssertTriggered(string payload)
    {
        var timestamp = Timestamp(payload);
        Assert.Equal(
            $$"""{"type":"notification","title":"New Message","body":"You have a new message","message":"You have a new message","timestamp":"{{timestamp}}","priority":"high"}""",
            payload);
    }

    // sendNotification's payload, byte for byte but for the timestamp.
    private static void AssertSent(string message, string payload)
    {
        var timestamp = Timestamp(payload);
        Assert.Equal($$"""{"type":"notification","message":"{{message}}","timestamp":"{{timestamp}}"}""", payload);
    }

    private static string Timestamp(string payload)
    {
        var timestamp = JsonDocument.Parse(payload).RootElement.GetProperty("timestamp").GetString()!;
        Assert.True(DateTimeOffset.TryParse(timestamp, out var at), payload);
        Assert.InRange(DateTimeOffset.UtcNow - at, TimeSpan.Zero - TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1));
        return timestamp;
    }

    private static string Fields(JsonElement message) =>
        string.Join("\n", message.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"));

    private static List<JsonElement> NodeJson(NodeClient client, string key) =>
        client.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty(key, out _)).Select(e => e.GetProperty(key)).ToList();
}
