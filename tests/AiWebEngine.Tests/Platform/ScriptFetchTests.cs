using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, points 1, 3 and 10: <c>fetch</c> from scripts against an upstream of the test's own on loopback
/// (allowed by name in the test's configuration), every refusal (off, not listed, a wildcard reaching a
/// loopback address by IP and by a DNS name, a redirect to a host not listed, too large, too slow, too
/// many at once), and two slow fetches of one script overlapping rather than queued.
/// </summary>
public sealed class ScriptFetchTests
{
    private const string Upstream = """
        let waiting = [];
        register("/both", () => new Promise((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) { const all = waiting; waiting = []; all.forEach((r) => r({ body: "2" })); }
          else setTimeout(() => { waiting = waiting.filter((r) => r !== resolve); resolve({ body: "1" }); }, 3000);
        }));
        register("/json", () => ({ body: { hello: "wörld" }, headers: { "X-Up": "yes" } }));
        register("/echo", (req) => ({ body: req.bodyBytes, contentType: req.headers["content-type"] || "none", headers: { "X-Method": req.method, "X-Token": req.headers["x-token"] || "" } }), "POST");
        register("/missing", () => ({ status: 404, body: "nope" }));
        register("/big", () => ({ body: "x".repeat(200000) }));
        register("/slow", () => new Promise((r) => setTimeout(() => r({ body: "late" }), 2000)));
        register("/to-json", () => ({ status: 302, headers: { Location: "/json" } }));
        register("/to-localhost", (req) => ({ status: 302, headers: { Location: "http://localhost:" + req.query.port + "/json" } }));
        register("/loop", () => ({ status: 302, headers: { Location: "/loop" } }));
        """;

    private const string Caller = """
        register("/fetch", async (req) => {
          const { url, init, read } = JSON.parse(req.body);
          try {
            const r = await fetch(url, init);
            const value = read === "json" ? await r.json() : read === "bytes" ? Array.from(await r.bytes()) : await r.text();
            return { body: { status: r.status, ok: r.ok, redirected: r.redirected, url: r.url, up: r.headers.get("x-up"), type: r.headers.get("content-type"), method: r.headers.get("x-method"), token: r.headers.get("x-token"), value } };
          } catch (e) {
            return { status: 502, body: { error: e.message } };
          }
        }, "POST");
        """;

    private static async Task<(EngineHost Upstream, EngineHost Caller)> StartAsync(Func<EngineHost, Dictionary<string, string?>> settings)
    {
        var upstream = await EngineHost.StartAsync(new Dictionary<string, string> { ["up.js"] = Upstream }, kestrel: true);
        var caller = await EngineHost.StartAsync(new Dictionary<string, string> { ["caller.js"] = Caller }, settings(upstream));
        return (upstream, caller);
    }

    private static Dictionary<string, string?> ByName(EngineHost upstream, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["AiWebEngine:Fetch:AllowedHosts:0"] = $"127.0.0.1:{upstream.BaseAddress.Port}" };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<JsonElement> FetchAsync(EngineHost caller, string url, object? init = null, string read = "text", HttpStatusCode status = HttpStatusCode.OK)
    {
        var body = JsonSerializer.Serialize(new { url, init, read });
        return await HttpAssert.JsonAsync(await caller.Client.PostAsync("/fetch", new StringContent(body)), status);
    }

    private static async Task<string> RefusedAsync(EngineHost caller, string url, object? init = null) =>
        (await FetchAsync(caller, url, init, status: HttpStatusCode.BadGateway)).GetProperty("error").GetString()!;

    [Fact]
    public async Task Off_UntilHostsAreListed()
    {
        var (upstream, caller) = await StartAsync(_ => []);
        await using var _ = upstream;
        await using var __ = caller;
        Assert.Equal("fetch: outbound HTTP is off: list the hosts scripts may reach in AiWebEngine:Fetch:AllowedHosts", await RefusedAsync(caller, new Uri(upstream.BaseAddress, "/json").ToString()));
    }

