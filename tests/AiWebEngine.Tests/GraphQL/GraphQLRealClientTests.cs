using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>The npm graphql-sse, graphql-ws and urql clients against the engine on a real loopback socket.</summary>
public sealed class GraphQLRealClientTests
{
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
}
