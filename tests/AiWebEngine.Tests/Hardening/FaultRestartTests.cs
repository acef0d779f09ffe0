using System.Globalization;
using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// The server stopped while clients are connected, then started again on the same port and scripts
/// (issue 7, point 4): streams end cleanly, and clients that reconnect with the <c>Last-Event-ID</c>
/// of the old process get every message published since the server came back, in order.
/// </summary>
public sealed class FaultRestartTests
{
    internal const string Feed = """
        registerWebStream("/feed");
        register("/publish", (req) => ({ body: String(sendStreamMessage(req.body)) }), "POST");
        """;

    internal const string Hello = """register("/hello", () => ({ body: "hello" }));""";

    private static Dictionary<string, string> Scripts() => new() { ["feed.js"] = Feed, ["hello.js"] = Hello };

    [Fact]
    public async Task ServerStoppedWithClientsConnected_EndsTheirStreamsCleanly_AndLastEventIdResumesOnTheRestartedServer()
    {
        var directory = Directory.CreateTempSubdirectory("aiwebengine-restart-").FullName;
        try
        {
            foreach (var (uri, source) in Scripts())
            {
                await File.WriteAllTextAsync(Path.Combine(directory, uri), source);
            }

            // The first life: three clients receive 30 messages.
            var first = await EngineHost.StartAsync(kestrel: true, scriptsDirectory: directory);
            var port = first.BaseAddress.Port;
            var clients = new List<SseReader>();
            try
            {
                for (var i = 0; i < 3; i++)
                {
                    var reader = await SseReader.OpenAsync(first.Client, "/feed");
                    await reader.ReadUntilAsync(f => f.Count > 0);
                    clients.Add(reader);
                }

                await FaultHelpers.WaitForConnectionsAsync(first.Client, 3);
                for (var i = 1; i <= 30; i++)
                {
                    await first.Client.PostAsync("/publish", new StringContent($"before-{i}"));
                }

                foreach (var client in clients)
                {
                    await client.ReadMessagesAsync(30, TimeSpan.FromSeconds(30));
                }
            }
            catch
            {
                await first.DisposeAsync();
                throw;
            }

            // Stop: every stream ends with a clean end of the body, not a reset.
            var lastIds = clients.Select(c => c.Messages[^1].Id!).ToList();
            await first.DisposeAsync();
            foreach (var client in clients)
            {
                Assert.True(await client.WaitForEndAsync(TimeSpan.FromSeconds(30)), "the stream did not end when the server stopped");
                Assert.False(client.EndedWithError, "the stream was reset instead of ended");
                Assert.Equal(Enumerable.Range(1, 30).Select(i => $"before-{i}"), client.Messages.Select(m => m.Data));
                FaultHelpers.AssertConsecutiveIds(client.Messages);
                await client.DisposeAsync();
            }

            // The second life, same port and scripts. Messages are published before the clients are
            // back (they wait for retry: 3000) and after: each client must get all of them, once, in order.
            await using var second = await EngineHost.StartAsync(kestrel: true, scriptsDirectory: directory, port: port);
            for (var i = 1; i <= 5; i++)
            {
                await second.Client.PostAsync("/publish", new StringContent($"after-{i}"));
            }

            var resumed = new List<SseReader>();
            try
            {
                foreach (var lastId in lastIds)
                {
                    var reader = await SseReader.OpenAsync(second.Client, "/feed", lastEventId: lastId);
                    Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
                    resumed.Add(reader);
                }

                await FaultHelpers.WaitForConnectionsAsync(second.Client, 3);
                for (var i = 6; i <= 10; i++)
                {
                    await second.Client.PostAsync("/publish", new StringContent($"after-{i}"));
                }

                foreach (var (reader, lastId) in resumed.Zip(lastIds))
                {
                    var messages = (await reader.ReadMessagesAsync(10, TimeSpan.FromSeconds(30))).Where(f => f.Data is not null).ToList();
                    Assert.Equal(Enumerable.Range(1, 10).Select(i => $"after-{i}"), messages.Select(m => m.Data));
                    FaultHelpers.AssertConsecutiveIds(messages);
                    // The new ids are above every id of the old process, so a later Last-Event-ID is never ambiguous.
                    Assert.True(long.Parse(messages[0].Id!, CultureInfo.InvariantCulture) > long.Parse(lastId, CultureInfo.InvariantCulture));
                }

                await FaultHelpers.AssertHealthyAsync(second.Client, "/hello", "hello", "/feed", "/publish");
            }
            finally
            {
                foreach (var reader in resumed)
                {
                    await reader.DisposeAsync();
                }
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
