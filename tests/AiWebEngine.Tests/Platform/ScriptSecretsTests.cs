using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, point 5: <c>secrets.get(name)</c> reads <c>AiWebEngine:Secrets:&lt;name&gt;</c>; the operator may
/// restrict a secret to some scripts (<c>AiWebEngine:SecretAccess:&lt;name&gt;</c>), checked in .NET on the
/// calling script; no endpoint returns a secret, and a secret's value in what a script logs or throws is masked.
/// </summary>
public sealed class ScriptSecretsTests
{
    private const string Webhook = "whsec_5f1c0e8a9b2d4c6e";
    private const string Api = "api-key-0123456789abcdef";

    private const string Reader = """
        register("/{script}/read", (req) => {
          try {
            const value = secrets.get(req.query.name);
            return { body: { type: typeof value, value: value === undefined ? null : value.length } };
          } catch (e) {
            return { status: 400, body: { error: e.message } };
          }
        });
        """;

    private static Dictionary<string, string> Scripts() => new()
    {
        // One reader per script: the route's first segment says which script answers.
        ["hooks/github.js"] = Reader.Replace("{script}", "github", StringComparison.Ordinal),
        ["other.js"] = Reader.Replace("{script}", "other", StringComparison.Ordinal) + """
            register("/leak", (req) => {
              const key = secrets.get("API_KEY");
              writeLog("the key is " + key);
              console.error({ nested: { key } });
              throw new Error("refused with " + key);
            });
            registerGraphQLQuery("leak", "type Query { leak: String }", () => { throw new Error("resolver saw " + secrets.get("API_KEY")); });
            """,
    };

    private static Task<EngineHost> StartAsync() => EngineHost.StartAsync(Scripts(), new Dictionary<string, string?>
    {
        ["AiWebEngine:Secrets:GITHUB_WEBHOOK"] = Webhook,
        ["AiWebEngine:Secrets:API_KEY"] = Api,
        ["AiWebEngine:Secrets:SHORT"] = "abc",
        ["AiWebEngine:SecretAccess:GITHUB_WEBHOOK:0"] = "hooks/*",
    });

    private static async Task<JsonElement> ReadAsync(EngineHost host, string script, string name, HttpStatusCode status = HttpStatusCode.OK) =>
        await HttpAssert.JsonAsync(await host.Client.GetAsync($"/{script}/read?name={Uri.EscapeDataString(name)}"), status);

    [Fact]
    public async Task Get_ReturnsTheConfiguredValue_AndUndefinedForOneThatIsNot()
    {
        await using var host = await StartAsync();
        var key = await ReadAsync(host, "other", "API_KEY");
        Assert.Equal("string", key.GetProperty("type").GetString());
        Assert.Equal(Api.Length, key.GetProperty("value").GetInt32());
        Assert.Equal(Api.Length, (await ReadAsync(host, "other", "api_key")).GetProperty("value").GetInt32()); // configuration keys ignore case
        Assert.Equal("undefined", (await ReadAsync(host, "other", "NOT_SET")).GetProperty("type").GetString());
    }

    [Fact]
    public async Task ARestrictedSecret_IsReadOnlyByTheListedScripts()
    {
        await using var host = await StartAsync();
        Assert.Equal(Webhook.Length, (await ReadAsync(host, "github", "GITHUB_WEBHOOK")).GetProperty("value").GetInt32());
        var refused = await ReadAsync(host, "other", "GITHUB_WEBHOOK", HttpStatusCode.BadRequest);
        Assert.Equal("secrets.get: script 'other.js' may not read secret 'GITHUB_WEBHOOK': AiWebEngine:SecretAccess:GITHUB_WEBHOOK lists the scripts that may", refused.GetProperty("error").GetString());
        // The unrestricted one is everyone's.
        Assert.Equal(Api.Length, (await ReadAsync(host, "github", "API_KEY")).GetProperty("value").GetInt32());
    }

    [Theory]
    [InlineData("../API_KEY")]
    [InlineData("API KEY")]
    [InlineData("AiWebEngine:Admin:Token")]
    public async Task ABadName_IsAnError_NotAWayOutOfTheSection(string name)
    {
        await using var host = await StartAsync();
        var refused = await ReadAsync(host, "other", name, HttpStatusCode.BadRequest);
        Assert.StartsWith("secrets.get: name must be 1 to 128 letters, digits", refused.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ASecretALoggedLineOrAnErrorHolds_IsMasked_InTheLogs_TheManagementApi_AndGraphQLErrors()
    {
        await using var host = await StartAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, (await host.Client.GetAsync("/leak")).StatusCode);
        var graphql = await host.Client.PostAsync("/graphql", new StringContent("""{"query":"{ leak }"}""", Encoding.UTF8, "application/json"));
        var errors = await graphql.Content.ReadAsStringAsync();
        Assert.Contains("resolver saw ***", errors, StringComparison.Ordinal);

        var logs = await host.Client.GetStringAsync("/engine/logs?uri=other.js&limit=1000");
        Assert.Contains("the key is ***", logs, StringComparison.Ordinal);
        Assert.Contains("refused with ***", logs, StringComparison.Ordinal);
        Assert.Contains("{\\\"nested\\\":{\\\"key\\\":\\\"***\\\"}}", logs, StringComparison.Ordinal);
        foreach (var text in new[] { errors, logs, await host.Client.GetStringAsync("/health"), await host.Client.GetStringAsync("/engine/scripts") })
        {
            Assert.DoesNotContain(Api, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Webhook, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(host.Logs.Lines, l => l.Message.Contains(Api, StringComparison.Ordinal));
        // Every log entry, the engine's own with their exceptions included (the GraphQL executor logs the resolver's).
        var everything = await host.Client.GetStringAsync("/engine/logs?limit=1000");
        Assert.Contains("resolver saw ***", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Api, everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSecretsObject_IsFrozen_AndItsNameCheckIsTheHosts()
    {
        await using var host = await StartAsync();
        await host.WriteScriptAsync("patch.js", """
            "use strict";
            let frozen = false;
            try { secrets.get = () => "x"; } catch (e) { frozen = true; }
            String.prototype.includes = () => true;
            register("/patched", () => {
              try { return { body: { frozen, got: secrets.get("GITHUB_WEBHOOK") } }; }
              catch (e) { return { body: { frozen, error: e.message } }; }
            });
            """);
        var answer = await HttpAssert.JsonAsync(await host.Client.GetAsync("/patched"));
        Assert.True(answer.GetProperty("frozen").GetBoolean());
        Assert.StartsWith("secrets.get: script 'patch.js' may not read secret 'GITHUB_WEBHOOK'", answer.GetProperty("error").GetString());
    }
}
