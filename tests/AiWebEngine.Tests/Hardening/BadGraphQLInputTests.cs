using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Issue 7, point 3: malformed, deeply nested and hostile GraphQL documents, aliases that multiply
/// work, huge variables and introspection floods. Every answer is a well-formed GraphQL error response
/// (never a 500, never a crash), the depth, field and alias limits are enforced before validation, and
/// the server keeps serving.
/// </summary>
public sealed class BadGraphQLInputTests
{
    public const string Schema = """
        let calls = 0;
        function tree(depth) { return depth === 0 ? { name: "leaf", children: [] } : { name: "n" + depth, child: tree(depth - 1), children: [{ name: "c" }] }; }
        registerGraphQLQuery("node", `
          type Query { node: Node }
          type Node { name: String child: Node children: [Node] }`, () => tree(40));
        registerGraphQLQuery("count", "type Query { count: Int }", () => ++calls);
        registerGraphQLQuery("calls", "type Query { calls: Int }", () => calls);
        registerGraphQLQuery("echo", `
          type Query { echo(text: String, n: Int, list: [String], obj: EchoInput): String }
          input EchoInput { a: String b: [Int] nested: EchoInput }`, (args) => JSON.stringify(args));
        registerGraphQLMutation("bump", "type Mutation { bump: Int }", () => ++calls);
        """;

    private const string GraphQLResponseJson = "application/graphql-response+json";

    /// <summary>graphql-js 16's <c>getIntrospectionQuery()</c>: what GraphQL tools send.</summary>
    private const string IntrospectionQuery = """
        query IntrospectionQuery { __schema { queryType { name kind } mutationType { name kind } subscriptionType { name kind }
          types { ...FullType } directives { name description locations args { ...InputValue } } } }
        fragment FullType on __Type { kind name description
          fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
          inputFields { ...InputValue } interfaces { ...TypeRef }
          enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
        fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
        fragment TypeRef on __Type { kind name ofType { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name kind
          ofType { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } } } } }
        """;

    private static Task<EngineHost> StartAsync(Dictionary<string, string?>? settings = null, bool kestrel = false) =>
        EngineHost.StartAsync(Canary.With(new Dictionary<string, string> { ["schema.js"] = Schema }), settings, kestrel);

    private static Task<HttpResponseMessage> PostAsync(EngineHost host, string body, string accept = GraphQLResponseJson)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/graphql") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd(accept);
        return host.Client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> QueryAsync(EngineHost host, string query, object? variables = null) =>
        PostAsync(host, JsonSerializer.Serialize(new { query, variables }));

    /// <summary>Asserts a GraphQL error response (400, no <c>data</c>) whose first error has <paramref name="code"/>; returns that error.</summary>
    private static async Task<JsonElement> AssertRefusedAsync(HttpResponseMessage response, string code)
    {
        var root = await HttpAssert.JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(GraphQLResponseJson, response.Content.Headers.ContentType?.MediaType);
        Assert.False(root.TryGetProperty("data", out _), root.ToString());
        var error = root.GetProperty("errors")[0];
        Assert.Equal(code, error.GetProperty("extensions").GetProperty("code").GetString());
        return error;
    }

    private static string Nest(int depth)
    {
        // node at level 1, then depth - 2 levels of child, then name: depth levels in all.
        var text = new StringBuilder("{ node ");
        for (var i = 0; i < depth - 2; i++)
        {
            text.Append("{ child ");
        }

        return text.Append("{ name }").Append('}', depth - 2).Append(" }").ToString();
    }

    [Fact]
    public async Task Fuzz_ThreeThousandGeneratedRequests_EachGetAWellFormedGraphQLResponse_NeverA500()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var failures = new List<string>();

