using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AiWebEngine.Tests.GraphQL;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>
/// <c>samples/identity/inbox.js</c> (issue 18, point 10) on the real samples with bearer tokens: each
/// signed-in user receives only their own notifications, on a stream and a GraphQL subscription; the team
/// chat takes the sender from the token, never from the form, and a team from the token's claim, never
/// from the query string; the page works in headless Chromium with a pasted token.
/// </summary>
public sealed class IdentitySampleTests
{
    private static readonly string Alice = TestTokens.Mint("alice", name: "Alice", claims: new Dictionary<string, object> { ["team"] = "red" });
    private static readonly string Bob = TestTokens.Mint("bob", name: "Bob", claims: new Dictionary<string, object> { ["team"] = "blue" });
    private static readonly string Carol = TestTokens.Mint("carol", name: "Carol", claims: new Dictionary<string, object> { ["team"] = "red" });

    private static Task<EngineHost> StartAsync(bool kestrel = false) => EngineHost.StartWithSamplesAsync(kestrel, TestTokens.Settings());

    private static HttpRequestMessage Request(HttpMethod method, string path, string? token, IEnumerable<KeyValuePair<string, string>>? form = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form);
        }
        else if (method == HttpMethod.Get)
        {
            request.Headers.Accept.ParseAdd("text/event-stream");
        }

        return request;
    }

    private static async Task<int> PostAsync(EngineHost host, string path, string token, params (string Key, string Value)[] form)
    {
        var response = await host.Client.SendAsync(Request(HttpMethod.Post, path, token, form.Select(f => KeyValuePair.Create(f.Key, f.Value))));
        return JsonDocument.Parse(await HttpAssert.TextAsync(response)).RootElement.GetProperty("delivered").GetInt32();
    }

    private static async Task<List<JsonElement>> DataAsync(SseReader reader, int count) =>
        [.. (await reader.ReadMessagesAsync(count)).Where(m => m.Data is not null).Select(m => JsonDocument.Parse(m.Data!).RootElement.Clone())];

    [Fact]
    public async Task Anonymous_GetsNothing_FromAnyOfItsPaths()
    {
        await using var host = await StartAsync();
        foreach (var path in new[] { "/me", "/me/inbox", "/team/chat" })
        {
            using var response = await host.Client.SendAsync(Request(HttpMethod.Get, path, null), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var notify = await host.Client.SendAsync(Request(HttpMethod.Post, "/me/notify", null, [KeyValuePair.Create("to", "alice"), KeyValuePair.Create("text", "x")]));
        Assert.Equal(HttpStatusCode.Unauthorized, notify.StatusCode);
    }

    [Fact]
    public async Task Notifications_ReachOnlyTheirUser_OnTheStream_AndTheSubscription()
    {
        await using var host = await StartAsync();
        await using var alice = await SseReader.OpenAsync(host.Client, Request(HttpMethod.Get, "/me/inbox", Alice));
        await using var bob = await SseReader.OpenAsync(host.Client, Request(HttpMethod.Get, "/me/inbox", Bob));
        var subscribe = GraphQLHttpTests.Post("/graphql/sse", JsonSerializer.Serialize(new { query = "subscription { myInbox }" }));
        subscribe.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Alice);
        await using var aliceGraphQL = await SseReader.OpenAsync(host.Client, subscribe);

        var delivered = 0;
        for (var i = 0; i < 200 && (delivered = await PostAsync(host, "/me/notify", Bob, ("to", "alice"), ("text", "lunch?"))) < 2; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(2, delivered);
        var received = (await DataAsync(alice, 1))[0];
        Assert.Equal("Bob", received.GetProperty("from").GetString());
        Assert.Equal("lunch?", received.GetProperty("text").GetString());
        await aliceGraphQL.ReadUntilAsync(f => f.Any(m => m.Event == "next"));
        Assert.Contains("lunch?", aliceGraphQL.Messages.First(m => m.Event == "next").Data, StringComparison.Ordinal);

        Assert.Equal(1, await PostAsync(host, "/me/notify", Alice, ("to", "bob"), ("text", "yes")));
        Assert.Equal("yes", (await DataAsync(bob, 1))[0].GetProperty("text").GetString());
        Assert.DoesNotContain(bob.Messages, m => m.Data?.Contains("lunch?", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task TeamChat_SenderIsTheToken_NotTheForm_AndTheTeamIsTheClaim_NotTheQuery()
    {
        await using var host = await StartAsync();
        await using var alice = await SseReader.OpenAsync(host.Client, Request(HttpMethod.Get, "/team/chat", Alice));
        await using var carol = await SseReader.OpenAsync(host.Client, Request(HttpMethod.Get, "/team/chat", Carol));
        await using var bobSpoofing = await SseReader.OpenAsync(host.Client, Request(HttpMethod.Get, "/team/chat?team=red", Bob));

        Assert.Equal(2, await PostAsync(host, "/team/chat/send", Alice, ("message", "standup?"), ("user", "Carol"), ("from", "Carol")));

        foreach (var reader in new[] { alice, carol })
        {
            var message = (await DataAsync(reader, 1))[0];
            Assert.Equal("Alice", message.GetProperty("from").GetString());
            Assert.Equal("red", message.GetProperty("team").GetString());
        }

        Assert.Equal(1, await PostAsync(host, "/team/chat/send", Bob, ("message", "blue only")));
        Assert.Equal("blue only", (await DataAsync(bobSpoofing, 1))[0].GetProperty("message").GetString());
        Assert.DoesNotContain(bobSpoofing.Messages, m => m.Data?.Contains("standup?", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task ThePage_InHeadlessChromium_WithAPastedToken_ShowsOnlyItsUsersMessages()
    {
        await using var host = await StartAsync(kestrel: true);
        await using var page = NodeClient.Start("identity-page-check.mjs", new Uri(host.BaseAddress, "/examples/identity").ToString(), Alice, "Bob: for alice", "Carol: hello red");
        Assert.Contains("Alice (alice), team red", await page.WaitForLineAsync(l => l.StartsWith("signed in", StringComparison.Ordinal), TimeSpan.FromSeconds(30)), StringComparison.Ordinal);

        // The page's streams open after it knows who it is; send until both have a client.
        for (var i = 0; i < 300 && await PostAsync(host, "/me/notify", Bob, ("to", "alice"), ("text", "for alice")) == 0; i++)
        {
            await Task.Delay(20);
        }

        await PostAsync(host, "/me/notify", Bob, ("to", "bob"), ("text", "for bob"));
        for (var i = 0; i < 300 && await PostAsync(host, "/team/chat/send", Carol, ("message", "hello red")) == 0; i++)
        {
            await Task.Delay(20);
        }

        await PostAsync(host, "/team/chat/send", Bob, ("message", "hello blue"));
        Assert.Equal(0, await page.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        var lists = page.Lines.Single(l => l.StartsWith("lists: ", StringComparison.Ordinal));
        Assert.Contains("for alice", lists, StringComparison.Ordinal);
        Assert.DoesNotContain("for bob", lists, StringComparison.Ordinal);
        Assert.DoesNotContain("hello blue", lists, StringComparison.Ordinal);
    }
}
