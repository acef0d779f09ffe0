using System.Net;
using System.Text.Json;
using AiWebEngine.GraphQL;
using AiWebEngine.Scripting;
using AiWebEngine.Tests.Infrastructure;
using GraphQL;
using GraphQL.SystemTextJson;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>Scripts' GraphQL fields (SPEC §3 and §5.3), executed against the schema the engine builds.</summary>
public sealed class GraphQLScriptTests : IAsyncLifetime
{
    private const string Script = """
        registerGraphQLQuery("hello", "type Query { hello(name: String): String }", "hello");
        function hello(args, context) { return "Hello, " + (args.name || "world") + "! (" + context.fieldName + ")"; }

        registerGraphQLQuery("stats", `
          type Query { stats(scale: Float = 1.0): Stats }
          type Stats { ratio: Float count: Int label: String tags: [String] nested: Inner }
          type Inner { deep: String }`,
          (args) => ({ ratio: 2.5 * args.scale, count: 3, label: { not: "a string" }, tags: ["a", { b: 1 }], nested: { deep: "yes" } }));

        registerGraphQLQuery("broken", "type Query { broken: String }", () => { throw new Error("no luck today"); });
        registerGraphQLQuery("later", "type Query { later: Int }", async () => { await Promise.resolve(); return 42; });
        registerGraphQLQuery("whoami", "type Query { whoami: String }", (args, context) => JSON.stringify(context));

        registerGraphQLMutation("post", `
          type Mutation { post(input: PostInput!): Post }
          input PostInput { room: String! text: String! }
          type Post { room: String text: String }`,
          (args) => { sendSubscriptionMessage("chat", { room: args.input.room, text: args.input.text }, { room: args.input.room }); return args.input; });

        registerGraphQLSubscription("chat", `
          type Subscription { chat(room: String): Post }
          type Post { room: String text: String }`, null);

        registerGraphQLSubscription("liveEvents", "type Subscription { liveEvents: String }", "liveEventsResolver");
        function liveEventsResolver() { return "Live events subscription active"; }

        register("/publish", (req) => ({ body: String(sendSubscriptionMessage("liveEvents", req.body)) }), "POST");
        """;

    private EngineHost _host = null!;

    public async Task InitializeAsync() => _host = await EngineHost.StartAsync(new Dictionary<string, string> { ["graph.js"] = Script });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private IGraphQLSchemaProvider Schema => _host.Services.GetRequiredService<IGraphQLSchemaProvider>();

    private async Task<JsonElement> ExecuteAsync(string query, string? variables = null)
    {
        var result = await new DocumentExecuter().ExecuteAsync(options =>
        {
            options.Schema = Schema.Current;
            options.Query = query;
            options.Variables = variables is null ? null : new GraphQLSerializer().Deserialize<Inputs>(variables);
        });
        return JsonDocument.Parse(new GraphQLSerializer().Serialize(result)).RootElement;
    }

    [Fact]
    public async Task Query_CallsTheResolverWithArgsAndContext()
    {
        var result = await ExecuteAsync("""{ hello(name: "Ada") plain: hello }""");

        Assert.Equal("Hello, Ada! (hello)", result.GetProperty("data").GetProperty("hello").GetString());
        Assert.Equal("Hello, world! (hello)", result.GetProperty("data").GetProperty("plain").GetString());
    }

    [Fact]
    public async Task Context_HasFieldNameOperationNameAndHeaders()
    {
        var result = await ExecuteAsync("query Who { whoami }");

        var context = JsonDocument.Parse(result.GetProperty("data").GetProperty("whoami").GetString()!).RootElement;
        Assert.Equal("whoami", context.GetProperty("fieldName").GetString());
        Assert.Equal("Who", context.GetProperty("operationName").GetString());
        Assert.Equal(JsonValueKind.Object, context.GetProperty("headers").ValueKind);
    }

