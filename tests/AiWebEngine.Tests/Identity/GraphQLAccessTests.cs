using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.GraphQL;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// Identity on every GraphQL transport (issue 18, points 3, 4 and 5): field <c>auth</c> refused with
/// <c>UNAUTHENTICATED</c> / <c>FORBIDDEN</c> and no resolver run; the EventSource subscription path runs
/// the same authorization (the attack run's <c>curl -N /graphql/subscription/privateFeed</c>); the
/// reserved <c>user</c> metadata and <c>sendSubscriptionToUser</c>; per-user shared executions; the
/// <c>filter</c> option once per subscriber group; <c>connection_init</c> tokens (4401).
/// </summary>
public sealed class GraphQLAccessTests
{
    private const string Script = """
        let counts = { secret: 0, ops: 0, posted: 0, privateFeed: 0, filter: 0 };
        registerGraphQLQuery("open", "type Query { open: String }", () => "open");
        registerGraphQLQuery("secret", "type Query { secret: String }", (args, context) => { counts.secret++; return "for " + context.user.id; }, { auth: "user" });
        registerGraphQLQuery("opsOnly", "type Query { opsOnly: String }", () => { counts.ops++; return "ops"; }, { auth: { roles: ["ops"] } });
        registerGraphQLMutation("post", "type Mutation { post(text: String!): String }", (args, context) => { counts.posted++; return context.user.id + ": " + args.text; }, { auth: "user" });
        registerGraphQLSubscription("inbox", "type Subscription { inbox: String }", { auth: "user" });
        registerGraphQLSubscription("privateFeed", "type Subscription { privateFeed: String }", (args, context) => {
          counts.privateFeed++;
          if (!context.user) throw new Error("sign in first");
        });
        registerGraphQLSubscription("dm", "type Subscription { dm(user: String, limit: Int): String }");
        registerGraphQLSubscription("team", "type Subscription { team(name: String!): String }", {
          filter: (payload, args, context) => { counts.filter++; return context.user !== null && payload.team === args.name && context.user.claims.team === args.name; },
        });
        register("/send", (req) => ({ body: String(sendSubscriptionMessage(req.query.name, req.body, req.query.filter ? JSON.parse(req.query.filter) : undefined)) }), "POST");
        register("/to-user", (req) => ({ body: String(sendSubscriptionToUser(req.query.name, req.query.user, req.body)) }), "POST");
        register("/counts", () => ({ body: JSON.stringify(counts) }));
        """;

