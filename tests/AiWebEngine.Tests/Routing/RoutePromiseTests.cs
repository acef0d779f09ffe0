using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Routing;

/// <summary>
/// What README promises of routing (HTTP endpoints, Errors, Decisions): routes match case-insensitively
/// and stream paths do not; an incoming <c>X-Request-Id</c> of up to 128 visible ASCII characters is
/// kept, anything else replaced; <c>/engine</c>, <c>/graphql</c>, <c>/health</c> and <c>/metrics</c>
/// belong to the engine, also against a script route whose first segment is a parameter.
/// </summary>
public sealed class RoutePromiseTests
{
    private static readonly string[] Reserved = ["/auth", "/engine", "/graphql", "/health", "/metrics"];

    [Fact]
    public async Task ScriptRoutes_MatchCaseInsensitively_StreamPathsOnlyExactly()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["app.js"] = """
                register("/Users/{id}/Profile", (req) => ({ body: "profile " + req.params.id }));
                register("/files/*", (req) => ({ body: "file " + req.params["*"] }), "POST");
                registerWebStream("/Live");
                """,
        });

        foreach (var path in new[] { "/Users/Ada/Profile", "/users/Ada/profile", "/USERS/Ada/PROFILE", "/uSeRs/Ada/pRoFiLe" })
        {
            // The path matches in any case; the value of a parameter keeps the case it came in.
            Assert.Equal("profile Ada", await HttpAssert.TextAsync(await host.Client.GetAsync(path)));
        }

        Assert.Equal("file A/b.TXT", await HttpAssert.TextAsync(await host.Client.PostAsync("/FILES/A/b.TXT", null)));
        await HttpAssert.ErrorAsync(await host.Client.PostAsync("/Users/Ada/Profile", null), HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");

        await using var live = await SseReader.OpenAsync(host.Client, "/Live");
        Assert.Equal(HttpStatusCode.OK, live.Response.StatusCode);
        foreach (var path in new[] { "/live", "/LIVE" })
        {
            await HttpAssert.ErrorAsync(await host.Client.GetAsync(path), HttpStatusCode.NotFound, "NOT_FOUND");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(128)]
    public async Task RequestId_OfUpTo128VisibleAsciiCharacters_IsKept(int length)
    {
        await using var host = await EngineHost.StartAsync();
        // Every visible ASCII character, '!' to '~', over and over.
        var id = new string([.. Enumerable.Range(0, length).Select(i => (char)('!' + (i % 94)))]);

        var (header, error) = await SendAsync(host, id);

        Assert.Equal(id, header);
        Assert.Equal(id, error);
    }

    [Theory]
    [InlineData("129 characters")]
    [InlineData("a space")]
    [InlineData("a tab")]
    [InlineData("a control character")]
    [InlineData("DEL")]
    [InlineData("non-ASCII")]
    [InlineData("empty")]
    public async Task RequestId_ThatIsLongerOrNotVisibleAscii_IsReplacedByTheServersOwn(string what)
    {
        await using var host = await EngineHost.StartAsync();
        var id = what switch
        {
            "129 characters" => new string('a', 129),
            "a space" => "two words",
            "a tab" => "tab\there",
            "a control character" => "bell\u0007",
            "DEL" => "del\u007f",
            "non-ASCII" => "caf\u00e9",
            _ => "",
        };

        var (header, error) = await SendAsync(host, id);

        Assert.NotEqual(id, header);
        Assert.False(string.IsNullOrEmpty(header));
        Assert.Equal(header, error);
        Assert.All(header, c => Assert.InRange(c, '!', '~'));
    }

    [Fact]
    public async Task RequestId_SentTwice_IsReplacedByTheServersOwn()
    {
        await using var host = await EngineHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nothing");
        request.Headers.TryAddWithoutValidation("X-Request-Id", ["first", "second"]);

        var response = await host.Client.SendAsync(request);

        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.NotFound, "NOT_FOUND");
        var id = error.GetProperty("requestId").GetString();
        Assert.DoesNotContain(id, new[] { "first", "second", "first,second", "first, second" });
    }

    [Fact]
    public async Task ReservedPrefixes_RegisteringARouteOrStreamThereThrows_InAnyCase()
    {
        var paths = Reserved.SelectMany(p => new[] { p, p + "/mine", p.ToUpperInvariant() + "/x", "/" + char.ToUpperInvariant(p[1]) + p[2..] }).ToList();
        var attempts = string.Join('\n', paths.Select(p => $$"""
            try { register("{{p}}", () => ({ body: "script" })); results.push("route {{p}}: registered"); } catch (e) { results.push("route {{p}}: " + e.message); }
            try { registerWebStream("{{p}}"); results.push("stream {{p}}: registered"); } catch (e) { results.push("stream {{p}}: " + e.message); }
            """));
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["grab.js"] = "const results = [];\n" + attempts + "\nregister(\"/results\", () => ({ body: results.join(\"\\n\") }));",
        });

        var results = (await HttpAssert.TextAsync(await host.Client.GetAsync("/results"))).Split('\n');

        Assert.Equal(paths.Count * 2, results.Length);
        foreach (var path in paths)
        {
            var prefix = Reserved.Single(r => path.StartsWith(r, StringComparison.OrdinalIgnoreCase));
            Assert.Contains($"route {path}: register: path '{path}' is under '{prefix}', which is reserved for the engine", results);
            Assert.Contains($"stream {path}: registerWebStream: path '{path}' is under '{prefix}', which is reserved for the engine", results);
        }
    }

    /// <summary>
    /// A script that registers every method on routes whose first segment is a parameter changes no
    /// answer under the reserved prefixes: each gets the status and error code it gets without it.
    /// </summary>
    [Fact]
    public async Task ReservedPrefixes_AScriptRouteWithAParameterFirstSegment_NeverAnswersThere()
    {
        const string Grab = """
            for (const m of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
              for (const p of ["/*", "/{a}", "/{a}/{b}", "/{a}/{b}/{c}", "/{a}/*"]) {
                register(p, () => ({ status: 200, body: "script " + m + " " + p }), m);
              }
            }
            """;
        await using var plain = await EngineHost.StartAsync(new Dictionary<string, string> { ["other.js"] = """register("/other", () => ({ body: "other" }));""" });
        await using var grabbed = await EngineHost.StartAsync(new Dictionary<string, string> { ["other.js"] = """register("/other", () => ({ body: "other" }));""", ["grab.js"] = Grab });
        var probes = new (string Method, string Path)[]
        {
            ("GET", "/health"), ("POST", "/health"), ("DELETE", "/Health"), ("GET", "/health/live"), ("PUT", "/health/ready"), ("GET", "/health/nothing"),
            ("GET", "/metrics"), ("POST", "/metrics"), ("PATCH", "/METRICS"), ("GET", "/metrics/x"),
            ("GET", "/engine/scripts"), ("POST", "/engine/scripts"), ("PATCH", "/engine/scripts/x.js"), ("GET", "/engine/nothing"), ("GET", "/ENGINE/Nothing/at/all"), ("GET", "/engine"),
            ("GET", "/auth/signin"), ("POST", "/auth/signout"), ("GET", "/auth/me"), ("GET", "/auth/callback"), ("GET", "/Auth/nothing"),
            ("GET", "/graphql/other"), ("PUT", "/graphql"), ("DELETE", "/graphql/sse"), ("PATCH", "/GraphQL/schema.graphql"), ("GET", "/graphql/subscription/none"),
        };

        foreach (var (method, path) in probes)
        {
            var expected = await AnswerAsync(plain, method, path);
            var actual = await AnswerAsync(grabbed, method, path);
            Assert.True(expected == actual, $"{method} {path}: without the script {expected}, with it {actual}");
            Assert.DoesNotContain("script", actual.Body, StringComparison.Ordinal);
        }

        // The script's routes still serve every path outside the prefixes, including look-alikes.
        foreach (var path in new[] { "/healthz", "/engines", "/graphql-old", "/metrics2", "/x/health", "/authors", "/x/auth" })
        {
            Assert.StartsWith("script GET", await HttpAssert.TextAsync(await grabbed.Client.GetAsync(path)), StringComparison.Ordinal);
        }
    }

    private static async Task<(string Header, string? Error)> SendAsync(EngineHost host, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nothing");
        Assert.True(request.Headers.TryAddWithoutValidation("X-Request-Id", id));
        var response = await host.Client.SendAsync(request);
        var error = await HttpAssert.ErrorAsync(response, HttpStatusCode.NotFound, "NOT_FOUND");
        return (response.Headers.GetValues("X-Request-Id").Single(), error.GetProperty("requestId").GetString());
    }

    // Status, error code (if a JSON error) and whether the body is the script's.
    private static async Task<(int Status, string? Code, string Body)> AnswerAsync(EngineHost host, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        var response = await host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        string? code = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json" && body.StartsWith("{\"error\"", StringComparison.Ordinal))
        {
            code = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString();
        }

        // Only whether the script answered matters, not the engine's own (time-dependent) bodies.
        return ((int)response.StatusCode, code, body.Contains("script ", StringComparison.Ordinal) ? body : "");
    }
}