    [Fact]
    public async Task ObjectResult_IsResolvedAgainstTheSelection_FloatsStayFloats_NonStringsForStringsAreJson()
    {
        var result = await ExecuteAsync("{ stats(scale: 1.5) { ratio count label tags nested { deep } } }");

        var stats = result.GetProperty("data").GetProperty("stats");
        Assert.Equal(3.75, stats.GetProperty("ratio").GetDouble());
        Assert.Equal(3, stats.GetProperty("count").GetInt32());
        Assert.Equal("{\"not\":\"a string\"}", stats.GetProperty("label").GetString());
        Assert.Equal(["a", "{\"b\":1}"], stats.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("yes", stats.GetProperty("nested").GetProperty("deep").GetString());
    }

    [Fact]
    public async Task ThrownError_BecomesAGraphQLError_WithItsMessage_AndTheRestResolves()
    {
        var result = await ExecuteAsync("{ broken hello later }");

        Assert.Equal(JsonValueKind.Null, result.GetProperty("data").GetProperty("broken").ValueKind);
        Assert.Equal("Hello, world! (hello)", result.GetProperty("data").GetProperty("hello").GetString());
        Assert.Equal(42, result.GetProperty("data").GetProperty("later").GetInt32());
        var error = result.GetProperty("errors").EnumerateArray().Single();
        Assert.Equal("no luck today", error.GetProperty("message").GetString());
        Assert.Equal("broken", error.GetProperty("path")[0].GetString());
    }

    [Fact]
    public async Task Mutation_TakesInputObjects()
    {
        var result = await ExecuteAsync("mutation($input: PostInput!) { post(input: $input) { room text } }", """{"input":{"room":"general","text":"hi"}}""");

        Assert.Equal("general", result.GetProperty("data").GetProperty("post").GetProperty("room").GetString());
    }

    [Fact]
    public async Task Subscription_GetsTheResolversFirstEvent_ThenEveryMessage()
    {
        var events = await SubscribeAsync("subscription { liveEvents }", 3, async () =>
        {
            await _host.Client.PostAsync("/publish", new StringContent("{\"event\":\"user_joined\"}"));
            await _host.Client.PostAsync("/publish", new StringContent("plain text"));
        });

        Assert.Equal(
            ["Live events subscription active", "{\"event\":\"user_joined\"}", "plain text"],
            events.Select(e => e.GetProperty("data").GetProperty("liveEvents").GetString()));
    }

    [Fact]
    public async Task TypedSubscription_WithAnArgument_GetsOnlyItsRoomsMessages()
    {
        var events = await SubscribeAsync("""subscription { chat(room: "general") { room text } }""", 1, async () =>
        {
            await ExecuteAsync("""mutation { post(input: { room: "random", text: "not for you" }) { room } }""");
            await ExecuteAsync("""mutation { post(input: { room: "general", text: "for you" }) { room } }""");
        });

        Assert.Equal("for you", events.Single().GetProperty("data").GetProperty("chat").GetProperty("text").GetString());
    }

    [Fact]
    public async Task SubscriptionStream_IsAPlainEventSourceStream_OfThePayloadsAsSent()
    {
        await using var reader = await SseReader.OpenAsync(_host.Client, "/graphql/subscription/liveEvents");
        await reader.ReadUntilAsync(f => f.Count > 0);

        await _host.Client.PostAsync("/publish", new StringContent("{\"n\":1}"));
        var frames = await reader.ReadMessagesAsync(1);

        Assert.Equal("text/event-stream; charset=utf-8", reader.Response.Content.Headers.ContentType!.ToString());
        Assert.Equal("{\"n\":1}", frames.Single(f => f.Data is not null).Data);
        Assert.NotNull(frames.Single(f => f.Data is not null).Id);
        await HttpAssert.ErrorAsync(await _host.Client.GetAsync("/graphql/subscription/nope"), HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task RemovingTheScript_RemovesItsFields_CompletesItsSubscriptions_AndLeavesThePlaceholder()
    {
        await using var reader = await SseReader.OpenAsync(_host.Client, "/graphql/subscription/liveEvents");
        await reader.ReadUntilAsync(f => f.Count > 0);

        await _host.DeleteScriptAsync("graph.js");

        Assert.True(await reader.WaitForEndAsync());
        var result = await ExecuteAsync("{ _engine }");
        Assert.Equal("AiWebEngine", result.GetProperty("data").GetProperty("_engine").GetString());
        Assert.True((await ExecuteAsync("{ hello }")).TryGetProperty("errors", out _));
    }

    [Theory]
    [InlineData("registerGraphQLQuery('a', 'type Query { a: String', 'f')", "registerGraphQLQuery: the SDL does not parse")]
    [InlineData("registerGraphQLQuery('a', 'type Query { b: String }', 'f')", "registerGraphQLQuery: the SDL declares field Query.b, but the field being registered is 'a'")]
    [InlineData("registerGraphQLQuery('a', 'type Mutation { a: String }', 'f')", "registerGraphQLQuery: the SDL declares type Mutation; a query fragment adds one field to type Query")]
    [InlineData("registerGraphQLQuery('a', 'type Query { a: Missing }', 'f')", "registerGraphQLQuery: the SDL does not make a valid schema")]
    [InlineData("registerGraphQLQuery('hello', 'type Query { hello: String }', 'f')", "registerGraphQLQuery: Query.hello is already registered by graph.js")]
    [InlineData("registerGraphQLQuery('p', 'type Query { p: Post } type Post { other: Int }', 'f')", "registerGraphQLQuery: type Post is already defined differently by graph.js")]
    [InlineData("registerGraphQLQuery('a', 'type Query { a: String }')", "registerGraphQLQuery: resolver must be the name of a global function or a function, got undefined")]
    [InlineData("registerGraphQLQuery(5, 'type Query { a: String }', 'f')", "registerGraphQLQuery: name must be a non-empty string, got number 5")]
    [InlineData("sendSubscriptionMessage('nope', {})", "sendSubscriptionMessage: no subscription 'nope' is registered")]
    [InlineData("sendSubscriptionMessage('liveEvents', 5)", "sendSubscriptionMessage: data must be an object, an array or a string, got number 5")]
    public async Task BadRegistration_ThrowsAClearError(string call, string message)
    {
        var change = await _host.WriteScriptAsync("bad.js", $"function f() {{ return 1; }}\n{call};");

        Assert.Equal(ScriptChangeKind.Failed, change.Kind);
        Assert.StartsWith(message, change.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SameTypeDeclaredIdenticallyByTwoScripts_IsMerged()
    {
        var change = await _host.WriteScriptAsync("more.js", """registerGraphQLQuery("lastPost", "type Query { lastPost: Post } type Post { room: String text: String }", () => ({ room: "r", text: "t" }));""");

        Assert.Equal(ScriptChangeKind.Inserted, change.Kind);
        Assert.Equal("t", (await ExecuteAsync("{ lastPost { text } }")).GetProperty("data").GetProperty("lastPost").GetProperty("text").GetString());
    }

    private async Task<List<JsonElement>> SubscribeAsync(string query, int count, Func<Task> publish)
    {
        var result = await new DocumentExecuter().ExecuteAsync(options =>
        {
            options.Schema = Schema.Current;
            options.Query = query;
        });
        Assert.Null(result.Errors);
        var events = new List<JsonElement>();
        var done = new TaskCompletionSource();
        var serializer = new GraphQLSerializer();
        using var subscription = result.Streams!.Values.Single().Subscribe(new Observer(next =>
        {
            lock (events)
            {
                events.Add(JsonDocument.Parse(serializer.Serialize(next)).RootElement);
                if (events.Count >= count)
                {
                    done.TrySetResult();
                }
            }
        }));
        await publish();
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return events;
    }

    private sealed class Observer(Action<ExecutionResult> next) : IObserver<ExecutionResult>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(ExecutionResult value) => next(value);
    }
}
