using System.Globalization;
using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// A script reloaded 100 times while 1 000 clients are connected and messages flow (issue 7,
/// point 4): clients of the path that survives every reload keep every message, in order; clients
/// of a path the new version drops see their stream end; the server stays healthy.
/// </summary>
public sealed class FaultReloadTests
{
    private const int Clients = 1000;
    private const int Reloads = 100;

    private static string App(int version) => version == 0
        ? """
          registerWebStream("/feed");
          registerWebStream("/temp");
          register("/version", () => ({ body: "0" }));
          """
        : $$"""
          // version {{version}}
          registerWebStream("/feed");
          register("/version", () => ({ body: "{{version}}" }));
          """;

    private const string Publisher = """
        register("/publish", (req) => ({ body: String(sendStreamMessageToPath("/feed", req.body)) }), "POST");
        register("/hello", () => ({ body: "hello" }));
        """;

    [Fact]
    public async Task ScriptReloaded100Times_With1000ClientsAndMessagesFlowing_LosesNothingOnTheSurvivingPath()
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["app.js"] = App(0), ["publisher.js"] = Publisher },
            kestrel: true);
        var feed = new List<FaultSseClient>();
        var temp = new List<FaultSseClient>();
        try
        {
            for (var batch = 0; batch < Clients; batch += 100)
            {
                feed.AddRange(await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => FaultSseClient.OpenAsync(host.BaseAddress, "/feed"))));
            }

            temp.AddRange(await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => FaultSseClient.OpenAsync(host.BaseAddress, "/temp"))));
            await FaultHelpers.WaitForConnectionsAsync(host.Client, Clients + 10, TimeSpan.FromSeconds(60));

            // The publisher runs the whole time: one message after another, each to every client of /feed.
            using var stop = new CancellationTokenSource();
            var counts = new List<string>();
            var publishing = Task.Run(async () =>
            {
                for (var seq = 1; !stop.IsCancellationRequested; seq++)
                {
                    using var response = await host.Client.PostAsync("/publish", new StringContent(seq.ToString(CultureInfo.InvariantCulture)));
                    counts.Add(response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : $"HTTP {(int)response.StatusCode}");
                    await Task.Delay(15);
                }
            });

            for (var version = 1; version <= Reloads; version++)
            {
                using var upload = await host.Client.PutAsync("/engine/scripts/app.js", new StringContent(App(version)));
                Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
                Assert.Equal(version.ToString(CultureInfo.InvariantCulture), await HttpAssert.TextAsync(await host.Client.GetAsync("/version")));
            }

            await stop.CancelAsync();
            await publishing;

            // Every publish reached every client of /feed: no reload left a moment without the path.
            Assert.All(counts, c => Assert.Equal(Clients.ToString(CultureInfo.InvariantCulture), c));
            var published = counts.Count;
            Assert.True(published > 0);
            foreach (var client in feed)
            {
                await client.WaitForCountAsync(published, TimeSpan.FromSeconds(60));
                client.AssertReceivedInOrder(1, published);
                Assert.Null(client.Error);
            }

            // /temp was dropped by the first reload: its clients' streams ended cleanly.
            foreach (var client in temp)
            {
                Assert.True(await client.WaitForEndAsync(TimeSpan.FromSeconds(30)));
                Assert.True(client.Ended, $"the /temp stream broke instead of ending: {client.Error?.Message}");
            }

            await HttpAssert.ErrorAsync(await host.Client.GetAsync("/temp"), HttpStatusCode.NotFound, "NOT_FOUND");
            await FaultHelpers.WaitForConnectionsAsync(host.Client, Clients);
            await FaultHelpers.AssertHealthyAsync(host.Client, "/hello", "hello", "/feed", "/publish");
        }
        finally
        {
            foreach (var client in feed.Concat(temp))
            {
                await client.DisposeAsync();
            }
        }
    }
}
