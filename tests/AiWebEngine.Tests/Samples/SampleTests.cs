using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>Every sample in <c>samples/</c>, loaded as a user runs it and driven through its routes and streams.</summary>
public sealed class SampleTests(SampleFixture fixture) : IClassFixture<SampleFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task EverySample_Loads()
    {
        var files = Directory.EnumerateFiles(Path.Combine(EngineHost.RepositoryRoot, "samples"), "*.js", SearchOption.AllDirectories).Count();

        var health = await HttpAssert.JsonAsync(await Client.GetAsync("/health"));

        Assert.Empty(health.GetProperty("scripts").GetProperty("failed").EnumerateArray());
        Assert.Equal(files, health.GetProperty("scripts").GetProperty("loaded").GetInt32());
    }

    [Fact]
    public async Task Hello_GreetsTheWorld_OrTheGivenName()
    {
        Assert.Contains("world", await HttpAssert.TextAsync(await Client.GetAsync("/hello")), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Ada", await HttpAssert.TextAsync(await Client.GetAsync("/hello?name=Ada")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_LinksToEverySamplePage()
    {
        var response = await Client.GetAsync("/");
        var html = await HttpAssert.TextAsync(response);

        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        foreach (var page in new[] { "/hello", "/api/notes", "/examples/basic", "/examples/notifications", "/examples/dashboard", "/examples/chat", "/examples/data-feed", "/examples/multi", "/examples/webhook" })
        {
            Assert.Contains($"href=\"{page}", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NotesApi_CreatesFromFormOrJson_Lists_Filters_Gets_AndDeletes()
    {
        var fromForm = await HttpAssert.JsonAsync(await Client.PostAsync("/api/notes", new FormUrlEncodedContent(new Dictionary<string, string> { ["title"] = "buy milk", ["tags"] = "home,errands" })), HttpStatusCode.Created);
        var fromJson = await HttpAssert.JsonAsync(await Client.PostAsync("/api/notes", JsonContent.Create(new { title = "ship v2", tags = new[] { "work" } })), HttpStatusCode.Created);
        var id = Id(fromJson);

        var work = await HttpAssert.JsonAsync(await Client.GetAsync("/api/notes?tag=work"));
        var one = await HttpAssert.JsonAsync(await Client.GetAsync($"/api/notes/{id}"));
        var deleted = await HttpAssert.JsonAsync(await Client.DeleteAsync($"/api/notes/{id}"));
        Assert.Equal("ship v2", deleted.GetProperty("deleted").GetProperty("title").GetString());
        var gone = await Client.GetAsync($"/api/notes/{id}");
        var invalid = await Client.PostAsync("/api/notes", JsonContent.Create(new { tags = new[] { "no title" } }));

        Assert.Equal("buy milk", Note(fromForm).GetProperty("title").GetString());
        Assert.Contains(Items(work), n => n.GetProperty("title").GetString() == "ship v2");
        Assert.DoesNotContain(Items(work), n => n.GetProperty("title").GetString() == "buy milk");
        Assert.Equal("ship v2", Note(one).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
    }

    [Theory]
    [InlineData("/examples/basic")]
    [InlineData("/examples/basic/guide")]
    [InlineData("/examples/notifications")]
    [InlineData("/examples/dashboard")]
    [InlineData("/examples/chat")]
    [InlineData("/examples/data-feed")]
    [InlineData("/examples/multi")]
    [InlineData("/examples/webhook")]
    public async Task Page_IsHtml_WithAnEventSource(string page)
    {
        var response = await Client.GetAsync(page);
        var html = await HttpAssert.TextAsync(response);

        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("EventSource", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BasicStream_DeliversTheTriggeredEvent()
    {
        var message = await TriggerAsync("/events", () => Client.PostAsync("/trigger", null));

        Assert.Equal("event", message.GetProperty("type").GetString());
        Assert.Equal("Something happened!", message.GetProperty("message").GetString());
        Assert.True(DateTimeOffset.TryParse(message.GetProperty("timestamp").GetString(), out _));
    }

    [Fact]
    public async Task Notifications_DeliverAnAlertFromTheForm_AndTheCurlTrigger()
    {
        var alert = await TriggerAsync("/notifications", () => Client.PostAsync("/send-alert", Form(("type", "deploy"), ("message", "v2 is live"), ("priority", "high"))));
        var notification = await TriggerAsync("/notifications", () => Client.PostAsync("/trigger-notification", null));

        Assert.Equal("alert", alert.GetProperty("type").GetString());
        Assert.Equal("deploy", alert.GetProperty("alertType").GetString());
        Assert.Equal("v2 is live", alert.GetProperty("message").GetString());
        Assert.Equal("high", alert.GetProperty("priority").GetString());
        Assert.Equal("notification", notification.GetProperty("type").GetString());
        Assert.Equal("New Message", notification.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Dashboard_DeliversMetrics()
    {
        var metrics = await TriggerAsync("/dashboard", () => Client.PostAsync("/update-metrics", null));

        Assert.Equal("metrics", metrics.GetProperty("type").GetString());
        Assert.InRange(metrics.GetProperty("cpu").GetDouble(), 0, 100);
        Assert.InRange(metrics.GetProperty("memory").GetDouble(), 0, 100);
        Assert.InRange(metrics.GetProperty("requests").GetInt32(), 0, 999);
    }

    [Fact]
    public async Task Chat_DeliversTheMessageFromTheForm()
    {
        var chat = await TriggerAsync("/chat", () => Client.PostAsync("/chat/send", Form(("user", "ada"), ("room", "general"), ("message", "hello all"))));

        Assert.Equal("chat_message", chat.GetProperty("type").GetString());
        Assert.Equal("ada", chat.GetProperty("user").GetString());
        Assert.Equal("general", chat.GetProperty("room").GetString());
        Assert.Equal("hello all", chat.GetProperty("message").GetString());
    }

    [Fact]
    public async Task DataFeed_DeliversTheSensorReading()
    {
        var reading = await TriggerAsync("/data-feed", () => Client.GetAsync("/broadcast-data?sensor=rack-7"));

        Assert.Equal("data_update", reading.GetProperty("type").GetString());
        Assert.Equal("rack-7", reading.GetProperty("sensor_id").GetString());
        Assert.Equal("celsius", reading.GetProperty("unit").GetString());
        Assert.Equal("server_room", reading.GetProperty("location").GetString());
    }

    [Fact]
    public async Task MultipleStreams_ACriticalActionReachesEveryStreamOfTheScript_TwoMessagesEach()
    {
        await using var notifications = await SseReader.OpenAsync(Client, "/multi/notifications");
        await using var status = await SseReader.OpenAsync(Client, "/multi/system-status");
        await using var chat = await SseReader.OpenAsync(Client, "/multi/chat");
        await Task.WhenAll(notifications.ReadUntilAsync(f => f.Count > 0), status.ReadUntilAsync(f => f.Count > 0), chat.ReadUntilAsync(f => f.Count > 0));

        Assert.Equal("Action processed", await HttpAssert.TextAsync(await Client.PostAsync("/multi/user-action", Form(("action", "critical_operation"), ("user", "ada")))));

        foreach (var reader in new[] { notifications, status, chat })
        {
            var messages = (await reader.ReadMessagesAsync(2)).Where(f => f.Data is not null).Select(f => JsonDocument.Parse(f.Data!).RootElement).ToList();
            Assert.Equal(["user_action", "system_status"], messages.Select(m => m.GetProperty("type").GetString()));
            Assert.Equal("ada", messages[0].GetProperty("user").GetString());
            Assert.Equal("busy", messages[1].GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Webhook_TransformsTheGithubPayload()
    {
        var body = new StringContent("""{"action":"opened","repository":{"name":"aiwebengine"}}""", Encoding.UTF8, "application/json");

        var update = await TriggerAsync("/external-updates", () => Client.PostAsync("/webhook/github", body));

        Assert.Equal("external_update", update.GetProperty("type").GetString());
        Assert.Equal("github", update.GetProperty("source").GetString());
        Assert.Equal("opened", update.GetProperty("event").GetString());
        Assert.Equal("aiwebengine", update.GetProperty("repository").GetString());
    }

    [Fact]
    public async Task Webhook_WithABodyThatIsNotJson_Gets500_NamingTheScript()
    {
        var error = await HttpAssert.ErrorAsync(await Client.PostAsync("/webhook/github", new StringContent("not json")), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");

        Assert.Equal("streams/webhook.js", error.GetProperty("details").GetProperty("script").GetString());
    }

    // Connects an SSE client over the real socket, triggers, and returns the event's JSON.
    private async Task<JsonElement> TriggerAsync(string stream, Func<Task<HttpResponseMessage>> trigger)
    {
        await using var reader = await SseReader.OpenAsync(Client, stream);
        await reader.ReadUntilAsync(f => f.Count > 0);
        var response = await trigger();
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var frame = (await reader.ReadMessagesAsync(1)).First(f => f.Data is not null);
        Assert.NotNull(frame.Id);
        return JsonDocument.Parse(frame.Data!).RootElement;
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    private static JsonElement Note(JsonElement json) => json.TryGetProperty("note", out var note) ? note : json;

    private static string Id(JsonElement json) => Note(json).GetProperty("id").ToString();

    private static List<JsonElement> Items(JsonElement json) =>
        [.. (json.ValueKind == JsonValueKind.Array ? json : json.GetProperty("notes")).EnumerateArray()];
}
