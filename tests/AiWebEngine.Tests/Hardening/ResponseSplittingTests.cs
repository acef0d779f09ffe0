using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Issue 16, point 3: a script's response cannot carry framing or hop-by-hop headers, whatever it
/// does to the built-ins the bootstrap uses. Over a real Kestrel socket with keep-alive: the
/// smuggling answer is one JSON error, and the next request on the connection gets its own answer.
/// </summary>
public sealed class ResponseSplittingTests
{
    // A body that, after "Transfer-Encoding: chunked", ends one chunked body and starts a second response.
    private const string Smuggled = "5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Injected: 1\r\n\r\ninjected";

    // Every built-in the bootstrap's own checks use, replaced so that those checks pass everything.
    private const string PatchEverything = """
        RegExp.prototype.test = function () { return true; };
        String.prototype.slice = function () { return String(this); };
        String.prototype.toLowerCase = function () { return "x-harmless"; };
        Array.prototype.includes = function () { return false; };
        Array.prototype.indexOf = function () { return -1; };
        Array.prototype.join = function () { return "x".repeat(10); };
        Number.isInteger = function () { return true; };
        """;

    private static string Script(string patch) => $$"""
        {{patch}}
        const smuggled = {{JsonSerializer.Serialize(Smuggled)}};
        register("/split", () => ({ headers: { "Transfer-Encoding": "chunked" }, body: smuggled }));
        register("/ok", () => ({ body: "ok" }));
        """;

