using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// README (GraphQL fields): the schema is rebuilt on every registration change and swapped in one
/// step; operations that are running finish on the schema they started with.
/// </summary>
public sealed class SchemaReloadTests
{
    private const string Slow = """
        registerGraphQLMutation("slow", "type Mutation { slow: String }", () => {
          writeLog("slow started");
          const end = Date.now() + 10000;
          while (Date.now() < end) {}
          return "slow done";
        });
        registerGraphQLSubscription("ticks", "type Subscription { ticks: String }", null);
        """;

    private static string Other(string version) => $$"""
        registerGraphQLMutation("other", "type Mutation { other: String }", () => "other {{version}}");
        registerGraphQLQuery("{{version}}only", "type Query { {{version}}only: String }", () => "{{version}}");
        register("/tick", (req) => ({ body: String(sendSubscriptionMessage("ticks", req.body)) }), "POST");
        """;

    private static Task<HttpResponseMessage> PostAsync(EngineHost host, string query) =>
        host.Client.PostAsync("/graphql", new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json"));

    [Fact]
    public async Task OperationsRunningWhenTheSchemaChanges_FinishOnTheSchemaTheyStartedWith_WhileNewOnesSeeTheNewSchema()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["slow.js"] = Slow, ["other.js"] = Other("v1") },
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:00:30" });
        var subscribe = new HttpRequestMessage(HttpMethod.Post, "/graphql/sse") { Content = new StringContent("""{"query":"subscription { ticks }"}""", Encoding.UTF8, "application/json") };
        subscribe.Headers.Accept.ParseAdd("text/event-stream");
        await using var ticks = await SseReader.OpenAsync(host.Client, subscribe);
        await WaitUntilAsync(async () => await HttpAssert.TextAsync(await host.Client.PostAsync("/tick", new StringContent("before"))) == "1", "the subscription is live");
        await ticks.ReadMessagesAsync(1);

        // Serial: slow runs first, then other, which is resolved after the schema has changed.
        var running = PostAsync(host, "mutation { slow other }");
        await WaitUntilAsync(() => Task.FromResult(host.Logs.Lines.Any(l => l.Message.Contains("slow started", StringComparison.Ordinal))), "the mutation is running");
        var change = await host.WriteScriptAsync("other.js", Other("v2"));
        Assert.Equal(ScriptChangeKind.Updated, change.Kind);
        Assert.False(running.IsCompleted, "the mutation finished before the reload: the test proved nothing (its resolver spins for 10 s)");

        // A new operation sees the new schema at once, while the old one is still running.
        Assert.Equal("""{"data":{"v2only":"v2"}}""", await HttpAssert.TextAsync(await PostAsync(host, "{ v2only }")));
        var gone = JsonDocument.Parse(await HttpAssert.TextAsync(await PostAsync(host, "{ v1only }"))).RootElement;
        Assert.Equal("FIELDS_ON_CORRECT_TYPE", gone.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());

        // The running one completes, every field resolved (other by the version that serves now), no error.
        var response = await running.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("""{"data":{"slow":"slow done","other":"other v2"}}""", await HttpAssert.TextAsync(response));

        // A subscription started on the old schema keeps receiving, from the new version's route.
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.PostAsync("/tick", new StringContent("after"))));
        var events = (await ticks.ReadMessagesAsync(2)).Where(f => f.Data is not null).Select(f => f.Data).ToList();
        Assert.Equal(["""{"data":{"ticks":"before"}}""", """{"data":{"ticks":"after"}}"""], events.Take(2));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(20);
        }
    }
}