    [Fact]
    public async Task AListedHost_IsFetched_TextJsonBytesHeadersStatusAndABody()
    {
        var (upstream, caller) = await StartAsync(u => ByName(u));
        await using var _ = upstream;
        await using var __ = caller;
        var json = await FetchAsync(caller, new Uri(upstream.BaseAddress, "/json").ToString(), read: "json");
        Assert.Equal(200, json.GetProperty("status").GetInt32());
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal("yes", json.GetProperty("up").GetString());
        Assert.Equal("wörld", json.GetProperty("value").GetProperty("hello").GetString());

        var missing = await FetchAsync(caller, new Uri(upstream.BaseAddress, "/missing").ToString());
        Assert.Equal(404, missing.GetProperty("status").GetInt32());
        Assert.False(missing.GetProperty("ok").GetBoolean());
        Assert.Equal("nope", missing.GetProperty("value").GetString());

        var echoed = await FetchAsync(caller, new Uri(upstream.BaseAddress, "/echo").ToString(),
            new { method = "POST", headers = new Dictionary<string, string> { ["Content-Type"] = "application/x-test", ["X-Token"] = "t0k" }, body = "héllo" }, read: "bytes");
        Assert.Equal("POST", echoed.GetProperty("method").GetString());
        Assert.Equal("t0k", echoed.GetProperty("token").GetString());
        Assert.Equal("application/x-test", echoed.GetProperty("type").GetString());
        Assert.Equal(Encoding.UTF8.GetBytes("héllo"), echoed.GetProperty("value").EnumerateArray().Select(e => (byte)e.GetInt32()));

        var redirected = await FetchAsync(caller, new Uri(upstream.BaseAddress, "/to-json").ToString(), read: "json");
        Assert.True(redirected.GetProperty("redirected").GetBoolean());
        Assert.EndsWith("/json", redirected.GetProperty("url").GetString());
    }

