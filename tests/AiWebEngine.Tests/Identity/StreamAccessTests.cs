using System.Net;
using System.Net.Http.Headers;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Identity;

/// <summary>
/// Streams know their subscriber (issue 18, points 3 and 4): <c>{ auth }</c> on a stream, the <c>authorize</c>
/// hook, the reserved <c>user</c> metadata, filters that reach only matching connections, and replay
/// under the same rules — each tested the way the attack run did it.
/// </summary>
public sealed class StreamAccessTests
{
    private const string Script = """
        let hookCalls = 0;
        registerWebStream("/dm");                                   // no hook: query metadata, untrusted
        registerWebStream("/private", { auth: "user" });
        registerWebStream("/ops", { auth: { roles: ["ops"] } });
        registerWebStream("/rooms", { authorize: (req) => {
          hookCalls++;
          if (!req.user) return false;                              // anonymous: refused
          if (req.query.mode === "throw") throw new Error("no such room");
          if (req.query.mode === "number") return 42;
          if (req.query.mode === "spoof") return { room: "a", user: "alice" };
          return { room: req.user.id === "alice" ? "a" : "b" };
        } });
        register("/send", (req) => {
          const filter = req.query.filter ? JSON.parse(req.query.filter) : undefined;
          return { body: String(sendStreamMessageToPath(req.query.path, req.body, filter)) };
        }, "POST");
        register("/to-user", (req) => ({ body: String(sendToUser(req.query.path, req.query.user, req.body)) }), "POST");
        register("/hook-calls", () => ({ body: String(hookCalls) }));
        """;

    private static Task<EngineHost> StartAsync(bool kestrel = false) =>
        EngineHost.StartAsync(new Dictionary<string, string> { ["s.js"] = Script }, TestTokens.Settings(), kestrel: kestrel);