        var requests = new BadGraphQLInputDocuments(seed: 20261124).Generate(3000).ToList();
        foreach (var (request, index) in requests.Select((r, i) => (r, i)))
        {
            // Alternate the two response media types: their status codes differ, their bodies must not break.
            var accept = index % 2 == 0 ? GraphQLResponseJson : "application/json";
            using var response = await PostAsync(host, request.Body, accept);
            var problem = await CheckAsync(request, response, accept) ?? await CheckExpectedAsync(request, response, accept);
            if (problem is not null)
            {
                failures.Add($"#{index} {request.Kind}: {problem}\n  request: {Shorten(request.Body)}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {requests.Count} answers were not well-formed GraphQL responses with the expected status and code:\n{string.Join('\n', failures.Take(20))}");
        Assert.True(requests.Count(r => r.MustFail) > requests.Count / 2, "fewer than half of the requests must be refused; the generator lost its teeth");
        // Every limit and every kind of refusal is reached by some request.
        Assert.Superset(
            new HashSet<string> { "SYNTAX_ERROR", "BAD_REQUEST", "MAX_DEPTH_EXCEEDED", "MAX_FIELDS_EXCEEDED", "MAX_ALIASES_EXCEEDED", "INVALID_VALUE", "NO_FRAGMENT_CYCLES" },
            requests.Select(r => r.Code).OfType<string>().ToHashSet());
        Assert.DoesNotContain(host.Logs.Lines, l => l.Level >= LogLevel.Error && l.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        await canary.AssertHealthyAsync();
    }

    // Why the answer is not a well-formed GraphQL response, or null when it is.
    private static async Task<string?> CheckAsync(FuzzRequest request, HttpResponseMessage response, string accept)
    {
        var text = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        if (status is not (200 or 400))
        {
            return $"status {status}: {Shorten(text)}";
        }

        if (response.Content.Headers.ContentType?.MediaType != accept)
        {
            return $"content type {response.Content.Headers.ContentType} for Accept {accept}";
        }

        JsonElement root;
        try
        {
            root = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException e)
        {
            return $"not JSON ({e.Message}): {Shorten(text)}";
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"not a JSON object: {Shorten(text)}";
        }

        if (root.TryGetProperty("errors", out var errors))
        {
            if (errors.ValueKind != JsonValueKind.Array || errors.GetArrayLength() == 0 ||
                errors.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("message", out var m) || m.ValueKind != JsonValueKind.String || m.GetString()!.Length == 0))
            {
                return $"errors is not a non-empty array of errors with messages: {Shorten(text)}";
            }

            if (status == 200 && accept == GraphQLResponseJson && !root.TryGetProperty("data", out _))
            {
                return $"a request error under {GraphQLResponseJson} must be 400: {Shorten(text)}";
            }
        }
        else if (request.MustFail)
        {
            return $"expected errors: {Shorten(text)}";
        }
        else if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            return $"neither errors nor data: {Shorten(text)}";
        }

        if (request.MustFail && root.TryGetProperty("data", out var partial) && partial.ValueKind != JsonValueKind.Null)
        {
            return $"a refused request must not run (it has data): {Shorten(text)}";
        }

        return null;
    }

