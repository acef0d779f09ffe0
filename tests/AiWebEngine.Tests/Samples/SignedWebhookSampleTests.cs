using System.Net;
using System.Security.Cryptography;
using System.Text;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>
/// Issue 19, point 9: the webhook sample's <c>/webhook/github/signed</c> checks GitHub's
/// <c>X-Hub-Signature-256</c> over the body's exact bytes against the configured secret, and only a
/// delivery it verifies reaches <c>/external-updates</c>.
/// </summary>
public sealed class SignedWebhookSampleTests
{
    private const string Secret = "It's a Secret to Everybody";

    private static string Sign(byte[] body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), body));

    private static HttpRequestMessage Delivery(byte[] body, string? signature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhook/github/signed") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        if (signature is not null)
        {
            request.Headers.Add("X-Hub-Signature-256", signature);
        }

        return request;
    }

    [Fact]
    public async Task OnlyADeliverySignedWithTheSecret_ReachesTheStream()
    {
        await using var host = await EngineHost.StartWithSamplesAsync(kestrel: true, new Dictionary<string, string?> { ["AiWebEngine:Secrets:GITHUB_WEBHOOK_SECRET"] = Secret });
        await using var updates = await SseReader.OpenAsync(host.Client, "/external-updates");
        // GitHub's bytes as sent: not re-encoded, so a signature over them must be checked over them.
        var forged = Encoding.UTF8.GetBytes("""{"action":"deleted","repository":{"name":"forged"}}""");
        var body = Encoding.UTF8.GetBytes("""{"action":"opened","repository":{"name":"café"}}""");

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(Delivery(forged, null))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(Delivery(forged, Sign(body)))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(Delivery(forged, "sha256=" + new string('0', 64)))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(Delivery(body, Sign(body)))).StatusCode);

        var update = (await updates.ReadMessagesAsync(1)).Single(m => m.Data is not null).Data!;
        Assert.Contains("\"repository\":\"café\"", update, StringComparison.Ordinal);
        Assert.DoesNotContain("forged", update, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutTheSecret_TheSignedWebhookSaysWhatToSet()
    {
        await using var host = await EngineHost.StartWithSamplesAsync();
        var body = Encoding.UTF8.GetBytes("""{"action":"opened","repository":{"name":"x"}}""");
        using var response = await host.Client.SendAsync(Delivery(body, Sign(body)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("AiWebEngine:Secrets:GITHUB_WEBHOOK_SECRET", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
