using System.Net;
using System.Text;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>Issue 19, point 1: a rejected Promise answers 500 (a route) or a GraphQL error (a resolver), and is logged with its JavaScript stack.</summary>
public sealed class RejectedPromiseTests
{
    private const string Script = """
        const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        async function loadProfile(id) {
          await sleep(10);
          throw new Error("profile " + id + " is missing");
        }
        register("/profile", async () => ({ body: await loadProfile(7) }));
        registerGraphQLQuery("profile", "type Query { profile: String }", async () => loadProfile(8));
        """;

    [Fact]
    public async Task ARejectedPromise_Is500_AndItsStackIsLogged()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["p.js"] = Script });
        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync("/profile"), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
        Assert.Equal("profile 7 is missing", error.GetProperty("details").GetProperty("message").GetString());

        var line = Assert.Single(host.Logs.Lines, l => l.EventId == 1100);
        Assert.Contains("profile 7 is missing", line.Message, StringComparison.Ordinal);
        Assert.Contains("at loadProfile", line.Message, StringComparison.Ordinal);
        Assert.Contains("p.js:4", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARejectedPromiseOfAResolver_IsAGraphQLError_AndItsStackIsLogged()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string> { ["p.js"] = Script });
        using var response = await host.Client.PostAsync("/graphql", new StringContent("""{"query":"{ profile }"}""", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("profile 8 is missing", body, StringComparison.Ordinal);
        Assert.DoesNotContain("at loadProfile", body, StringComparison.Ordinal);

        var logs = await host.Client.GetStringAsync("/engine/logs?limit=1000");
        Assert.Contains("at loadProfile", logs, StringComparison.Ordinal);
    }
}