    // Why the answer is not the one the request must get (status and first error code), or null when it is.
    // A request error is 400 under graphql-response+json and 200 under application/json, but for a body
    // that is no GraphQL request at all (BAD_REQUEST), which is 400 under both.
    private static async Task<string?> CheckExpectedAsync(FuzzRequest request, HttpResponseMessage response, string accept)
    {
        var text = await response.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(text).RootElement;
        var status = (int)response.StatusCode;
        var code = root.TryGetProperty("errors", out var errors) && errors[0].TryGetProperty("extensions", out var extensions) && extensions.TryGetProperty("code", out var c)
            ? c.GetString()
            : null;
        var ran = !root.TryGetProperty("errors", out _) && root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object;
        if (request.Code is null && !request.MayBeInvalid)
        {
            return ran && status == 200 ? null : $"expected to run (200, data, no errors), got {status}: {Shorten(text)}";
        }

        if (request.Code is null && ran)
        {
            return status == 200 ? null : $"ran, but with status {status}";
        }

        if (request.Code is null && code is BadGraphQLInputDocuments.BadRequest or "SYNTAX_ERROR" or null)
        {
            // A document that parses is no syntax error, and a validation error carries its rule's code.
            return $"a document that parses must run or fail validation with a rule's code, got {status} {code ?? "no code"}: {Shorten(text)}";
        }

        if (request.Code is not null && code != request.Code)
        {
            return $"expected code {request.Code}, got {status} {code ?? "no code"}: {Shorten(text)}";
        }

        var expectedStatus = code == BadGraphQLInputDocuments.BadRequest || accept == GraphQLResponseJson ? 400 : 200;
        return status == expectedStatus ? null : $"{code} must be {expectedStatus} under {accept}, got {status}";
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"… ({text.Length} characters)";

    [Fact]
    public async Task Depth_AtTheLimitRuns_OneLevelMoreIsRefusedWithMaxDepthExceeded()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);

        var atLimit = await HttpAssert.JsonAsync(await QueryAsync(host, Nest(25)));
        var error = await AssertRefusedAsync(await QueryAsync(host, Nest(26)), "MAX_DEPTH_EXCEEDED");

        var deepest = atLimit.GetProperty("data").GetProperty("node");
        for (var i = 0; i < 23; i++)
        {
            deepest = deepest.GetProperty("child");
        }

        Assert.Equal("n17", deepest.GetProperty("name").GetString());
        Assert.Equal("The document is more than 25 levels deep (fields and fragment spreads); the limit is 25 (AiWebEngine:GraphQL:MaxDepth).", error.GetProperty("message").GetString());
        Assert.True(error.TryGetProperty("locations", out var locations), error.ToString());
        Assert.Equal(1, locations[0].GetProperty("line").GetInt32());
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task StandardIntrospectionQuery_PassesTheDefaultLimits()
    {
        await using var host = await StartAsync();

        var root = await HttpAssert.JsonAsync(await QueryAsync(host, IntrospectionQuery));

        Assert.False(root.TryGetProperty("errors", out _), root.ToString());
        Assert.Contains(root.GetProperty("data").GetProperty("__schema").GetProperty("types").EnumerateArray(), t => t.GetProperty("name").GetString() == "EchoInput");
    }

