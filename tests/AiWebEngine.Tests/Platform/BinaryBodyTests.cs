using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, point 7: a handler reads the exact request bytes (<c>req.bodyBytes</c>, a <c>Uint8Array</c>) and
/// answers with bytes (a <c>Uint8Array</c> or <c>ArrayBuffer</c> body), with its content type.
/// </summary>
public sealed class BinaryBodyTests
{
    private const string Script = """
        register("/echo", (req) => ({ body: req.bodyBytes, contentType: req.headers["content-type"] }), "POST");
        register("/sha", (req) => ({ body: crypto.createHash("sha256").update(req.bodyBytes).digest("hex") }), "POST");
        register("/info", (req) => ({ body: {
          length: req.bodyBytes.length, isBytes: req.bodyBytes instanceof Uint8Array,
          keys: Object.keys(req), json: JSON.stringify(req).includes("bodyBytes") || JSON.stringify(req).includes("bodyBase64"),
        } }), "POST");
        register("/bytes", (req) => {
          const bytes = new Uint8Array(256);
          for (let i = 0; i < 256; i++) bytes[i] = i;
          if (req.query.kind === "buffer") return { body: bytes.buffer };
          if (req.query.kind === "window") return { body: bytes.subarray(250), headers: { "X-Kind": "window" } };
          if (req.query.kind === "typed") return { body: new Uint32Array([0x04030201]), contentType: "image/x-test" };
          if (req.query.kind === "empty") return { status: 204, body: new Uint8Array(0) };
          if (req.query.kind === "not-empty-204") return { status: 204, body: bytes };
          return { body: bytes };
        });
        """;

    private static Task<EngineHost> StartAsync(bool kestrel = false) => EngineHost.StartAsync(new Dictionary<string, string> { ["b.js"] = Script }, kestrel: kestrel);

    private static byte[] AllBytes() => Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    [Fact]
    public async Task TheRequestsExactBytes_ReachTheHandler_EvenWhenTheyAreNotUtf8()
    {
        await using var host = await StartAsync(kestrel: true);
        var upload = AllBytes().Concat(RandomNumberGenerator.GetBytes(100_000)).ToArray();
        using var content = new ByteArrayContent(upload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var echoed = await host.Client.PostAsync("/echo", content);
        Assert.Equal(HttpStatusCode.OK, echoed.StatusCode);
        Assert.Equal("application/octet-stream", echoed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(upload, await echoed.Content.ReadAsByteArrayAsync());
        Assert.Equal(upload.Length, echoed.Content.Headers.ContentLength);

        var sha = await HttpAssert.TextAsync(await host.Client.PostAsync("/sha", new ByteArrayContent(upload)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(upload)), sha);
    }

    [Fact]
    public async Task BodyBytes_IsAUint8Array_NotEnumerable_AndEmptyWithoutABody()
    {
        await using var host = await StartAsync();
        var info = await HttpAssert.JsonAsync(await host.Client.PostAsync("/info", new ByteArrayContent([1, 2, 3])));
        Assert.Equal(3, info.GetProperty("length").GetInt32());
        Assert.True(info.GetProperty("isBytes").GetBoolean());
        Assert.DoesNotContain(info.GetProperty("keys").EnumerateArray(), k => k.GetString() is "bodyBytes" or "bodyBase64");
        Assert.False(info.GetProperty("json").GetBoolean());
        var empty = await HttpAssert.JsonAsync(await host.Client.PostAsync("/info", null));
        Assert.Equal(0, empty.GetProperty("length").GetInt32());
    }

    [Theory]
    [InlineData("", "application/octet-stream", 0, 256)]
    [InlineData("buffer", "application/octet-stream", 0, 256)]
    [InlineData("window", "application/octet-stream", 250, 6)]
    public async Task AHandler_AnswersWithBytes(string kind, string contentType, int from, int count)
    {
        await using var host = await StartAsync();
        using var response = await host.Client.GetAsync("/bytes?kind=" + kind);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.ToString());
        Assert.Equal(AllBytes().Skip(from).Take(count), await response.Content.ReadAsByteArrayAsync());
        if (kind == "window")
        {
            Assert.Equal("window", response.Headers.GetValues("X-Kind").Single());
        }
    }

    [Fact]
    public async Task ATypedArrayOfWiderElements_IsItsBytes_WithTheGivenContentType_And204HasNone()
    {
        await using var host = await StartAsync();
        using var typed = await host.Client.GetAsync("/bytes?kind=typed");
        Assert.Equal("image/x-test", typed.Content.Headers.ContentType?.ToString());
        Assert.Equal(BitConverter.GetBytes(0x04030201), await typed.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.GetAsync("/bytes?kind=empty")).StatusCode);
        var refused = await HttpAssert.ErrorAsync(await host.Client.GetAsync("/bytes?kind=not-empty-204"), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
        Assert.Contains("a 204 response has no body", refused.ToString(), StringComparison.Ordinal);
    }
}