    private static HttpRequestMessage Get(string path, string? user, string? lastEventId = null, string[]? roles = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (user is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.Mint(user, roles: roles));
        }

        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return request;
    }

    private static async Task<int> SendAsync(EngineHost host, string path, string data, string? filter = null)
    {
        var url = "/send?path=" + Uri.EscapeDataString(path) + (filter is null ? "" : "&filter=" + Uri.EscapeDataString(filter));
        return int.Parse(await HttpAssert.TextAsync(await host.Client.PostAsync(url, new StringContent(data))));
    }

    private static async Task<List<string?>> DataAsync(SseReader reader, int count) =>
        (await reader.ReadMessagesAsync(count)).Where(m => m.Data is not null).Select(m => m.Data).ToList();

    [Fact]
    public async Task TheAttackRun_SpoofedQueryUser_NoMetadata_AndReplay_GetNothingMeantForAlice()
    {
        await using var host = await StartAsync();
        await using var alice = await SseReader.OpenAsync(host.Client, Get("/dm", "alice"));
        await using var spoofed = await SseReader.OpenAsync(host.Client, Get("/dm?user=alice", null));
        await using var bare = await SseReader.OpenAsync(host.Client, Get("/dm", null));

        Assert.Equal(1, await SendAsync(host, "/dm", "for alice", """{"user":"alice"}"""));
        Assert.Equal(3, await SendAsync(host, "/dm", "for everyone"));

        Assert.Equal(["for alice", "for everyone"], await DataAsync(alice, 2));
        Assert.Equal(["for everyone"], await DataAsync(spoofed, 1));
        Assert.Equal(["for everyone"], await DataAsync(bare, 1));

        // A third client replaying from the start gets what it may see, nothing more.
        await using var replay = await SseReader.OpenAsync(host.Client, Get("/dm?user=alice", null, lastEventId: "0"));
        Assert.Equal(["for everyone"], await DataAsync(replay, 1));
        await using var aliceAgain = await SseReader.OpenAsync(host.Client, Get("/dm", "alice", lastEventId: "0"));
        Assert.Equal(["for alice", "for everyone"], await DataAsync(aliceAgain, 2));
    }

    [Fact]
    public async Task AFilterReachesOnlyConnectionsWhoseMetadataHoldsEveryKey()
    {
        await using var host = await StartAsync();
        await using var general = await SseReader.OpenAsync(host.Client, Get("/dm?room=general&theme=dark", null));
        await using var other = await SseReader.OpenAsync(host.Client, Get("/dm?room=random", null));

        Assert.Equal(1, await SendAsync(host, "/dm", "general only", """{"room":"general"}"""));
        Assert.Equal(0, await SendAsync(host, "/dm", "general and alice", """{"room":"general","user":"alice"}"""));
        Assert.Equal(2, await SendAsync(host, "/dm", "all"));

        Assert.Equal(["general only", "all"], await DataAsync(general, 2));
        Assert.Equal(["all"], await DataAsync(other, 1));
    }

    [Fact]
    public async Task SendToUser_ReachesThatUsersConnections_AndNoOneElse()
    {
        await using var host = await StartAsync();
        await using var alice1 = await SseReader.OpenAsync(host.Client, Get("/private", "alice"));
        await using var alice2 = await SseReader.OpenAsync(host.Client, Get("/private", "alice"));
        await using var bob = await SseReader.OpenAsync(host.Client, Get("/private", "bob"));

        var queued = int.Parse(await HttpAssert.TextAsync(await host.Client.PostAsync("/to-user?path=/private&user=alice", new StringContent("hi alice"))));
        await HttpAssert.TextAsync(await host.Client.PostAsync("/to-user?path=/private&user=bob", new StringContent("hi bob")));

        Assert.Equal(2, queued);
        Assert.Equal(["hi alice"], await DataAsync(alice1, 1));
        Assert.Equal(["hi alice"], await DataAsync(alice2, 1));
        Assert.Equal(["hi bob"], await DataAsync(bob, 1));
    }

    [Fact]
    public async Task GuardedStream_RefusesWithoutAValidToken_OrTheRole_AndDeliversNothing()
    {
        await using var host = await StartAsync();

        var anonymous = await host.Client.SendAsync(Get("/private", null), HttpCompletionOption.ResponseHeadersRead);
        await HttpAssert.ErrorAsync(anonymous, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.StartsWith("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        var expired = new HttpRequestMessage(HttpMethod.Get, "/private");
        expired.Headers.Authorization = new("Bearer", TestTokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-5)));
        var error = await HttpAssert.ErrorAsync(await host.Client.SendAsync(expired, HttpCompletionOption.ResponseHeadersRead), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("expired", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        await HttpAssert.ErrorAsync(await host.Client.SendAsync(Get("/ops", "bob", roles: ["reader"]), HttpCompletionOption.ResponseHeadersRead), HttpStatusCode.Forbidden, "FORBIDDEN");
        await using var ops = await SseReader.OpenAsync(host.Client, Get("/ops", "carol", roles: ["ops"]));
        Assert.Equal(1, await SendAsync(host, "/ops", "to ops"));
        Assert.Equal(["to ops"], await DataAsync(ops, 1));
    }

    [Theory]
    [InlineData(null, "")]              // anonymous: the hook returns false
    [InlineData("alice", "?mode=throw")]
    [InlineData("alice", "?mode=number")]
    public async Task AuthorizeHook_ThatRefusesOrFails_Answers403_AndDeliversNothing(string? user, string query)
    {
        await using var host = await StartAsync();

        var response = await host.Client.SendAsync(Get("/rooms" + query, user), HttpCompletionOption.ResponseHeadersRead);

        await HttpAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "FORBIDDEN");
        Assert.Equal(0, await SendAsync(host, "/rooms", "anyone there?"));
        Assert.Equal("1", await HttpAssert.TextAsync(await host.Client.GetAsync("/hook-calls")));
    }

    [Fact]
    public async Task AuthorizeHook_MetadataIsTrusted_QueryIsIgnored_AndTheHookCannotNameAnotherUser()
    {
        await using var host = await StartAsync();
        await using var alice = await SseReader.OpenAsync(host.Client, Get("/rooms?room=b", "alice"));   // the hook puts alice in room a
        await using var bob = await SseReader.OpenAsync(host.Client, Get("/rooms?room=a", "bob"));       // and bob in b, whatever the query says
        await using var mallory = await SseReader.OpenAsync(host.Client, Get("/rooms?mode=spoof", "mallory")); // the hook says user alice

        Assert.Equal(2, await SendAsync(host, "/rooms", "room a", """{"room":"a"}"""));   // alice and mallory (room a)
        Assert.Equal(1, await SendAsync(host, "/rooms", "room b", """{"room":"b"}"""));
        Assert.Equal(1, await SendAsync(host, "/rooms", "alice only", """{"user":"alice"}"""));

        Assert.Equal(["room a", "alice only"], await DataAsync(alice, 2));
        Assert.Equal(["room b"], await DataAsync(bob, 1));
        Assert.Equal(["room a"], await DataAsync(mallory, 1));
    }

    [Fact]
    public async Task OverARealSocket_AGuardedStreamIsRefusedThenServed()
    {
        await using var host = await StartAsync(kestrel: true);

        var refused = await host.Client.SendAsync(Get("/private", null), HttpCompletionOption.ResponseHeadersRead);
        await HttpAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await using var alice = await SseReader.OpenAsync(host.Client, Get("/private", "alice"));
        Assert.Equal(1, await SendAsync(host, "/private", "over the wire", """{"user":"alice"}"""));
        Assert.Equal(["over the wire"], await DataAsync(alice, 1));
    }
}
