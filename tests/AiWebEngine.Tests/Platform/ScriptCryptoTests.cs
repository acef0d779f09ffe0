using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Platform;

/// <summary>
/// Issue 19, point 6: <c>crypto.randomUUID</c>, <c>crypto.getRandomValues</c>, <c>crypto.createHash</c>,
/// <c>crypto.createHmac</c>, <c>crypto.timingSafeEqual</c> and <c>generateId</c>, through script routes: known
/// test vectors, the webhook signature check they exist for, and every misuse an Error naming it.
/// </summary>
public sealed class ScriptCryptoTests
{
    private const string Script = """
        register("/eval", (req) => {
          try {
            return { body: { value: (0, eval)(req.body) } };
          } catch (e) {
            return { status: 400, body: { error: e.message } };
          }
        }, "POST");

        // The GitHub webhook check: HMAC-SHA256 of the body with the shared secret, compared in constant time.
        register("/webhook", (req) => {
          const expected = "sha256=" + crypto.createHmac("sha256", "It's a Secret to Everybody").update(req.body).digest("hex");
          const given = req.headers["x-hub-signature-256"] || "";
          return crypto.timingSafeEqual(expected, given) ? { body: "accepted" } : { status: 401, body: "bad signature" };
        }, "POST");
        """;

    private static async Task<EngineHost> StartAsync() =>
        await EngineHost.StartAsync(new Dictionary<string, string> { ["crypto.js"] = Script });

    private static async Task<JsonElement> EvalAsync(EngineHost host, string expression)
    {
        var json = await HttpAssert.JsonAsync(await host.Client.PostAsync("/eval", new StringContent(expression)));
        return json.GetProperty("value");
    }

    private static async Task<string> ErrorAsync(EngineHost host, string expression)
    {
        using var response = await host.Client.PostAsync("/eval", new StringContent(expression));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
    }

