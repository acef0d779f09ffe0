using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Hardening;

/// <summary>What the fault tests share: waiting for a condition, and the "server still healthy" check.</summary>
internal static class FaultHelpers
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>GET /health as JSON (200 expected).</summary>
    public static async Task<JsonElement> HealthAsync(HttpClient client) =>
        await HttpAssert.JsonAsync(await client.GetAsync("/health"));

    /// <summary>Waits until /health says <paramref name="connections"/> stream connections are open.</summary>
    public static Task WaitForConnectionsAsync(HttpClient client, int connections, TimeSpan? timeout = null) =>
        WaitUntilAsync(
            async () => (await HealthAsync(client)).GetProperty("streams").GetProperty("connections").GetInt32() == connections,
            $"/health to count {connections} stream connections",
            timeout);

    /// <summary>
    /// The server is healthy: /health answers <c>ok</c>, the route <paramref name="route"/> (of a script
    /// the fault did not touch) answers <paramref name="expected"/>, and a fresh client of
    /// <paramref name="stream"/> receives a message published now.
    /// </summary>
    public static async Task AssertHealthyAsync(HttpClient client, string route, string expected, string stream, string publishRoute)
    {
        var health = await HealthAsync(client);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(expected, await HttpAssert.TextAsync(await client.GetAsync(route)));

        await using var reader = await SseReader.OpenAsync(client, stream);
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        await reader.ReadUntilAsync(f => f.Count > 0, TimeSpan.FromSeconds(30));
        var probe = "probe-" + Guid.NewGuid().ToString("N");
        using var published = await client.PostAsync(publishRoute, new StringContent(probe));
        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        await reader.ReadUntilAsync(f => f.Any(m => m.Data == probe), TimeSpan.FromSeconds(30));
    }

    /// <summary>The messages' ids as numbers; asserts each is one more than the one before.</summary>
    public static void AssertConsecutiveIds(IEnumerable<SseFrame> messages)
    {
        long? previous = null;
        foreach (var message in messages)
        {
            Assert.NotNull(message.Id);
            var id = long.Parse(message.Id!, System.Globalization.CultureInfo.InvariantCulture);
            if (previous is { } p)
            {
                Assert.Equal(p + 1, id);
            }

            previous = id;
        }
    }
}