    [Theory]
    [InlineData("")]
    [InlineData(PatchEverything)]
    public async Task TransferEncodingFromAScript_IsOneJsonError_AndTheNextRequestOnTheConnectionGetsItsOwnAnswer(string patch)
    {
        await using var host = await EngineHost.StartAsync(Canary.With(new Dictionary<string, string> { ["split.js"] = Script(patch) }), kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);
        using var connection = await RawConnection.OpenAsync(host);

        var first = await connection.SendAsync("/split");
        var second = await connection.SendAsync("/ok");

        Assert.Equal(500, first.Status);
        var error = JsonDocument.Parse(first.Body).RootElement.GetProperty("error");
        Assert.Equal("SCRIPT_EXECUTION_FAILED", error.GetProperty("code").GetString());
        Assert.Contains("header 'Transfer-Encoding'", error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((200, "ok"), (second.Status, second.Body));
        Assert.DoesNotContain("x-injected", second.Headers.Keys);
        Assert.False(await connection.HasMoreAsync(), "bytes after the second response");
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("Transfer-Encoding", "chunked")]
    [InlineData("transfer-encoding", "chunked")]
    [InlineData("Content-Length", "3")]
    [InlineData("CONNECTION", "close")]
    [InlineData("Upgrade", "websocket")]
    [InlineData("Keep-Alive", "timeout=5")]
    [InlineData("TE", "trailers")]
    [InlineData("Trailer", "X-Checksum")]
    [InlineData("Proxy-Connection", "keep-alive")]
    public async Task FramingOrHopByHopHeader_EvenThroughPatchedBuiltins_Gets500NamingIt_AndTheScriptLogHasIt(string name, string value)
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["hop.js"] = $$"""
                    {{PatchEverything}}
                    register("/hop", () => ({ headers: { {{JsonSerializer.Serialize(name)}}: {{JsonSerializer.Serialize(value)}} }, body: "abcdef" }));
                    register("/ok", () => ({ body: "ok" }));
                    """,
            },
            kestrel: true);
        using var connection = await RawConnection.OpenAsync(host);

        var refused = await connection.SendAsync("/hop");
        var next = await connection.SendAsync("/ok");

        Assert.Equal(500, refused.Status);
        var message = JsonDocument.Parse(refused.Body).RootElement.GetProperty("error").GetProperty("details").GetProperty("message").GetString();
        Assert.Contains($"header '{name}'", message, StringComparison.Ordinal);
        Assert.Equal((200, "ok"), (next.Status, next.Body));
        var logs = await HttpAssert.JsonAsync(await host.Client.GetAsync("/engine/logs?uri=hop.js"));
        Assert.Contains(logs.GetProperty("logs").EnumerateArray(), l => l.GetProperty("message").GetString()!.Contains($"header '{name}'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{ headers: { "x-bad": "a\r\nx-injected: 1" } }""", "header 'x-bad'")]
    [InlineData("""{ headers: { "x-nul": "a\u0000b" } }""", "header 'x-nul'")]
    [InlineData("""{ headers: { "x-lf": "a\nb" } }""", "header 'x-lf'")]
    [InlineData("""{ headers: { "bad name": "a" } }""", "header 'bad name'")]
    [InlineData("""{ headers: { "": "a" } }""", "header ''")]
    [InlineData("""{ headers: { "x-é": "a" } }""", "header 'x-é'")]
    [InlineData("""{ headers: { "x-v": "é" } }""", "header 'x-v'")]
    [InlineData("""{ contentType: "text/plain\r\nx-injected: 1" }""", "contentType")]
    [InlineData("""{ status: 1e308 }""", "status")]
    [InlineData("""{ status: 101, body: "switched" }""", "status")]
    [InlineData("""{ status: 100 }""", "status")]
    [InlineData("""{ status: 600 }""", "status")]
    [InlineData("""{ status: 204, body: "not empty" }""", "a 204 response has no body")]
    [InlineData("""{ status: 304, body: "not empty" }""", "a 304 response has no body")]
    public async Task ResponseHttpCannotCarry_ThroughPatchedBuiltins_Gets500NamingTheProblem(string result, string problem)
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["bad.js"] = PatchEverything + $$"""register("/bad", () => ({{result}})); register("/ok", () => ({ body: "ok" }));""",
            },
            kestrel: true);
        using var connection = await RawConnection.OpenAsync(host);

        var refused = await connection.SendAsync("/bad");
        var next = await connection.SendAsync("/ok");

        Assert.Equal(500, refused.Status);
        Assert.DoesNotContain("x-injected", refused.Headers.Keys);
        var error = JsonDocument.Parse(refused.Body).RootElement.GetProperty("error");
        Assert.Equal("SCRIPT_EXECUTION_FAILED", error.GetProperty("code").GetString());
        Assert.Contains(problem, error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((200, "ok"), (next.Status, next.Body));
    }

    [Fact]
    public async Task HeadersThatSerializeToSomethingElse_ThroughObjectPrototypeToJson_Get500NamingTheProblem()
    {
        // The bootstrap keeps its own JSON.stringify, but stringify asks the object for toJSON.
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string>
            {
                ["json.js"] = """
                    function headed(json) { Object.prototype.toJSON = function () { return json; }; return { headers: { "x-a": "1" }, body: "b" }; }
                    register("/array", () => headed([1, 2]));
                    register("/number", () => headed({ "x-a": 1 }));
                    register("/smuggle", () => headed({ "Transfer-Encoding": "chunked" }));
                    """,
            },
            kestrel: true);

        foreach (var (path, problem) in new[] { ("/array", "JSON object of strings"), ("/number", "header 'x-a' as number"), ("/smuggle", "header 'Transfer-Encoding'") })
        {
            var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync(path), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
            Assert.Contains(problem, error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    public async Task BodilessStatusWithoutABody_IsServed_AndTheConnectionStaysUsable(int status)
    {
        await using var host = await EngineHost.StartAsync(
            new Dictionary<string, string> { ["empty.js"] = $$"""register("/empty", () => ({ status: {{status}}, headers: { "x-kept": "yes" } })); register("/ok", () => ({ body: "ok" }));""" },
            kestrel: true);
        using var connection = await RawConnection.OpenAsync(host);

        var empty = await connection.SendAsync("/empty");
        var next = await connection.SendAsync("/ok");

        Assert.Equal((status, ""), (empty.Status, empty.Body));
        Assert.Equal("yes", empty.Headers["x-kept"]);
        Assert.Equal((200, "ok"), (next.Status, next.Body));
    }

    /// <summary>One keep-alive HTTP/1.1 connection, read exactly by Content-Length (what a proxy would do).</summary>
    private sealed class RawConnection : IDisposable
    {
        private readonly TcpClient _client;
        private readonly NetworkStream _stream;
        private readonly List<byte> _pending = [];

        private RawConnection(TcpClient client)
        {
            _client = client;
            _stream = client.GetStream();
        }

        public static async Task<RawConnection> OpenAsync(EngineHost host)
        {
            var client = new TcpClient();
            await client.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
            return new RawConnection(client);
        }

        public async Task<RawResponse> SendAsync(string path)
        {
            await _stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            int end;
            while ((end = IndexOfHeaderEnd()) < 0)
            {
                await ReadMoreAsync(timeout.Token);
            }

            var head = Encoding.ASCII.GetString(await TakeAsync(end, timeout.Token)).Split("\r\n");
            await TakeAsync(4, timeout.Token);
            var status = int.Parse(head[0].Split(' ')[1], CultureInfo.InvariantCulture);
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in head.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }

            Assert.False(headers.ContainsKey("transfer-encoding") && headers.ContainsKey("content-length"), "both Content-Length and Transfer-Encoding");
            if (headers.TryGetValue("transfer-encoding", out var coding))
            {
                Assert.Equal("chunked", coding);
                return new RawResponse(status, headers, await ReadChunkedAsync(timeout.Token));
            }

            var length = headers.TryGetValue("content-length", out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : 0;
            return new RawResponse(status, headers, Encoding.UTF8.GetString(await TakeAsync(length, timeout.Token)));
        }

        private async Task<string> ReadChunkedAsync(CancellationToken cancellationToken)
        {
            var body = new List<byte>();
            while (true)
            {
                int end;
                while ((end = IndexOf("\r\n"u8)) < 0)
                {
                    await ReadMoreAsync(cancellationToken);
                }

                var size = int.Parse(Encoding.ASCII.GetString(await TakeAsync(end, cancellationToken)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                await TakeAsync(2, cancellationToken);
                body.AddRange(await TakeAsync(size, cancellationToken));
                Assert.Equal("\r\n"u8.ToArray(), await TakeAsync(2, cancellationToken));
                if (size == 0)
                {
                    return Encoding.UTF8.GetString(body.ToArray());
                }
            }
        }

        private async Task<byte[]> TakeAsync(int count, CancellationToken cancellationToken)
        {
            while (_pending.Count < count)
            {
                await ReadMoreAsync(cancellationToken);
            }

            var taken = _pending.GetRange(0, count).ToArray();
            _pending.RemoveRange(0, count);
            return taken;
        }

        /// <summary>Whether anything more arrives than the responses read so far.</summary>
        public async Task<bool> HasMoreAsync()
        {
            if (_pending.Count > 0)
            {
                return true;
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                var buffer = new byte[1];
                return await _stream.ReadAsync(buffer, wait.Token) > 0;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private int IndexOfHeaderEnd() => IndexOf("\r\n\r\n"u8);

        private int IndexOf(ReadOnlySpan<byte> value) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending).IndexOf(value);

        private async Task ReadMoreAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[8192];
            var read = await _stream.ReadAsync(buffer, cancellationToken);
            Assert.True(read > 0, "the server closed the connection");
            _pending.AddRange(buffer.AsSpan(0, read));
        }

        public void Dispose() => _client.Dispose();
    }

    private sealed record RawResponse(int Status, Dictionary<string, string> Headers, string Body);
}