    [Fact]
    public async Task TwoSlowFetchesOfOneScript_Overlap_NotQueued()
    {
        // The upstream answers "2" only when two requests wait at once (else "1" after 3 s).
        var (upstream, caller) = await StartAsync(u => ByName(u));
        await using var _ = upstream;
        await using var __ = caller;
        var url = new Uri(upstream.BaseAddress, "/both").ToString();
        var both = await Task.WhenAll(FetchAsync(caller, url), FetchAsync(caller, url));
        Assert.All(both, r => Assert.Equal("2", r.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task HostsNotListed_AndPrivateAddressesBehindAWildcard_AreRefused_AlsoThroughARedirect()
    {
        var (upstream, caller) = await StartAsync(u => new Dictionary<string, string?>
        {
            ["AiWebEngine:Fetch:AllowedHosts:0"] = $"127.0.0.1:{u.BaseAddress.Port}",
            ["AiWebEngine:Fetch:AllowedHosts:1"] = "*.example.invalid",
        });
        await using var _ = upstream;
        await using var __ = caller;
        var port = upstream.BaseAddress.Port;

        Assert.Equal($"fetch: localhost:{port} is not in AiWebEngine:Fetch:AllowedHosts", await RefusedAsync(caller, $"http://localhost:{port}/json"));
        Assert.Equal($"fetch: 127.0.0.1:{port + 1} is not in AiWebEngine:Fetch:AllowedHosts", await RefusedAsync(caller, $"http://127.0.0.1:{port + 1}/json"));
        Assert.Equal("fetch: 169.254.169.254:80 is not in AiWebEngine:Fetch:AllowedHosts", await RefusedAsync(caller, "http://169.254.169.254/latest/meta-data/"));
        Assert.Equal($"fetch: a redirect was not followed: localhost:{port} is not in AiWebEngine:Fetch:AllowedHosts", await RefusedAsync(caller, $"http://127.0.0.1:{port}/to-localhost?port={port}"));
        Assert.Equal("fetch: more than 5 redirects (AiWebEngine:Fetch:MaxRedirects)", await RefusedAsync(caller, $"http://127.0.0.1:{port}/loop"));
        Assert.StartsWith("fetch: 'file:///etc/passwd' is not an absolute http or https URL", await RefusedAsync(caller, "file:///etc/passwd"));
        Assert.StartsWith("fetch: a URL with credentials", await RefusedAsync(caller, $"http://user:pw@127.0.0.1:{port}/json"));
        Assert.Equal("fetch: header 'Host' is set by the engine", await RefusedAsync(caller, $"http://127.0.0.1:{port}/json", new { headers = new Dictionary<string, string> { ["Host"] = "internal" } }));
    }

    [Fact]
    public async Task AWildcard_NeverReachesALoopbackAddress_ByIpOrByADnsName_ButAHostListedByNameMay()
    {
        var (upstream, caller) = await StartAsync(_ => new Dictionary<string, string?> { ["AiWebEngine:Fetch:AllowedHosts:0"] = "*" });
        await using var _ = upstream;
        await using var __ = caller;
        var port = upstream.BaseAddress.Port;
        Assert.Equal("fetch: 127.0.0.1 resolves to 127.0.0.1, which is not a public address: only a host listed by name in AiWebEngine:Fetch:AllowedHosts may be reached there", await RefusedAsync(caller, $"http://127.0.0.1:{port}/json"));
        Assert.StartsWith("fetch: localhost resolves to ", await RefusedAsync(caller, $"http://localhost:{port}/json"));
        Assert.StartsWith("fetch: 10.1.2.3 resolves to 10.1.2.3, which is not a public address", await RefusedAsync(caller, "http://10.1.2.3/"));

        await using var named = await EngineHost.StartAsync(new Dictionary<string, string> { ["caller.js"] = Caller }, new Dictionary<string, string?>
        {
            ["AiWebEngine:Fetch:AllowedHosts:0"] = "*",
            ["AiWebEngine:Fetch:AllowedHosts:1"] = "localhost",
        });
        Assert.Equal(200, (await FetchAsync(named, $"http://localhost:{port}/json")).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task TooLarge_TooSlow_AndTooMany_AreErrorsThatSayWhich()
    {
        var (upstream, caller) = await StartAsync(u => ByName(u, new Dictionary<string, string?>
        {
            ["AiWebEngine:Fetch:MaxResponseBytes"] = "100000",
            ["AiWebEngine:Fetch:Timeout"] = "00:00:00.500",
            ["AiWebEngine:Fetch:MaxConcurrentPerScript"] = "1",
        }));
        await using var _ = upstream;
        await using var __ = caller;
        var port = upstream.BaseAddress.Port;
        Assert.Equal("fetch: the response from 127.0.0.1 is over 100000 bytes (AiWebEngine:Fetch:MaxResponseBytes)", await RefusedAsync(caller, $"http://127.0.0.1:{port}/big"));

        var slow = RefusedAsync(caller, $"http://127.0.0.1:{port}/slow");
        await Task.Delay(100);
        Assert.Equal("fetch: the script already has 1 fetches in flight (AiWebEngine:Fetch:MaxConcurrentPerScript)", await RefusedAsync(caller, $"http://127.0.0.1:{port}/json"));
        Assert.Equal("fetch: 127.0.0.1 did not answer within 500 ms (AiWebEngine:Fetch:Timeout)", await slow);
        Assert.Equal("ok", (await HttpAssert.JsonAsync(await caller.Client.GetAsync("/health"))).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("fetch(42)", "fetch: url must be a string, got number 42")]
    [InlineData("fetch('http://x', { body: { a: 1 } })", "fetch: body must be a string or bytes (a Uint8Array or ArrayBuffer); JSON.stringify an object, got an object")]
    [InlineData("fetch('http://x', 'GET')", "fetch: init must be an object such as { method: \"POST\", body }, got \"GET\"")]
    public async Task BadArguments_RejectWithAnErrorNamingThem(string code, string message)
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["f.js"] = """register("/run", async (req) => { try { await (0, eval)(req.body); return { body: "ran" }; } catch (e) { return { status: 400, body: e.message }; } }, "POST");""",
        }, new Dictionary<string, string?> { ["AiWebEngine:Fetch:AllowedHosts:0"] = "*" });
        Assert.Equal(message, await HttpAssert.TextAsync(await host.Client.PostAsync("/run", new StringContent(code)), HttpStatusCode.BadRequest));
    }
}
