using System.Text.Json;
using AiWebEngine.GraphQL;
using AiWebEngine.Streaming;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// The npm graphql-sse, graphql-ws and urql clients against the engine on a real loopback socket: on the
/// hand-built <see cref="TestSchema"/>, and on the schema the samples' scripts build (their query, their
/// subscription's first event and trigger route, and its completion when the script goes).
/// </summary>
public sealed class GraphQLRealClientTests
{
    private const string Active = "Live events subscription active";

    private static List<JsonElement> Json(NodeClient client, string key) =>
        client.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty(key, out _)).Select(e => e.GetProperty(key)).ToList();

    private static async Task PublishAsync(TestSchema schema, params string[] events)
    {
        await schema.Events.WaitForSubscribersAsync(1);
        foreach (var e in events)
        {
            schema.Events.Publish(e);
        }
    }

    [Fact]
    public async Task GraphQLSseClient_FromNpm_RunsAQuery_ThenReceivesThreeEvents_AndTheComplete()
    {
        var (host, schema) = await TestSchema.StartAsync(kestrel: true);
        await using var _ = host;
        await using var client = NodeClient.Start("graphql-sse-client.mjs", new Uri(host.BaseAddress, "/graphql/sse").ToString(), "3");

        await client.WaitForLineAsync(l => l == "connected");
        await PublishAsync(schema, "e1", "e2", "e3");
        await client.WaitForLineAsync(l => l.Contains("e3", StringComparison.Ordinal));
        schema.Events.Complete();

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Contains("complete", client.Lines);
        Assert.Equal("Hello, sse!", Json(client, "query").Single().GetProperty("data").GetProperty("hello").GetString());
        Assert.Equal(["e1", "e2", "e3"], Json(client, "next").Select(r => r.GetProperty("data").GetProperty("liveEvents").GetString()));
        await schema.Events.WaitForSubscribersAsync(0);
    }

    [Fact]
    public async Task GraphQLSseClient_FromNpm_ThatStopsListening_HasItsSubscriptionDisposed()
    {
        var (host, schema) = await TestSchema.StartAsync(kestrel: true);
        await using var _ = host;
        await using var client = NodeClient.Start("graphql-sse-client.mjs", new Uri(host.BaseAddress, "/graphql").ToString(), "1", "leave");

        await client.WaitForLineAsync(l => l == "connected");
        await PublishAsync(schema, "only");

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Contains("left", client.Lines);
        await schema.Events.WaitForSubscribersAsync(0);
    }

    [Fact]
    public async Task GraphQLWsClient_FromNpm_RunsAQueryAndASubscription_OnOneSocket()
    {
        var (host, schema) = await TestSchema.StartAsync(kestrel: true);
        await using var _ = host;
        var url = new UriBuilder(new Uri(host.BaseAddress, "/graphql")) { Scheme = "ws" }.Uri.ToString();
        await using var client = NodeClient.Start("graphql-ws-client.mjs", url, "3");

        await client.WaitForLineAsync(l => l.StartsWith("{\"query\"", StringComparison.Ordinal));
        await PublishAsync(schema, "w1", "w2", "w3");
        await client.WaitForLineAsync(l => l.Contains("w3", StringComparison.Ordinal));
        schema.Events.Complete();

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Equal("complete", client.Lines.Single(l => l.StartsWith("complete", StringComparison.Ordinal)));
        Assert.Single(client.Lines, "connected");
        Assert.Equal("Hello, ws!", Json(client, "query").Single().GetProperty("data").GetProperty("hello").GetString());
        Assert.Equal(["w1", "w2", "w3"], Json(client, "next").Select(r => r.GetProperty("data").GetProperty("liveEvents").GetString()));
        await schema.Events.WaitForSubscribersAsync(0);
    }

    [Fact]
    public async Task UrqlClient_FromNpm_GetsJsonForAQueryAndAMutation_AndAnEventStreamForASubscription_AndExitsCleanly()
    {
        var (host, schema) = await TestSchema.StartAsync(kestrel: true);
        await using var _ = host;
        await using var client = NodeClient.Start("urql-client.mjs", new Uri(host.BaseAddress, "/graphql").ToString());

        await client.WaitForLineAsync(l => l.StartsWith("{\"mutation\"", StringComparison.Ordinal));
        await PublishAsync(schema, "u1", "u2");
        await client.WaitForLineAsync(l => l.Contains("u2", StringComparison.Ordinal));
        schema.Events.Complete();

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Contains("complete", client.Lines);
        Assert.Equal("Hello, urql!", Json(client, "query").Single().GetProperty("data").GetProperty("hello").GetString());
        Assert.Equal("sent:u", Json(client, "mutation").Single().GetProperty("data").GetProperty("send").GetString());
        Assert.Equal(["u1", "u2"], Json(client, "next").Select(r => r.GetProperty("data").GetProperty("liveEvents").GetString()));
        await schema.Events.WaitForSubscribersAsync(0);
    }

    [Theory]
    [InlineData("graphql-sse-client.mjs", "/graphql/sse")]
    [InlineData("graphql-sse-client.mjs", "/graphql")]
    [InlineData("graphql-ws-client.mjs", "/graphql")]
    public async Task NpmClient_OnTheSamplesSchema_RunsItsQuery_GetsTheFirstEventAndTheTriggers_ThenTheCompleteWhenTheScriptGoes(string script, string path)
    {
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true);
        var url = new Uri(host.BaseAddress, path);
        if (script == "graphql-ws-client.mjs")
        {
            url = new UriBuilder(url) { Scheme = "ws" }.Uri;
        }

        await using var client = NodeClient.Start(script, url.ToString(), "3", "complete", "subscription { liveEvents }", "{ rooms }");
        await WaitForSubscribersAsync(host, "liveEvents", 1);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("Event sent", await HttpAssert.TextAsync(await host.Client.PostAsync("/live-events/trigger", null)));
        }

        await client.WaitForLineAsync(l => Json(client, "next").Count == 3);
        await host.DeleteScriptAsync("graphql/live-events.js");

        Assert.True(await client.WaitForExitAsync() == 0, client.Output + client.Errors);
        Assert.Contains("complete", client.Lines);
        Assert.Equal(["general", "random"], Json(client, "query").Single().GetProperty("data").GetProperty("rooms").EnumerateArray().Select(r => r.GetString()));
        var events = Json(client, "next").Select(r => r.GetProperty("data").GetProperty("liveEvents").GetString()!).ToList();
        Assert.Equal(Active, events[0]);
        Assert.All(events.Skip(1), e => Assert.Equal("user_joined", JsonDocument.Parse(e).RootElement.GetProperty("event").GetString()));
        await WaitForSubscribersAsync(host, "liveEvents", 0);
    }

    private static async Task WaitForSubscribersAsync(EngineHost host, string subscription, int count)
    {
        var bus = host.Services.GetRequiredService<ITopicBus>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int Now() => bus.GetStats(GraphQLField.TopicOf(subscription))?.Subscribers ?? 0;
        while (Now() != count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected {count} subscriber(s) of {subscription}, have {Now()}");
            await Task.Delay(20);
        }
    }
}