    private static Task<EngineHost> StartAsync(bool kestrel = false) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, TestTokens.Settings(), kestrel: kestrel);

    private static HttpRequestMessage Graph(string path, string query, string? token, string? accept = null)
    {
        var request = GraphQLHttpTests.Post(path, JsonSerializer.Serialize(new { query }), accept);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static async Task<JsonElement> QueryAsync(EngineHost host, string query, string? token)
    {
        var response = await host.Client.SendAsync(Graph("/graphql", query, token, "application/graphql-response+json"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<JsonElement> CountsAsync(EngineHost host) =>
        JsonDocument.Parse(await HttpAssert.TextAsync(await host.Client.GetAsync("/counts"))).RootElement.Clone();

    private static string Code(JsonElement result, int error = 0) =>
        result.GetProperty("errors")[error].GetProperty("extensions").GetProperty("code").GetString()!;

    private static HttpRequestMessage EventSource(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static async Task<int> SendAsync(EngineHost host, string name, string data, string? filter = null) =>
        int.Parse(await HttpAssert.TextAsync(await host.Client.PostAsync(
            $"/send?name={name}" + (filter is null ? "" : "&filter=" + Uri.EscapeDataString(filter)), new StringContent(data))));

    private static async Task<int> ToUserAsync(EngineHost host, string name, string user, string data) =>
        int.Parse(await HttpAssert.TextAsync(await host.Client.PostAsync($"/to-user?name={name}&user={user}", new StringContent(data))));

    private static async Task WaitForSubscribersAsync(EngineHost host, string topic, int count)
    {
        var bus = host.Services.GetService(typeof(AiWebEngine.Streaming.ITopicBus)) as AiWebEngine.Streaming.ITopicBus;
        for (var i = 0; i < 500 && (bus!.GetStats(topic)?.Subscribers ?? 0) < count; i++)
        {
            await Task.Delay(10);
        }

        Assert.True((bus!.GetStats(topic)?.Subscribers ?? 0) >= count, $"{topic} has {bus.GetStats(topic)?.Subscribers ?? 0} subscribers, wanted {count}");
    }

    private static List<string> Events(SseReader reader) =>
        [.. reader.Messages.Where(m => m.Event == "next").Select(m => JsonDocument.Parse(m.Data!).RootElement.GetProperty("data").EnumerateObject().First().Value.ToString())];

    [Fact]
    public async Task GuardedQueryFields_AreRefused_WithTheirCode_AndNoResolverRun_OtherFieldsUnaffected()
    {
        await using var host = await StartAsync();

        var anonymous = await QueryAsync(host, "{ open secret }", null);
        Assert.Equal("open", anonymous.GetProperty("data").GetProperty("open").GetString());
        Assert.Equal(JsonValueKind.Null, anonymous.GetProperty("data").GetProperty("secret").ValueKind);
        Assert.Equal("UNAUTHENTICATED", Code(anonymous));
        Assert.Contains("Query.secret requires a signed-in user", anonymous.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);

        foreach (var bad in new[] { TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-5)), TestTokens.AlgNone("alice"), TestTokens.Mint("alice", key: TestTokens.OtherKey), TestTokens.Mint("alice", issuer: "https://evil.test"), TestTokens.Mint("alice", audience: "other") })
        {
            Assert.Equal("UNAUTHENTICATED", Code(await QueryAsync(host, "{ secret }", bad)));
        }

        var alice = await QueryAsync(host, "{ secret opsOnly }", TestTokens.Mint("alice"));
        Assert.Equal("for alice", alice.GetProperty("data").GetProperty("secret").GetString());
        Assert.Equal(JsonValueKind.Null, alice.GetProperty("data").GetProperty("opsOnly").ValueKind);
        Assert.Equal("FORBIDDEN", Code(alice));

        var ops = await QueryAsync(host, "{ opsOnly }", TestTokens.Mint("olga", roles: ["ops"]));
        Assert.Equal("ops", ops.GetProperty("data").GetProperty("opsOnly").GetString());

        var counts = await CountsAsync(host);
        Assert.Equal(1, counts.GetProperty("secret").GetInt32());
        Assert.Equal(1, counts.GetProperty("ops").GetInt32());
    }

    [Fact]
    public async Task GuardedMutation_FromAnonymous_IsRefused_AndNeverRuns()
    {
        await using var host = await StartAsync();

        var refused = await QueryAsync(host, """mutation { post(text: "hi") }""", null);
        Assert.Equal("UNAUTHENTICATED", Code(refused));
        var done = await QueryAsync(host, """mutation { post(text: "hi") }""", TestTokens.Mint("alice"));
        Assert.Equal("alice: hi", done.GetProperty("data").GetProperty("post").GetString());

        Assert.Equal(1, (await CountsAsync(host)).GetProperty("posted").GetInt32());
    }

    [Fact]
    public async Task GuardedSubscription_OverGraphQLSse_IsRefused_AndDeliversNothing()
    {
        await using var host = await StartAsync();
        await using var refused = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", "subscription { inbox }", null));
        Assert.True(await refused.WaitForEndAsync());
        Assert.Contains("\"code\":\"UNAUTHENTICATED\"", refused.Raw, StringComparison.Ordinal);

        await using var alice = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", "subscription { inbox }", TestTokens.Mint("alice")));
        await WaitForSubscribersAsync(host, "graphql:inbox", 1);
        Assert.Equal(1, await SendAsync(host, "inbox", "hello"));
        await alice.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
        Assert.Equal(["hello"], Events(alice));
    }

    [Fact]
    public async Task TheAttackRun_EventSourcePath_RunsTheSameAuthorization_AsEveryOtherTransport()
    {
        await using var host = await StartAsync();

        // The attack: the resolver refuses anonymous clients; the EventSource path used to serve them anyway.
        using var attack = await host.Client.SendAsync(EventSource("/graphql/subscription/privateFeed", null), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Forbidden, attack.StatusCode);
        Assert.Contains("FORBIDDEN", await attack.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var guarded = await host.Client.SendAsync(EventSource("/graphql/subscription/inbox", null), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, guarded.StatusCode);
        Assert.StartsWith("Bearer", guarded.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var expired = await host.Client.SendAsync(EventSource("/graphql/subscription/inbox", TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-5))), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", await expired.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(0, await SendAsync(host, "privateFeed", "secret"));
        Assert.Equal(0, await SendAsync(host, "inbox", "secret"));

        await using var alice = await SseReader.OpenAsync(host.Client, EventSource("/graphql/subscription/privateFeed", TestTokens.Mint("alice")));
        Assert.Equal(HttpStatusCode.OK, alice.Response.StatusCode);
        await WaitForSubscribersAsync(host, "graphql:privateFeed", 1);
        Assert.Equal(1, await SendAsync(host, "privateFeed", "for members"));
        Assert.Equal("for members", (await alice.ReadMessagesAsync(1)).Single(m => m.Data is not null).Data);
        Assert.Equal(2, (await CountsAsync(host)).GetProperty("privateFeed").GetInt32());
    }

    [Fact]
    public async Task EventSourcePath_ReadsArgumentsByType_AndRefusesBadOnes()
    {
        await using var host = await StartAsync();
        using var bad = await host.Client.SendAsync(EventSource("/graphql/subscription/privateFeed?x=1", TestTokens.Mint("alice")), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, bad.StatusCode); // not an argument: metadata only

        // dm has no resolver, so no arguments are read; team has a filter, which this path cannot run.
        using var filtered = await host.Client.SendAsync(EventSource("/graphql/subscription/team?name=red", TestTokens.Mint("alice")), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.BadRequest, filtered.StatusCode);
        Assert.Contains("/graphql/sse", await filtered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserMetadata_IsTheIdentity_NeverAnArgument_OnGraphQLSse_AndTheEventSourcePath()
    {
        await using var host = await StartAsync();
        // Mallory asks for Alice's messages by argument, on both transports.
        await using var spoofSse = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", """subscription { dm(user: "alice") }""", TestTokens.Mint("mallory")));
        await using var spoofAnonymous = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", """subscription { dm(user: "alice") }""", null));
        await using var spoofPath = await SseReader.OpenAsync(host.Client, EventSource("/graphql/subscription/dm?user=alice", null));
        await using var alice = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", "subscription { dm }", TestTokens.Mint("alice")));
        await using var alicePath = await SseReader.OpenAsync(host.Client, EventSource("/graphql/subscription/dm", TestTokens.Mint("alice")));
        await WaitForSubscribersAsync(host, "graphql:dm", 5);

        Assert.Equal(2, await ToUserAsync(host, "dm", "alice", "for alice"));
        Assert.Equal(2, await SendAsync(host, "dm", "also for alice", """{"user":"alice"}"""));
        Assert.Equal(5, await SendAsync(host, "dm", "for everyone"));

        await alice.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= 3);
        Assert.Equal(["for alice", "also for alice", "for everyone"], Events(alice));
        Assert.Equal(["for alice", "also for alice", "for everyone"], (await alicePath.ReadMessagesAsync(3)).Where(m => m.Data is not null).Select(m => m.Data));
        await spoofSse.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
        Assert.Equal(["for everyone"], Events(spoofSse));
        await spoofAnonymous.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
        Assert.Equal(["for everyone"], Events(spoofAnonymous));
        Assert.Equal(["for everyone"], (await spoofPath.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
    }

    [Fact]
    public async Task IdenticalSubscriptions_OfTwoUsers_NeverShareAnExecution()
    {
        await using var host = await StartAsync();
        const string Query = "subscription { dm }";
        await using var alice1 = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Query, TestTokens.Mint("alice")));
        await using var alice2 = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Query, TestTokens.Mint("alice")));
        await using var bob = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Query, TestTokens.Mint("bob")));
        await using var anonymous = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Query, null));
        await WaitForSubscribersAsync(host, "graphql:dm", 4);
        var operations = (AiWebEngine.GraphQL.Subscriptions.GraphQLOperations)host.Services.GetService(typeof(AiWebEngine.GraphQL.Subscriptions.GraphQLOperations))!;
        Assert.Equal(3, operations.SharedExecutions); // alice, bob, anonymous

        Assert.Equal(2, await ToUserAsync(host, "dm", "alice", "a"));
        Assert.Equal(1, await ToUserAsync(host, "dm", "bob", "b"));
        Assert.Equal(4, await SendAsync(host, "dm", "all"));

        foreach (var reader in new[] { alice1, alice2 })
        {
            await reader.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= 2);
            Assert.Equal(["a", "all"], Events(reader));
        }

        await bob.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= 2);
        Assert.Equal(["b", "all"], Events(bob));
        await anonymous.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
        Assert.Equal(["all"], Events(anonymous));
    }

    [Fact]
    public async Task Filter_RunsOncePerSubscriberGroup_WithContextUser_AndFailsClosed()
    {
        await using var host = await StartAsync();
        const string Red = """subscription { team(name: "red") }""";
        var redToken = TestTokens.Mint("alice", claims: new Dictionary<string, object> { ["team"] = "red" });
        await using var red1 = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Red, redToken));
        await using var red2 = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Red, redToken));
        await using var red3 = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Red, redToken));
        // Bob claims the red team by argument, but his token says blue.
        await using var bob = await SseReader.OpenAsync(host.Client, Graph("/graphql/sse", Red, TestTokens.Mint("bob", claims: new Dictionary<string, object> { ["team"] = "blue" })));
        await WaitForSubscribersAsync(host, "graphql:team", 4);

        await SendAsync(host, "team", """{"team":"red"}""");
        foreach (var reader in new[] { red1, red2, red3 })
        {
            await reader.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
            Assert.Single(Events(reader));
        }

        await SendAsync(host, "team", """{"team":"blue"}""");
        await SendAsync(host, "team", "not json");
        await SendAsync(host, "team", """{"team":"red","n":2}""");
        await red1.ReadUntilAsync(f => f.Count(m => m.Event == "next") >= 2);
        Assert.Equal(2, Events(red1).Count);
        Assert.Empty(Events(bob));

        // Two groups (alice's and bob's), four events: eight calls, not sixteen.
        Assert.Equal(8, (await CountsAsync(host)).GetProperty("filter").GetInt32());
    }

    [Fact]
    public async Task WebSocket_ConnectionInitToken_IsTheSocketsIdentity_ARefusedOneCloses4401()
    {
        await using var host = await StartAsync();

        foreach (var bad in new[] { TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-5)), TestTokens.AlgNone("alice"), "garbage", "" })
        {
            using var refused = await ConnectAsync(host);
            await SendAsync(refused, JsonSerializer.Serialize(new { type = "connection_init", payload = new { Authorization = "Bearer " + bad } }));
            Assert.Null(await WebSocketPair.ReceiveAsync(refused));
            Assert.Equal(4401, (int)refused.CloseStatus!);
        }

        using var socket = await ConnectAsync(host);
        await SendAsync(socket, JsonSerializer.Serialize(new { type = "connection_init", payload = new { Authorization = "Bearer " + TestTokens.Mint("alice") } }));
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await SendAsync(socket, """{"id":"1","type":"subscribe","payload":{"query":"{ secret }"}}""");
        Assert.Contains("for alice", await WebSocketPair.ReceiveAsync(socket), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebSocket_GuardedSubscription_WithoutIdentity_GetsAnErrorForThatOperation_TheSocketGoesOn()
    {
        await using var host = await StartAsync();
        using var socket = await ConnectAsync(host);
        await SendAsync(socket, """{"type":"connection_init"}""");
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));

        await SendAsync(socket, """{"id":"1","type":"subscribe","payload":{"query":"subscription { inbox }"}}""");
        var refused = await WebSocketPair.ReceiveAsync(socket);
        Assert.StartsWith("""{"id":"1","type":"error","payload":[""", refused, StringComparison.Ordinal);
        Assert.Contains("UNAUTHENTICATED", refused, StringComparison.Ordinal);

        await SendAsync(socket, """{"id":"2","type":"subscribe","payload":{"query":"{ open }"}}""");
        Assert.Contains("\"open\":\"open\"", await WebSocketPair.ReceiveAsync(socket), StringComparison.Ordinal);
        Assert.Equal(0, await SendAsync(host, "inbox", "secret"));
    }

    [Fact]
    public async Task RealClients_GraphQLWs_AndGraphQLSse_WithTokens_EachUserGetsOnlyTheirOwn()
    {
        await using var host = await StartAsync(kestrel: true);
        var ws = new Uri(host.BaseAddress, "/graphql").ToString().Replace("http", "ws", StringComparison.Ordinal);
        var sse = new Uri(host.BaseAddress, "/graphql/sse").ToString();
        await using var aliceWs = NodeClient.Start("graphql-auth-client.mjs", "ws", ws, TestTokens.Mint("alice"), "subscription { inbox }", "2");
        await using var aliceSse = NodeClient.Start("graphql-auth-client.mjs", "sse", sse, TestTokens.Mint("alice"), "subscription { inbox }", "2");
        await using var bobWs = NodeClient.Start("graphql-auth-client.mjs", "ws", ws, TestTokens.Mint("bob"), "subscription { inbox }", "1");
        await using var anonymousWs = NodeClient.Start("graphql-auth-client.mjs", "ws", ws, "-", "subscription { inbox }", "1");
        await using var badWs = NodeClient.Start("graphql-auth-client.mjs", "ws", ws, TestTokens.Mint("alice", key: TestTokens.OtherKey), "subscription { inbox }", "1");
        await using var anonymousSse = NodeClient.Start("graphql-auth-client.mjs", "sse", sse, "-", "subscription { inbox }", "1");

        Assert.Contains("UNAUTHENTICATED", await anonymousWs.WaitForLineAsync(l => l.StartsWith("{\"error\"", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("closed 4401", await badWs.WaitForLineAsync(l => l.StartsWith("closed", StringComparison.Ordinal)));
        Assert.Contains("UNAUTHENTICATED", await anonymousSse.WaitForLineAsync(l => l.StartsWith("{\"next\"", StringComparison.Ordinal) || l.StartsWith("{\"error\"", StringComparison.Ordinal)), StringComparison.Ordinal);
        await WaitForSubscribersAsync(host, "graphql:inbox", 3);

        Assert.Equal(2, await ToUserAsync(host, "inbox", "alice", "a1"));
        Assert.Equal(1, await ToUserAsync(host, "inbox", "bob", "b1"));
        Assert.Equal(2, await ToUserAsync(host, "inbox", "alice", "a2"));

        foreach (var client in new[] { aliceWs, aliceSse })
        {
            await client.WaitForLineAsync(l => l == "done");
            Assert.Equal(["a1", "a2"], Nexts(client));
        }

        await bobWs.WaitForLineAsync(l => l == "done");
        Assert.Equal(["b1"], Nexts(bobWs));
    }

    private static List<string> Nexts(NodeClient client) =>
        [.. client.Lines.Where(l => l.StartsWith("{\"next\"", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("next").GetProperty("data").GetProperty("inbox").GetString()!)];

    private static async Task<WebSocket> ConnectAsync(EngineHost host)
    {
        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        return await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
    }

    private static Task SendAsync(WebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
}