    [Fact]
    public async Task FragmentThatDoublesAtEveryLevel_IsRefusedWithMaxFieldsExceeded_BeforeItExpands()
    {
        await using var host = await StartAsync(new() { ["AiWebEngine:GraphQL:MaxDepth"] = "200" });
        await using var canary = await Canary.ConnectAsync(host);
        // 60 levels: 2^60 fields if anything expanded it.
        var text = new StringBuilder("{ node { ...F0 } }");
        for (var i = 0; i < 60; i++)
        {
            text.Append($" fragment F{i} on Node {{ child {{ ...F{i + 1} }} alias: child {{ ...F{i + 1} }} }}");
        }

        text.Append(" fragment F60 on Node { name }");

        var error = await AssertRefusedAsync(await QueryAsync(host, text.ToString()), "MAX_FIELDS_EXCEEDED");

        Assert.Equal("The document selects too many fields (a fragment counts at every use); the limit is 2000 (AiWebEngine:GraphQL:MaxFields).", error.GetProperty("message").GetString());
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task LongChainOfFragments_IsRefusedWithMaxDepthExceeded_WithoutOverflowingAStack()
    {
        // 25 000 fragments are about 900 KB: over the default document size, so that limit is raised here.
        await using var host = await StartAsync(new() { ["AiWebEngine:GraphQL:MaxDocumentBytes"] = "1048576", ["AiWebEngine:GraphQL:MaxNodes"] = "1000000", ["AiWebEngine:GraphQL:MaxFragments"] = "100000" });
        await using var canary = await Canary.ConnectAsync(host);
        var text = new StringBuilder("{ node { ...F0 } }");
        for (var i = 0; i < 25_000; i++)
        {
            text.Append($" fragment F{i} on Node {{ ...F{i + 1} }}");
        }

        text.Append(" fragment F25000 on Node { name }");

        await AssertRefusedAsync(await QueryAsync(host, text.ToString()), "MAX_DEPTH_EXCEEDED");
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task AliasFlood_IsRefusedBeforeAnyResolverRuns_AndAtTheLimitEveryAliasRuns()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        static string Aliases(int count) => "{" + string.Concat(Enumerable.Range(0, count).Select(i => $" a{i}: count")) + " }";

        var error = await AssertRefusedAsync(await QueryAsync(host, Aliases(101)), "MAX_ALIASES_EXCEEDED");
        var callsAfterRefusal = await HttpAssert.JsonAsync(await QueryAsync(host, "{ calls }"));
        var atLimit = await HttpAssert.JsonAsync(await QueryAsync(host, Aliases(100)));

        Assert.Equal("The document selects 101 aliased fields (a fragment counts at every use); the limit is 100 (AiWebEngine:GraphQL:MaxAliases).", error.GetProperty("message").GetString());
        Assert.Equal(0, callsAfterRefusal.GetProperty("data").GetProperty("calls").GetInt32());
        Assert.Equal(100, atLimit.GetProperty("data").EnumerateObject().Count());
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task ConfiguredLimits_AreEnforced_OnEveryTransport()
    {
        await using var host = await StartAsync(new()
        {
            ["AiWebEngine:GraphQL:MaxDepth"] = "3",
            ["AiWebEngine:GraphQL:MaxFields"] = "4",
            ["AiWebEngine:GraphQL:MaxAliases"] = "0",
        });

        var fits = await HttpAssert.JsonAsync(await QueryAsync(host, "{ node { child { name } } }"));
        await AssertRefusedAsync(await QueryAsync(host, "{ node { child { child { name } } } }"), "MAX_DEPTH_EXCEEDED");
        await AssertRefusedAsync(await QueryAsync(host, "{ calls node { name child { name } } }"), "MAX_FIELDS_EXCEEDED");
        await AssertRefusedAsync(await QueryAsync(host, "{ a: calls }"), "MAX_ALIASES_EXCEEDED");
        await AssertRefusedAsync(await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/graphql?query=" + Uri.EscapeDataString("{ a: calls }"))
        {
            Headers = { Accept = { MediaTypeWithQualityHeaderValue.Parse(GraphQLResponseJson) } },
        }), "MAX_ALIASES_EXCEEDED");
        using var sse = new HttpRequestMessage(HttpMethod.Post, "/graphql/sse") { Content = new StringContent("""{"query":"{ a: calls }"}""", Encoding.UTF8, "application/json") };
        sse.Headers.Accept.ParseAdd("text/event-stream");
        await using var stream = await SseReader.OpenAsync(host.Client, sse);

        Assert.Equal("n39", fits.GetProperty("data").GetProperty("node").GetProperty("child").GetProperty("name").GetString());
        Assert.True(await stream.WaitForEndAsync());
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.StartsWith("event: next\ndata: {\"errors\":[{\"message\":\"The document selects 1 aliased fields", stream.Raw, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"MAX_ALIASES_EXCEEDED\"", stream.Raw, StringComparison.Ordinal);

        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        using var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync("""{"id":"1","type":"subscribe","payload":{"query":"{ node { child { child { name } } } }"}}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var refused = await WebSocketPair.ReceiveAsync(socket);
        Assert.StartsWith("""{"id":"1","type":"error","payload":[{"message":"The document is more than 3 levels deep""", refused, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AiWebEngine:GraphQL:MaxDepth", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxFields", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxAliases", "-1")]
    [InlineData("AiWebEngine:GraphQL:MaxDocumentBytes", "100")]
    [InlineData("AiWebEngine:GraphQL:MaxNodes", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxDirectivesPerField", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxArgumentsPerField", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxArguments", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxErrors", "0")]
    [InlineData("AiWebEngine:GraphQL:MaxOperationsPerSocket", "0")]
    public async Task Start_Fails_OnAnOutOfRangeGraphQLLimit_NamingIt(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(settings: new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(key.Split(':')[^1], error.Message, StringComparison.Ordinal);
    }

    /// <summary><c>{ count@skip(if:false)@skip(if:false)… }</c>: one field with <paramref name="count"/> directives.</summary>
    private static string Directives(int count) => "{ count" + string.Concat(Enumerable.Repeat("@skip(if:false)", count)) + " }";

    /// <summary><c>{ count(a0:1, a1:1, …) }</c>: one field with <paramref name="count"/> unknown arguments.</summary>
    private static string Arguments(int count) => "{ count(" + string.Join(", ", Enumerable.Range(0, count).Select(i => $"a{i}:1")) + ") }";

    private static async Task<int> CallsAsync(EngineHost host) =>
        (await HttpAssert.JsonAsync(await QueryAsync(host, "{ calls }"))).GetProperty("data").GetProperty("calls").GetInt32();

    [Fact]
    public async Task SixtyThousandDirectivesOnOneField_NineHundredKB_IsRefusedByItsSize_BeforeParsing_AndNothingRuns()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var document = Directives(60_000);
        Assert.True(document.Length > 900_000, document.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var error = await AssertRefusedAsync(await QueryAsync(host, document), "MAX_DOCUMENT_BYTES_EXCEEDED");

        Assert.Equal($"The document is {document.Length} bytes (UTF-8); the limit is 65536 (AiWebEngine:GraphQL:MaxDocumentBytes).", error.GetProperty("message").GetString());
        Assert.Equal(0, await CallsAsync(host));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task SixtyThousandUnknownArguments_IsRefusedByItsSize_BeforeParsing_AndNothingRuns()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var document = Arguments(60_000);
        Assert.True(document.Length > 500_000, document.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var response = await QueryAsync(host, document);
        var length = response.Content.Headers.ContentLength;
        await AssertRefusedAsync(response, "MAX_DOCUMENT_BYTES_EXCEEDED");

        Assert.True(length < 1000, $"a refusal of {length} bytes");
        Assert.Equal(0, await CallsAsync(host));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task TheSameFloods_UnderARaisedSizeLimit_AreRefusedByTheDirectiveAndArgumentLimits_WithOneErrorEach()
    {
        await using var host = await StartAsync(new() { ["AiWebEngine:GraphQL:MaxDocumentBytes"] = "1048576", ["AiWebEngine:GraphQL:MaxNodes"] = "10000000" });
        await using var canary = await Canary.ConnectAsync(host);

        var directives = await HttpAssert.JsonAsync(await QueryAsync(host, Directives(60_000)), HttpStatusCode.BadRequest);
        var arguments = await HttpAssert.JsonAsync(await QueryAsync(host, Arguments(60_000)), HttpStatusCode.BadRequest);

        Assert.Equal("MAX_DIRECTIVES_EXCEEDED", directives.GetProperty("errors").EnumerateArray().Single().GetProperty("extensions").GetProperty("code").GetString());
        Assert.Equal("A field, fragment or operation has 60000 directives; the limit is 10 per location (AiWebEngine:GraphQL:MaxDirectivesPerField).", directives.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Equal("MAX_ARGUMENTS_EXCEEDED", arguments.GetProperty("errors").EnumerateArray().Single().GetProperty("extensions").GetProperty("code").GetString());
        Assert.Equal("A field or directive has 60000 arguments; the limit is 50 (AiWebEngine:GraphQL:MaxArgumentsPerField).", arguments.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Equal(0, await CallsAsync(host));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task DirectivesArgumentsAndNodes_JustOverTheDefaults_AreRefused_AndAtTheLimitGoOnToValidation()
    {
        await using var host = await StartAsync();
        // 20 lists of 1 000 values in about 40 KB: within the size and list limits, over the node limit.
        var nodes = "{ echo(list: [" + string.Join(",", Enumerable.Repeat("[" + string.Join(",", Enumerable.Repeat("1", 1000)) + "]", 20)) + "]) }";

        await AssertRefusedAsync(await QueryAsync(host, Directives(11)), "MAX_DIRECTIVES_EXCEEDED");
        await AssertRefusedAsync(await QueryAsync(host, Arguments(51)), "MAX_ARGUMENTS_EXCEEDED");
        var tooMany = await AssertRefusedAsync(await QueryAsync(host, nodes), "MAX_NODES_EXCEEDED");
        // 101 fields of one name with 5 arguments each: validation would compare every pair's arguments.
        var inAll = await AssertRefusedAsync(await QueryAsync(host, "{" + string.Concat(Enumerable.Repeat(" count(a0:1 a1:1 a2:1 a3:1 a4:1)", 101)) + " }"), "MAX_ARGUMENTS_EXCEEDED");
        var tenDirectives = await AssertRefusedAsync(await QueryAsync(host, "{ count @include(if: true) " + string.Concat(Enumerable.Repeat("@skip(if:false)", 9)) + " }"), "UNIQUE_DIRECTIVES_PER_LOCATION");
        var fiftyArguments = await AssertRefusedAsync(await QueryAsync(host, Arguments(50)), "KNOWN_ARGUMENT_NAMES");

        Assert.Contains("the limit is 20000 (AiWebEngine:GraphQL:MaxNodes)", tooMany.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("The document has more than 500 arguments in all; the limit is 500 (AiWebEngine:GraphQL:MaxArguments).", inAll.GetProperty("message").GetString());
        Assert.Contains("'skip'", tenDirectives.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("'a0'", fiftyArguments.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await CallsAsync(host));
    }

    [Fact]
    public async Task ManyValidationErrors_AreCutToMaxErrors_WithALastErrorThatSaysHowManyWereLeftOut()
    {
        await using var host = await StartAsync();
        // Three fields of 50 unknown arguments each: 150 validation errors.
        var document = "{ count(" + string.Join(" ", Enumerable.Range(0, 50).Select(i => $"a{i}:1")) + ") calls(" + string.Join(" ", Enumerable.Range(0, 50).Select(i => $"b{i}:1"))
            + ") node { name(" + string.Join(" ", Enumerable.Range(0, 50).Select(i => $"c{i}:1")) + ") } }";

        var root = await HttpAssert.JsonAsync(await QueryAsync(host, document), HttpStatusCode.BadRequest);
        var errors = root.GetProperty("errors").EnumerateArray().ToList();

        Assert.Equal(101, errors.Count);
        Assert.All(errors.Take(100), e => Assert.Contains("Unknown argument", e.GetProperty("message").GetString(), StringComparison.Ordinal));
        Assert.Equal("MAX_ERRORS_EXCEEDED", errors[100].GetProperty("extensions").GetProperty("code").GetString());
        Assert.Equal("50 more errors were left out; a response holds at most 100 (AiWebEngine:GraphQL:MaxErrors).", errors[100].GetProperty("message").GetString());
    }

    [Fact]
    public async Task DocumentOverMaxDocumentBytes_IsRefused_OnEveryTransport()
    {
        await using var host = await StartAsync(new() { ["AiWebEngine:GraphQL:MaxDocumentBytes"] = "1024" });
        var big = "{ count " + new string(' ', 1024) + "}";
        var body = JsonSerializer.Serialize(new { query = big });

        await AssertRefusedAsync(await QueryAsync(host, big), "MAX_DOCUMENT_BYTES_EXCEEDED");
        await AssertRefusedAsync(await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/graphql?query=" + Uri.EscapeDataString(big))
        {
            Headers = { Accept = { MediaTypeWithQualityHeaderValue.Parse(GraphQLResponseJson) } },
        }), "MAX_DOCUMENT_BYTES_EXCEEDED");
        using var sse = new HttpRequestMessage(HttpMethod.Post, "/graphql/sse") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        await using var stream = await SseReader.OpenAsync(host.Client, sse);
        Assert.True(await stream.WaitForEndAsync());
        Assert.StartsWith("event: next\ndata: {\"errors\":[{\"message\":\"The document is 1033 bytes", stream.Raw, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"MAX_DOCUMENT_BYTES_EXCEEDED\"", stream.Raw, StringComparison.Ordinal);

        var client = host.CreateWebSocketClient();
        client.SubProtocols.Add("graphql-transport-ws");
        using var socket = await client.ConnectAsync(new Uri(host.BaseAddress, "/graphql"), CancellationToken.None);
        await socket.SendAsync("""{"type":"connection_init"}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("""{"type":"connection_ack"}""", await WebSocketPair.ReceiveAsync(socket));
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"1","type":"subscribe","payload":{{{body}}}}"""), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var refused = await WebSocketPair.ReceiveAsync(socket);
        Assert.StartsWith("""{"id":"1","type":"error","payload":[{"message":"The document is 1033 bytes""", refused, StringComparison.Ordinal);
        Assert.Equal(0, await CallsAsync(host));
    }

    [Fact]
    public async Task HugeVariables_RunOrGetAVariableError_AndOverTheBodyLimitGet413()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var many = Enumerable.Range(0, 50_000).ToDictionary(i => "v" + i, i => (object)i);
        many["t"] = new string('x', 300_000);
        const string Query = "query Q($t: String) { echo(text: $t) }";

        var ran = await HttpAssert.JsonAsync(await QueryAsync(host, Query, many));
        var wrongType = await AssertRefusedAsync(await QueryAsync(host, "query Q($n: Int) { echo(n: $n) }", new { n = new string('9', 500_000) }), "INVALID_VALUE");
        var tooBig = await QueryAsync(host, Query, new { t = new string('x', 1024 * 1024) });

        Assert.Contains("\"text\":\"" + many["t"] + "\"", ran.GetProperty("data").GetProperty("echo").GetString(), StringComparison.Ordinal);
        Assert.Contains("$n", wrongType.GetProperty("message").GetString(), StringComparison.Ordinal);
        await HttpAssert.ErrorAsync(tooBig, HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task IntrospectionFlood_EveryQueryIsAnswered_AndTheServerKeepsServing()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var response = await QueryAsync(host, IntrospectionQuery);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.All(answers, a => Assert.Equal(answers[0].Body, a.Body));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task RealSocket_HostileDocuments_GetWellFormedGraphQLErrors()
    {
        await using var host = await StartAsync(kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);
        // Within the default 64 KiB document size, far deeper than the parser's own depth limit.
        var deepSyntax = new string('{', 30_000) + new string('}', 30_000);

        await AssertRefusedAsync(await QueryAsync(host, Nest(26)), "MAX_DEPTH_EXCEEDED");
        var syntax = await HttpAssert.JsonAsync(await QueryAsync(host, deepSyntax), HttpStatusCode.BadRequest);
        var invalidJson = await HttpAssert.JsonAsync(await PostAsync(host, """{"query": "{ calls }" """), HttpStatusCode.BadRequest);

        Assert.Equal("SYNTAX_ERROR", syntax.GetProperty("errors")[0].GetProperty("extensions").GetProperty("code").GetString());
        Assert.StartsWith("The request body is not valid JSON", invalidJson.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        await canary.AssertHealthyAsync();
    }
}
