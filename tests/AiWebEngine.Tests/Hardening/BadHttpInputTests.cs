using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Issue 7, point 2: bad HTTP input. Malformed and oversized bodies, invalid JSON, wrong content types,
/// binary data, 10 000 query parameters, huge headers, invalid UTF-8 in paths, <c>Last-Event-ID</c>
/// garbage and requests that stop mid-body: each gets a clear status (a JSON error where the engine
/// answers; Kestrel's own status where HTTP itself is broken), no unhandled exception, and the
/// server keeps serving (<see cref="Canary"/>).
/// </summary>
public sealed class BadHttpInputTests
{
    private const string Echo = """
        register("/echo", (req) => ({ body: { length: req.body.length, form: req.form, queryKeys: Object.keys(req.query).length, headers: Object.keys(req.headers).length } }), "POST");
        register("/echo", (req) => ({ body: { queryKeys: Object.keys(req.query).length, path: req.path } }));
        register("/files/*", (req) => ({ body: { rest: req.params["*"] } }));
        """;

    private static Task<EngineHost> StartAsync(bool kestrel = false) =>
        EngineHost.StartAsync(Canary.With(new Dictionary<string, string> { ["echo.js"] = Echo }), kestrel: kestrel);

    private static void AssertNoUnhandledException(EngineHost host) =>
        Assert.DoesNotContain(host.Logs.Lines, l => l.Level >= LogLevel.Error && l.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));

    private static byte[] RandomBytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static TheoryData<string, string> BodiesAndContentTypes() => new()
    {
        { "binary", "application/octet-stream" },
        { "binary", "application/json" },
        { "binary", "multipart/form-data; boundary=abc" },
        { "binary", "application/x-www-form-urlencoded" },
        { "invalid json", "application/json" },
        { "broken multipart", "multipart/form-data; boundary=abc" },
        { "broken multipart", "multipart/form-data; boundary=" + new string('b', 200) },
        { "broken multipart", "multipart/form-data" },
        { "urlencoded garbage", "application/x-www-form-urlencoded" },
        { "urlencoded garbage", "application/x-www-form-urlencoded; charset=klingon" },
        { "invalid json", "text/plain; charset=utf-8" },
        { "binary", "not a content type" },
        { "binary", "" },
    };

    private static byte[] Body(string kind) => kind switch
    {
        "binary" => RandomBytes(1, 64 * 1024),
        "invalid json" => Encoding.UTF8.GetBytes("""{"a": [1, 2, {"b": """),
        "broken multipart" => Encoding.UTF8.GetBytes("--abc\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue\r\n--abc\r\nContent-Disposition: form-data; name=\r\n" + new string('h', 20_000) + ": y\r\n\r\n"),
        "urlencoded garbage" => Encoding.UTF8.GetBytes("a=%ZZ&&=&b=%&c=" + new string('%', 1000) + "&d=\u00ff\ud83c\udfc3"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(BodiesAndContentTypes))]
    public async Task MalformedOrBinaryBody_ReachesTheHandlerAsText_OrGetsAClearError(string kind, string contentType)
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var bytes = Body(kind);
        using var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var answer = await HttpAssert.JsonAsync(await host.Client.PostAsync("/echo", content));

        Assert.True(answer.GetProperty("length").GetInt32() > 0);
        AssertNoUnhandledException(host);
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("text/plain", "{\"query\":\"{ canary }\"}", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")]
    [InlineData("application/octet-stream", "binary", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")]
    [InlineData("", "binary", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")]
    [InlineData("application/json", "binary", HttpStatusCode.BadRequest, "BAD_REQUEST")]
    [InlineData("application/json", "{\"query\": \"{ canary }\"", HttpStatusCode.BadRequest, "BAD_REQUEST")]
    [InlineData("application/json", "", HttpStatusCode.BadRequest, "BAD_REQUEST")]
    [InlineData("application/json; charset=utf-16", "{\"query\":\"{ canary }\"}", HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")]
    public async Task GraphQLPost_WithABadBodyOrContentType_GetsAClearError(string contentType, string body, HttpStatusCode status, string code)
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        using var content = new ByteArrayContent(body == "binary" ? RandomBytes(2, 4096) : Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await host.Client.PostAsync("/graphql", content);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        var root = JsonDocument.Parse(text).RootElement;
        var reported = root.TryGetProperty("errors", out var errors)
            ? errors[0].GetProperty("extensions").GetProperty("code").GetString()
            : root.GetProperty("error").GetProperty("code").GetString();
        Assert.Equal(code, reported);
        AssertNoUnhandledException(host);
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task ManagementUpload_OfBinaryData_Gets422_AndChangesNothing()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);

        var response = await host.Client.PutAsync("/engine/scripts/binary.js", new ByteArrayContent(RandomBytes(3, 8192)));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.UnprocessableEntity, "SCRIPT_LOAD_FAILED");
        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "binary.js")));
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task TenThousandQueryParameters_ReachTheHandler_InProcess()
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var query = string.Join('&', Enumerable.Range(0, 10_000).Select(i => $"p{i}={i}"));

        var answer = await HttpAssert.JsonAsync(await host.Client.GetAsync("/echo?" + query));

        Assert.Equal(10_000, answer.GetProperty("queryKeys").GetInt32());
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("Last-Event-ID: not-a-number")]
    [InlineData("Last-Event-ID: -5")]
    [InlineData("Last-Event-ID: 99999999999999999999999999")]
    [InlineData("Last-Event-ID: 1e3")]
    [InlineData("Last-Event-ID: 0x10")]
    [InlineData("Last-Event-ID: ")]
    [InlineData("Last-Event-ID: 123456789")]
    public async Task LastEventIdGarbage_IsIgnoredOrResumesAfterIt_AndLiveMessagesArrive(string header)
    {
        await using var host = await StartAsync();
        await using var canary = await Canary.ConnectAsync(host);
        var value = header["Last-Event-ID: ".Length..];
        using var request = new HttpRequestMessage(HttpMethod.Get, "/canary/stream");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", value);
        await using var garbage = await SseReader.OpenAsync(host.Client, request);

        Assert.Equal(HttpStatusCode.OK, garbage.Response.StatusCode);
        await canary.AssertHealthyAsync();
        var second = (Streaming.StreamEndpointTests.IdBase(host, "/canary/stream") + 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var frames = await garbage.ReadUntilAsync(f => f.Any(m => m.Id == second));
        // Beat 1 was sent before this client came; garbage never replays it twice or out of order.
        var ids = frames.Where(f => f.Id is not null).Select(f => long.Parse(f.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Distinct().Order().ToList(), ids);
    }

    // ---- over a real socket: what Kestrel itself refuses -------------------------------------

    private static async Task<string> RawAsync(EngineHost host, byte[] request, bool closeAfterSend = false)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        if (closeAfterSend)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancel.Token);
                if (read == 0)
                {
                    break;
                }

                response.Write(buffer, 0, read);
                var text = Encoding.Latin1.GetString(response.ToArray());
                if (text.Contains("\r\n\r\n", StringComparison.Ordinal) && Complete(text))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // The server closed the connection (a reset): what was read is the answer.
        }

        return Encoding.UTF8.GetString(response.ToArray());
    }

    // A response is complete when its Content-Length worth of body has arrived (an event stream: at its headers).
    private static bool Complete(string text)
    {
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headers = text[..end];
        if (headers.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            return text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        }

        var length = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is not null && text.Length - end - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    [Fact]
    public async Task RealSocket_TenThousandQueryParameters_Get414()
    {
        await using var host = await StartAsync(kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);
        var query = string.Join('&', Enumerable.Range(0, 10_000).Select(i => $"p{i}={i}"));

        var response = await RawAsync(host, Ascii($"GET /echo?{query} HTTP/1.1\r\nHost: x\r\n\r\n"));

        Assert.StartsWith("HTTP/1.1 414", response, StringComparison.Ordinal);
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData(1, 64 * 1024)]
    [InlineData(1000, 100)]
    public async Task RealSocket_HugeHeaders_Get431(int count, int size)
    {
        await using var host = await StartAsync(kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);
        var headers = string.Concat(Enumerable.Range(0, count).Select(i => $"X-Big-{i}: {new string('h', size)}\r\n"));

        var response = await RawAsync(host, Ascii($"GET /echo HTTP/1.1\r\nHost: x\r\n{headers}\r\n"));

        Assert.StartsWith("HTTP/1.1 431", response, StringComparison.Ordinal);
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("/files/caf%C3")]
    [InlineData("/files/%FF%FE")]
    [InlineData("/files/%C0%AF..%C0%AF")]
    [InlineData("/files/ok%00")]
    [InlineData("/canary/stream%FF")]
    public async Task RealSocket_InvalidUtf8InThePath_IsServedOrRefused_NeverA500(string path)
    {
        await using var host = await StartAsync(kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);

        var response = await RawAsync(host, Ascii($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));

        // 200: the route got the path (invalid sequences stay percent-encoded); 400: Kestrel refused it
        // (a NUL); 404: the engine's JSON error. Never the stream, never a 500.
        Assert.Matches(@"^HTTP/1\.1 (200|400|404) ", response);
        if (response.StartsWith("HTTP/1.1 404", StringComparison.Ordinal))
        {
            Assert.Contains("\"code\":\"NOT_FOUND\"", response, StringComparison.Ordinal);
        }
        else if (response.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
        {
            Assert.Contains("\"rest\":", response, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("text/event-stream", response, StringComparison.Ordinal);
        AssertNoUnhandledException(host);
        await canary.AssertHealthyAsync();
    }

    [Fact]
    public async Task RealSocket_RawNonAsciiBytesInThePath_Get400()
    {
        await using var host = await StartAsync(kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);
        var request = Ascii("GET /files/").Concat(new byte[] { 0xFF, 0xC3, 0x28 }).Concat(Ascii(" HTTP/1.1\r\nHost: x\r\n\r\n")).ToArray();

        var response = await RawAsync(host, request);

        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        await canary.AssertHealthyAsync();
    }

    [Theory]
    [InlineData("POST /echo", "text/plain")]
    [InlineData("POST /graphql", "application/json")]
    [InlineData("PUT /engine/scripts/half.js", "application/javascript")]
    public async Task RealSocket_RequestThatStopsMidBody_RunsNothing_AndLeavesNothingBehind(string target, string contentType)
    {
        await using var host = await StartAsync(kestrel: true);
        await using var canary = await Canary.ConnectAsync(host);
        // Host: localhost, so that the management upload gets past the DNS-rebinding rule to its body.
        var head = $"{target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {contentType}\r\nContent-Length: 100000\r\n\r\n";
        var partial = "register(\"/half\", () => ({ body: \"half\" })); // and then the client stops";

        var response = await RawAsync(host, Ascii(head + partial), closeAfterSend: true);

        // The client sent less than it declared and stopped: Kestrel answers 400 if it can, or nothing.
        Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), response);
        Assert.False(File.Exists(Path.Combine(host.ScriptsDirectory, "half.js")));
        await HttpAssert.ErrorAsync(await host.Client.GetAsync("/half"), HttpStatusCode.NotFound, "NOT_FOUND");
        AssertNoUnhandledException(host);
        await canary.AssertHealthyAsync();
    }
}
