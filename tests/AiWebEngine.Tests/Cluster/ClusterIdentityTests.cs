using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Cluster;

/// <summary>
/// Issue 18, point 4, "in a cluster too": a message sent to a user on one instance reaches that user's
/// connections on another instance — plain stream, <c>/graphql/subscription/&lt;name&gt;</c>, graphql-sse and
/// WebSocket — and no one else's. The user filter travels with the message through Redis and is applied
/// where the subscriber is.
/// </summary>
public sealed class ClusterIdentityTests
{
    private const string Inbox = """
        registerWebStream("/inbox", { auth: "user" });
        register("/dm", (req) => ({ body: String(sendToUser("/inbox", req.query.to, req.body)) }), "POST");
        registerGraphQLSubscription("mail", "type Subscription { mail: String }", { auth: "user" });
        register("/mail", (req) => ({ body: String(sendSubscriptionToUser("mail", req.query.to, req.body)) }), "POST");
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static async Task<int> SendAsync(EngineHost host, string path, string text)
    {
        var response = await host.Client.PostAsync(path, new StringContent(text));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return int.Parse(await response.Content.ReadAsStringAsync());
    }

    // A send returns the subscribers of the instance it was made on; sent there until it counts them all,
    // every subscription of that instance is in place.
    private static Task WarmUpAsync(EngineHost host, string path, int subscribers) =>
        ClusterWaits.WaitUntilAsync(async () => await SendAsync(host, path, "warm-up") >= subscribers, $"{path} counts {subscribers} subscribers", Patience);

    private static HttpRequestMessage WithToken(HttpMethod method, string path, string user, string? query = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", TestTokens.Mint(user));
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (query is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(new { query }), Encoding.UTF8, "application/json");
        }

        return request;
    }

    private static async Task<WebSocket> SubscribeOverWebSocketAsync(EngineHost host, string user)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("graphql-transport-ws");
        await socket.ConnectAsync(new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri, CancellationToken.None);
        var init = JsonSerializer.Serialize(new { type = "connection_init", payload = new Dictionary<string, string> { ["Authorization"] = "Bearer " + TestTokens.Mint(user) } });
        await socket.SendAsync(Encoding.UTF8.GetBytes(init), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"subscription { mail }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        return socket;
    }

    private static async Task ReadUntilAsync(SseReader reader, string text, string never)
    {
        await reader.ReadUntilAsync(f => f.Any(m => m.Data?.Contains(text, StringComparison.Ordinal) == true), Patience);
        Assert.DoesNotContain(reader.Messages, m => m.Data?.Contains(never, StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task SentToAUserOnOneInstance_ReachesOnlyThatUsersConnections_OnAnother_OnEveryTransport()
    {
        await using var redis = await RedisServer.StartAsync();
        var settings = TestTokens.Settings(new Dictionary<string, string?>
        {
            ["AiWebEngine:Bus:Redis"] = redis.ConnectionString,
            ["AiWebEngine:Bus:PollInterval"] = "00:00:00.500",
        });
        await using var sender = await EngineHost.StartAsync(new Dictionary<string, string> { ["inbox.js"] = Inbox }, settings, kestrel: true);
        await using var other = await EngineHost.StartAsync(new Dictionary<string, string> { ["inbox.js"] = Inbox }, settings, kestrel: true);

        // Alice and Bob are connected to the other instance only.
        await using var aliceInbox = await SseReader.OpenAsync(other.Client, WithToken(HttpMethod.Get, "/inbox", "alice"));
        await using var bobInbox = await SseReader.OpenAsync(other.Client, WithToken(HttpMethod.Get, "/inbox", "bob"));
        await using var alicePath = await SseReader.OpenAsync(other.Client, WithToken(HttpMethod.Get, "/graphql/subscription/mail", "alice"));
        await using var bobSse = await SseReader.OpenAsync(other.Client, WithToken(HttpMethod.Post, "/graphql/sse", "bob", "subscription { mail }"));
        using var aliceSocket = await SubscribeOverWebSocketAsync(other, "alice");
        foreach (var reader in new[] { aliceInbox, bobInbox, alicePath, bobSse })
        {
            Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        }

        // Whoever claims to be Alice without her token gets nothing on either instance.
        foreach (var host in new[] { sender, other })
        {
            await HttpAssert.ErrorAsync(await host.Client.GetAsync("/inbox?user=alice"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        await WarmUpAsync(other, "/dm?to=alice", 1);
        await WarmUpAsync(other, "/dm?to=bob", 1);
        await WarmUpAsync(other, "/mail?to=alice", 2);
        await WarmUpAsync(other, "/mail?to=bob", 1);

        // Sent on the instance where neither is connected: counted there as nobody, delivered where they are.
        Assert.Equal(0, await SendAsync(sender, "/dm?to=alice", "dm for alice"));
        await SendAsync(sender, "/dm?to=bob", "dm for bob");
        await SendAsync(sender, "/mail?to=alice", "mail for alice");
        await SendAsync(sender, "/mail?to=bob", "mail for bob");
        await SendAsync(sender, "/dm?to=alice", "dm for alice, again");
        await SendAsync(sender, "/mail?to=alice", "mail for alice, again");

        // One order per topic (Redis's): each user's last message arrives after the other user's, so a
        // reader that has it would have had the other's too, had the filter let it through.
        await ReadUntilAsync(aliceInbox, "dm for alice, again", "for bob");
        await ReadUntilAsync(bobInbox, "dm for bob", "for alice");
        await ReadUntilAsync(alicePath, "mail for alice, again", "for bob");
        await ReadUntilAsync(bobSse, "mail for bob", "for alice");
        Assert.Contains(aliceInbox.Messages, m => m.Data == "dm for alice");
        Assert.Contains(alicePath.Messages, m => m.Data == "mail for alice");
        string? frame;
        do
        {
            frame = await WebSocketPair.ReceiveAsync(aliceSocket);
            Assert.NotNull(frame);
            Assert.DoesNotContain("for bob", frame, StringComparison.Ordinal);
        }
        while (!frame.Contains("mail for alice, again", StringComparison.Ordinal));
    }
}
