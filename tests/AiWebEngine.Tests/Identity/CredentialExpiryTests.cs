using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.GraphQL;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// No stream outlives its credential (issue 18, point 6): a plain stream, the EventSource subscription
/// path, a graphql-sse subscription and a GraphQL WebSocket opened with a token end when it expires,
/// saying why, and a client that reconnects with a fresh token and its <c>Last-Event-ID</c> loses nothing.
/// The engine's clock is a <see cref="FakeTimeProvider"/> set to now; tokens are validated at connect
/// against the real clock, and the expiry fires when the fake clock passes their <c>exp</c>.
/// </summary>
public sealed class CredentialExpiryTests
{
    private const string Script = """
        registerWebStream("/inbox", { auth: "user" });
        registerGraphQLSubscription("mail", "type Subscription { mail: String }", { auth: "user" });
        register("/send", (req) => ({ body: String(sendToUser(req.query.path, req.query.user, req.body)) }), "POST");
        register("/mail", (req) => ({ body: String(sendSubscriptionToUser("mail", req.query.user, req.body)) }), "POST");
        """;

    private static async Task<(EngineHost Host, FakeTimeProvider Time)> StartAsync()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, TestTokens.Settings(), time: time);
        return (host, time);
    }

    private static HttpRequestMessage Get(string path, string token, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return request;
    }

    private static async Task<int> SendAsync(EngineHost host, string path, string data) =>
        int.Parse(await HttpAssert.TextAsync(await host.Client.PostAsync($"{path}&user=alice", new StringContent(data))));

    [Theory]
    [InlineData("/inbox", "/send?path=/inbox")]
    [InlineData("/graphql/subscription/mail", "/mail?x=1")]
    public async Task AStream_EndsAtItsTokensExpiry_SayingWhy_AndAFreshTokenResumesWithLastEventId(string stream, string send)
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var reader = await SseReader.OpenAsync(host.Client, Get(stream, TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(1))));
        Assert.Equal(1, await SendAsync(host, send, "one"));
        var first = (await reader.ReadMessagesAsync(1)).Single(m => m.Data is not null);

        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(1, await SendAsync(host, send, "two")); // still valid: still served
        await reader.ReadUntilAsync(f => f.Count(m => m.Data is not null) >= 2);

        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await reader.WaitForEndAsync());
        var last = reader.Messages[^1];
        Assert.Equal("credential-expired", last.Event);
        Assert.Null(last.Id);
        Assert.Contains("UNAUTHENTICATED", last.Data, StringComparison.Ordinal);
        var lastId = reader.Messages.Last(m => m.Id is not null).Id;

        // Sent while the client was away: the fresh connection replays it, and only it.
        await SendAsync(host, send, "three");
        await using var resumed = await SseReader.OpenAsync(host.Client, Get(stream, TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(10)), lastEventId: lastId));
        Assert.Equal(["three"], (await resumed.ReadMessagesAsync(1)).Where(m => m.Data is not null).Select(m => m.Data));
        Assert.NotEqual(first.Id, lastId);
    }

    [Fact]
    public async Task AGraphQLSseSubscription_EndsAtExpiry_WithAnUnauthenticatedError_ThenComplete()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        var request = GraphQLHttpTests.Post("/graphql/sse", JsonSerializer.Serialize(new { query = "subscription { mail }" }));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(1)));
        await using var reader = await SseReader.OpenAsync(host.Client, request);
        for (var i = 0; i < 200 && await SendAsync(host, "/mail?x=1", "one") == 0; i++)
        {
            await Task.Delay(10);
        }

        await reader.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
        time.Advance(TimeSpan.FromMinutes(2));

        Assert.True(await reader.WaitForEndAsync());
        var frames = reader.Messages.ToList();
        Assert.Equal("complete", frames[^1].Event);
        Assert.Equal("next", frames[^2].Event);
        Assert.Contains("\"code\":\"UNAUTHENTICATED\"", frames[^2].Data, StringComparison.Ordinal);
        Assert.Contains("expired", frames[^2].Data, StringComparison.Ordinal);
        Assert.Equal(0, await SendAsync(host, "/mail?x=1", "after"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AGraphQLWebSocket_IsClosedWith4403_AtItsCredentialsExpiry(bool tokenInConnectionInit)
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        var token = TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(1));
        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        if (!tokenInConnectionInit)
        {
            client.ConfigureRequest = r => r.Headers.Authorization = "Bearer " + token;
        }

        using var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
        var init = tokenInConnectionInit ? JsonSerializer.Serialize(new { type = "connection_init", payload = new { Authorization = "Bearer " + token } }) : """{"type":"connection_init"}""";
        await socket.SendAsync(Encoding.UTF8.GetBytes(init), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"subscription { mail }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        for (var i = 0; i < 200 && await SendAsync(host, "/mail?x=1", "one") == 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Contains("\"mail\":\"one\"", await WebSocketPair.ReceiveAsync(socket), StringComparison.Ordinal);
        time.Advance(TimeSpan.FromMinutes(2));

        Assert.Null(await WebSocketPair.ReceiveAsync(socket));
        Assert.Equal(4403, (int)socket.CloseStatus!);
        Assert.Equal(0, await SendAsync(host, "/mail?x=1", "after"));
    }

    /// <summary>
    /// A token that lasts longer than a timer can wait (about 49 days: <c>dotnet user-jwts</c> mints three-month
    /// tokens) opened a stream with a 500 before: the expiry timer refused the due time. On the real clock,
    /// every transport is served and delivers.
    /// </summary>
    [Fact]
    public async Task ATokenThatLastsMonths_OpensEveryTransport_OnTheRealClock()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, TestTokens.Settings());
        var token = TestTokens.Mint("alice", lifetime: TimeSpan.FromDays(90));
        await using var inbox = await SseReader.OpenAsync(host.Client, Get("/inbox", token));
        await using var path = await SseReader.OpenAsync(host.Client, Get("/graphql/subscription/mail", token));
        var request = GraphQLHttpTests.Post("/graphql/sse", JsonSerializer.Serialize(new { query = "subscription { mail }" }));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await using var sse = await SseReader.OpenAsync(host.Client, request);
        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        client.ConfigureRequest = r => r.Headers.Authorization = "Bearer " + token;
        using var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"subscription { mail }"}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        foreach (var reader in new[] { inbox, path, sse })
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, reader.Response.StatusCode);
        }

        Assert.Equal(1, await SendAsync(host, "/send?path=/inbox", "inbox"));
        for (var i = 0; i < 200 && await SendAsync(host, "/mail?x=1", "warm-up") < 3; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(3, await SendAsync(host, "/mail?x=1", "mail"));
        await inbox.ReadUntilAsync(f => f.Any(m => m.Data == "inbox"));
        await path.ReadUntilAsync(f => f.Any(m => m.Data == "mail"));
        await sse.ReadUntilAsync(f => f.Any(m => m.Data?.Contains("\"mail\":\"mail\"", StringComparison.Ordinal) == true));
        string? frame;
        do
        {
            frame = await WebSocketPair.ReceiveAsync(socket);
            Assert.NotNull(frame);
        }
        while (!frame.Contains("\"mail\":\"mail\"", StringComparison.Ordinal));
    }

    /// <summary>
    /// An expiry beyond one timer step is reached in steps: not fired a step in, fired at the expiry, once.
    /// (On its own clock: a whole engine on a fake clock advanced by months runs every periodic timer of it.)
    /// </summary>
    [Fact]
    public void AnExpiryMonthsAhead_IsReachedInSteps_AndFiresOnceAtItsTime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fired = 0;
        using var timer = AiWebEngine.Security.CredentialExpiry.When(time.GetUtcNow() + TimeSpan.FromDays(90), time, () => Interlocked.Increment(ref fired));

        time.Advance(TimeSpan.FromDays(60));
        Assert.Equal(0, fired);
        time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, fired);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, fired);
        time.Advance(TimeSpan.FromDays(60));
        Assert.Equal(1, fired);
    }
}