    [Fact]
    public async Task RandomUuid_AndGenerateId_AreVersion4Uuids_AndNeverRepeat()
    {
        await using var host = await StartAsync();
        var ids = await EvalAsync(host, "Array.from({ length: 1000 }, (_, i) => i % 2 ? crypto.randomUUID() : generateId())");
        var all = ids.EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.All(all, id => Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id));
        Assert.Equal(1000, all.Distinct().Count());
    }

    [Fact]
    public async Task GetRandomValues_FillsIntegerArrays_InPlace_AndRefusesTheRest()
    {
        await using var host = await StartAsync();
        var filled = await EvalAsync(host, """
            const a = new Uint8Array(64); const same = crypto.getRandomValues(a) === a;
            const b = crypto.getRandomValues(new Uint32Array(16));
            const window = new Uint8Array(16); crypto.getRandomValues(window.subarray(4, 8));
            [same, Array.from(a).filter(x => x !== 0).length, Array.from(b).some(x => x > 65535), Array.from(window).map((x, i) => i >= 4 && i < 8 ? 1 : x)]
            """);
        Assert.True(filled[0].GetBoolean());
        Assert.True(filled[1].GetInt32() > 48); // 64 random bytes: far more than 48 are non-zero
        Assert.True(filled[2].GetBoolean());
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], filled[3].EnumerateArray().Select(e => e.GetInt32()));

        Assert.StartsWith("crypto.getRandomValues: array must be an integer typed array", await ErrorAsync(host, "crypto.getRandomValues(new Float64Array(4))"));
        Assert.StartsWith("crypto.getRandomValues: array must be an integer typed array", await ErrorAsync(host, "crypto.getRandomValues([1, 2, 3])"));
        Assert.Equal("crypto.getRandomValues: can fill at most 65536 bytes at once, got 65537", await ErrorAsync(host, "crypto.getRandomValues(new Uint8Array(65537))"));
    }

    [Fact]
    public async Task Digests_AndHmacs_MatchTheStandardTestVectors_InEveryEncoding()
    {
        await using var host = await StartAsync();
        // FIPS 180 "abc"; RFC 4231 test case 2; text as UTF-8, the same bytes as a Uint8Array and an ArrayBuffer.
        var values = await EvalAsync(host, """
            const bytes = new Uint8Array([0x61, 0x62, 0x63]);
            [
              crypto.createHash("sha256").update("abc").digest("hex"),
              crypto.createHash("SHA-256").update(bytes).digest("hex"),
              crypto.createHash("sha256").update("a").update(bytes.subarray(1, 2)).update(bytes.buffer.slice(2)).digest("base64"),
              crypto.createHash("sha1").update("abc").digest("hex"),
              crypto.createHash("sha512").update("abc").digest("base64url"),
              crypto.createHash("sha256").update("abc").digest().length,
              crypto.createHmac("sha256", "Jefe").update("what do ya want for nothing?").digest("hex"),
              crypto.createHash("sha256").update("é✓😀").digest("hex"),
            ]
            """);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", values[0].GetString());
        Assert.Equal(values[0].GetString(), values[1].GetString());
        Assert.Equal(Convert.ToBase64String(SHA256.HashData("abc"u8)), values[2].GetString());
        Assert.Equal("a9993e364706816aba3e25717850c26c9cd0d89d", values[3].GetString());
        Assert.Equal(Convert.ToBase64String(SHA512.HashData("abc"u8)).TrimEnd('=').Replace('+', '-').Replace('/', '_'), values[4].GetString());
        Assert.Equal(32, values[5].GetInt32());
        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", values[6].GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("é✓😀"))), values[7].GetString());
    }

    [Fact]
    public async Task TimingSafeEqual_ComparesStringsAndBytes_AndUnequalLengthsAreUnequal()
    {
        await using var host = await StartAsync();
        var values = await EvalAsync(host, """
            [
              crypto.timingSafeEqual("abc", "abc"),
              crypto.timingSafeEqual("abc", "abd"),
              crypto.timingSafeEqual("abc", "abcd"),
              crypto.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]).buffer),
              crypto.timingSafeEqual("", ""),
            ]
            """);
        Assert.Equal([true, false, false, true, true], values.EnumerateArray().Select(e => e.GetBoolean()));
        Assert.StartsWith("crypto.timingSafeEqual: b must be a string, a Uint8Array", await ErrorAsync(host, "crypto.timingSafeEqual('a', 1)"));
    }

    [Fact]
    public async Task AWebhookSignedWithTheSecret_IsAccepted_AnyOtherSignatureIsNot()
    {
        await using var host = await StartAsync();
        const string Body = """{"action":"opened","sender":{"login":"octocat"},"title":"café ✓"}""";
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData("It's a Secret to Everybody"u8.ToArray(), Encoding.UTF8.GetBytes(Body)));

        async Task<HttpStatusCode> SendAsync(string? header, string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (header is not null)
            {
                request.Headers.Add("X-Hub-Signature-256", header);
            }

            return (await host.Client.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await SendAsync(signature, Body));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(signature, Body.Replace("opened", "closed", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(signature[..^1] + (signature[^1] == '0' ? '1' : '0'), Body));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(signature[..20], Body));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(null, Body));
    }

    [Theory]
    [InlineData("crypto.createHash('md5')", "crypto.createHash: algorithm must be one of sha1, sha256, sha384, sha512, got \"md5\"")]
    [InlineData("crypto.createHash()", "crypto.createHash: algorithm must be one of sha1, sha256, sha384, sha512, got undefined")]
    [InlineData("crypto.createHmac('sha256')", "crypto.createHmac: key must be a string, a Uint8Array (or another typed array) or an ArrayBuffer, got undefined")]
    [InlineData("crypto.createHash('sha256').update(42)", "createHash.update: data must be a string, a Uint8Array (or another typed array) or an ArrayBuffer, got number 42")]
    [InlineData("crypto.createHash('sha256').update({ length: 3 })", "createHash.update: data must be a string, a Uint8Array (or another typed array) or an ArrayBuffer, got an object")]
    [InlineData("const h = crypto.createHash('sha256'); h.digest(); h.digest()", "createHash.digest: digest() was already called")]
    [InlineData("const h = crypto.createHmac('sha1', 'k'); h.digest('hex'); h.update('x')", "createHmac.update: digest() was already called")]
    [InlineData("crypto.createHash('sha256').digest('utf16')", "createHash.digest: encoding must be \"hex\", \"base64\", \"base64url\" or \"latin1\" (or none, for a Uint8Array), got \"utf16\"")]
    public async Task Misuse_ThrowsAnErrorNamingIt(string expression, string message)
    {
        await using var host = await StartAsync();
        Assert.Equal(message, await ErrorAsync(host, expression));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", (await EvalAsync(host, "crypto.createHash('sha256').update('abc').digest('hex')")).GetString());
    }

    [Fact]
    public async Task TheCryptoObject_IsFrozen_AndPatchedBuiltinsDoNotChangeItsResults()
    {
        await using var host = await StartAsync();
        var values = await EvalAsync(host, """
            "use strict";
            let frozen = false;
            try { crypto.randomUUID = () => "0"; } catch (e) { frozen = true; }
            String.fromCharCode = () => "x";
            Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), "byteLength", { get: () => 0 });
            [frozen, crypto.createHash("sha256").update(new Uint8Array([0x61, 0x62, 0x63])).digest("hex")]
            """);
        Assert.True(values[0].GetBoolean());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", values[1].GetString());
    }
}
